// Declarations only (include/CFuzzer.h): libFuzzer itself comes from the toolchain's compiler-rt.
