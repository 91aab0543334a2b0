/* image.h — a PLC's process image and the Modbus map OpenPLC users know.
 *
 * The image holds every located address a program can name: %IX/%QX bits
 * (1024 bytes of 8 bits each), %IW/%QW/%MW words, %MD double words and %ML
 * long words (1024 each). Field inputs are written into the %I areas before
 * a scan and field outputs read from the %Q areas after it; the Modbus
 * server reads and writes the image between scans, through this map
 * (addresses are 0-based protocol addresses):
 *
 *   coils (FC 1, 5, 15)          %QX a.b   -> 8a + b         (0-8191)
 *   discrete inputs (FC 2)       %IX a.b   -> 8a + b         (0-8191)
 *   input registers (FC 4)       %IW n     -> n              (0-1023)
 *   holding registers (3, 6, 16) %QW n     -> n              (0-1023)
 *                                %MW n     -> 1024 + n       (1024-2047)
 *                                %MD n     -> 2048 + 2n, +1  (2048-4095; high word first)
 *                                %ML n     -> 4096 + 4n .. +3 (4096-8191; most significant first)
 *
 * Anything else answers exception 02. This is OpenPLC v3's map, without
 * its faults (it ignores the unit id, accepts 127 registers per read, reads
 * an unmapped 64-bit range wrong): the server in front of it checks the
 * specification's limits first.
 */
#ifndef PLC_IMAGE_H
#define PLC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/locaddr.h"
#include "proto/mb_server.h"

#define PLC_IMAGE_BYTES 1024  /* %IX/%QX bytes (8192 bits) */
#define PLC_IMAGE_WORDS 1024  /* %IW, %QW, %MW, %MD, %ML entries */

struct plc_image {
    uint8_t ix[PLC_IMAGE_BYTES];
    uint8_t qx[PLC_IMAGE_BYTES];
    uint16_t iw[PLC_IMAGE_WORDS];
    uint16_t qw[PLC_IMAGE_WORDS];
    uint16_t mw[PLC_IMAGE_WORDS];
    uint32_t md[PLC_IMAGE_WORDS];
    uint64_t ml[PLC_IMAGE_WORDS];
    uint64_t modbus_writes; /* write operations served to the network */
};

/* Zeroes every area. */
void plc_image_clear(struct plc_image *im);

/* Where a located address lives in the image: a pointer to its storage and
 * its width in bits (1: a bit, at *bit of *byte). Returns 0, or -1 when the
 * address is outside the image (a byte, or a %MX memory bit, which OpenPLC
 * does not have). */
struct plc_slot {
    void *p;      /* uint8_t byte (bits and %IB/%QB), or the word */
    int bits;     /* 1, 8, 16, 32, 64 */
    int bit;      /* for bits */
};
int plc_image_slot(struct plc_image *im, const struct locaddr *a, struct plc_slot *out);

/* Reads / writes a slot as an unsigned integer (bits as 0/1). */
uint64_t plc_slot_get(const struct plc_slot *s);
void plc_slot_set(const struct plc_slot *s, uint64_t v);

/* The Modbus hooks over an image (ctx: the struct plc_image). Writes are
 * counted in modbus_writes. */
extern const struct mb_map_ops plc_image_modbus_ops;

#endif
