/* image.c — the process image and its OpenPLC Modbus map (see image.h). */
#include "plc/image.h"

#include <string.h>

void plc_image_clear(struct plc_image *im)
{
    memset(im, 0, sizeof *im);
}

int plc_image_slot(struct plc_image *im, const struct locaddr *a, struct plc_slot *out)
{
    memset(out, 0, sizeof *out);
    switch (a->size) {
    case 'X':
        if (a->index >= PLC_IMAGE_BYTES || a->area == 'M')
            return -1;
        out->p = a->area == 'I' ? &im->ix[a->index] : &im->qx[a->index];
        out->bits = 1;
        out->bit = a->bit;
        return 0;
    case 'B':
        if (a->index >= PLC_IMAGE_BYTES || a->area == 'M')
            return -1;
        out->p = a->area == 'I' ? &im->ix[a->index] : &im->qx[a->index];
        out->bits = 8;
        return 0;
    case 'W':
        if (a->index >= PLC_IMAGE_WORDS)
            return -1;
        out->p = a->area == 'I' ? &im->iw[a->index] : a->area == 'Q' ? &im->qw[a->index]
                                                                      : &im->mw[a->index];
        out->bits = 16;
        return 0;
    case 'D':
        if (a->area != 'M' || a->index >= PLC_IMAGE_WORDS)
            return -1;
        out->p = &im->md[a->index];
        out->bits = 32;
        return 0;
    case 'L':
        if (a->area != 'M' || a->index >= PLC_IMAGE_WORDS)
            return -1;
        out->p = &im->ml[a->index];
        out->bits = 64;
        return 0;
    default:
        return -1;
    }
}

uint64_t plc_slot_get(const struct plc_slot *s)
{
    switch (s->bits) {
    case 1: return (*(const uint8_t *)s->p >> s->bit) & 1;
    case 8: return *(const uint8_t *)s->p;
    case 16: return *(const uint16_t *)s->p;
    case 32: return *(const uint32_t *)s->p;
    default: return *(const uint64_t *)s->p;
    }
}

void plc_slot_set(const struct plc_slot *s, uint64_t v)
{
    switch (s->bits) {
    case 1: {
        uint8_t *b = s->p;
        if (v)
            *b = (uint8_t)(*b | (1u << s->bit));
        else
            *b = (uint8_t)(*b & ~(1u << s->bit));
        break;
    }
    case 8: *(uint8_t *)s->p = (uint8_t)v; break;
    case 16: *(uint16_t *)s->p = (uint16_t)v; break;
    case 32: *(uint32_t *)s->p = (uint32_t)v; break;
    default: *(uint64_t *)s->p = v; break;
    }
}

/* ---- the Modbus map ---- */

static int img_read_bits(void *ctx, enum mb_table t, uint16_t addr, uint16_t qty, uint8_t *bits)
{
    struct plc_image *im = ctx;
    if ((size_t)addr + qty > 8 * PLC_IMAGE_BYTES)
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    const uint8_t *src = t == MB_COILS ? im->qx : im->ix;
    for (unsigned i = 0; i < qty; i++) {
        unsigned a = addr + i;
        if ((src[a >> 3] >> (a & 7)) & 1)
            bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7)));
    }
    return 0;
}

static int img_write_bits(void *ctx, uint16_t addr, uint16_t qty, const uint8_t *bits)
{
    struct plc_image *im = ctx;
    if ((size_t)addr + qty > 8 * PLC_IMAGE_BYTES)
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    for (unsigned i = 0; i < qty; i++) {
        unsigned a = addr + i;
        if (mb_get_bit(bits, i))
            im->qx[a >> 3] = (uint8_t)(im->qx[a >> 3] | (1u << (a & 7)));
        else
            im->qx[a >> 3] = (uint8_t)(im->qx[a >> 3] & ~(1u << (a & 7)));
    }
    im->modbus_writes++;
    return 0;
}

/* One holding register: its value, or -1 if unmapped. */
static int holding_get(const struct plc_image *im, unsigned a)
{
    if (a < 1024)
        return im->qw[a];
    if (a < 2048)
        return im->mw[a - 1024];
    if (a < 4096) {
        uint32_t v = im->md[(a - 2048) / 2];
        return (a - 2048) % 2 == 0 ? (int)(v >> 16) : (int)(v & 0xFFFF);
    }
    if (a < 8192) {
        uint64_t v = im->ml[(a - 4096) / 4];
        return (int)((v >> (16 * (3 - (a - 4096) % 4))) & 0xFFFF);
    }
    return -1;
}

static void holding_set(struct plc_image *im, unsigned a, uint16_t v)
{
    if (a < 1024) {
        im->qw[a] = v;
    } else if (a < 2048) {
        im->mw[a - 1024] = v;
    } else if (a < 4096) {
        uint32_t *d = &im->md[(a - 2048) / 2];
        if ((a - 2048) % 2 == 0)
            *d = (*d & 0x0000FFFFu) | ((uint32_t)v << 16);
        else
            *d = (*d & 0xFFFF0000u) | v;
    } else {
        uint64_t *l = &im->ml[(a - 4096) / 4];
        int shift = 16 * (3 - (int)((a - 4096) % 4));
        *l = (*l & ~((uint64_t)0xFFFF << shift)) | ((uint64_t)v << shift);
    }
}

static int img_read_regs(void *ctx, enum mb_table t, uint16_t addr, uint16_t qty, uint16_t *regs)
{
    struct plc_image *im = ctx;
    if (t == MB_INPUT_REGISTERS) {
        if ((size_t)addr + qty > PLC_IMAGE_WORDS)
            return MB_EX_ILLEGAL_DATA_ADDRESS;
        memcpy(regs, im->iw + addr, qty * sizeof *regs);
        return 0;
    }
    if ((size_t)addr + qty > 8192)
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    for (unsigned i = 0; i < qty; i++)
        regs[i] = (uint16_t)holding_get(im, addr + i);
    return 0;
}

static int img_write_regs(void *ctx, uint16_t addr, uint16_t qty, const uint16_t *regs)
{
    struct plc_image *im = ctx;
    if ((size_t)addr + qty > 8192)
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    for (unsigned i = 0; i < qty; i++)
        holding_set(im, addr + i, regs[i]);
    im->modbus_writes++;
    return 0;
}

const struct mb_map_ops plc_image_modbus_ops = {img_read_bits, img_write_bits, img_read_regs,
                                                img_write_regs};
