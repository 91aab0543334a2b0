/* fuzz_modbus_req.c — libFuzzer harness for Modbus request PDUs: bytes in,
 * a request or a precise status out; never a crash.
 *
 * Input: one flag byte, then the bytes. Flag bit 0 = accept_unknown.
 * - bit 1 clear: the bytes are a PDU. A PDU that decodes is re-encoded
 *   (checked and MB_ENC_RAW): both must give back the very same bytes, and
 *   decoding those must give an equal struct.
 * - bit 1 set: the bytes fill a struct mb_req field by field, which is
 *   encoded raw and checked: the checked encoder must refuse it with the
 *   status the decoder gives the raw frame, or build that same frame.
 * Any mismatch aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Field equality by function code (pointers compared by content). */
static int req_equal(const struct mb_req *a, const struct mb_req *b)
{
    if (a->fc != b->fc)
        return 0;
    switch (a->fc) {
    case 1: case 2: case 3: case 4:
        return a->u.read.addr == b->u.read.addr && a->u.read.qty == b->u.read.qty;
    case 5: case 6:
        return a->u.write1.addr == b->u.write1.addr && a->u.write1.value == b->u.write1.value;
    case 8:
        return a->u.diag.sub == b->u.diag.sub && a->u.diag.ndata == b->u.diag.ndata &&
               same_bytes(a->u.diag.data, b->u.diag.data, a->u.diag.ndata);
    case 15: case 16:
        return a->u.writen.addr == b->u.writen.addr && a->u.writen.qty == b->u.writen.qty &&
               a->u.writen.nbytes == b->u.writen.nbytes &&
               same_bytes(a->u.writen.data, b->u.writen.data, a->u.writen.nbytes);
    case 22:
        return a->u.mask.addr == b->u.mask.addr && a->u.mask.and_mask == b->u.mask.and_mask &&
               a->u.mask.or_mask == b->u.mask.or_mask;
    case 23:
        return a->u.rw.raddr == b->u.rw.raddr && a->u.rw.rqty == b->u.rw.rqty &&
               a->u.rw.waddr == b->u.rw.waddr && a->u.rw.wqty == b->u.rw.wqty &&
               a->u.rw.nbytes == b->u.rw.nbytes &&
               same_bytes(a->u.rw.data, b->u.rw.data, a->u.rw.nbytes);
    case 43:
        if (a->mei != b->mei)
            return 0;
        if (a->mei == MB_MEI_DEVICE_ID)
            return a->u.devid.code == b->u.devid.code && a->u.devid.object == b->u.devid.object;
        return a->u.raw.ndata == b->u.raw.ndata &&
               same_bytes(a->u.raw.data, b->u.raw.data, a->u.raw.ndata);
    default:
        return a->u.raw.ndata == b->u.raw.ndata &&
               same_bytes(a->u.raw.data, b->u.raw.data, a->u.raw.ndata);
    }
}

static void check_status(int st)
{
    if (st > 0 || st < MB_TOO_LONG || st == MB_NEED_MORE || st == MB_BAD_PROTOCOL ||
        st == MB_BAD_LENGTH || st == MB_BAD_EXCEPTION)
        abort(); /* not a status a request decoder gives */
    if (!mb_status_name(st))
        abort();
    uint8_t ex = mb_status_exception(st);
    if ((st == MB_OK) != (ex == 0))
        abort();
}

/* PDU mode: decode, and for a valid PDU the two round trips. */
static void pdu_mode(const uint8_t *pdu, size_t len, int accept_unknown)
{
    struct mb_req r, r2;
    int st = mb_req_decode(pdu, len, accept_unknown, &r);
    check_status(st);
    if (len && r.fc != pdu[0])
        abort(); /* the function code is there for the exception */
    if (st != MB_OK)
        return;
    if (len > MB_MAX_PDU)
        abort();
    uint8_t b[MB_MAX_PDU], raw[MB_MAX_PDU];
    int n = mb_req_encode(&r, 0, b, sizeof b);
    if (n < 0 || (size_t)n != len || memcmp(b, pdu, len) != 0)
        abort();
    int rn = mb_req_encode(&r, MB_ENC_RAW, raw, sizeof raw);
    if (rn != n || memcmp(raw, b, (size_t)n) != 0)
        abort();
    if (mb_req_decode(b, (size_t)n, accept_unknown, &r2) != MB_OK || !req_equal(&r, &r2))
        abort();
    (void)mb_fc_name(r.fc);
    if (r.fc == MB_FC_DIAGNOSTICS)
        (void)mb_diag_name(r.u.diag.sub);
}

/* Reads fields from the input in order; past its end, zeros. */
struct cursor {
    const uint8_t *p;
    size_t n;
};

static uint8_t take8(struct cursor *c)
{
    if (!c->n)
        return 0;
    c->n--;
    return *c->p++;
}

static uint16_t take16(struct cursor *c)
{
    uint16_t hi = take8(c);
    return (uint16_t)(hi << 8 | take8(c));
}

/* Struct mode: the rest of the input is the data every pointer sees. */
static void struct_mode(const uint8_t *in, size_t len)
{
    static uint8_t pool[1024];
    struct cursor c = {in, len};
    struct mb_req r;
    memset(&r, 0, sizeof r);
    r.fc = take8(&c);
    r.mei = take8(&c);
    uint8_t sel = take8(&c);
    switch (r.fc) {
    case 1: case 2: case 3: case 4:
        r.u.read.addr = take16(&c);
        r.u.read.qty = take16(&c);
        break;
    case 5: case 6:
        r.u.write1.addr = take16(&c);
        r.u.write1.value = take16(&c);
        break;
    case 8:
        r.u.diag.sub = take16(&c);
        r.u.diag.ndata = sel < 200 ? (uint16_t)(sel & 7) : (uint16_t)(take16(&c) & 0x1FF);
        r.u.diag.data = pool;
        break;
    case 15: case 16:
        r.u.writen.addr = take16(&c);
        r.u.writen.qty = take16(&c);
        r.u.writen.nbytes = take8(&c);
        r.u.writen.data = pool;
        break;
    case 22:
        r.u.mask.addr = take16(&c);
        r.u.mask.and_mask = take16(&c);
        r.u.mask.or_mask = take16(&c);
        break;
    case 23:
        r.u.rw.raddr = take16(&c);
        r.u.rw.rqty = take16(&c);
        r.u.rw.waddr = take16(&c);
        r.u.rw.wqty = take16(&c);
        r.u.rw.nbytes = take8(&c);
        r.u.rw.data = pool;
        break;
    default:
        if (r.fc == 43 && r.mei == MB_MEI_DEVICE_ID) {
            r.u.devid.code = take8(&c);
            r.u.devid.object = take8(&c);
            break;
        }
        r.u.raw.ndata = sel < 200 ? (uint16_t)(sel & 7) : (uint16_t)(take16(&c) & 0x1FF);
        r.u.raw.data = pool;
        break;
    }
    /* the data every pointer sees: the rest of the input, repeated */
    for (size_t i = 0; i < 600; i++)
        pool[i] = c.n ? c.p[i % c.n] : (uint8_t)i;

    static uint8_t raw[1024], chk[MB_MAX_PDU];
    int rn = mb_req_encode(&r, MB_ENC_RAW, raw, sizeof raw);
    int cn = mb_req_encode(&r, 0, chk, sizeof chk);
    if (rn < 0)
        abort(); /* pointers are all set and the buffer is large */
    if (cn > 0) { /* what the checked encoder builds always decodes */
        struct mb_req d2;
        if (cn > MB_MAX_PDU || mb_req_decode(chk, (size_t)cn, 1, &d2) != MB_OK)
            abort();
    }
    if (rn > MB_MAX_PDU || cn == MB_BAD_SUBFUNCTION)
        return; /* a frame the decoder cannot see whole / a struct no frame has */
    int nb_zero = ((r.fc == 15 || r.fc == 16) && r.u.writen.nbytes == 0) ||
                  (r.fc == 23 && r.u.rw.nbytes == 0);
    if (nb_zero)
        return; /* byte count 0: raw writes 0, checked computes it */
    struct mb_req d;
    int ds = mb_req_decode(raw, (size_t)rn, 1, &d);
    if (cn > 0) {
        if (ds != MB_OK || cn != rn || memcmp(chk, raw, (size_t)rn) != 0)
            abort();
    } else if (ds != cn) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    if (flags & 2)
        struct_mode(data + 1, size - 1);
    else
        pdu_mode(data + 1, size - 1, flags & 1);
    return 0;
}
