#ifndef HELIOS_CRC32C_H
#define HELIOS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Extends a CRC32C (Castagnoli, reflected polynomial 0x82F63B78) over `length` bytes.
///
/// `crc` is the value returned by a previous call, or 0 to start. The pre- and post-inversion
/// are applied inside, so `helios_crc32c_extend(helios_crc32c_extend(0, a), b)` equals the CRC
/// of `a` followed by `b`. Uses the SSE4.2 / ARMv8 CRC32 instructions when the CPU has them.
uint32_t helios_crc32c_extend(uint32_t crc, const void *data, size_t length);

/// The portable table implementation (used when the CPU lacks the instruction; exposed for tests).
uint32_t helios_crc32c_extend_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `helios_crc32c_extend` uses a hardware instruction, else 0.
int helios_crc32c_is_hardware_accelerated(void);

#ifdef __cplusplus
}
#endif

#endif
