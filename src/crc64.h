/* crc64 — the checksum Redis and Valkey put at the end of RDB files and
 * DUMP payloads: CRC-64 with the Jones polynomial (0xad93d23594c935a9),
 * reflected input and output, initial value 0, no final xor.
 *
 * crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca. Table-driven, eight bytes
 * per step; the tables are built once, thread-safely, on first use. */
#ifndef FERRY_CRC64_H
#define FERRY_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over len bytes of p (start with crc = 0). */
uint64_t crc64(uint64_t crc, const void *p, size_t len);

#endif
