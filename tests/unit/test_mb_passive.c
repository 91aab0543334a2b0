/* test_mb_passive.c — the passive Modbus/TCP decoder (src/proto/mb_passive.h)
 * on synthetic byte streams: both directions interleaved, pipelined
 * requests in one segment, one byte at a time, pairing by transaction id
 * out of order, exceptions, malformed requests, framing errors, gaps and
 * junk with their resynchronisation, the bounded request table, roles
 * decided by server port through the reassembler, and the errors. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp_reasm.h"
#include "proto/mb_passive.h"
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

/* What the tests look at, copied out of each event. */
struct rec {
    enum mbp_kind kind;
    enum tcpr_dir dir;
    uint64_t conn_id;
    int64_t ts;
    uint64_t pkt_no;
    unsigned flags;
    uint64_t skipped;
    struct mb_mbap h;
    uint8_t fc_byte, fc;
    int status;
    size_t pdu_len;
    uint16_t qty;       /* requests: u.read.qty; UNANSWERED the same */
    uint8_t exception;  /* responses */
    int matched;
    uint16_t match_tid;
    uint16_t match_qty;
    int match_status;
    uint64_t match_pkt;
    int check;
    int swapped;
    uint16_t port[2];
};

struct log {
    struct rec r[4096];
    size_t n;
};

static void on_event(void *ctx, const struct mbp_event *ev)
{
    struct log *l = ctx;
    if (l->n >= sizeof l->r / sizeof l->r[0])
        fail_msg("too many events");
    struct rec *r = &l->r[l->n++];
    memset(r, 0, sizeof *r);
    r->kind = ev->kind;
    r->dir = ev->dir;
    r->conn_id = ev->conn->id;
    r->ts = ev->ts_ns;
    r->pkt_no = ev->pkt_no;
    r->flags = ev->flags;
    r->skipped = ev->skipped;
    r->h = ev->h;
    r->fc_byte = ev->fc_byte;
    r->fc = ev->fc;
    r->status = ev->status;
    r->pdu_len = ev->pdu_len;
    r->swapped = ev->conn->swapped;
    r->port[0] = ev->conn->port[0];
    r->port[1] = ev->conn->port[1];
    r->check = ev->check;
    if (ev->kind == MBP_BAD_FRAME) {
        assert_null(ev->pdu);
        assert_null(ev->req);
        assert_null(ev->rsp);
        return;
    }
    assert_non_null(ev->pdu);
    assert_int_equal(ev->pdu_len + 1, ev->h.len);
    assert_int_equal(ev->fc_byte, ev->pdu[0]);
    assert_int_equal(ev->fc, ev->pdu[0] & 0x7F);
    if (ev->req)
        r->qty = ev->req->u.read.qty;
    if (ev->rsp)
        r->exception = ev->rsp->exception;
    if (ev->kind == MBP_ADU)
        assert_true((ev->dir == TCPR_C2S) == (ev->req != NULL) &&
                    (ev->dir == TCPR_S2C) == (ev->rsp != NULL));
    if (ev->match) {
        r->matched = 1;
        r->match_tid = ev->match->h.tid;
        r->match_qty = ev->match->req->u.read.qty;
        r->match_status = ev->match->status;
        r->match_pkt = ev->match->pkt_no;
        assert_int_equal(ev->match->pdu_len + 1, ev->match->h.len);
        assert_int_equal(ev->match->h.tid, ev->h.tid);
    } else {
        assert_int_equal(ev->check, MBP_CHECK_NONE);
    }
}

static struct mbp *mk(struct log *l, const struct mbp_config *cfg)
{
    memset(l, 0, sizeof *l);
    struct err e;
    struct mbp *p = mbp_new(cfg, on_event, l, &e);
    if (!p)
        fail_msg("mbp_new: %s", e.msg);
    return p;
}

static struct mbp_conn *open_conn(struct mbp *p, uint64_t id, int midstream)
{
    struct mbp_conn_info info = {0};
    info.id = id;
    info.midstream = midstream;
    info.port[TCPR_S2C] = 502;
    struct err e;
    struct mbp_conn *c = mbp_conn_open(p, &info, &e);
    if (!c)
        fail_msg("mbp_conn_open: %s", e.msg);
    return c;
}

/* Feeds hex bytes in one call. */
static void feed(struct mbp_conn *c, enum tcpr_dir d, const char *hex)
{
    uint8_t b[4096];
    size_t n = hx(hex, b);
    mbp_conn_feed(c, d, b, n, 7);
}

/* ADU builders: read holding registers request / response, as hex. */
static const char *rd_req(uint16_t tid, uint16_t addr, uint16_t qty)
{
    static char s[8][64];
    static int k;
    k = (k + 1) % 8;
    snprintf(s[k], sizeof s[k], "%04X 0000 0006 01 03 %04X %04X", tid, addr, qty);
    return s[k];
}

static const char *rd_rsp(uint16_t tid, uint16_t v)
{
    static char s[8][64];
    static int k;
    k = (k + 1) % 8;
    snprintf(s[k], sizeof s[k], "%04X 0000 0005 01 03 02 %04X", tid, v);
    return s[k];
}

static void expect_adu(const struct rec *r, enum tcpr_dir d, uint16_t tid, uint8_t fc_byte,
                       int status)
{
    assert_int_equal(r->kind, MBP_ADU);
    assert_int_equal(r->dir, d);
    assert_int_equal(r->h.tid, tid);
    assert_int_equal(r->fc_byte, fc_byte);
    if (r->status != status)
        fail_msg("status %s, expected %s", mb_status_name(r->status), mb_status_name(status));
}

/* ---- the cases ---- */

static void interleaved_directions_pair(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 3, 0);
    mbp_set_frame(p, 10);
    feed(c, TCPR_C2S, rd_req(1, 0x6B, 3));
    mbp_set_frame(p, 11);
    feed(c, TCPR_S2C, "0001 0000 0009 01 03 06 022B 0000 0064");
    mbp_set_frame(p, 12);
    feed(c, TCPR_C2S, "0002 0000 0006 01 06 0001 0003");
    mbp_set_frame(p, 13);
    feed(c, TCPR_S2C, "0002 0000 0006 01 06 0001 0003");
    assert_int_equal(l->n, 4);
    expect_adu(&l->r[0], TCPR_C2S, 1, 3, MB_OK);
    assert_int_equal(l->r[0].qty, 3);
    assert_int_equal(l->r[0].pkt_no, 10);
    assert_int_equal(l->r[0].conn_id, 3);
    expect_adu(&l->r[1], TCPR_S2C, 1, 3, MB_OK);
    assert_true(l->r[1].matched);
    assert_int_equal(l->r[1].match_qty, 3);
    assert_int_equal(l->r[1].match_pkt, 10);
    assert_int_equal(l->r[1].check, MB_OK);
    assert_int_equal(l->r[1].pkt_no, 11);
    expect_adu(&l->r[3], TCPR_S2C, 2, 6, MB_OK);
    assert_true(l->r[3].matched);
    assert_int_equal(l->r[3].check, MB_OK);
    const struct mbp_stats *st = mbp_stats(p);
    assert_int_equal(st->adus[0], 2);
    assert_int_equal(st->adus[1], 2);
    assert_int_equal(st->matched, 2);
    assert_int_equal(st->malformed[0] + st->malformed[1], 0);
    mbp_conn_close(c, 0);
    assert_int_equal(l->n, 4); /* nothing outstanding */
    mbp_free(p);
    free(l);
}

static void a_response_that_does_not_answer_is_checked(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    feed(c, TCPR_C2S, rd_req(5, 0, 2));
    feed(c, TCPR_S2C, rd_rsp(5, 1)); /* 2 bytes for 2 registers asked */
    assert_int_equal(l->n, 2);
    assert_true(l->r[1].matched);
    assert_int_equal(l->r[1].status, MB_OK);
    assert_int_equal(l->r[1].check, MB_BAD_BYTE_COUNT);
    mbp_conn_close(c, 0);
    mbp_free(p);
    free(l);
}

static void pipelined_requests_in_one_segment(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    char seg[512];
    snprintf(seg, sizeof seg, "%s %s %s", rd_req(10, 0, 1), rd_req(11, 1, 2), rd_req(12, 2, 3));
    feed(c, TCPR_C2S, seg);
    assert_int_equal(l->n, 3);
    for (int i = 0; i < 3; i++) {
        expect_adu(&l->r[i], TCPR_C2S, (uint16_t)(10 + i), 3, MB_OK);
        assert_int_equal(l->r[i].qty, i + 1);
    }
    /* the responses in one segment too, the last one split over two */
    snprintf(seg, sizeof seg, "%s %s 000C 0000 0009 01 03 06 0001 00", rd_rsp(10, 7),
             "000B 0000 0007 01 03 04 0001 0002");
    feed(c, TCPR_S2C, seg);
    assert_int_equal(l->n, 5);
    feed(c, TCPR_S2C, "02 0003");
    assert_int_equal(l->n, 6);
    for (int i = 3; i < 6; i++) {
        expect_adu(&l->r[i], TCPR_S2C, (uint16_t)(10 + i - 3), 3, MB_OK);
        assert_true(l->r[i].matched);
        assert_int_equal(l->r[i].check, MB_OK);
    }
    mbp_conn_close(c, 0);
    mbp_free(p);
    free(l);
}

/* The same traffic fed at once, one byte at a time, and in odd chunks
 * gives the same events. */
static void one_byte_at_a_time(void **state)
{
    (void)state;
    const char *c2s = "0001 0000 0006 01 03 0000 0002"
                      "0002 0000 0006 01 01 0000 0010"
                      "0003 0000 000B 01 10 0001 0002 04 000A 0102"
                      "0004 0000 0006 01 03 0000 0000"; /* qty 0: malformed */
    const char *s2c = "0001 0000 0007 01 03 04 0001 0002"
                      "0003 0000 0006 01 10 0001 0002"
                      "0002 0000 0005 01 01 02 FF 00"
                      "0004 0000 0003 01 83 03";
    uint8_t a[256], b[256];
    size_t na = hx(c2s, a), nb = hx(s2c, b);
    struct log *ref = malloc(sizeof *ref), *l = malloc(sizeof *l);
    struct mbp *p = mk(ref, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    mbp_conn_feed(c, TCPR_C2S, a, na, 0);
    mbp_conn_feed(c, TCPR_S2C, b, nb, 0);
    mbp_conn_close(c, 0);
    mbp_free(p);
    assert_int_equal(ref->n, 8);
    expect_adu(&ref->r[3], TCPR_C2S, 4, 3, MB_BAD_QUANTITY);
    expect_adu(&ref->r[7], TCPR_S2C, 4, 0x83, MB_OK);
    for (size_t step = 1; step <= 9; step += 2) {
        p = mk(l, NULL);
        c = open_conn(p, 0, 0);
        /* all requests first, byte by byte (or in chunks of `step`) */
        for (size_t i = 0; i < na; i += step)
            mbp_conn_feed(c, TCPR_C2S, a + i, i + step <= na ? step : na - i, 0);
        for (size_t i = 0; i < nb; i += step)
            mbp_conn_feed(c, TCPR_S2C, b + i, i + step <= nb ? step : nb - i, 0);
        mbp_conn_close(c, 0);
        mbp_free(p);
        assert_int_equal(l->n, ref->n);
        for (size_t k = 0; k < l->n; k++) {
            assert_int_equal(l->r[k].h.tid, ref->r[k].h.tid);
            assert_int_equal(l->r[k].fc_byte, ref->r[k].fc_byte);
            assert_int_equal(l->r[k].status, ref->r[k].status);
            assert_int_equal(l->r[k].matched, ref->r[k].matched);
            assert_int_equal(l->r[k].check, ref->r[k].check);
        }
    }
    free(ref);
    free(l);
}

static void pairing_by_transaction_id_out_of_order(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    feed(c, TCPR_C2S, rd_req(100, 0, 1));
    feed(c, TCPR_C2S, rd_req(200, 0, 2));
    feed(c, TCPR_C2S, rd_req(300, 0, 3));
    feed(c, TCPR_S2C, "012C 0000 0009 01 03 06 0001 0002 0003"); /* 300 */
    feed(c, TCPR_S2C, rd_rsp(100, 9));
    feed(c, TCPR_S2C, "00C8 0000 0007 01 03 04 0001 0002"); /* 200 */
    feed(c, TCPR_S2C, rd_rsp(100, 9));                      /* again: no request left */
    assert_int_equal(l->n, 7);
    int qty_for[3] = {3, 1, 2};
    for (int i = 0; i < 3; i++) {
        const struct rec *r = &l->r[3 + i];
        assert_true(r->matched);
        assert_int_equal(r->match_tid, r->h.tid);
        assert_int_equal(r->match_qty, qty_for[i]);
        assert_int_equal(r->check, MB_OK);
    }
    assert_false(l->r[6].matched);
    assert_int_equal(mbp_stats(p)->unmatched, 1);
    /* same transaction id twice: the oldest is answered first */
    feed(c, TCPR_C2S, rd_req(7, 0, 1));
    feed(c, TCPR_C2S, rd_req(7, 0, 2));
    feed(c, TCPR_S2C, rd_rsp(7, 1));
    assert_int_equal(l->r[l->n - 1].match_qty, 1);
    assert_int_equal(l->r[l->n - 1].check, MB_OK);
    feed(c, TCPR_S2C, "0007 0000 0007 01 03 04 0001 0002");
    assert_int_equal(l->r[l->n - 1].match_qty, 2);
    assert_int_equal(l->r[l->n - 1].check, MB_OK);
    mbp_conn_close(c, 0);
    mbp_free(p);
    free(l);
}

static void exception_response_pairs_with_its_request(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    feed(c, TCPR_C2S, "0009 0000 0006 11 03 FFFF 0002"); /* past the address space */
    feed(c, TCPR_S2C, "0009 0000 0003 11 83 02");
    assert_int_equal(l->n, 2);
    expect_adu(&l->r[0], TCPR_C2S, 9, 3, MB_BAD_ADDRESS);
    expect_adu(&l->r[1], TCPR_S2C, 9, 0x83, MB_OK);
    assert_int_equal(l->r[1].fc, 3);
    assert_int_equal(l->r[1].exception, MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_true(l->r[1].matched);
    assert_int_equal(l->r[1].match_status, MB_BAD_ADDRESS);
    assert_int_equal(l->r[1].check, MBP_CHECK_NONE); /* the request is malformed */
    /* a well-formed request answered with an exception checks fine */
    feed(c, TCPR_C2S, rd_req(10, 0, 1));
    feed(c, TCPR_S2C, "000A 0000 0003 11 83 04");
    assert_int_equal(l->r[3].check, MB_OK);
    /* an exception of another function does not answer it */
    feed(c, TCPR_C2S, rd_req(11, 0, 1));
    feed(c, TCPR_S2C, "000B 0000 0003 11 84 04");
    assert_int_equal(l->r[5].check, MB_BAD_FUNCTION);
    /* malformed exceptions: 3 bytes, code 0 */
    feed(c, TCPR_C2S, rd_req(12, 0, 1));
    feed(c, TCPR_S2C, "000C 0000 0004 11 83 04 00");
    expect_adu(&l->r[7], TCPR_S2C, 12, 0x83, MB_TRAILING);
    assert_true(l->r[7].matched);
    assert_int_equal(l->r[7].check, MBP_CHECK_NONE);
    feed(c, TCPR_C2S, rd_req(13, 0, 1));
    feed(c, TCPR_S2C, "000D 0000 0003 11 83 00");
    expect_adu(&l->r[9], TCPR_S2C, 13, 0x83, MB_BAD_EXCEPTION);
    assert_int_equal(mbp_stats(p)->malformed[TCPR_S2C], 2);
    mbp_conn_close(c, 0);
    mbp_free(p);
    free(l);
}

static void malformed_request_reports_the_rule(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    feed(c, TCPR_C2S, rd_req(1, 0, 0));   /* quantity 0 */
    feed(c, TCPR_C2S, rd_req(2, 0, 126)); /* above 125 */
    feed(c, TCPR_C2S, "0003 0000 0004 01 03 0000"); /* truncated */
    feed(c, TCPR_C2S, "0004 0000 0006 01 05 0000 1234"); /* bad coil value */
    feed(c, TCPR_C2S, "0005 0000 0002 01 00"); /* function 0 */
    feed(c, TCPR_C2S, "0006 0000 0002 01 5A"); /* FC 90: unknown */
    assert_int_equal(l->n, 6);
    expect_adu(&l->r[0], TCPR_C2S, 1, 3, MB_BAD_QUANTITY);
    assert_int_equal(l->r[0].qty, 0);
    expect_adu(&l->r[1], TCPR_C2S, 2, 3, MB_BAD_QUANTITY);
    assert_int_equal(l->r[1].qty, 126);
    expect_adu(&l->r[2], TCPR_C2S, 3, 3, MB_TRUNCATED);
    expect_adu(&l->r[3], TCPR_C2S, 4, 5, MB_BAD_COIL_VALUE);
    expect_adu(&l->r[4], TCPR_C2S, 5, 0, MB_BAD_FUNCTION);
    expect_adu(&l->r[5], TCPR_C2S, 6, 0x5A, MB_BAD_FUNCTION);
    assert_int_equal(mbp_stats(p)->malformed[TCPR_C2S], 6);
    /* its exception answer pairs with it */
    feed(c, TCPR_S2C, "0002 0000 0003 01 83 03");
    assert_true(l->r[6].matched);
    assert_int_equal(l->r[6].match_status, MB_BAD_QUANTITY);
    assert_int_equal(l->r[6].match_qty, 126);
    /* the rest are reported unanswered at close, oldest first */
    mbp_conn_close(c, 99);
    assert_int_equal(l->n, 12);
    uint16_t want[] = {1, 3, 4, 5, 6};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(l->r[7 + i].kind, MBP_UNANSWERED);
        assert_int_equal(l->r[7 + i].flags, MBP_F_CLOSED);
        assert_int_equal(l->r[7 + i].h.tid, want[i]);
    }
    assert_int_equal(l->r[7].status, MB_BAD_QUANTITY);
    mbp_free(p);
    free(l);
    /* accept_unknown: FC 90 decodes as raw data */
    l = malloc(sizeof *l);
    struct mbp_config cfg = {0};
    cfg.accept_unknown = 1;
    p = mk(l, &cfg);
    c = open_conn(p, 0, 0);
    feed(c, TCPR_C2S, "0006 0000 0004 01 5A 0102");
    expect_adu(&l->r[0], TCPR_C2S, 6, 0x5A, MB_OK);
    mbp_free(p); /* frees the open connection without events */
    assert_int_equal(l->n, 1);
    free(l);
}

static void framing_error_then_resync(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    /* protocol id 1, then a good request */
    char seg[256];
    snprintf(seg, sizeof seg, "%s 0002 0001 0006 01 03 0000 0001 %s", rd_req(1, 0, 1),
             rd_req(3, 0, 1));
    mbp_set_frame(p, 40);
    feed(c, TCPR_C2S, seg);
    assert_int_equal(l->n, 3);
    expect_adu(&l->r[0], TCPR_C2S, 1, 3, MB_OK);
    assert_int_equal(l->r[1].kind, MBP_BAD_FRAME);
    assert_int_equal(l->r[1].status, MB_BAD_PROTOCOL);
    assert_int_equal(l->r[1].h.tid, 2);
    assert_int_equal(l->r[1].h.pid, 1);
    assert_int_equal(l->r[1].h.len, 6);
    assert_int_equal(l->r[1].pkt_no, 40);
    expect_adu(&l->r[2], TCPR_C2S, 3, 3, MB_OK);
    assert_int_equal(l->r[2].flags, MBP_F_RESYNC | MBP_F_AFTER_BAD);
    assert_int_equal(l->r[2].skipped, 12); /* the whole bad frame */
    /* length 255 (over 254), then three junk bytes, then a request */
    snprintf(seg, sizeof seg, "0004 0000 00FF 01 03 FF FF %s", rd_req(5, 0, 1));
    feed(c, TCPR_C2S, seg);
    assert_int_equal(l->n, 5);
    assert_int_equal(l->r[3].kind, MBP_BAD_FRAME);
    assert_int_equal(l->r[3].status, MB_BAD_LENGTH);
    assert_int_equal(l->r[3].h.len, 255);
    expect_adu(&l->r[4], TCPR_C2S, 5, 3, MB_OK);
    assert_int_equal(l->r[4].skipped, 10);
    /* a header misaligned by three bytes: found inside the bad header */
    snprintf(seg, sizeof seg, "FF FF FF %s", rd_req(6, 0, 1));
    feed(c, TCPR_C2S, seg);
    assert_int_equal(l->n, 7);
    assert_int_equal(l->r[5].kind, MBP_BAD_FRAME);
    expect_adu(&l->r[6], TCPR_C2S, 6, 3, MB_OK);
    assert_int_equal(l->r[6].skipped, 3);
    /* length 1 (no function code) on the response side, fed byte by byte:
     * the hunt accepts an exception only with length 3 */
    uint8_t b[64];
    const char *rs = "0001 0000 0001 01 0009 0000 0004 01 83 02 00 0001 0000 0005 01 03 02 0000";
    size_t n = hx(rs, b);
    for (size_t i = 0; i < n; i++)
        mbp_conn_feed(c, TCPR_S2C, b + i, 1, 0);
    assert_int_equal(l->n, 9);
    assert_int_equal(l->r[7].kind, MBP_BAD_FRAME);
    assert_int_equal(l->r[7].dir, TCPR_S2C);
    assert_int_equal(l->r[7].status, MB_BAD_LENGTH);
    expect_adu(&l->r[8], TCPR_S2C, 1, 3, MB_OK);
    assert_int_equal(l->r[8].skipped, 7 + 10);
    assert_true(l->r[8].matched);
    const struct mbp_stats *st = mbp_stats(p);
    assert_int_equal(st->bad_frames[0], 3);
    assert_int_equal(st->bad_frames[1], 1);
    assert_int_equal(st->resyncs[0], 3);
    assert_int_equal(st->resyncs[1], 1);
    assert_int_equal(st->skipped[0], 12 + 10 + 3);
    assert_int_equal(st->skipped[1], 17);
    mbp_conn_close(c, 0);
    mbp_free(p);
    free(l);
}

static void gap_then_resync(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    /* (1) a gap inside an ADU whose header is in: the next header is known */
    feed(c, TCPR_C2S, "0001 0000 000B 01 10 0001 0002 04"); /* 13 of 17 bytes */
    mbp_conn_gap(c, TCPR_C2S, 2, 0);                          /* 00 0A lost */
    feed(c, TCPR_C2S, "01 02");                               /* the last 2 */
    feed(c, TCPR_C2S, rd_req(2, 0, 1));
    assert_int_equal(l->n, 1);
    expect_adu(&l->r[0], TCPR_C2S, 2, 3, MB_OK);
    assert_int_equal(l->r[0].flags, MBP_F_AFTER_GAP);
    assert_int_equal(l->r[0].skipped, 2);
    assert_int_equal(mbp_stats(p)->cut_bytes[0], 13);
    /* two gaps inside the same ADU, the second ending exactly at its end */
    feed(c, TCPR_C2S, "0003 0000 000B 01 10 0001");
    mbp_conn_gap(c, TCPR_C2S, 1, 0);
    feed(c, TCPR_C2S, "02 04");
    mbp_conn_gap(c, TCPR_C2S, 4, 0);
    feed(c, TCPR_C2S, rd_req(4, 0, 1));
    assert_int_equal(l->n, 2);
    expect_adu(&l->r[1], TCPR_C2S, 4, 3, MB_OK);
    assert_int_equal(l->r[1].flags, MBP_F_AFTER_GAP);
    assert_int_equal(l->r[1].skipped, 2);
    /* (2) a gap that runs past the ADU: hunt; the junk before the next
     * header is skipped */
    feed(c, TCPR_C2S, "0005 0000 0006 01 03 00");
    mbp_conn_gap(c, TCPR_C2S, 100, 0);
    char seg[128];
    snprintf(seg, sizeof seg, "0A 00 00 00 01 %s", rd_req(6, 0, 1));
    feed(c, TCPR_C2S, seg);
    assert_int_equal(l->n, 3);
    expect_adu(&l->r[2], TCPR_C2S, 6, 3, MB_OK);
    assert_int_equal(l->r[2].flags, MBP_F_RESYNC | MBP_F_AFTER_GAP);
    assert_int_equal(l->r[2].skipped, 5);
    /* (3) a gap in the header: hunt */
    feed(c, TCPR_C2S, "0007 00");
    mbp_conn_gap(c, TCPR_C2S, 3, 0);
    feed(c, TCPR_C2S, "01 03 0000 0001");
    feed(c, TCPR_C2S, rd_req(8, 0, 1));
    assert_int_equal(l->n, 4);
    assert_int_equal(l->r[3].flags, MBP_F_RESYNC | MBP_F_AFTER_GAP);
    assert_int_equal(l->r[3].h.tid, 8);
    assert_int_equal(l->r[3].skipped, 6);
    /* the other direction is not affected: responses pair */
    feed(c, TCPR_S2C, rd_rsp(8, 1));
    assert_true(l->r[4].matched);
    assert_int_equal(l->r[4].flags, 0);
    const struct mbp_stats *st = mbp_stats(p);
    assert_int_equal(st->gaps[0], 5);
    assert_int_equal(st->gaps[1], 0);
    mbp_conn_close(c, 0);
    /* requests 2, 4, 6 never answered */
    assert_int_equal(l->n, 8);
    assert_int_equal(mbp_stats(p)->unanswered, 3);
    mbp_free(p);
    free(l);
}

static void junk_on_the_port(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    const char *http = "GET / HTTP/1.1\r\nHost: plc\r\nUser-Agent: scanner\r\n\r\n";
    mbp_conn_feed(c, TCPR_C2S, (const uint8_t *)http, strlen(http), 0);
    /* one bad frame, then silence */
    assert_int_equal(l->n, 1);
    assert_int_equal(l->r[0].kind, MBP_BAD_FRAME);
    assert_int_equal(l->r[0].status, MB_BAD_PROTOCOL);
    assert_int_equal(l->r[0].h.tid, ('G' << 8) | 'E');
    /* random bytes: still nothing until a plausible header */
    uint8_t junk[2000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(0x80 | (x >> 16)); /* never a zero byte: no protocol id 0 */
    }
    mbp_conn_feed(c, TCPR_C2S, junk, sizeof junk, 0);
    assert_int_equal(l->n, 1);
    feed(c, TCPR_C2S, rd_req(1, 0, 1));
    assert_int_equal(l->n, 2);
    expect_adu(&l->r[1], TCPR_C2S, 1, 3, MB_OK);
    assert_int_equal(l->r[1].skipped, strlen(http) + sizeof junk);
    assert_int_equal(mbp_stats(p)->skipped[0], strlen(http) + sizeof junk);
    /* junk that ends the connection mid-hunt is counted as skipped */
    mbp_conn_feed(c, TCPR_S2C, (const uint8_t *)http, strlen(http), 0);
    mbp_conn_close(c, 0);
    assert_int_equal(mbp_stats(p)->skipped[1], strlen(http));
    mbp_free(p);
    free(l);
}

static void midstream_start_hunts(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 1);
    char seg[128];
    snprintf(seg, sizeof seg, "0001 0002 %s", rd_req(7, 0, 1)); /* the end of a frame */
    feed(c, TCPR_C2S, seg);
    feed(c, TCPR_S2C, rd_rsp(7, 0));
    assert_int_equal(l->n, 2);
    expect_adu(&l->r[0], TCPR_C2S, 7, 3, MB_OK);
    assert_int_equal(l->r[0].flags, MBP_F_RESYNC | MBP_F_MIDSTREAM);
    assert_int_equal(l->r[0].skipped, 4);
    assert_int_equal(l->r[1].flags, MBP_F_RESYNC | MBP_F_MIDSTREAM);
    assert_int_equal(l->r[1].skipped, 0);
    assert_true(l->r[1].matched);
    mbp_conn_close(c, 0);
    mbp_free(p);
    free(l);
}

static void request_table_is_bounded(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    struct mbp *p = mk(l, NULL);
    struct mbp_conn *c = open_conn(p, 0, 0);
    for (int i = 0; i < 300; i++)
        feed(c, TCPR_C2S, rd_req((uint16_t)i, 0, 1));
    /* 256 kept, the 44 oldest given up as the table filled */
    assert_int_equal(mbp_stats(p)->evicted, 44);
    size_t ev = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->r[i].kind == MBP_UNANSWERED) {
            assert_int_equal(l->r[i].flags, MBP_F_EVICTED);
            assert_int_equal(l->r[i].h.tid, ev);
            ev++;
        }
    assert_int_equal(ev, 44);
    feed(c, TCPR_S2C, rd_rsp(10, 0)); /* evicted: unmatched */
    assert_false(l->r[l->n - 1].matched);
    feed(c, TCPR_S2C, rd_rsp(299, 0));
    assert_true(l->r[l->n - 1].matched);
    size_t before = l->n;
    mbp_conn_close(c, 0);
    assert_int_equal(l->n - before, 255);
    mbp_free(p);
    free(l);
    /* a table of 2 */
    l = malloc(sizeof *l);
    struct mbp_config cfg = {0};
    cfg.max_outstanding = 2;
    p = mk(l, &cfg);
    c = open_conn(p, 0, 0);
    feed(c, TCPR_C2S, rd_req(1, 0, 1));
    feed(c, TCPR_C2S, rd_req(2, 0, 1));
    feed(c, TCPR_C2S, rd_req(3, 0, 1));
    assert_int_equal(l->n, 4);
    assert_int_equal(l->r[3].kind, MBP_UNANSWERED);
    assert_int_equal(l->r[3].h.tid, 1);
    mbp_conn_close(c, 0);
    assert_int_equal(l->n, 6);
    mbp_free(p);
    free(l);
}

/* ---- through the reassembler ---- */

static struct tcpr_seg sg(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint32_t seq,
                          uint32_t ack, uint8_t flags, const uint8_t *pl, size_t n,
                          uint64_t pkt)
{
    struct tcpr_seg s = {0};
    s.ts_ns = (int64_t)pkt * 1000;
    s.pkt_no = pkt;
    s.src_ip = src;
    s.dst_ip = dst;
    s.src_port = sp;
    s.dst_port = dp;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = 1000;
    s.payload = pl;
    s.payload_len = (uint32_t)n;
    s.wire_len = (uint32_t)n;
    return s;
}

static void reassembler_roles_by_server_port(void **state)
{
    (void)state;
    struct log *l = malloc(sizeof *l);
    uint16_t ports[] = {502, 5020};
    struct mbp_config cfg = {0};
    cfg.server_ports = ports;
    cfg.nserver_ports = 2;
    struct mbp *p = mk(l, &cfg);
    struct tcpr_callbacks cb;
    mbp_tcpr_callbacks(p, &cb);
    struct tcpr_config tc = {0};
    tc.server_ports = ports;
    tc.nserver_ports = 2;
    struct err e;
    struct tcpr *t = tcpr_new(&tc, &cb, &e);
    assert_non_null(t);
    uint8_t q[64], r[64], x[64];
    size_t nq = hx(rd_req(1, 0, 1), q), nr = hx(rd_rsp(1, 0), r);
    const uint32_t A = 0x0a000001, B = 0x0a000002;
    const uint8_t S = TCPR_SYN, K = TCPR_ACK, P = TCPR_PSH | TCPR_ACK;
    struct tcpr_seg s;
    uint64_t k = 1;
    /* (1) a normal connection to 5020, the request split over two segments */
    s = sg(A, B, 40000, 5020, 100, 0, S, NULL, 0, k++), tcpr_feed(t, &s);
    s = sg(B, A, 5020, 40000, 900, 101, S | K, NULL, 0, k++), tcpr_feed(t, &s);
    mbp_set_frame(p, k);
    s = sg(A, B, 40000, 5020, 101, 901, P, q, 5, k++), tcpr_feed(t, &s);
    mbp_set_frame(p, k);
    s = sg(A, B, 40000, 5020, 106, 901, P, q + 5, nq - 5, k++), tcpr_feed(t, &s);
    mbp_set_frame(p, k);
    s = sg(B, A, 5020, 40000, 901, 101 + (uint32_t)nq, P, r, nr, k++), tcpr_feed(t, &s);
    assert_int_equal(l->n, 2);
    expect_adu(&l->r[0], TCPR_C2S, 1, 3, MB_OK);
    assert_int_equal(l->r[0].pkt_no, 4); /* the frame with the last byte */
    assert_int_equal(l->r[0].ts, 4000);
    assert_int_equal(l->r[0].port[TCPR_S2C], 5020);
    assert_int_equal(l->r[0].flags, 0);
    expect_adu(&l->r[1], TCPR_S2C, 1, 3, MB_OK);
    assert_true(l->r[1].matched);
    assert_int_equal(l->r[1].match_pkt, 4);
    /* (2) the SYN sent from port 502: the side on 502 is still the server */
    s = sg(B, A, 502, 41000, 500, 0, S, NULL, 0, k++), tcpr_feed(t, &s);
    s = sg(A, B, 41000, 502, 700, 501, S | K, NULL, 0, k++), tcpr_feed(t, &s);
    s = sg(A, B, 41000, 502, 701, 501, P, q, nq, k++), tcpr_feed(t, &s);
    s = sg(B, A, 502, 41000, 501, 701 + (uint32_t)nq, P, r, nr, k++), tcpr_feed(t, &s);
    assert_int_equal(l->n, 4);
    expect_adu(&l->r[2], TCPR_C2S, 1, 3, MB_OK);
    assert_true(l->r[2].swapped);
    assert_int_equal(l->r[2].port[TCPR_C2S], 41000);
    assert_int_equal(l->r[2].port[TCPR_S2C], 502);
    expect_adu(&l->r[3], TCPR_S2C, 1, 3, MB_OK);
    assert_true(l->r[3].matched);
    /* (3) no side on a server port: ignored */
    s = sg(A, B, 42000, 80, 1, 0, S, NULL, 0, k++), tcpr_feed(t, &s);
    s = sg(A, B, 42000, 80, 2, 0, P, q, nq, k++), tcpr_feed(t, &s);
    assert_int_equal(l->n, 4);
    /* (4) mid-stream, with a lost segment acknowledged past: a gap */
    size_t nx = hx("0002 0000 0006 01 03 0000 0001 0003 0000 0006 01 03 0000 0001", x);
    s = sg(A, B, 43000, 502, 5000, 8000, P, q, nq, k++), tcpr_feed(t, &s);
    s = sg(A, B, 43000, 502, 5000 + (uint32_t)nq + 12, 8000, P, x + 12, nx - 12, k++),
    tcpr_feed(t, &s);
    mbp_set_frame(p, k);
    s = sg(B, A, 502, 43000, 8000, 5000 + (uint32_t)(nq + nx), K, NULL, 0, k++),
    tcpr_feed(t, &s);
    assert_int_equal(l->n, 6);
    expect_adu(&l->r[4], TCPR_C2S, 1, 3, MB_OK);
    assert_int_equal(l->r[4].flags, MBP_F_RESYNC | MBP_F_MIDSTREAM);
    expect_adu(&l->r[5], TCPR_C2S, 3, 3, MB_OK);
    assert_int_equal(l->r[5].flags, MBP_F_RESYNC | MBP_F_AFTER_GAP);
    assert_int_equal(l->r[5].pkt_no, k - 1); /* delivered when the ACK gave the hole up */
    tcpr_finish(t, 0);
    tcpr_free(t);
    const struct mbp_stats *st = mbp_stats(p);
    assert_int_equal(st->conns, 3);
    assert_int_equal(st->ignored_conns, 1);
    assert_int_equal(st->gaps[0], 1);
    assert_int_equal(st->unanswered, 2); /* tids 1 and 3 of the mid-stream connection */
    mbp_free(p);
    free(l);
}

static void errors(void **state)
{
    (void)state;
    struct err e;
    uint16_t many[65] = {0};
    struct mbp_config cfg = {0};
    cfg.server_ports = many;
    cfg.nserver_ports = 65;
    assert_null(mbp_new(&cfg, NULL, NULL, &e));
    TU_CONTAINS(e.msg, "server ports");
    cfg.nserver_ports = 0;
    assert_null(mbp_new(&cfg, NULL, NULL, &e));
    TU_CONTAINS(e.msg, "empty");
    cfg.server_ports = NULL;
    cfg.max_outstanding = MBP_MAX_OUTSTANDING + 1;
    assert_null(mbp_new(&cfg, NULL, NULL, &e));
    TU_CONTAINS(e.msg, "max_outstanding");
    assert_int_equal(mbp_read_pcap("/nonexistent/x.pcap", NULL, NULL, NULL, NULL, &e), -1);
    TU_CONTAINS(e.msg, "/nonexistent/x.pcap");
    const char *notpcap = tu_write_tmp("not.pcap", "this is not a capture file\n");
    assert_int_equal(mbp_read_pcap(notpcap, NULL, NULL, NULL, NULL, &e), -1);
    /* NULL-safe calls */
    mbp_free(NULL);
    mbp_conn_close(NULL, 0);
    mbp_conn_feed(NULL, TCPR_C2S, (const uint8_t *)"x", 1, 0);
    mbp_conn_gap(NULL, TCPR_C2S, 1, 0);
    /* no callback: counting only */
    struct mbp *p = mbp_new(NULL, NULL, NULL, &e);
    assert_non_null(p);
    struct mbp_conn *c = mbp_conn_open(p, NULL, &e);
    assert_non_null(c);
    uint8_t b[32];
    size_t n = hx(rd_req(1, 0, 1), b);
    mbp_conn_feed(c, TCPR_C2S, b, n, 0);
    mbp_conn_close(c, 0);
    assert_int_equal(mbp_stats(p)->adus[0], 1);
    assert_int_equal(mbp_stats(p)->unanswered, 1);
    mbp_free(p);
    assert_string_equal(mbp_kind_name(MBP_ADU), "adu");
    assert_string_equal(mbp_kind_name(MBP_BAD_FRAME), "bad frame");
    assert_string_equal(mbp_kind_name(MBP_UNANSWERED), "unanswered");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interleaved_directions_pair),
        cmocka_unit_test(a_response_that_does_not_answer_is_checked),
        cmocka_unit_test(pipelined_requests_in_one_segment),
        cmocka_unit_test(one_byte_at_a_time),
        cmocka_unit_test(pairing_by_transaction_id_out_of_order),
        cmocka_unit_test(exception_response_pairs_with_its_request),
        cmocka_unit_test(malformed_request_reports_the_rule),
        cmocka_unit_test(framing_error_then_resync),
        cmocka_unit_test(gap_then_resync),
        cmocka_unit_test(junk_on_the_port),
        cmocka_unit_test(midstream_start_hunts),
        cmocka_unit_test(request_table_is_bounded),
        cmocka_unit_test(reassembler_roles_by_server_port),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests_name("mb_passive", tests, NULL, NULL);
}
