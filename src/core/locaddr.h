/* locaddr.h — IEC 61131-3 directly represented (located) addresses.
 *
 * "%IX0.3", "%QW12", "%MD1", "%ML0": area (I input, Q output, M memory),
 * size (X bit, B byte, W word, D double word, L long word; a missing size
 * means X) and address. Bit addresses are byte.bit with bit 0-7. Shared by
 * the ST compiler (AT %IX0.0), the PLC's process image and the plant file's
 * wiring, so all three read an address the same way.
 */
#ifndef CORE_LOCADDR_H
#define CORE_LOCADDR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct locaddr {
    char area;      /* 'I', 'Q' or 'M' */
    char size;      /* 'X', 'B', 'W', 'D' or 'L' */
    uint32_t index; /* byte address for X, element index otherwise */
    uint8_t bit;    /* 0-7 for X */
};

/* Parses s (leading '%' required). Limits: index <= 65535. Returns 0 or -1
 * with a message naming the problem. */
int locaddr_parse(const char *s, struct locaddr *out, struct err *e);

/* Writes the canonical form ("%IX0.3", "%QW12") into buf; returns buf. */
char *locaddr_format(const struct locaddr *a, char *buf, size_t len);

/* Width in bits of the size letter (1, 8, 16, 32, 64). */
int locaddr_bits(const struct locaddr *a);

#endif
