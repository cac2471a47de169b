/* crc64 — Redis's CRC-64/Jones, reflected; see crc64.h.
 *
 * Reflected CRCs shift right, so the table is built from the bit-reversed
 * polynomial. Slicing-by-8: table[k][b] is the CRC of byte b followed by k
 * zero bytes, so eight input bytes are folded in with eight lookups. */
#include "crc64.h"

#include <pthread.h>
#include <string.h>

#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ULL /* bit-reversed 0xad93d23594c935a9 */

static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
    for (int b = 0; b < 256; b++) {
        uint64_t c = (uint64_t)b;
        for (int i = 0; i < 8; i++) c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        crc64_table[0][b] = c;
    }
    for (int b = 0; b < 256; b++) {
        uint64_t c = crc64_table[0][b];
        for (int k = 1; k < 8; k++) {
            c = crc64_table[0][c & 0xff] ^ (c >> 8);
            crc64_table[k][b] = c;
        }
    }
}

uint64_t crc64(uint64_t crc, const void *data, size_t len) {
    pthread_once(&crc64_once, crc64_init);
    const unsigned char *p = data;
    while (len >= 8) {
        /* Little-endian load, portable: the shifts make it byte order free. */
        uint64_t v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                     (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        crc ^= v;
        crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
              crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
              crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
              crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}
