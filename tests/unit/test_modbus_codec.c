/* test_modbus_codec.c — the Modbus/TCP codec (src/proto/modbus.h): byte-exact
 * encodings against the specification's worked examples, round trips of
 * every function code and exception, every limit on both sides, the order
 * of checks, MB_ENC_RAW frames and what the decoder says of them, the
 * framer under every segmentation, names. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "proto/modbus.h"
#include "testutil.h"

/* ---- helpers ---- */

/* Parses "03 00 6B" (spaces optional) into out; returns the byte count. */
static size_t hx(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            fail_msg("bad hex in test: %s", s);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static const char *hexstr(const uint8_t *p, size_t n)
{
    static char b[4][3 * 300 + 1];
    static int k;
    k = (k + 1) % 4;
    char *o = b[k];
    *o = 0;
    for (size_t i = 0; i < n && i < 300; i++)
        o += sprintf(o, i ? " %02X" : "%02X", p[i]);
    return b[k];
}

static void expect_bytes(const uint8_t *got, int n, const char *want_hex)
{
    uint8_t want[512];
    size_t wn = hx(want_hex, want);
    if (n < 0)
        fail_msg("encoder failed: %s (wanted %s)", mb_status_name(n), want_hex);
    if ((size_t)n != wn || memcmp(got, want, wn) != 0)
        fail_msg("encoded %s\n   wanted %s", hexstr(got, (size_t)n), hexstr(want, wn));
}

/* Decodes the hex PDU as a request and checks the status. */
static void req_is(int want, const char *pdu_hex, int accept_unknown)
{
    uint8_t b[600];
    size_t n = hx(pdu_hex, b);
    struct mb_req r;
    int st = mb_req_decode(b, n, accept_unknown, &r);
    if (st != want)
        fail_msg("request %s: %s, expected %s", pdu_hex, mb_status_name(st),
                 mb_status_name(want));
}

static void rsp_is(int want, const char *pdu_hex, int accept_unknown)
{
    uint8_t b[600];
    size_t n = hx(pdu_hex, b);
    struct mb_rsp r;
    int st = mb_rsp_decode(b, n, accept_unknown, &r);
    if (st != want)
        fail_msg("response %s: %s, expected %s", pdu_hex, mb_status_name(st),
                 mb_status_name(want));
}

static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    return n == 0 || (a && b && memcmp(a, b, n) == 0);
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
        /* fall through */
    default:
        return a->u.raw.ndata == b->u.raw.ndata &&
               same_bytes(a->u.raw.data, b->u.raw.data, a->u.raw.ndata);
    }
}

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
        /* fall through */
    default:
        return a->u.raw.ndata == b->u.raw.ndata &&
               same_bytes(a->u.raw.data, b->u.raw.data, a->u.raw.ndata);
    }
}

/* Encodes r (checked), compares with want_hex, decodes it back to an equal
 * struct, and checks RAW gives the same bytes. */
static void req_round_trip(const struct mb_req *r, const char *want_hex)
{
    uint8_t b[600], b2[600];
    int n = mb_req_encode(r, 0, b, sizeof b);
    expect_bytes(b, n, want_hex);
    struct mb_req d;
    int st = mb_req_decode(b, (size_t)n, 1, &d);
    if (st != MB_OK)
        fail_msg("decoding %s: %s", want_hex, mb_status_name(st));
    if (!req_equal(r, &d))
        fail_msg("decoded %s differs from the encoded struct", want_hex);
    int n2 = mb_req_encode(&d, MB_ENC_RAW, b2, sizeof b2);
    assert_int_equal(n2, n);
    assert_memory_equal(b, b2, (size_t)n);
}

static void rsp_round_trip(const struct mb_rsp *r, const char *want_hex)
{
    uint8_t b[600], b2[600];
    int n = mb_rsp_encode(r, 0, b, sizeof b);
    expect_bytes(b, n, want_hex);
    struct mb_rsp d;
    int st = mb_rsp_decode(b, (size_t)n, 1, &d);
    if (st != MB_OK)
        fail_msg("decoding %s: %s", want_hex, mb_status_name(st));
    if (!rsp_equal(r, &d))
        fail_msg("decoded %s differs from the encoded struct", want_hex);
    int n2 = mb_rsp_encode(&d, MB_ENC_RAW, b2, sizeof b2);
    assert_int_equal(n2, n);
    assert_memory_equal(b, b2, (size_t)n);
}

/* Builds a request PDU text "FC addr qty" etc. */
static const char *fmt(const char *f, ...)
{
    static char b[8][2048];
    static int k;
    k = (k + 1) % 8;
    va_list ap;
    va_start(ap, f);
    vsnprintf(b[k], sizeof b[k], f, ap);
    va_end(ap);
    return b[k];
}

/* n bytes of hex "AA" repeated (for data fields). */
static const char *fill(size_t n, const char *byte)
{
    static char b[4][3 * 300 + 1];
    static int k;
    k = (k + 1) % 4;
    b[k][0] = 0;
    for (size_t i = 0; i < n; i++) {
        strcat(b[k], byte);
        strcat(b[k], " ");
    }
    return b[k];
}

/* ---- the specification's worked examples (Modbus Application Protocol
 * v1.1b3, sections 6.1-6.21 and 7) ---- */

static void spec_examples_requests_encode_byte_exact(void **state)
{
    (void)state;
    uint8_t d15[] = {0xCD, 0x01}, d16[] = {0x00, 0x0A, 0x01, 0x02};
    uint8_t d23[] = {0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF}, d8[] = {0xA5, 0x37};
    req_round_trip(&(struct mb_req){.fc = 1, .u.read = {0x13, 0x13}}, "01 00 13 00 13");
    req_round_trip(&(struct mb_req){.fc = 2, .u.read = {0xC4, 0x16}}, "02 00 C4 00 16");
    req_round_trip(&(struct mb_req){.fc = 3, .u.read = {0x6B, 3}}, "03 00 6B 00 03");
    req_round_trip(&(struct mb_req){.fc = 4, .u.read = {0x08, 1}}, "04 00 08 00 01");
    req_round_trip(&(struct mb_req){.fc = 5, .u.write1 = {0xAC, 0xFF00}}, "05 00 AC FF 00");
    req_round_trip(&(struct mb_req){.fc = 6, .u.write1 = {0x01, 0x0003}}, "06 00 01 00 03");
    req_round_trip(&(struct mb_req){.fc = 8, .u.diag = {0, 2, d8}}, "08 00 00 A5 37");
    req_round_trip(&(struct mb_req){.fc = 15, .u.writen = {0x13, 0x0A, 2, d15}},
                   "0F 00 13 00 0A 02 CD 01");
    req_round_trip(&(struct mb_req){.fc = 16, .u.writen = {0x01, 2, 4, d16}},
                   "10 00 01 00 02 04 00 0A 01 02");
    req_round_trip(&(struct mb_req){.fc = 17}, "11");
    req_round_trip(&(struct mb_req){.fc = 22, .u.mask = {0x04, 0x00F2, 0x0025}},
                   "16 00 04 00 F2 00 25");
    req_round_trip(&(struct mb_req){.fc = 23, .u.rw = {0x03, 6, 0x0E, 3, 6, d23}},
                   "17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF");
    req_round_trip(&(struct mb_req){.fc = 43, .mei = 14, .u.devid = {1, 0}}, "2B 0E 01 00");
}

static void spec_examples_requests_decode_fields(void **state)
{
    (void)state;
    uint8_t b[64];
    struct mb_req r;
    size_t n = hx("03 00 6B 00 03", b);
    assert_int_equal(mb_req_decode(b, n, 0, &r), MB_OK);
    assert_int_equal(r.fc, 3);
    assert_int_equal(r.u.read.addr, 0x6B);
    assert_int_equal(r.u.read.qty, 3);

    n = hx("0F 00 13 00 0A 02 CD 01", b);
    assert_int_equal(mb_req_decode(b, n, 0, &r), MB_OK);
    assert_int_equal(r.u.writen.addr, 0x13);
    assert_int_equal(r.u.writen.qty, 10);
    assert_int_equal(r.u.writen.nbytes, 2);
    assert_ptr_equal(r.u.writen.data, b + 6); /* zero-copy */
    /* coils 20..27 = CD: 1 0 1 1 0 0 1 1 (LSB first) */
    int want[10] = {1, 0, 1, 1, 0, 0, 1, 1, 1, 0};
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(mb_get_bit(r.u.writen.data, i), want[i]);

    n = hx("17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF", b);
    assert_int_equal(mb_req_decode(b, n, 0, &r), MB_OK);
    assert_int_equal(r.u.rw.raddr, 3);
    assert_int_equal(r.u.rw.rqty, 6);
    assert_int_equal(r.u.rw.waddr, 14);
    assert_int_equal(r.u.rw.wqty, 3);
    assert_int_equal(r.u.rw.nbytes, 6);
    assert_int_equal(mb_get16(r.u.rw.data + 4), 0x00FF);

    n = hx("2B 0E 04 05", b);
    assert_int_equal(mb_req_decode(b, n, 0, &r), MB_OK);
    assert_int_equal(r.mei, MB_MEI_DEVICE_ID);
    assert_int_equal(r.u.devid.code, MB_DEVID_INDIVIDUAL);
    assert_int_equal(r.u.devid.object, 5);
}

static void spec_examples_responses_byte_exact(void **state)
{
    (void)state;
    uint8_t r1[] = {0xCD, 0x6B, 0x05}, r2[] = {0xAC, 0xDB, 0x35};
    uint8_t r3[] = {0x02, 0x2B, 0x00, 0x00, 0x00, 0x64}, r4[] = {0x00, 0x0A};
    uint8_t r23[] = {0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF};
    uint8_t d8[] = {0xA5, 0x37};
    rsp_round_trip(&(struct mb_rsp){.fc = 1, .u.read = {3, r1}}, "01 03 CD 6B 05");
    rsp_round_trip(&(struct mb_rsp){.fc = 2, .u.read = {3, r2}}, "02 03 AC DB 35");
    rsp_round_trip(&(struct mb_rsp){.fc = 3, .u.read = {6, r3}}, "03 06 02 2B 00 00 00 64");
    rsp_round_trip(&(struct mb_rsp){.fc = 4, .u.read = {2, r4}}, "04 02 00 0A");
    rsp_round_trip(&(struct mb_rsp){.fc = 5, .u.write1 = {0xAC, 0xFF00}}, "05 00 AC FF 00");
    rsp_round_trip(&(struct mb_rsp){.fc = 6, .u.write1 = {0x01, 0x0003}}, "06 00 01 00 03");
    rsp_round_trip(&(struct mb_rsp){.fc = 8, .u.diag = {0, 2, d8}}, "08 00 00 A5 37");
    rsp_round_trip(&(struct mb_rsp){.fc = 15, .u.writen = {0x13, 0x0A}}, "0F 00 13 00 0A");
    rsp_round_trip(&(struct mb_rsp){.fc = 16, .u.writen = {0x01, 2}}, "10 00 01 00 02");
    rsp_round_trip(&(struct mb_rsp){.fc = 22, .u.mask = {0x04, 0x00F2, 0x0025}},
                   "16 00 04 00 F2 00 25");
    rsp_round_trip(&(struct mb_rsp){.fc = 23, .u.read = {12, r23}},
                   "17 0C 00 FE 0A CD 00 01 00 03 00 0D 00 FF");
    /* section 6.21: basic stream, three objects in one response */
    struct mb_rsp d = {.fc = 43, .mei = 14};
    d.u.devid.code = 1;
    d.u.devid.conformity = 1;
    d.u.devid.nobjects = 3;
    d.u.devid.objects[0] = (struct mb_devid_object){0, 22, (const uint8_t *)"Company identification"};
    d.u.devid.objects[1] = (struct mb_devid_object){1, 15, (const uint8_t *)"Product code XX"};
    d.u.devid.objects[2] = (struct mb_devid_object){2, 5, (const uint8_t *)"V2.11"};
    rsp_round_trip(&d, "2B 0E 01 01 00 00 03"
                       " 00 16 43 6F 6D 70 61 6E 79 20 69 64 65 6E 74 69 66 69 63 61 74 69 6F 6E"
                       " 01 0F 50 72 6F 64 75 63 74 20 63 6F 64 65 20 58 58"
                       " 02 05 56 32 2E 31 31");
}

/* Section 7: read coils at 0x04A1 of a device without it -> 81 02. */
static void spec_example_exception_response(void **state)
{
    (void)state;
    uint8_t b[4];
    assert_int_equal(mb_exception_encode(1, MB_EX_ILLEGAL_DATA_ADDRESS, b), 2);
    expect_bytes(b, 2, "81 02");
    rsp_round_trip(&(struct mb_rsp){.fc = 1, .exception = 2}, "81 02");
    struct mb_rsp r;
    assert_int_equal(mb_rsp_decode(b, 2, 0, &r), MB_OK);
    assert_int_equal(r.fc, 1);
    assert_int_equal(r.exception, MB_EX_ILLEGAL_DATA_ADDRESS);
}

/* ---- round trips ---- */

static void round_trip_every_request_function(void **state)
{
    (void)state;
    uint8_t bits[250], regs[246], echo[250];
    for (unsigned i = 0; i < sizeof bits; i++)
        bits[i] = (uint8_t)(i * 37 + 1);
    memcpy(regs, bits, sizeof regs);
    memcpy(echo, bits, sizeof echo);
    uint8_t b[300];
    for (unsigned fc = 1; fc <= 4; fc++) {
        unsigned max = fc <= 2 ? 2000 : 125;
        for (unsigned q = 1; q <= max; q += max / 7) {
            struct mb_req r = {.fc = (uint8_t)fc, .u.read = {(uint16_t)(65536 - q), (uint16_t)q}};
            req_round_trip(&r, fmt("%02X %04X %04X", fc, 65536 - q, q));
        }
    }
    for (unsigned q = 1; q <= 1968; q += 97) {
        unsigned nb = (q + 7) / 8;
        struct mb_req r = {.fc = 15, .u.writen = {7, (uint16_t)q, (uint8_t)nb, bits}};
        req_round_trip(&r, fmt("0F 0007 %04X %02X %s", q, nb, hexstr(bits, nb)));
    }
    for (unsigned q = 1; q <= 123; q += 11) {
        struct mb_req r = {.fc = 16, .u.writen = {9, (uint16_t)q, (uint8_t)(2 * q), regs}};
        req_round_trip(&r, fmt("10 0009 %04X %02X %s", q, 2 * q, hexstr(regs, 2 * q)));
    }
    for (unsigned q = 1; q <= 121; q += 10) {
        struct mb_req r = {.fc = 23, .u.rw = {1, 125, 2, (uint16_t)q, (uint8_t)(2 * q), regs}};
        req_round_trip(&r, fmt("17 0001 007D 0002 %04X %02X %s", q, 2 * q, hexstr(regs, 2 * q)));
    }
    for (unsigned n = 0; n <= 250; n += 25) {
        struct mb_req r = {.fc = 8, .u.diag = {0, (uint16_t)n, echo}};
        req_round_trip(&r, fmt("08 0000 %s", hexstr(echo, n)));
    }
    uint8_t zero[2] = {0, 0}, ff00[2] = {0xFF, 0};
    req_round_trip(&(struct mb_req){.fc = 8, .u.diag = {1, 2, ff00}}, "08 0001 FF00");
    req_round_trip(&(struct mb_req){.fc = 8, .u.diag = {4, 2, zero}}, "08 0004 0000");
    req_round_trip(&(struct mb_req){.fc = 5, .u.write1 = {0xFFFF, 0}}, "05 FFFF 0000");
    req_round_trip(&(struct mb_req){.fc = 6, .u.write1 = {0xFFFF, 0xFFFF}}, "06 FFFF FFFF");
    for (unsigned c = 1; c <= 4; c++)
        req_round_trip(&(struct mb_req){.fc = 43, .mei = 14, .u.devid = {(uint8_t)c, 0x80}},
                       fmt("2B 0E %02X 80", c));
    /* FC 43 with another MEI type (13, CANopen): raw from the MEI byte */
    uint8_t can[] = {0x0D, 0x01, 0x02};
    req_round_trip(&(struct mb_req){.fc = 43, .mei = 13, .u.raw = {3, can}}, "2B 0D 01 02");
    /* an extension function code, decoded raw */
    uint8_t ext[] = {0xDE, 0xAD};
    req_round_trip(&(struct mb_req){.fc = 90, .u.raw = {2, ext}}, "5A DE AD");
    req_round_trip(&(struct mb_req){.fc = 90}, "5A");
    (void)b;
}

static void round_trip_every_response_function(void **state)
{
    (void)state;
    uint8_t data[250];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 7);
    for (unsigned fc = 1; fc <= 2; fc++)
        for (unsigned n = 1; n <= 250; n += 31)
            rsp_round_trip(&(struct mb_rsp){.fc = (uint8_t)fc, .u.read = {(uint8_t)n, data}},
                           fmt("%02X %02X %s", fc, n, hexstr(data, n)));
    unsigned reg_fcs[] = {3, 4, 23};
    for (unsigned k = 0; k < 3; k++)
        for (unsigned n = 2; n <= 250; n += 32)
            rsp_round_trip(&(struct mb_rsp){.fc = (uint8_t)reg_fcs[k], .u.read = {(uint8_t)n, data}},
                           fmt("%02X %02X %s", reg_fcs[k], n, hexstr(data, n)));
    rsp_round_trip(&(struct mb_rsp){.fc = 5, .u.write1 = {3, 0}}, "05 0003 0000");
    rsp_round_trip(&(struct mb_rsp){.fc = 15, .u.writen = {65536 - 1968, 1968}}, "0F F850 07B0");
    rsp_round_trip(&(struct mb_rsp){.fc = 16, .u.writen = {65536 - 123, 123}}, "10 FF85 007B");
    uint8_t counter[] = {0x12, 0x34};
    rsp_round_trip(&(struct mb_rsp){.fc = 8, .u.diag = {0x0B, 2, counter}}, "08 000B 1234");
    rsp_round_trip(&(struct mb_rsp){.fc = 8, .u.diag = {0, 0, NULL}}, "08 0000");
    const uint8_t *sid = (const uint8_t *)"\x00\xFFWingpath Limited";
    rsp_round_trip(&(struct mb_rsp){.fc = 17, .u.server_id = {18, sid}},
                   "11 12 00 FF 57 69 6E 67 70 61 74 68 20 4C 69 6D 69 74 65 64");
    uint8_t can[] = {0x0D, 0x09};
    rsp_round_trip(&(struct mb_rsp){.fc = 43, .mei = 13, .u.raw = {2, can}}, "2B 0D 09");
    rsp_round_trip(&(struct mb_rsp){.fc = 90, .u.raw = {2, counter}}, "5A 12 34");
}

static void round_trip_every_exception(void **state)
{
    (void)state;
    uint8_t fcs[] = {1, 2, 3, 4, 5, 6, 8, 15, 16, 17, 22, 23, 43, 90, 127};
    uint8_t codes[] = {1, 2, 3, 4, 5, 6, 8, 0x0A, 0x0B, 0x42};
    for (unsigned i = 0; i < sizeof fcs; i++)
        for (unsigned k = 0; k < sizeof codes; k++) {
            struct mb_rsp r = {.fc = fcs[i], .exception = codes[k]};
            rsp_round_trip(&r, fmt("%02X %02X", fcs[i] | 0x80, codes[k]));
            /* an exception is a response without accept_unknown too */
            rsp_is(MB_OK, fmt("%02X %02X", fcs[i] | 0x80, codes[k]), 0);
        }
}

/* ---- limits ---- */

static void read_quantity_zero_limit_and_limit_plus_one(void **state)
{
    (void)state;
    for (unsigned fc = 1; fc <= 4; fc++) {
        unsigned max = fc <= 2 ? MB_MAX_READ_BITS : MB_MAX_READ_REGISTERS;
        req_is(MB_BAD_QUANTITY, fmt("%02X 0000 0000", fc), 0);
        req_is(MB_OK, fmt("%02X 0000 0001", fc), 0);
        req_is(MB_OK, fmt("%02X 0000 %04X", fc, max), 0);
        req_is(MB_BAD_QUANTITY, fmt("%02X 0000 %04X", fc, max + 1), 0);
        req_is(MB_BAD_QUANTITY, fmt("%02X 0000 FFFF", fc), 0);
    }
    assert_int_equal(mb_status_exception(MB_BAD_QUANTITY), MB_EX_ILLEGAL_DATA_VALUE);
}

static void address_plus_quantity_65536_ok_65537_bad(void **state)
{
    (void)state;
    for (unsigned fc = 1; fc <= 4; fc++) {
        req_is(MB_OK, fmt("%02X FFFF 0001", fc), 0);              /* 65535 + 1 */
        req_is(MB_BAD_ADDRESS, fmt("%02X FFFF 0002", fc), 0);     /* 65535 + 2 */
        req_is(MB_OK, fmt("%02X FF83 007D", fc), 0);              /* 65411 + 125 = 65536 */
        req_is(MB_BAD_ADDRESS, fmt("%02X FF84 007D", fc), 0);     /* 65537 */
    }
    req_is(MB_OK, "0F FFF8 0008 01 FF", 0);
    req_is(MB_BAD_ADDRESS, "0F FFF9 0008 01 FF", 0);
    req_is(MB_OK, "10 FFFE 0002 04 0001 0002", 0);
    req_is(MB_BAD_ADDRESS, "10 FFFF 0002 04 0001 0002", 0);
    req_is(MB_OK, "17 FFFF 0001 FFFF 0001 02 0000", 0);
    req_is(MB_BAD_ADDRESS, "17 FFFF 0002 0000 0001 02 0000", 0); /* read range */
    req_is(MB_BAD_ADDRESS, "17 0000 0001 FFFF 0002 04 0000 0000", 0); /* write range */
    /* single writes address any of 0..65535 */
    req_is(MB_OK, "05 FFFF FF00", 0);
    req_is(MB_OK, "06 FFFF 1234", 0);
    req_is(MB_OK, "16 FFFF 00F2 0025", 0);
    /* echoed in the responses of FC 15, 16 */
    rsp_is(MB_OK, "0F FFF8 0008", 0);
    rsp_is(MB_BAD_ADDRESS, "0F FFF9 0008", 0);
    rsp_is(MB_BAD_ADDRESS, "10 FFFF 0002", 0);
    assert_int_equal(mb_status_exception(MB_BAD_ADDRESS), MB_EX_ILLEGAL_DATA_ADDRESS);
}

static void write_multiple_coils_quantity_and_byte_count(void **state)
{
    (void)state;
    req_is(MB_BAD_QUANTITY, "0F 0000 0000 00", 0);
    req_is(MB_BAD_QUANTITY, "0F 0000 0000 01 00", 0);
    req_is(MB_OK, "0F 0000 0001 01 01", 0);
    req_is(MB_OK, fmt("0F 0000 07B0 F6 %s", fill(246, "55")), 0);          /* 1968 */
    req_is(MB_BAD_QUANTITY, fmt("0F 0000 07B1 F7 %s", fill(247, "55")), 0); /* 1969 */
    /* byte count = ceil(qty / 8): 9 coils take 2 bytes */
    req_is(MB_OK, "0F 0000 0009 02 FF 01", 0);
    req_is(MB_BAD_BYTE_COUNT, "0F 0000 0009 01 FF", 0);       /* one too few */
    req_is(MB_BAD_BYTE_COUNT, "0F 0000 0009 03 FF 01 00", 0); /* one too many */
    req_is(MB_OK, "0F 0000 0008 01 FF", 0);
    req_is(MB_BAD_BYTE_COUNT, "0F 0000 0008 02 FF 00", 0);
    /* byte count against the bytes present */
    req_is(MB_BAD_BYTE_COUNT, "0F 0000 0009 02 FF", 0);       /* data short */
    req_is(MB_BAD_BYTE_COUNT, "0F 0000 0009 02 FF 01 00", 0); /* data long */
    assert_int_equal(mb_status_exception(MB_BAD_BYTE_COUNT), MB_EX_ILLEGAL_DATA_VALUE);
}

static void write_multiple_registers_quantity_and_byte_count(void **state)
{
    (void)state;
    req_is(MB_BAD_QUANTITY, "10 0000 0000 00", 0);
    req_is(MB_OK, "10 0000 0001 02 ABCD", 0);
    req_is(MB_OK, fmt("10 0000 007B F6 %s", fill(246, "AA")), 0);          /* 123 */
    req_is(MB_BAD_QUANTITY, fmt("10 0000 007C F8 %s", fill(246, "AA")), 0); /* 124 */
    req_is(MB_BAD_BYTE_COUNT, "10 0000 0002 03 0001 00", 0);   /* 2*qty - 1 */
    req_is(MB_BAD_BYTE_COUNT, "10 0000 0002 05 0001 0002 00", 0); /* 2*qty + 1 */
    req_is(MB_BAD_BYTE_COUNT, "10 0000 0002 04 0001 00", 0);   /* data short */
    req_is(MB_BAD_BYTE_COUNT, "10 0000 0002 04 0001 0002 00", 0); /* data long */
}

static void read_write_registers_limits(void **state)
{
    (void)state;
    req_is(MB_OK, "17 0000 007D 0000 0001 02 0000", 0);              /* read 125 */
    req_is(MB_BAD_QUANTITY, "17 0000 007E 0000 0001 02 0000", 0);    /* read 126 */
    req_is(MB_BAD_QUANTITY, "17 0000 0000 0000 0001 02 0000", 0);    /* read 0 */
    req_is(MB_OK, fmt("17 0000 0001 0000 0079 F2 %s", fill(242, "01")), 0);           /* write 121 */
    req_is(MB_BAD_QUANTITY, fmt("17 0000 0001 0000 007A F4 %s", fill(243, "01")), 0); /* 122 */
    req_is(MB_BAD_QUANTITY, "17 0000 0001 0000 0000 00", 0);         /* write 0 */
    req_is(MB_BAD_BYTE_COUNT, "17 0000 0001 0000 0002 03 000000", 0);
    req_is(MB_BAD_BYTE_COUNT, "17 0000 0001 0000 0002 04 000000", 0);
    req_is(MB_BAD_BYTE_COUNT, "17 0000 0001 0000 0002 04 0000000000", 0);
}

static void write_single_coil_values(void **state)
{
    (void)state;
    req_is(MB_OK, "05 0000 FF00", 0);
    req_is(MB_OK, "05 0000 0000", 0);
    const char *bad[] = {"0001", "FFFF", "00FF", "FF01", "0100", "1234"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req_is(MB_BAD_COIL_VALUE, fmt("05 0000 %s", bad[i]), 0);
        rsp_is(MB_BAD_COIL_VALUE, fmt("05 0000 %s", bad[i]), 0);
    }
    /* FC 6 takes any value */
    req_is(MB_OK, "06 0000 FFFF", 0);
    assert_int_equal(mb_status_exception(MB_BAD_COIL_VALUE), MB_EX_ILLEGAL_DATA_VALUE);
    /* the checked encoder refuses it too */
    uint8_t b[8];
    assert_int_equal(mb_req_encode(&(struct mb_req){.fc = 5, .u.write1 = {0, 1}}, 0, b, sizeof b),
                     MB_BAD_COIL_VALUE);
    assert_int_equal(mb_rsp_encode(&(struct mb_rsp){.fc = 5, .u.write1 = {0, 0xFFFF}}, 0, b,
                                   sizeof b),
                     MB_BAD_COIL_VALUE);
}

/* Every valid PDU cut at every length: too short for its fixed part ->
 * MB_TRUNCATED; with a byte count read, the count no longer matches ->
 * MB_BAD_BYTE_COUNT. One byte added: MB_TRAILING, or MB_BAD_BYTE_COUNT
 * where a byte count covers the data. */
struct cut_case {
    int rsp;
    const char *hex;
    size_t fixed;  /* bytes before any counted data */
    int counted;   /* a byte count field governs the rest */
};

static void truncated_at_every_length_and_trailing(void **state)
{
    (void)state;
    const struct cut_case cases[] = {
        {0, "01 0013 0013", 5, 0},
        {0, "02 00C4 0016", 5, 0},
        {0, "03 006B 0003", 5, 0},
        {0, "04 0008 0001", 5, 0},
        {0, "05 00AC FF00", 5, 0},
        {0, "06 0001 0003", 5, 0},
        {0, "08 0001 FF00", 5, 0},
        {0, "08 000A 0000", 5, 0},
        {0, "0F 0013 000A 02 CD 01", 6, 1},
        {0, "10 0001 0002 04 000A 0102", 6, 1},
        {0, "11", 1, 0},
        {0, "16 0004 00F2 0025", 7, 0},
        {0, "17 0003 0006 000E 0003 06 00FF 00FF 00FF", 10, 1},
        {0, "2B 0E 01 00", 4, 0},
        {1, "01 03 CD 6B 05", 2, 1},
        {1, "02 03 AC DB 35", 2, 1},
        {1, "03 06 022B 0000 0064", 2, 1},
        {1, "04 02 000A", 2, 1},
        {1, "05 00AC FF00", 5, 0},
        {1, "06 0001 0003", 5, 0},
        {1, "08 000B 0003", 5, 0},
        {1, "0F 0013 000A", 5, 0},
        {1, "10 0001 0002", 5, 0},
        {1, "11 03 01 FF 41", 2, 1},
        {1, "16 0004 00F2 0025", 7, 0},
        {1, "17 0C 00FE 0ACD 0001 0003 000D 00FF", 2, 1},
        {1, "2B 0E 01 01 00 00 02 00 03 414243 01 01 58", 99, 0},
        {1, "83 02", 2, 0},
    };
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t b[300];
        size_t n = hx(cases[c].hex, b);
        for (size_t len = 0; len <= n + 1; len++) {
            int want;
            if (len == n)
                want = MB_OK;
            else if (len > n)
                want = cases[c].counted ? MB_BAD_BYTE_COUNT : MB_TRAILING;
            else if (len < cases[c].fixed || !cases[c].counted)
                want = MB_TRUNCATED;
            else
                want = MB_BAD_BYTE_COUNT;
            if (len == 0)
                want = MB_TRUNCATED;
            b[n] = 0x00; /* the added byte */
            int st;
            if (cases[c].rsp) {
                struct mb_rsp r;
                st = mb_rsp_decode(b, len, 0, &r);
            } else {
                struct mb_req r;
                st = mb_req_decode(b, len, 0, &r);
            }
            if (st != want)
                fail_msg("%s %s cut to %zu bytes: %s, expected %s",
                         cases[c].rsp ? "response" : "request", cases[c].hex, len,
                         mb_status_name(st), mb_status_name(want));
        }
    }
    assert_int_equal(mb_status_exception(MB_TRUNCATED), MB_EX_ILLEGAL_DATA_VALUE);
    assert_int_equal(mb_status_exception(MB_TRAILING), MB_EX_ILLEGAL_DATA_VALUE);
}

static void pdu_over_253_bytes_is_trailing(void **state)
{
    (void)state;
    uint8_t b[300];
    memset(b, 0x11, sizeof b);
    b[0] = 90;
    struct mb_req r;
    struct mb_rsp s;
    assert_int_equal(mb_req_decode(b, 253, 1, &r), MB_OK);
    assert_int_equal(r.u.raw.ndata, 252);
    assert_int_equal(mb_req_decode(b, 254, 1, &r), MB_TRAILING);
    assert_int_equal(mb_rsp_decode(b, 253, 1, &s), MB_OK);
    assert_int_equal(mb_rsp_decode(b, 254, 1, &s), MB_TRAILING);
    /* FC 8 echo: 250 data bytes fill the PDU, 251 overflow it */
    b[0] = 8;
    b[1] = b[2] = 0;
    assert_int_equal(mb_req_decode(b, 253, 0, &r), MB_OK);
    assert_int_equal(r.u.diag.ndata, 250);
    assert_int_equal(mb_req_decode(b, 254, 0, &r), MB_TRAILING);
    assert_int_equal(mb_rsp_decode(b, 254, 0, &s), MB_TRAILING);
}

/* Function -> length -> quantity -> byte count -> address (sections
 * 6.1-6.17 state diagrams): the first broken rule is the one reported. */
static void order_of_checks(void **state)
{
    (void)state;
    /* unknown function beats everything */
    req_is(MB_BAD_FUNCTION, "5A", 0);
    req_is(MB_BAD_FUNCTION, "07 FFFF", 0);
    /* length (03) before quantity (03) before address (02) */
    req_is(MB_TRUNCATED, "03 FFFF 00", 0);
    req_is(MB_TRAILING, "03 FFFF 0000 00", 0);
    req_is(MB_BAD_QUANTITY, "03 FFFF 0000", 0);
    req_is(MB_BAD_QUANTITY, "03 FFFF 007E", 0);
    req_is(MB_BAD_ADDRESS, "03 FFFF 0002", 0);
    /* FC 16: quantity, then byte count (vs quantity, vs data), then address */
    req_is(MB_TRUNCATED, "10 FFFF 0002", 0);
    req_is(MB_BAD_QUANTITY, "10 FFFF 0000 03 000000", 0);
    req_is(MB_BAD_BYTE_COUNT, "10 FFFF 0002 03 000000", 0);
    req_is(MB_BAD_BYTE_COUNT, "10 FFFF 0002 04 000000", 0);
    req_is(MB_BAD_ADDRESS, "10 FFFF 0002 04 00000000", 0);
    /* FC 23: both quantities before the byte count before both ranges */
    req_is(MB_BAD_QUANTITY, "17 FFFF 0001 FFFF 0000 02 0000", 0);
    req_is(MB_BAD_BYTE_COUNT, "17 FFFF 0002 FFFF 0001 04 0000", 0);
    /* FC 5: length, then the value; FC 43/14: length, then the read code */
    req_is(MB_TRAILING, "05 0000 1234 00", 0);
    req_is(MB_TRUNCATED, "2B 0E 09", 0);
    req_is(MB_TRAILING, "2B 0E 09 00 00", 0);
    req_is(MB_BAD_VALUE, "2B 0E 09 00", 0);
    /* the function code is kept for the exception even on failure */
    uint8_t b[8];
    struct mb_req r;
    size_t n = hx("10 FFFF 0002", b);
    assert_int_equal(mb_req_decode(b, n, 0, &r), MB_TRUNCATED);
    assert_int_equal(r.fc, 16);
    uint8_t ex[2];
    mb_exception_encode(r.fc, mb_status_exception(MB_TRUNCATED), ex);
    expect_bytes(ex, 2, "90 03");
}

static void status_to_exception_mapping(void **state)
{
    (void)state;
    assert_int_equal(mb_status_exception(MB_OK), 0);
    assert_int_equal(mb_status_exception(MB_BAD_FUNCTION), 1);
    assert_int_equal(mb_status_exception(MB_BAD_SUBFUNCTION), 1);
    assert_int_equal(mb_status_exception(MB_BAD_ADDRESS), 2);
    int three[] = {MB_BAD_QUANTITY, MB_BAD_BYTE_COUNT, MB_BAD_COIL_VALUE, MB_BAD_VALUE,
                   MB_TRUNCATED, MB_TRAILING};
    for (unsigned i = 0; i < sizeof three / sizeof three[0]; i++)
        assert_int_equal(mb_status_exception(three[i]), 3);
    assert_int_equal(mb_status_exception(MB_TOO_LONG), 4);
    /* framing errors and malformed responses are not answered */
    int none[] = {MB_NEED_MORE, MB_BAD_PROTOCOL, MB_BAD_LENGTH, MB_BAD_EXCEPTION, 5, -99};
    for (unsigned i = 0; i < sizeof none / sizeof none[0]; i++)
        assert_int_equal(mb_status_exception(none[i]), 0);
}

static void exception_response_form(void **state)
{
    (void)state;
    rsp_is(MB_OK, "81 01", 0);
    rsp_is(MB_OK, "DA 01", 0);          /* exception to an unknown FC 90 */
    rsp_is(MB_BAD_EXCEPTION, "83 00", 0);
    rsp_is(MB_TRUNCATED, "83", 0);
    rsp_is(MB_TRAILING, "81 06 00", 0); /* seen in real captures */
    rsp_is(MB_BAD_FUNCTION, "80 01", 1); /* function code 0 */
    uint8_t b[4];
    assert_int_equal(mb_rsp_encode(&(struct mb_rsp){.fc = 0, .exception = 1}, 0, b, 4),
                     MB_BAD_FUNCTION);
    assert_int_equal(mb_rsp_encode(&(struct mb_rsp){.fc = 0x83, .exception = 1}, 0, b, 4),
                     MB_BAD_FUNCTION);
    assert_int_equal(mb_rsp_encode(&(struct mb_rsp){.fc = 3, .exception = 2}, 0, b, 1),
                     MB_TOO_LONG);
}

static void unknown_function_codes(void **state)
{
    (void)state;
    req_is(MB_BAD_FUNCTION, "5A 01 02", 0);
    req_is(MB_OK, "5A 01 02", 1);
    req_is(MB_OK, "5A", 1);
    /* named in the specification, not decoded here: raw */
    req_is(MB_BAD_FUNCTION, "07", 0);
    req_is(MB_OK, "07", 1);
    req_is(MB_OK, "18 0004", 1);
    /* 0 and 0x80-0xFF are never request function codes */
    req_is(MB_BAD_FUNCTION, "00", 1);
    req_is(MB_BAD_FUNCTION, "80", 1);
    req_is(MB_BAD_FUNCTION, "FF 00", 1);
    req_is(MB_TRUNCATED, "", 1);
    rsp_is(MB_BAD_FUNCTION, "5A 01", 0);
    rsp_is(MB_OK, "5A 01", 1);
    rsp_is(MB_BAD_FUNCTION, "00", 1);
    rsp_is(MB_TRUNCATED, "", 1);
    uint8_t b[8];
    struct mb_req r;
    size_t n = hx("5A 01 02", b);
    assert_int_equal(mb_req_decode(b, n, 1, &r), MB_OK);
    assert_int_equal(r.u.raw.ndata, 2);
    assert_ptr_equal(r.u.raw.data, b + 1);
    assert_int_equal(mb_status_exception(MB_BAD_FUNCTION), MB_EX_ILLEGAL_FUNCTION);
    assert_int_equal(mb_req_encode(&(struct mb_req){.fc = 0x80}, 0, b, sizeof b), MB_BAD_FUNCTION);
    assert_int_equal(mb_req_encode(&(struct mb_req){.fc = 0}, 0, b, sizeof b), MB_BAD_FUNCTION);
}

/* ---- FC 8 ---- */

static void diagnostics_subfunctions(void **state)
{
    (void)state;
    /* 0x0000 echoes any number of bytes, odd ones and none included */
    req_is(MB_OK, "08 0000", 0);
    req_is(MB_OK, "08 0000 A5", 0);
    req_is(MB_OK, "08 0000 A537", 0);
    req_is(MB_OK, "08 0000 A537 01", 0);
    /* the others take exactly two data bytes */
    req_is(MB_TRUNCATED, "08 0001", 0);
    req_is(MB_TRUNCATED, "08 0001 FF", 0);
    req_is(MB_TRAILING, "08 0001 FF00 00", 0);
    req_is(MB_TRUNCATED, "08 00", 0);
    /* restart communications: 0000 keeps the event log, FF00 clears it */
    req_is(MB_OK, "08 0001 0000", 0);
    req_is(MB_OK, "08 0001 FF00", 0);
    req_is(MB_BAD_VALUE, "08 0001 0001", 0);
    /* force listen only, counters: data 0000 */
    req_is(MB_OK, "08 0004 0000", 0);
    req_is(MB_BAD_VALUE, "08 0004 FF00", 0);
    for (unsigned sub = 0x0A; sub <= 0x12; sub++) {
        req_is(MB_OK, fmt("08 %04X 0000", sub), 0);
        req_is(MB_BAD_VALUE, fmt("08 %04X 0001", sub), 0);
        assert_non_null(mb_diag_name((uint16_t)sub));
    }
    req_is(MB_OK, "08 0014 0000", 0);
    /* change ASCII delimiter: the character, then 00 */
    req_is(MB_OK, "08 0003 3A00", 0);
    req_is(MB_BAD_VALUE, "08 0003 3A3A", 0);
    /* unknown sub-functions decode (the server decides: MB_BAD_SUBFUNCTION -> 01) */
    req_is(MB_OK, "08 0005 1234", 0);
    req_is(MB_OK, "08 FFFF 1234", 0);
    req_is(MB_TRAILING, "08 0099 1234 56", 0);
    req_is(MB_TRUNCATED, "08 0099 12", 0);
    assert_int_equal(mb_status_exception(MB_BAD_SUBFUNCTION), MB_EX_ILLEGAL_FUNCTION);
    uint8_t b[8];
    struct mb_req r;
    size_t n = hx("08 0099 1234", b);
    assert_int_equal(mb_req_decode(b, n, 0, &r), MB_OK);
    assert_int_equal(r.u.diag.sub, 0x99);
    assert_int_equal(r.u.diag.ndata, 2);
    assert_int_equal(mb_get16(r.u.diag.data), 0x1234);
    assert_null(mb_diag_name(0x99));
    assert_string_equal(mb_diag_name(MB_DIAG_FORCE_LISTEN_ONLY), "force listen only mode");
    /* responses: counters carry any value; 0x0000 any length */
    rsp_is(MB_OK, "08 000B 1234", 0);
    rsp_is(MB_OK, "08 0000", 0);
    rsp_is(MB_OK, "08 0000 010203", 0);
    rsp_is(MB_TRUNCATED, "08 000B 12", 0);
    rsp_is(MB_TRAILING, "08 000B 1234 56", 0);
}

static void diagnostics_response_check(void **state)
{
    (void)state;
    uint8_t q[16], s[16];
    struct mb_req req;
    struct mb_rsp rsp;
    /* echo sub-functions: data must come back unchanged */
    size_t n = hx("08 0000 A537", q);
    assert_int_equal(mb_req_decode(q, n, 0, &req), MB_OK);
    size_t m = hx("08 0000 A537", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_OK);
    m = hx("08 0000 A538", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_VALUE);
    m = hx("08 0000 A5", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_VALUE);
    m = hx("08 0001 A537", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_SUBFUNCTION);
    /* a counter comes back with its value */
    n = hx("08 000E 0000", q);
    assert_int_equal(mb_req_decode(q, n, 0, &req), MB_OK);
    m = hx("08 000E 0102", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_OK);
    /* force listen only mode is never answered (section 6.8.1, sub 04) */
    n = hx("08 0004 0000", q);
    assert_int_equal(mb_req_decode(q, n, 0, &req), MB_OK);
    m = hx("08 0004 0000", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_VALUE);
    /* ... but refusing it with an exception is an answer */
    m = hx("88 01", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_OK);
}

/* ---- FC 17 and FC 43 ---- */

static void report_server_id(void **state)
{
    (void)state;
    req_is(MB_OK, "11", 0);
    req_is(MB_TRAILING, "11 00", 0);
    rsp_is(MB_OK, "11 02 01 FF", 0);
    rsp_is(MB_BAD_BYTE_COUNT, "11 00", 0);
    rsp_is(MB_BAD_BYTE_COUNT, "11 03 01 FF", 0);
    rsp_is(MB_BAD_BYTE_COUNT, "11 01 01 FF", 0);
    rsp_is(MB_TRUNCATED, "11", 0);
    uint8_t b[8];
    uint8_t x[] = {1};
    assert_int_equal(mb_req_encode(&(struct mb_req){.fc = 17, .u.raw = {1, x}}, 0, b, 8),
                     MB_TRAILING);
    assert_int_equal(mb_rsp_encode(&(struct mb_rsp){.fc = 17}, 0, b, 8), MB_BAD_BYTE_COUNT);
}

static void device_id_request(void **state)
{
    (void)state;
    for (unsigned c = 1; c <= 4; c++)
        req_is(MB_OK, fmt("2B 0E %02X 00", c), 0);
    req_is(MB_BAD_VALUE, "2B 0E 00 00", 0);
    req_is(MB_BAD_VALUE, "2B 0E 05 00", 0);
    req_is(MB_BAD_VALUE, "2B 0E FF 00", 0);
    req_is(MB_TRUNCATED, "2B", 0);
    req_is(MB_TRUNCATED, "2B 0E", 0);
    req_is(MB_TRAILING, "2B 0E 03 01 00", 0); /* seen in real captures */
    /* other MEI types decode raw without accept_unknown; the server decides */
    uint8_t b[8];
    struct mb_req r;
    size_t n = hx("2B 0D 00 01", b);
    assert_int_equal(mb_req_decode(b, n, 0, &r), MB_OK);
    assert_int_equal(r.mei, 0x0D);
    assert_int_equal(r.u.raw.ndata, 3);
    assert_ptr_equal(r.u.raw.data, b + 1);
    /* encoding: the raw data must start with the MEI type given */
    uint8_t wrong[] = {0x0E, 1, 0};
    assert_int_equal(mb_req_encode(&(struct mb_req){.fc = 43, .mei = 13, .u.raw = {3, wrong}},
                                   0, b, 8),
                     MB_BAD_SUBFUNCTION);
    assert_int_equal(mb_req_encode(&(struct mb_req){.fc = 43, .mei = 13}, 0, b, 8),
                     MB_TRUNCATED);
    assert_int_equal(mb_req_encode(&(struct mb_req){.fc = 43, .mei = 14, .u.devid = {5, 0}}, 0,
                                   b, 8),
                     MB_BAD_VALUE);
}

/* A response of `n` objects "objK" (id first + K) with the given header. */
static size_t devid_pdu(uint8_t *b, uint8_t code, uint8_t conf, uint8_t more, uint8_t next,
                        uint8_t first, unsigned n)
{
    size_t p = 0;
    b[p++] = 0x2B;
    b[p++] = 0x0E;
    b[p++] = code;
    b[p++] = conf;
    b[p++] = more;
    b[p++] = next;
    b[p++] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        b[p++] = (uint8_t)(first + i);
        b[p++] = 1;
        b[p++] = (uint8_t)('a' + i % 26);
    }
    return p;
}

static int devid_status(uint8_t code, uint8_t conf, uint8_t more, uint8_t next, unsigned n)
{
    uint8_t b[300];
    struct mb_rsp r;
    size_t len = devid_pdu(b, code, conf, more, next, 0, n);
    return mb_rsp_decode(b, len, 0, &r);
}

static void device_id_response_fields(void **state)
{
    (void)state;
    assert_int_equal(devid_status(1, 0x01, 0x00, 0, 3), MB_OK);
    assert_int_equal(devid_status(2, 0x82, 0x00, 0, 3), MB_OK);
    assert_int_equal(devid_status(3, 0x83, 0xFF, 5, 3), MB_OK);
    assert_int_equal(devid_status(4, 0x81, 0x00, 0, 1), MB_OK);
    assert_int_equal(devid_status(1, 0x01, 0x00, 0, 0), MB_OK);
    /* read code, conformity level, more follows */
    assert_int_equal(devid_status(0, 0x01, 0x00, 0, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(5, 0x01, 0x00, 0, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(1, 0x00, 0x00, 0, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(1, 0x04, 0x00, 0, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(1, 0x84, 0x00, 0, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(1, 0x80, 0x00, 0, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(1, 0x01, 0x01, 0, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(1, 0x01, 0xFE, 3, 1), MB_BAD_VALUE);
    /* next object id is 00 when nothing more follows */
    assert_int_equal(devid_status(1, 0x01, 0x00, 2, 1), MB_BAD_VALUE);
    /* individual access: one object, nothing follows */
    assert_int_equal(devid_status(4, 0x81, 0xFF, 2, 1), MB_BAD_VALUE);
    assert_int_equal(devid_status(4, 0x81, 0x00, 0, 2), MB_BAD_VALUE);
    assert_int_equal(devid_status(4, 0x81, 0x00, 0, 0), MB_BAD_VALUE);
    /* at most 64 objects decoded */
    assert_int_equal(devid_status(3, 0x03, 0x00, 0, 64), MB_OK);
    assert_int_equal(devid_status(3, 0x03, 0x00, 0, 65), MB_BAD_VALUE);
    /* objects must fit the PDU exactly */
    rsp_is(MB_TRUNCATED, "2B 0E 01 01 00 00 01 00", 0);
    rsp_is(MB_TRUNCATED, "2B 0E 01 01 00 00 01 00 03 41 42", 0);
    rsp_is(MB_TRUNCATED, "2B 0E 01 01 00 00 02 00 01 41", 0);
    rsp_is(MB_TRAILING, "2B 0E 01 01 00 00 01 00 01 41 00", 0);
    rsp_is(MB_OK, "2B 0E 01 01 00 00 01 00 00", 0); /* an empty value */
    rsp_is(MB_TRUNCATED, "2B 0E 01 01 00 00", 0);
    /* fields decoded */
    uint8_t b[300];
    struct mb_rsp r;
    size_t len = devid_pdu(b, 3, 0x83, 0xFF, 0x82, 0x80, 2);
    assert_int_equal(mb_rsp_decode(b, len, 0, &r), MB_OK);
    assert_int_equal(r.mei, 14);
    assert_int_equal(r.u.devid.code, 3);
    assert_int_equal(r.u.devid.conformity, 0x83);
    assert_int_equal(r.u.devid.more, 0xFF);
    assert_int_equal(r.u.devid.next, 0x82);
    assert_int_equal(r.u.devid.nobjects, 2);
    assert_int_equal(r.u.devid.objects[1].id, 0x81);
    assert_int_equal(r.u.devid.objects[1].len, 1);
    assert_int_equal(r.u.devid.objects[1].value[0], 'b');
    assert_ptr_equal(r.u.devid.objects[0].value, b + 9);
}

/* A server with 7 objects of 60 bytes answers a regular stream in as many
 * responses as needed; the client follows next object id until more
 * follows is 00 (section 6.21). */
static void device_id_stream_with_more_follows(void **state)
{
    (void)state;
    char values[7][61];
    for (int i = 0; i < 7; i++) {
        memset(values[i], 'A' + i, 60);
        values[i][60] = 0;
    }
    uint8_t next = 0;
    int got[7] = {0};
    int transactions = 0;
    for (;;) {
        uint8_t q[8], s[260];
        int qn = mb_req_encode(&(struct mb_req){.fc = 43, .mei = 14, .u.devid = {2, next}}, 0, q,
                               sizeof q);
        assert_int_equal(qn, 4);
        struct mb_req req;
        assert_int_equal(mb_req_decode(q, (size_t)qn, 0, &req), MB_OK);
        /* server: objects from req.object while they fit in 253 bytes */
        struct mb_rsp rsp = {.fc = 43, .mei = 14};
        rsp.u.devid.code = 2;
        rsp.u.devid.conformity = 0x82;
        size_t used = 7;
        unsigned id = req.u.devid.object;
        while (id < 7 && used + 2 + 60 <= MB_MAX_PDU) {
            rsp.u.devid.objects[rsp.u.devid.nobjects++] =
                (struct mb_devid_object){(uint8_t)id, 60, (const uint8_t *)values[id]};
            used += 62;
            id++;
        }
        rsp.u.devid.more = id < 7 ? 0xFF : 0x00;
        rsp.u.devid.next = id < 7 ? (uint8_t)id : 0;
        int sn = mb_rsp_encode(&rsp, 0, s, sizeof s);
        assert_true(sn > 0 && sn <= MB_MAX_PDU);
        /* client */
        struct mb_rsp d;
        assert_int_equal(mb_rsp_decode(s, (size_t)sn, 0, &d), MB_OK);
        assert_int_equal(mb_rsp_check(&req, &d), MB_OK);
        for (unsigned i = 0; i < d.u.devid.nobjects; i++) {
            assert_memory_equal(d.u.devid.objects[i].value, values[d.u.devid.objects[i].id], 60);
            got[d.u.devid.objects[i].id]++;
        }
        transactions++;
        if (d.u.devid.more == 0x00)
            break;
        next = d.u.devid.next;
    }
    assert_int_equal(transactions, 3); /* 3 objects of 62 bytes fit in 253 */
    for (int i = 0; i < 7; i++)
        assert_int_equal(got[i], 1);
}

static void device_id_encode_limits(void **state)
{
    (void)state;
    uint8_t b[600];
    static const uint8_t v[255] = {0};
    struct mb_rsp r = {.fc = 43, .mei = 14};
    r.u.devid.code = 1;
    r.u.devid.conformity = 1;
    r.u.devid.nobjects = 2;
    r.u.devid.objects[0] = (struct mb_devid_object){0, 200, v};
    r.u.devid.objects[1] = (struct mb_devid_object){1, 44, v};
    /* 7 + 202 + 46 = 255 > 253 */
    assert_int_equal(mb_rsp_encode(&r, 0, b, sizeof b), MB_TOO_LONG);
    r.u.devid.objects[1].len = 42;
    assert_int_equal(mb_rsp_encode(&r, 0, b, sizeof b), MB_MAX_PDU);
    assert_int_equal(mb_rsp_encode(&r, 0, b, MB_MAX_PDU - 1), MB_TOO_LONG);
    r.u.devid.objects[1].value = NULL;
    assert_int_equal(mb_rsp_encode(&r, 0, b, sizeof b), MB_BAD_VALUE);
    r.u.devid.objects[1].value = v;
    r.u.devid.more = 0x01;
    assert_int_equal(mb_rsp_encode(&r, 0, b, sizeof b), MB_BAD_VALUE);
    /* RAW writes a count above 64 as given, followed by the 64 objects held */
    struct mb_rsp big = {.fc = 43, .mei = 14};
    big.u.devid.code = 1;
    big.u.devid.conformity = 1;
    big.u.devid.nobjects = 70;
    for (unsigned i = 0; i < MB_DEVID_MAX_OBJECTS; i++)
        big.u.devid.objects[i] = (struct mb_devid_object){(uint8_t)i, 0, NULL};
    assert_int_equal(mb_rsp_encode(&big, 0, b, sizeof b), MB_BAD_VALUE);
    int n = mb_rsp_encode(&big, MB_ENC_RAW, b, sizeof b);
    assert_int_equal(n, 7 + 2 * 64);
    assert_int_equal(b[6], 70);
    struct mb_rsp d;
    assert_int_equal(mb_rsp_decode(b, (size_t)n, 0, &d), MB_BAD_VALUE);
}

static void device_id_response_check(void **state)
{
    (void)state;
    uint8_t q[8], s[300];
    struct mb_req req;
    struct mb_rsp rsp;
    /* individual access: the object asked for, alone */
    size_t n = hx("2B 0E 04 05", q);
    assert_int_equal(mb_req_decode(q, n, 0, &req), MB_OK);
    size_t m = hx("2B 0E 04 82 00 00 01 05 01 58", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_OK);
    m = hx("2B 0E 04 82 00 00 01 06 01 58", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_VALUE);
    m = hx("2B 0E 01 82 00 00 01 05 01 58", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_VALUE);
    /* stream: a device answers at its own level, never above the one asked */
    n = hx("2B 0E 02 00", q);
    assert_int_equal(mb_req_decode(q, n, 0, &req), MB_OK);
    m = devid_pdu(s, 1, 0x01, 0, 0, 0, 3);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_OK);
    m = devid_pdu(s, 3, 0x03, 0, 0, 0, 3);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_VALUE);
    /* another MEI type in the answer */
    m = hx("2B 0D 00", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_BAD_SUBFUNCTION);
    /* exception 02: individual object absent */
    m = hx("AB 02", s);
    assert_int_equal(mb_rsp_decode(s, m, 0, &rsp), MB_OK);
    assert_int_equal(mb_rsp_check(&req, &rsp), MB_OK);
}

/* ---- responses against requests ---- */

static int check_pair(const char *req_hex, const char *rsp_hex)
{
    uint8_t q[300], s[300];
    struct mb_req req;
    struct mb_rsp rsp;
    size_t n = hx(req_hex, q), m = hx(rsp_hex, s);
    if (mb_req_decode(q, n, 1, &req) != MB_OK)
        fail_msg("request %s does not decode", req_hex);
    if (mb_rsp_decode(s, m, 1, &rsp) != MB_OK)
        fail_msg("response %s does not decode", rsp_hex);
    return mb_rsp_check(&req, &rsp);
}

static void response_check_against_request(void **state)
{
    (void)state;
    /* bits: ceil(qty / 8) bytes */
    assert_int_equal(check_pair("01 0013 0013", "01 03 CD6B05"), MB_OK);
    assert_int_equal(check_pair("01 0013 0013", "01 02 CD6B"), MB_BAD_BYTE_COUNT);
    assert_int_equal(check_pair("01 0013 0013", "01 04 CD6B0500"), MB_BAD_BYTE_COUNT);
    assert_int_equal(check_pair("02 0000 0008", "02 01 FF"), MB_OK);
    assert_int_equal(check_pair("02 0000 0009", "02 01 FF"), MB_BAD_BYTE_COUNT);
    /* registers: 2 qty bytes */
    assert_int_equal(check_pair("03 006B 0003", "03 06 022B00000064"), MB_OK);
    assert_int_equal(check_pair("03 006B 0003", "03 04 022B0000"), MB_BAD_BYTE_COUNT);
    assert_int_equal(check_pair("04 0008 0001", "04 02 000A"), MB_OK);
    assert_int_equal(check_pair("17 0003 0006 000E 0003 06 00FF00FF00FF",
                                "17 0C 00FE 0ACD 0001 0003 000D 00FF"),
                     MB_OK);
    assert_int_equal(check_pair("17 0003 0001 000E 0003 06 00FF00FF00FF", "17 04 0000 0000"),
                     MB_BAD_BYTE_COUNT);
    /* echoes */
    assert_int_equal(check_pair("05 00AC FF00", "05 00AC FF00"), MB_OK);
    assert_int_equal(check_pair("05 00AC FF00", "05 00AD FF00"), MB_BAD_ADDRESS);
    assert_int_equal(check_pair("05 00AC FF00", "05 00AC 0000"), MB_BAD_COIL_VALUE);
    assert_int_equal(check_pair("06 0001 0003", "06 0001 0004"), MB_BAD_VALUE);
    assert_int_equal(check_pair("0F 0013 000A 02 CD01", "0F 0013 000A"), MB_OK);
    assert_int_equal(check_pair("0F 0013 000A 02 CD01", "0F 0013 0009"), MB_BAD_QUANTITY);
    assert_int_equal(check_pair("10 0001 0002 04 000A0102", "10 0002 0002"), MB_BAD_ADDRESS);
    assert_int_equal(check_pair("16 0004 00F2 0025", "16 0004 00F2 0025"), MB_OK);
    assert_int_equal(check_pair("16 0004 00F2 0025", "16 0004 00F2 0026"), MB_BAD_VALUE);
    assert_int_equal(check_pair("11", "11 02 01 FF"), MB_OK);
    assert_int_equal(check_pair("5A 01", "5A 02 03"), MB_OK);
    /* exceptions answer their own function only */
    assert_int_equal(check_pair("03 006B 0003", "83 02"), MB_OK);
    assert_int_equal(check_pair("03 006B 0003", "84 02"), MB_BAD_FUNCTION);
    assert_int_equal(check_pair("03 006B 0003", "04 02 000A"), MB_BAD_FUNCTION);
}

static void response_byte_count_rules(void **state)
{
    (void)state;
    for (unsigned fc = 1; fc <= 2; fc++) {
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 00", fc), 0);
        rsp_is(MB_OK, fmt("%02X 01 00", fc), 0);
        rsp_is(MB_OK, fmt("%02X FA %s", fc, fill(250, "01")), 0);
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X FB %s", fc, fill(251, "01")), 0);
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 02 00", fc), 0);       /* count > data */
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 01 00 00", fc), 0);    /* count < data */
        rsp_is(MB_TRUNCATED, fmt("%02X", fc), 0);
    }
    unsigned reg_fcs[] = {3, 4, 23};
    for (unsigned k = 0; k < 3; k++) {
        unsigned fc = reg_fcs[k];
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 00", fc), 0);
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 01 00", fc), 0);      /* odd */
        rsp_is(MB_OK, fmt("%02X 02 0000", fc), 0);
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 03 000000", fc), 0);
        rsp_is(MB_OK, fmt("%02X FA %s", fc, fill(250, "01")), 0);   /* 125 registers */
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X FC %s", fc, fill(250, "01")), 0);
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 04 0000", fc), 0);
        rsp_is(MB_BAD_BYTE_COUNT, fmt("%02X 02 000000", fc), 0);
    }
    /* FC 15 / 16 responses echo a valid quantity */
    rsp_is(MB_BAD_QUANTITY, "0F 0000 0000", 0);
    rsp_is(MB_OK, "0F 0000 07B0", 0);
    rsp_is(MB_BAD_QUANTITY, "0F 0000 07B1", 0);
    rsp_is(MB_OK, "10 0000 007B", 0);
    rsp_is(MB_BAD_QUANTITY, "10 0000 007C", 0);
    uint8_t b[8];
    assert_int_equal(mb_rsp_encode(&(struct mb_rsp){.fc = 3, .u.read = {3, b}}, 0, b, 8),
                     MB_BAD_BYTE_COUNT);
    assert_int_equal(mb_rsp_encode(&(struct mb_rsp){.fc = 16, .u.writen = {0, 0}}, 0, b, 8),
                     MB_BAD_QUANTITY);
}

/* ---- encoders ---- */

static void encoder_computes_byte_count_when_zero(void **state)
{
    (void)state;
    uint8_t d[4] = {0xFF, 0x03, 0x12, 0x34}, b[32];
    int n = mb_req_encode(&(struct mb_req){.fc = 15, .u.writen = {0, 10, 0, d}}, 0, b, sizeof b);
    expect_bytes(b, n, "0F 0000 000A 02 FF03");
    n = mb_req_encode(&(struct mb_req){.fc = 16, .u.writen = {0, 2, 0, d}}, 0, b, sizeof b);
    expect_bytes(b, n, "10 0000 0002 04 FF031234");
    n = mb_req_encode(&(struct mb_req){.fc = 23, .u.rw = {0, 1, 5, 1, 0, d}}, 0, b, sizeof b);
    expect_bytes(b, n, "17 0000 0001 0005 0001 02 FF03");
    /* a byte count given must be right */
    n = mb_req_encode(&(struct mb_req){.fc = 16, .u.writen = {0, 2, 3, d}}, 0, b, sizeof b);
    assert_int_equal(n, MB_BAD_BYTE_COUNT);
    /* data must be there */
    n = mb_req_encode(&(struct mb_req){.fc = 16, .u.writen = {0, 2, 0, NULL}}, 0, b, sizeof b);
    assert_int_equal(n, MB_BAD_VALUE);
}

static void encoder_checks_room(void **state)
{
    (void)state;
    uint8_t b[300], d[300] = {0};
    struct mb_req r = {.fc = 3, .u.read = {0, 1}};
    assert_int_equal(mb_req_encode(&r, 0, b, 4), MB_TOO_LONG);
    assert_int_equal(mb_req_encode(&r, 0, b, 5), 5);
    assert_int_equal(mb_req_encode(&r, MB_ENC_RAW, b, 4), MB_TOO_LONG);
    /* past MB_MAX_PDU: refused unless raw */
    struct mb_req e = {.fc = 8, .u.diag = {0, 251, d}};
    assert_int_equal(mb_req_encode(&e, 0, b, sizeof b), MB_TOO_LONG);
    assert_int_equal(mb_req_encode(&e, MB_ENC_RAW, b, sizeof b), 254);
    struct mb_req x = {.fc = 90, .u.raw = {252, d}};
    assert_int_equal(mb_req_encode(&x, 0, b, sizeof b), MB_MAX_PDU);
    x.u.raw.ndata = 253;
    assert_int_equal(mb_req_encode(&x, 0, b, sizeof b), MB_TOO_LONG);
    assert_int_equal(mb_status_exception(MB_TOO_LONG), MB_EX_SERVER_DEVICE_FAILURE);
}

/* MB_ENC_RAW builds what the struct says; the decoder names the rule broken;
 * the checked encoder refuses the same struct with the same status. */
static void raw_encoding_then_decoding_reports_the_rule(void **state)
{
    (void)state;
    uint8_t d[300];
    memset(d, 0x5A, sizeof d);
    struct {
        struct mb_req r;
        int want;
        const char *bytes; /* NULL: not checked */
        int checked;       /* what the checked encoder returns, if not `want` */
    } reqs[] = {
        {{.fc = 3, .u.read = {0, 0}}, MB_BAD_QUANTITY, "03 0000 0000", 0},
        {{.fc = 1, .u.read = {0, 2001}}, MB_BAD_QUANTITY, "01 0000 07D1", 0},
        {{.fc = 4, .u.read = {0xFFFF, 2}}, MB_BAD_ADDRESS, "04 FFFF 0002", 0},
        {{.fc = 5, .u.write1 = {1, 0x1234}}, MB_BAD_COIL_VALUE, "05 0001 1234", 0},
        {{.fc = 15, .u.writen = {0, 9, 1, d}}, MB_BAD_BYTE_COUNT, "0F 0000 0009 01 5A", 0},
        {{.fc = 15, .u.writen = {0, 0, 1, d}}, MB_BAD_QUANTITY, "0F 0000 0000 01 5A", 0},
        /* byte count 0: written as such raw, computed (4) when checked */
        {{.fc = 16, .u.writen = {0, 2, 0, d}}, MB_BAD_BYTE_COUNT, "10 0000 0002 00", 10},
        {{.fc = 16, .u.writen = {0, 124, 246, d}}, MB_BAD_QUANTITY, NULL, 0},
        {{.fc = 16, .u.writen = {0xFFFF, 2, 4, d}}, MB_BAD_ADDRESS, NULL, 0},
        {{.fc = 23, .u.rw = {0, 126, 0, 1, 2, d}}, MB_BAD_QUANTITY, NULL, 0},
        {{.fc = 23, .u.rw = {0, 1, 0, 122, 242, d}}, MB_BAD_QUANTITY, NULL, 0},
        {{.fc = 23, .u.rw = {0, 1, 0, 1, 4, d}}, MB_BAD_BYTE_COUNT, NULL, 0},
        {{.fc = 23, .u.rw = {0xFFFF, 2, 0, 1, 2, d}}, MB_BAD_ADDRESS, NULL, 0},
        {{.fc = 8, .u.diag = {1, 3, d}}, MB_TRAILING, "08 0001 5A5A5A", 0},
        {{.fc = 8, .u.diag = {1, 1, d}}, MB_TRUNCATED, "08 0001 5A", 0},
        {{.fc = 8, .u.diag = {4, 2, d}}, MB_BAD_VALUE, "08 0004 5A5A", 0},
        {{.fc = 17, .u.raw = {1, d}}, MB_TRAILING, "11 5A", 0},
        {{.fc = 43, .mei = 14, .u.devid = {7, 0}}, MB_BAD_VALUE, "2B 0E 07 00", 0},
        {{.fc = 43, .mei = 13, .u.raw = {0, NULL}}, MB_TRUNCATED, "2B", 0},
    };
    for (unsigned i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        uint8_t b[600];
        int n = mb_req_encode(&reqs[i].r, MB_ENC_RAW, b, sizeof b);
        if (n < 0)
            fail_msg("request %u: raw encoding failed: %s", i, mb_status_name(n));
        if (reqs[i].bytes)
            expect_bytes(b, n, reqs[i].bytes);
        struct mb_req dec;
        int st = mb_req_decode(b, (size_t)n, 0, &dec);
        if (st != reqs[i].want)
            fail_msg("request %u (%s): decoded as %s, expected %s", i, hexstr(b, (size_t)n),
                     mb_status_name(st), mb_status_name(reqs[i].want));
        st = mb_req_encode(&reqs[i].r, 0, b, sizeof b);
        int checked = reqs[i].checked ? reqs[i].checked : reqs[i].want;
        if (st != checked)
            fail_msg("request %u: checked encoder says %d (%s), expected %d", i, st,
                     mb_status_name(st), checked);
    }
    struct {
        struct mb_rsp r;
        int want;
        const char *bytes;
    } rsps[] = {
        {{.fc = 3, .exception = 0, .u.read = {3, d}}, MB_BAD_BYTE_COUNT, "03 03 5A5A5A"},
        {{.fc = 1, .u.read = {0, d}}, MB_BAD_BYTE_COUNT, "01 00"},
        {{.fc = 5, .u.write1 = {0, 0x0001}}, MB_BAD_COIL_VALUE, "05 0000 0001"},
        {{.fc = 15, .u.writen = {0, 0}}, MB_BAD_QUANTITY, "0F 0000 0000"},
        {{.fc = 16, .u.writen = {0xFFFF, 2}}, MB_BAD_ADDRESS, "10 FFFF 0002"},
        {{.fc = 8, .u.diag = {0x0B, 3, d}}, MB_TRAILING, "08 000B 5A5A5A"},
        {{.fc = 17, .u.server_id = {0, d}}, MB_BAD_BYTE_COUNT, "11 00"},
        {{.fc = 43, .mei = 14, .u.devid = {.code = 1, .conformity = 1, .more = 0x01}},
         MB_BAD_VALUE, "2B 0E 01 01 01 00 00"},
        {{.fc = 43, .mei = 14, .u.devid = {.code = 4, .conformity = 0x81}}, MB_BAD_VALUE,
         "2B 0E 04 81 00 00 00"},
    };
    for (unsigned i = 0; i < sizeof rsps / sizeof rsps[0]; i++) {
        uint8_t b[600];
        int n = mb_rsp_encode(&rsps[i].r, MB_ENC_RAW, b, sizeof b);
        if (n < 0)
            fail_msg("response %u: raw encoding failed: %s", i, mb_status_name(n));
        if (rsps[i].bytes)
            expect_bytes(b, n, rsps[i].bytes);
        struct mb_rsp dec;
        int st = mb_rsp_decode(b, (size_t)n, 0, &dec);
        if (st != rsps[i].want)
            fail_msg("response %u (%s): decoded as %s, expected %s", i, hexstr(b, (size_t)n),
                     mb_status_name(st), mb_status_name(rsps[i].want));
        st = mb_rsp_encode(&rsps[i].r, 0, b, sizeof b);
        if (st != rsps[i].want)
            fail_msg("response %u: checked encoder says %s, expected %s", i,
                     mb_status_name(st), mb_status_name(rsps[i].want));
    }
    /* an exception with code 0 (exception 0 in the struct means "none") */
    uint8_t b[4];
    assert_int_equal(mb_exception_encode(3, 0, b), 2);
    struct mb_rsp dec;
    assert_int_equal(mb_rsp_decode(b, 2, 0, &dec), MB_BAD_EXCEPTION);
}

/* ---- MBAP ---- */

static void mbap_parse_and_write(void **state)
{
    (void)state;
    uint8_t b[16];
    struct mb_mbap h;
    size_t n = hx("1234 0000 0006 FF", b);
    for (size_t k = 0; k < MB_MBAP_LEN; k++)
        assert_int_equal(mb_mbap_parse(b, k, &h), MB_NEED_MORE);
    assert_int_equal(mb_mbap_parse(b, n, &h), MB_OK);
    assert_int_equal(h.tid, 0x1234);
    assert_int_equal(h.pid, 0);
    assert_int_equal(h.len, 6);
    assert_int_equal(h.unit, 0xFF);
    hx("1234 0001 0006 FF", b);
    assert_int_equal(mb_mbap_parse(b, 7, &h), MB_BAD_PROTOCOL);
    assert_int_equal(h.pid, 1);
    unsigned lens[] = {0, 1, 255, 65535};
    for (unsigned i = 0; i < 4; i++) {
        hx(fmt("0001 0000 %04X 01", lens[i]), b);
        assert_int_equal(mb_mbap_parse(b, 7, &h), MB_BAD_LENGTH);
        assert_int_equal(h.len, lens[i]);
    }
    hx("0001 0000 0002 01", b);
    assert_int_equal(mb_mbap_parse(b, 7, &h), MB_OK);
    hx("0001 0000 00FE 01", b);
    assert_int_equal(mb_mbap_parse(b, 7, &h), MB_OK);
    /* protocol id is checked first */
    hx("0001 0002 0000 01", b);
    assert_int_equal(mb_mbap_parse(b, 7, &h), MB_BAD_PROTOCOL);
    mb_mbap_write(b, 0xABCD, 7, 0x11, 5);
    expect_bytes(b, 7, "ABCD 0007 0006 11");
    /* an ADU around a PDU encoded in place */
    uint8_t adu[MB_MAX_ADU];
    int pn = mb_req_encode(&(struct mb_req){.fc = 3, .u.read = {0x6B, 3}}, 0, adu + MB_MBAP_LEN,
                           MB_MAX_PDU);
    size_t an = mb_adu_write(adu, 1, 0x11, adu + MB_MBAP_LEN, (size_t)pn);
    expect_bytes(adu, (int)an, "0001 0000 0006 11 03 006B 0003");
    /* and around one elsewhere */
    uint8_t pdu[] = {0x04, 0x00, 0x08, 0x00, 0x01};
    an = mb_adu_write(adu, 0xFFFF, 0, pdu, sizeof pdu);
    expect_bytes(adu, (int)an, "FFFF 0000 0006 00 04 0008 0001");
}

/* ---- the framer ---- */

struct frames {
    unsigned n;
    size_t bytes;
    uint8_t log[40000]; /* tid, unit, pdu of each frame */
    unsigned stop_at;   /* return 7 at this frame number (1-based), 0 never */
};

static int collect(void *ctx, const struct mb_mbap *h, const uint8_t *pdu, size_t pdu_len)
{
    struct frames *f = ctx;
    assert_int_equal(pdu_len, (size_t)h->len - 1);
    assert_true(f->bytes + 3 + pdu_len <= sizeof f->log);
    mb_put16(f->log + f->bytes, h->tid);
    f->log[f->bytes + 2] = h->unit;
    memcpy(f->log + f->bytes + 3, pdu, pdu_len);
    f->bytes += 3 + pdu_len;
    f->n++;
    return f->n == f->stop_at ? 7 : 0;
}

/* `count` ADUs of varied sizes into b; returns the stream's length. */
static size_t make_stream(uint8_t *b, unsigned count)
{
    size_t p = 0;
    uint8_t data[246];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    for (unsigned i = 0; i < count; i++) {
        uint8_t pdu[MB_MAX_PDU];
        int n;
        switch (i % 4) {
        case 0:
            n = mb_req_encode(&(struct mb_req){.fc = 3, .u.read = {(uint16_t)i, 1}}, 0, pdu, sizeof pdu);
            break;
        case 1:
            n = mb_req_encode(&(struct mb_req){.fc = 16, .u.writen = {0, (uint16_t)(1 + i % 123), 0, data}},
                              0, pdu, sizeof pdu);
            break;
        case 2:
            n = mb_req_encode(&(struct mb_req){.fc = 17}, 0, pdu, sizeof pdu);
            break;
        default: {
            uint8_t d[250];
            memset(d, (int)i, sizeof d);
            n = mb_req_encode(&(struct mb_req){.fc = 8, .u.diag = {0, 250, d}}, 0, pdu, sizeof pdu);
            break;
        }
        }
        assert_true(n > 0);
        p += mb_adu_write(b + p, (uint16_t)i, (uint8_t)(i * 7), pdu, (size_t)n);
    }
    return p;
}

static void framer_whole_stream_in_one_call(struct frames *out, const uint8_t *s, size_t n)
{
    struct mb_framer f;
    mb_framer_init(&f);
    size_t used = 0;
    memset(out, 0, sizeof *out);
    assert_int_equal(mb_framer_feed(&f, s, n, collect, out, &used), 0);
    assert_int_equal(used, n);
    assert_int_equal(f.have, 0);
}

static void framer_hundred_frames_in_one_buffer(void **state)
{
    (void)state;
    static uint8_t s[100 * MB_MAX_ADU];
    static struct frames got;
    size_t n = make_stream(s, 100);
    framer_whole_stream_in_one_call(&got, s, n);
    assert_int_equal(got.n, 100);
    /* each frame as it was written */
    size_t p = 0, q = 0;
    for (unsigned i = 0; i < 100; i++) {
        size_t plen = mb_get16(s + p + 4) - 1;
        assert_int_equal(mb_get16(got.log + q), i);
        assert_int_equal(got.log[q + 2], (uint8_t)(i * 7));
        assert_memory_equal(got.log + q + 3, s + p + 7, plen);
        p += 7 + plen;
        q += 3 + plen;
    }
    struct mb_req r;
    assert_int_equal(mb_req_decode(got.log + 3, 5, 0, &r), MB_OK);
}

static void framer_one_byte_at_a_time(void **state)
{
    (void)state;
    static uint8_t s[100 * MB_MAX_ADU];
    static struct frames whole, bytes;
    size_t n = make_stream(s, 100);
    framer_whole_stream_in_one_call(&whole, s, n);
    struct mb_framer f;
    mb_framer_init(&f);
    memset(&bytes, 0, sizeof bytes);
    for (size_t i = 0; i < n; i++) {
        size_t used = 99;
        assert_int_equal(mb_framer_feed(&f, s + i, 1, collect, &bytes, &used), 0);
        assert_int_equal(used, 1);
    }
    assert_int_equal(bytes.n, 100);
    assert_int_equal(bytes.bytes, whole.bytes);
    assert_memory_equal(bytes.log, whole.log, whole.bytes);
    /* feeding nothing is harmless */
    assert_int_equal(mb_framer_feed(&f, s, 0, collect, &bytes, NULL), 0);
    assert_int_equal(bytes.n, 100);
}

static void framer_split_at_every_offset(void **state)
{
    (void)state;
    uint8_t s[3 * MB_MAX_ADU];
    size_t n = 0;
    n += mb_adu_write(s + n, 1, 1, (const uint8_t *)"\x03\x00\x6B\x00\x03", 5);
    n += mb_adu_write(s + n, 2, 2, (const uint8_t *)"\x11", 1);
    n += mb_adu_write(s + n, 3, 3, (const uint8_t *)"\x06\x00\x01\x00\x03", 5);
    static struct frames whole, cut;
    framer_whole_stream_in_one_call(&whole, s, n);
    assert_int_equal(whole.n, 3);
    /* every pair of cut points: three calls */
    for (size_t i = 0; i <= n; i++)
        for (size_t j = i; j <= n; j++) {
            struct mb_framer f;
            mb_framer_init(&f);
            memset(&cut, 0, sizeof cut);
            size_t u1, u2, u3;
            assert_int_equal(mb_framer_feed(&f, s, i, collect, &cut, &u1), 0);
            assert_int_equal(mb_framer_feed(&f, s + i, j - i, collect, &cut, &u2), 0);
            assert_int_equal(mb_framer_feed(&f, s + j, n - j, collect, &cut, &u3), 0);
            assert_int_equal(u1 + u2 + u3, n);
            if (cut.n != 3 || cut.bytes != whole.bytes ||
                memcmp(cut.log, whole.log, whole.bytes) != 0)
                fail_msg("cut at %zu and %zu: %u frames", i, j, cut.n);
        }
    /* a full-size ADU (260 bytes) split at every offset */
    uint8_t big[MB_MAX_ADU], d[250];
    memset(d, 0xC3, sizeof d);
    uint8_t pdu[MB_MAX_PDU];
    int pn = mb_req_encode(&(struct mb_req){.fc = 8, .u.diag = {0, 250, d}}, 0, pdu, sizeof pdu);
    assert_int_equal(pn, MB_MAX_PDU);
    size_t bn = mb_adu_write(big, 9, 9, pdu, (size_t)pn);
    assert_int_equal(bn, MB_MAX_ADU);
    for (size_t i = 0; i <= bn; i++) {
        struct mb_framer f;
        mb_framer_init(&f);
        memset(&cut, 0, sizeof cut);
        assert_int_equal(mb_framer_feed(&f, big, i, collect, &cut, NULL), 0);
        assert_int_equal(cut.n, i == bn ? 1 : 0);
        assert_int_equal(mb_framer_feed(&f, big + i, bn - i, collect, &cut, NULL), 0);
        assert_int_equal(cut.n, 1);
        assert_memory_equal(cut.log + 3, pdu, MB_MAX_PDU);
    }
}

/* A bad header is reported as soon as its 7 bytes are in, whether they
 * come at once or one at a time; the framer is then reset. */
static void framer_bad_protocol_and_length(void **state)
{
    (void)state;
    const struct { const char *hex; int want; } bad[] = {
        {"0001 0001 0006 01 03 0000 0001", MB_BAD_PROTOCOL},
        {"0001 FFFF 0006 01 03 0000 0001", MB_BAD_PROTOCOL},
        {"0001 0000 0000 01", MB_BAD_LENGTH},
        {"0001 0000 0001 01 03", MB_BAD_LENGTH},
        {"0001 0000 00FF 01 03", MB_BAD_LENGTH},
        {"0001 0000 FFFF 01 03", MB_BAD_LENGTH},
    };
    uint8_t good[16];
    size_t gn = hx("0002 0000 0006 01 03 0000 0001", good);
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t s[64];
        /* a good frame, then the bad one */
        memcpy(s, good, gn);
        size_t n = gn + hx(bad[i].hex, s + gn);
        struct frames got;
        struct mb_framer f;
        size_t used;
        /* all at once */
        mb_framer_init(&f);
        memset(&got, 0, sizeof got);
        assert_int_equal(mb_framer_feed(&f, s, n, collect, &got, &used), bad[i].want);
        assert_int_equal(got.n, 1);
        assert_int_equal(used, gn + MB_MBAP_LEN);
        assert_int_equal(f.have, 0);
        /* one byte at a time */
        mb_framer_init(&f);
        memset(&got, 0, sizeof got);
        size_t k;
        int rc = 0;
        for (k = 0; k < n; k++) {
            rc = mb_framer_feed(&f, s + k, 1, collect, &got, &used);
            if (rc)
                break;
        }
        assert_int_equal(rc, bad[i].want);
        assert_int_equal(k, gn + MB_MBAP_LEN - 1); /* at the header's 7th byte */
        assert_int_equal(used, 1);
        assert_int_equal(got.n, 1);
        /* reset: a good frame after it is framed again */
        assert_int_equal(f.have, 0);
        assert_int_equal(mb_framer_feed(&f, good, gn, collect, &got, NULL), 0);
        assert_int_equal(got.n, 2);
    }
}

static void framer_callback_stop_and_resume(void **state)
{
    (void)state;
    static uint8_t s[10 * MB_MAX_ADU];
    static struct frames whole, got;
    size_t n = make_stream(s, 10);
    framer_whole_stream_in_one_call(&whole, s, n);
    struct mb_framer f;
    mb_framer_init(&f);
    memset(&got, 0, sizeof got);
    got.stop_at = 3;
    size_t used, pos = 0;
    assert_int_equal(mb_framer_feed(&f, s, n, collect, &got, &used), 7);
    assert_int_equal(got.n, 3);
    pos += used;
    assert_true(pos < n);
    assert_int_equal(mb_framer_feed(&f, s + pos, n - pos, collect, &got, &used), 0);
    pos += used;
    assert_int_equal(pos, n);
    assert_int_equal(got.n, 10);
    assert_memory_equal(got.log, whole.log, whole.bytes);
    /* stopping on a frame gathered across calls */
    mb_framer_init(&f);
    memset(&got, 0, sizeof got);
    got.stop_at = 1;
    assert_int_equal(mb_framer_feed(&f, s, 3, collect, &got, &used), 0);
    assert_int_equal(mb_framer_feed(&f, s + 3, n - 3, collect, &got, &used), 7);
    assert_int_equal(got.n, 1);
    assert_int_equal(3 + used, 7 + (size_t)mb_get16(s + 4) - 1);
}

/* ---- names ---- */

static void names_are_short_lower_case(void **state)
{
    (void)state;
    assert_string_equal(mb_fc_name(3), "read holding registers");
    assert_string_equal(mb_fc_name(43), "encapsulated interface transport");
    assert_string_equal(mb_fc_name(7), "read exception status");
    assert_null(mb_fc_name(0));
    assert_null(mb_fc_name(90));
    assert_null(mb_fc_name(0x83));
    assert_string_equal(mb_exception_name(2), "illegal data address");
    assert_string_equal(mb_exception_name(0x0B), "gateway target device failed to respond");
    assert_null(mb_exception_name(0));
    assert_null(mb_exception_name(7));
    assert_string_equal(mb_status_name(MB_BAD_QUANTITY), "quantity out of range");
    assert_string_equal(mb_status_name(1), "unknown status");
    assert_string_equal(mb_status_name(-100), "unknown status");
    for (int st = MB_OK; st >= MB_TOO_LONG; st--) {
        const char *s = mb_status_name(st);
        assert_non_null(s);
        assert_true(strlen(s) > 0 && strlen(s) < 40);
        for (const char *p = s; *p; p++)
            assert_false(isupper((unsigned char)*p));
        for (int other = st - 1; other >= MB_TOO_LONG; other--)
            assert_string_not_equal(s, mb_status_name(other));
    }
    for (unsigned fc = 0; fc < 256; fc++) {
        const char *s = mb_fc_name((uint8_t)fc);
        for (const char *p = s ? s : ""; *p; p++)
            assert_false(isupper((unsigned char)*p));
    }
    for (unsigned c = 1; c < 256; c++) {
        const char *s = mb_exception_name((uint8_t)c);
        for (const char *p = s ? s : ""; *p; p++)
            assert_false(isupper((unsigned char)*p));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_examples_requests_encode_byte_exact),
        cmocka_unit_test(spec_examples_requests_decode_fields),
        cmocka_unit_test(spec_examples_responses_byte_exact),
        cmocka_unit_test(spec_example_exception_response),
        cmocka_unit_test(round_trip_every_request_function),
        cmocka_unit_test(round_trip_every_response_function),
        cmocka_unit_test(round_trip_every_exception),
        cmocka_unit_test(read_quantity_zero_limit_and_limit_plus_one),
        cmocka_unit_test(address_plus_quantity_65536_ok_65537_bad),
        cmocka_unit_test(write_multiple_coils_quantity_and_byte_count),
        cmocka_unit_test(write_multiple_registers_quantity_and_byte_count),
        cmocka_unit_test(read_write_registers_limits),
        cmocka_unit_test(write_single_coil_values),
        cmocka_unit_test(truncated_at_every_length_and_trailing),
        cmocka_unit_test(pdu_over_253_bytes_is_trailing),
        cmocka_unit_test(order_of_checks),
        cmocka_unit_test(status_to_exception_mapping),
        cmocka_unit_test(exception_response_form),
        cmocka_unit_test(unknown_function_codes),
        cmocka_unit_test(diagnostics_subfunctions),
        cmocka_unit_test(diagnostics_response_check),
        cmocka_unit_test(report_server_id),
        cmocka_unit_test(device_id_request),
        cmocka_unit_test(device_id_response_fields),
        cmocka_unit_test(device_id_stream_with_more_follows),
        cmocka_unit_test(device_id_encode_limits),
        cmocka_unit_test(device_id_response_check),
        cmocka_unit_test(response_check_against_request),
        cmocka_unit_test(response_byte_count_rules),
        cmocka_unit_test(encoder_computes_byte_count_when_zero),
        cmocka_unit_test(encoder_checks_room),
        cmocka_unit_test(raw_encoding_then_decoding_reports_the_rule),
        cmocka_unit_test(mbap_parse_and_write),
        cmocka_unit_test(framer_hundred_frames_in_one_buffer),
        cmocka_unit_test(framer_one_byte_at_a_time),
        cmocka_unit_test(framer_split_at_every_offset),
        cmocka_unit_test(framer_bad_protocol_and_length),
        cmocka_unit_test(framer_callback_stop_and_resume),
        cmocka_unit_test(names_are_short_lower_case),
    };
    return cmocka_run_group_tests_name("modbus codec", tests, NULL, NULL);
}
