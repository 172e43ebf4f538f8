#ifndef HELIOS_CFUZZER_H
#define HELIOS_CFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that keep their own main (compiler-rt, -fsanitize=fuzzer).
/// Only referenced by `helios-fuzz` when it is built with -DHELIOS_LIBFUZZER (tools/fuzz).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
