/* fuzz_modbus_rsp.c — libFuzzer harness for Modbus response PDUs, as a
 * passive observer decodes them: bytes in, a response or a precise status
 * out; never a crash.
 *
 * Input: one flag byte, then the bytes. Flag bit 0 = accept_unknown.
 * - bits 1-2 = 0: the bytes are a response PDU. One that decodes is
 *   re-encoded (checked and MB_ENC_RAW): both must give back the very same
 *   bytes, and decoding those must give an equal struct.
 * - bit 1 set: the bytes fill a struct mb_rsp, encoded raw and checked: the
 *   checked encoder must refuse it with the status the decoder gives the
 *   raw frame, or build that same frame.
 * - bit 2 set (bit 1 clear): a request/response pair: next byte = request
 *   length L, then L bytes of request, then the response; a pair that
 *   decodes is compared with mb_rsp_check().
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
static int rsp_equal(const struct mb_rsp *a, const struct mb_rsp *b)
{
    if (a->fc != b->fc || a->exception != b->exception)
        return 0;
    if (a->exception)
        return 1;
    switch (a->fc) {
    case 1: case 2: case 3: case 4: case 23:
        return a->u.read.nbytes == b->u.read.nbytes &&
               same_bytes(a->u.read.data, b->u.read.data, a->u.read.nbytes);
    case 5: case 6:
        return a->u.write1.addr == b->u.write1.addr && a->u.write1.value == b->u.write1.value;
    case 8:
        return a->u.diag.sub == b->u.diag.sub && a->u.diag.ndata == b->u.diag.ndata &&
               same_bytes(a->u.diag.data, b->u.diag.data, a->u.diag.ndata);
    case 15: case 16:
        return a->u.writen.addr == b->u.writen.addr && a->u.writen.qty == b->u.writen.qty;
    case 17:
        return a->u.server_id.nbytes == b->u.server_id.nbytes &&
               same_bytes(a->u.server_id.data, b->u.server_id.data, a->u.server_id.nbytes);
    case 22:
        return a->u.mask.addr == b->u.mask.addr && a->u.mask.and_mask == b->u.mask.and_mask &&
               a->u.mask.or_mask == b->u.mask.or_mask;
    case 43:
        if (a->mei != b->mei)
            return 0;
        if (a->mei == MB_MEI_DEVICE_ID) {
            if (a->u.devid.code != b->u.devid.code ||
                a->u.devid.conformity != b->u.devid.conformity ||
                a->u.devid.more != b->u.devid.more || a->u.devid.next != b->u.devid.next ||
                a->u.devid.nobjects != b->u.devid.nobjects)
                return 0;
            for (unsigned i = 0; i < a->u.devid.nobjects; i++) {
                const struct mb_devid_object *x = &a->u.devid.objects[i],
                                             *y = &b->u.devid.objects[i];
                if (x->id != y->id || x->len != y->len || !same_bytes(x->value, y->value, x->len))
                    return 0;
            }
            return 1;
        }
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
        st == MB_BAD_LENGTH || st == MB_BAD_SUBFUNCTION || st == MB_TOO_LONG ||
        !mb_status_name(st))
        abort(); /* not a status a response decoder gives */
}

/* PDU mode: decode, and for a valid PDU the two round trips. */
static void pdu_mode(const uint8_t *pdu, size_t len, int accept_unknown)
{
    struct mb_rsp r, r2;
    int st = mb_rsp_decode(pdu, len, accept_unknown, &r);
    check_status(st);
    if (len && r.fc != (pdu[0] & 0x7F))
        abort();
    if (st != MB_OK)
        return;
    if (len > MB_MAX_PDU || (r.exception != 0) != ((pdu[0] & 0x80) != 0))
        abort();
    uint8_t b[MB_MAX_PDU], raw[MB_MAX_PDU];
    int n = mb_rsp_encode(&r, 0, b, sizeof b);
    if (n < 0 || (size_t)n != len || memcmp(b, pdu, len) != 0)
        abort();
    int rn = mb_rsp_encode(&r, MB_ENC_RAW, raw, sizeof raw);
    if (rn != n || memcmp(raw, b, (size_t)n) != 0)
        abort();
    if (mb_rsp_decode(b, (size_t)n, accept_unknown, &r2) != MB_OK || !rsp_equal(&r, &r2))
        abort();
    (void)mb_fc_name(r.fc);
    (void)mb_exception_name(r.exception);
}

/* Pair mode: whatever decodes on both sides is compared. */
static void pair_mode(const uint8_t *in, size_t len, int accept_unknown)
{
    if (len < 1)
        return;
    size_t qlen = in[0];
    if (qlen > len - 1)
        qlen = len - 1;
    struct mb_req q;
    struct mb_rsp r;
    if (mb_req_decode(in + 1, qlen, accept_unknown, &q) != MB_OK)
        return;
    if (mb_rsp_decode(in + 1 + qlen, len - 1 - qlen, accept_unknown, &r) != MB_OK)
        return;
    int st = mb_rsp_check(&q, &r);
    if (st > 0 || st < MB_TOO_LONG)
        abort();
    if (st == MB_OK && r.fc != q.fc)
        abort();
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
    static struct mb_rsp r;
    struct cursor c = {in, len};
    memset(&r, 0, sizeof r);
    r.fc = take8(&c) & 0x7F; /* a struct with bit 7 set describes no frame */
    r.mei = take8(&c);
    uint8_t sel = take8(&c);
    if (sel >= 240)
        r.exception = take8(&c);
    switch (r.fc) {
    case 1: case 2: case 3: case 4: case 23:
        r.u.read.nbytes = take8(&c);
        r.u.read.data = pool;
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
        break;
    case 17:
        r.u.server_id.nbytes = take8(&c);
        r.u.server_id.data = pool;
        break;
    case 22:
        r.u.mask.addr = take16(&c);
        r.u.mask.and_mask = take16(&c);
        r.u.mask.or_mask = take16(&c);
        break;
    default:
        if (r.fc == 43 && r.mei == MB_MEI_DEVICE_ID) {
            r.u.devid.code = take8(&c);
            r.u.devid.conformity = take8(&c);
            r.u.devid.more = take8(&c);
            r.u.devid.next = take8(&c);
            r.u.devid.nobjects = take8(&c) & 0x7F;
            for (unsigned i = 0; i < MB_DEVID_MAX_OBJECTS; i++) {
                r.u.devid.objects[i].id = (uint8_t)i;
                r.u.devid.objects[i].len = i < r.u.devid.nobjects ? take8(&c) & 0x3F : 0;
                r.u.devid.objects[i].value = pool + i;
            }
            break;
        }
        r.u.raw.ndata = sel < 200 ? (uint16_t)(sel & 7) : (uint16_t)(take16(&c) & 0x1FF);
        r.u.raw.data = pool;
        break;
    }
    for (size_t i = 0; i < sizeof pool; i++)
        pool[i] = c.n ? c.p[i % c.n] : (uint8_t)i;

    static uint8_t raw[8192], chk[MB_MAX_PDU];
    int rn = mb_rsp_encode(&r, MB_ENC_RAW, raw, sizeof raw);
    int cn = mb_rsp_encode(&r, 0, chk, sizeof chk);
    if (rn < 0)
        abort();
    if (cn > 0) { /* what the checked encoder builds always decodes */
        static struct mb_rsp d2;
        if (cn > MB_MAX_PDU || mb_rsp_decode(chk, (size_t)cn, 1, &d2) != MB_OK)
            abort();
    }
    if (rn > MB_MAX_PDU || cn == MB_BAD_SUBFUNCTION)
        return; /* a frame the decoder cannot see whole / a struct no frame has */
    static struct mb_rsp d;
    int ds = mb_rsp_decode(raw, (size_t)rn, 1, &d);
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
    else if (flags & 4)
        pair_mode(data + 1, size - 1, flags & 1);
    else
        pdu_mode(data + 1, size - 1, flags & 1);
    return 0;
}
