/* test_tcp_reasm.c — unit tests of src/net/tcp_reasm (TCP stream
 * reassembly) and of the frame decoder of src/net/pcap_reader, on
 * synthetic segments and frames built here.
 *
 * A recorder rebuilds each connection's two byte streams from the
 * callbacks, writing '?' for every byte reported missing, so a test states
 * the whole expected stream: the test patterns use letters and digits
 * only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/pcap_reader.h"
#include "net/tcp_reasm.h"
#include "testutil.h"

#include <pcap/pcap.h>

/* ---- patterns: what each side sends, byte i of direction d ---- */

#define PAT_LEN (1u << 20)
static uint8_t pat[2][PAT_LEN];
static uint8_t alt[2][PAT_LEN]; /* other bytes at the same offsets (overlap tests) */

static void patterns_init(void)
{
    static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static const char b[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (uint32_t i = 0; i < PAT_LEN; i++)
        for (int d = 0; d < 2; d++) {
            uint32_t h = (i + 977u * (uint32_t)d) * 2654435761u;
            pat[d][i] = (uint8_t)a[(h >> 11) % 36];
            alt[d][i] = (uint8_t)b[(h >> 13) % 26];
        }
}

/* ---- recorder ---- */

struct crec {
    int opened, closed;
    enum tcpr_close why;
    uint32_t ip[2];
    uint16_t port[2];
    int handshake;
    char *buf[2];
    size_t len[2], cap[2];
    uint64_t gap_bytes[2];
    int gaps[2];
    int64_t last_data_ts[2];
};

struct rec {
    struct crec *c;
    size_t n;
    struct tcpr *t;       /* for checks inside callbacks */
    size_t max_conns_seen;
    int events;
};

static struct crec *rec_at(struct rec *r, uint64_t id)
{
    if (id >= r->n) {
        size_t n = (size_t)id + 1;
        r->c = realloc(r->c, n * sizeof *r->c);
        memset(r->c + r->n, 0, (n - r->n) * sizeof *r->c);
        r->n = n;
    }
    return &r->c[id];
}

static void put(struct crec *c, int d, const void *p, size_t n, int fill)
{
    if (c->len[d] + n + 1 > c->cap[d]) {
        c->cap[d] = (c->len[d] + n + 1) * 2;
        c->buf[d] = realloc(c->buf[d], c->cap[d]);
    }
    if (p)
        memcpy(c->buf[d] + c->len[d], p, n);
    else
        memset(c->buf[d] + c->len[d], fill, n);
    c->len[d] += n;
    c->buf[d][c->len[d]] = '\0';
}

static void on_open(void *ctx, struct tcpr_conn *c, int64_t ts)
{
    struct rec *r = ctx;
    struct crec *k = rec_at(r, c->id);
    assert_int_equal(k->opened, 0);
    k->opened = 1;
    memcpy(k->ip, c->ip, sizeof k->ip);
    memcpy(k->port, c->port, sizeof k->port);
    k->handshake = c->handshake;
    c->user = k; /* the recorder's array only grows before the callbacks */
    put(k, 0, "", 0, 0);
    put(k, 1, "", 0, 0);
    if (r->t && tcpr_stats(r->t)->conns > r->max_conns_seen)
        r->max_conns_seen = tcpr_stats(r->t)->conns;
    r->events++;
}

static void on_data(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, const uint8_t *data,
                    size_t len, int64_t ts)
{
    struct rec *r = ctx;
    struct crec *k = rec_at(r, c->id);
    assert_int_equal(k->opened, 1);
    assert_int_equal(k->closed, 0);
    assert_true(len > 0);
    put(k, d, data, len, 0);
    k->last_data_ts[d] = ts;
    r->events++;
}

static void on_gap(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, uint64_t missing, int64_t ts)
{
    struct rec *r = ctx;
    struct crec *k = rec_at(r, c->id);
    assert_int_equal(k->closed, 0);
    assert_true(missing > 0 && missing < (1u << 24));
    put(k, d, NULL, (size_t)missing, '?');
    k->gap_bytes[d] += missing;
    k->gaps[d]++;
    r->events++;
}

static void on_close(void *ctx, struct tcpr_conn *c, enum tcpr_close why, int64_t ts)
{
    struct rec *r = ctx;
    struct crec *k = rec_at(r, c->id);
    assert_int_equal(k->closed, 0);
    k->closed = 1;
    k->why = why;
    k->handshake = c->handshake;
    /* the table's own counters agree with what was reported */
    for (int d = 0; d < 2; d++) {
        assert_int_equal(c->bytes[d] + c->gap_bytes[d], k->len[d]);
        assert_int_equal(c->gap_bytes[d], k->gap_bytes[d]);
    }
    r->events++;
}

static struct tcpr *table(struct rec *r, const struct tcpr_config *cfg)
{
    memset(r, 0, sizeof *r);
    struct tcpr_callbacks cb = {r, on_open, on_data, on_gap, on_close};
    struct err e;
    struct tcpr *t = tcpr_new(cfg, &cb, &e);
    if (!t)
        fail_msg("tcpr_new: %s", e.msg);
    r->t = t;
    return t;
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->c[i].buf[0]);
        free(r->c[i].buf[1]);
    }
    free(r->c);
    r->c = NULL;
    r->n = 0;
}

/* Asserts that direction d of connection `id` is exactly `want`
 * ('?' = a byte reported missing). */
static void expect_stream(struct rec *r, uint64_t id, int d, const char *want, size_t n)
{
    if (id >= r->n || !r->c[id].opened)
        fail_msg("connection %llu never opened", (unsigned long long)id);
    struct crec *k = &r->c[id];
    if (k->len[d] != n || memcmp(k->buf[d], want, n) != 0) {
        size_t i = 0;
        while (i < n && i < k->len[d] && k->buf[d][i] == want[i])
            i++;
        fail_msg("conn %llu dir %d: got %zu bytes, want %zu; first difference at %zu",
                 (unsigned long long)id, d, k->len[d], n, i);
    }
}

/* The expected stream: pattern bytes of [0, n) with [h0, h1) missing. */
static char *want_pat(int d, size_t n, size_t h0, size_t h1)
{
    char *w = malloc(n + 1);
    memcpy(w, pat[d], n);
    if (h1 > h0)
        memset(w + h0, '?', h1 - h0);
    w[n] = '\0';
    return w;
}

/* ---- a synthetic connection ---- */

struct flow {
    struct tcpr *t;
    uint32_t ip[2];
    uint16_t port[2];
    uint32_t isn[2];
    uint64_t ackd[2]; /* offset of direction d the peer acknowledges */
    int64_t ts;
    uint64_t sent[2]; /* end of what side d has sent (a FIN counts one) */
};

static struct flow flow_make(struct tcpr *t, int n)
{
    struct flow f = {t,
                     {0x0a000001u + (uint32_t)(n >> 8), 0x0a010001u},
                     {(uint16_t)(40000 + (n & 0xff) * 97 % 20000), 502},
                     {1000u + (uint32_t)n * 7919u, 5000000u + (uint32_t)n * 104729u},
                     {0, 0},
                     1000000000LL,
                     {0, 0}};
    return f;
}

static void tx_raw(struct flow *f, int d, uint32_t seq, uint32_t ack, uint8_t flags,
                   const uint8_t *data, uint32_t len, uint32_t wire)
{
    struct tcpr_seg s = {0};
    f->ts += 1000;
    s.ts_ns = f->ts;
    s.src_ip = f->ip[d];
    s.dst_ip = f->ip[!d];
    s.src_port = f->port[d];
    s.dst_port = f->port[!d];
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = 65535;
    s.payload = data;
    s.payload_len = len;
    s.wire_len = wire;
    assert_int_equal(tcpr_feed(f->t, &s), 0);
}

static uint32_t ack_of(const struct flow *f, int d)
{
    return f->isn[!d] + 1 + (uint32_t)f->ackd[!d];
}

/* Side d sends bytes [off, off + len) of its pattern (from `src` if given). */
static void tx_from(struct flow *f, int d, uint64_t off, uint32_t len, uint8_t flags,
                    const uint8_t *src)
{
    tx_raw(f, d, f->isn[d] + 1 + (uint32_t)off, ack_of(f, d), flags | TCPR_ACK,
           (src ? src : pat[d]) + off, len, len);
    if (off + len > f->sent[d])
        f->sent[d] = off + len;
}

static void tx(struct flow *f, int d, uint64_t off, uint32_t len)
{
    tx_from(f, d, off, len, TCPR_PSH, NULL);
}

static void handshake(struct flow *f)
{
    tx_raw(f, 0, f->isn[0], 0, TCPR_SYN, NULL, 0, 0);
    tx_raw(f, 1, f->isn[1], f->isn[0] + 1, TCPR_SYN | TCPR_ACK, NULL, 0, 0);
    tx_raw(f, 0, f->isn[0] + 1, f->isn[1] + 1, TCPR_ACK, NULL, 0, 0);
}

/* Side d sends its FIN after `off` bytes; the peer acknowledges it. */
static void fin(struct flow *f, int d, uint64_t off)
{
    tx_raw(f, d, f->isn[d] + 1 + (uint32_t)off, ack_of(f, d), TCPR_FIN | TCPR_ACK, NULL, 0, 0);
    f->sent[d] = off + 1;
    f->ackd[d] = off + 1;
    tx_raw(f, !d, f->isn[!d] + 1 + (uint32_t)f->sent[!d], ack_of(f, !d), TCPR_ACK, NULL, 0, 0);
}

/* Closes both sides: d first, then the peer; sizes are the bytes each sent. */
static void close_both(struct flow *f, uint64_t sent_c, uint64_t sent_s)
{
    fin(f, 0, sent_c);
    fin(f, 1, sent_s);
}

/* ---- tests ---- */

static void in_order(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 1);
    handshake(&f);
    tx(&f, 0, 0, 12);
    tx(&f, 0, 12, 100);
    tx(&f, 1, 0, 1);
    tx(&f, 1, 1, 299);
    tx(&f, 0, 112, 8);
    close_both(&f, 120, 300);
    assert_int_equal(tcpr_stats(t)->opened, 1);
    assert_int_equal(r.c[0].closed, 1);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_FIN);
    assert_int_equal(r.c[0].handshake, 1);
    assert_int_equal(r.c[0].ip[TCPR_C2S], f.ip[0]);
    assert_int_equal(r.c[0].port[TCPR_S2C], 502);
    expect_stream(&r, 0, 0, (const char *)pat[0], 120);
    expect_stream(&r, 0, 1, (const char *)pat[1], 300);
    assert_int_equal(tcpr_stats(t)->retrans_bytes, 0);
    assert_int_equal(tcpr_stats(t)->gaps, 0);
    /* the last ACKs after both FINs are absorbed by the tombstone */
    uint64_t late = tcpr_stats(t)->late_segments;
    assert_true(late >= 1);
    tx_raw(&f, 0, f.isn[0] + 122, f.isn[1] + 302, TCPR_ACK, NULL, 0, 0);
    assert_int_equal(tcpr_stats(t)->late_segments, late + 1);
    assert_int_equal(tcpr_stats(t)->opened, 1);
    tcpr_finish(t, f.ts);
    assert_int_equal(tcpr_stats(t)->conns, 0);
    tcpr_free(t);
    rec_free(&r);
}

static void reversed(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 2);
    handshake(&f);
    for (int i = 9; i >= 0; i--)
        tx(&f, 0, (uint64_t)i * 50, 50);
    assert_int_equal(r.c[0].len[0], 500); /* all delivered once the first arrived */
    assert_int_equal(tcpr_stats(t)->ooo_segments, 9);
    assert_int_equal(tcpr_stats(t)->buffered, 0);
    close_both(&f, 500, 0);
    expect_stream(&r, 0, 0, (const char *)pat[0], 500);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_FIN);
    tcpr_free(t);
    rec_free(&r);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void shuffled(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 3);
    enum { N = 400 };
    uint64_t off[N];
    uint32_t len[N];
    uint32_t seed = 20261125;
    uint64_t total = 0;
    for (int i = 0; i < N; i++) {
        off[i] = total;
        len[i] = 1 + lcg(&seed) % 1460;
        total += len[i];
    }
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(lcg(&seed) % (uint32_t)(i + 1));
        int x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    handshake(&f);
    for (int i = 0; i < N; i++) {
        tx(&f, 0, off[order[i]], len[order[i]]);
        if (i % 7 == 0) /* and some duplicates */
            tx(&f, 0, off[order[i / 2]], len[order[i / 2]]);
    }
    assert_int_equal(r.c[0].len[0], total);
    close_both(&f, total, 0);
    expect_stream(&r, 0, 0, (const char *)pat[0], total);
    assert_int_equal(r.c[0].gaps[0], 0);
    assert_true(tcpr_stats(t)->retrans_bytes > 0);
    assert_int_equal(tcpr_stats(t)->buffered, 0);
    tcpr_free(t);
    rec_free(&r);
}

static void retransmissions(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 4);
    handshake(&f);
    /* exact retransmissions, in order and of a buffered segment */
    tx(&f, 0, 0, 10);
    tx(&f, 0, 0, 10);
    tx(&f, 0, 20, 10);
    tx(&f, 0, 20, 10);
    tx(&f, 0, 10, 10);
    tx(&f, 0, 10, 10);
    assert_int_equal(tcpr_stats(t)->retrans_bytes, 30);
    /* overlapping, with other bytes: the first copy of each byte wins */
    tx(&f, 0, 30, 10);                              /* [30,40) pat */
    tx_from(&f, 0, 35, 10, TCPR_PSH, alt[0]);       /* [35,45): only [40,45) alt is new */
    tx_from(&f, 0, 60, 10, TCPR_PSH, NULL);         /* buffered [60,70) pat */
    tx_from(&f, 0, 50, 30, TCPR_PSH, alt[0]);       /* [50,80): [50,60) and [70,80) alt */
    tx_from(&f, 0, 45, 5, TCPR_PSH, NULL);          /* fills [45,50) */
    tx_from(&f, 0, 0, 90, TCPR_PSH, alt[0]);        /* only [80,90) alt is new */
    char want[90];
    memcpy(want, pat[0], 40);
    memcpy(want + 40, alt[0] + 40, 5);
    memcpy(want + 45, pat[0] + 45, 5);
    memcpy(want + 50, alt[0] + 50, 10);
    memcpy(want + 60, pat[0] + 60, 10);
    memcpy(want + 70, alt[0] + 70, 20);
    expect_stream(&r, 0, 0, want, 90);
    /* keep-alive: one old byte at next - 1 */
    tx(&f, 0, 89, 1);
    assert_int_equal(r.c[0].len[0], 90);
    tcpr_finish(t, f.ts);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_END);
    expect_stream(&r, 0, 0, want, 90);
    tcpr_free(t);
    rec_free(&r);
}

static void wraparound(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    /* in order across 2^32 */
    struct flow f = flow_make(t, 5);
    f.isn[0] = 0xffffff00u;
    f.isn[1] = 0xfffffff0u;
    handshake(&f);
    for (int i = 0; i < 10; i++)
        tx(&f, 0, (uint64_t)i * 100, 100);
    for (int i = 0; i < 4; i++)
        tx(&f, 1, (uint64_t)i * 7, 7);
    close_both(&f, 1000, 28);
    expect_stream(&r, 0, 0, (const char *)pat[0], 1000);
    expect_stream(&r, 0, 1, (const char *)pat[1], 28);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_FIN);
    /* out of order across 2^32, the SYN itself at 0xffffffff */
    struct flow g = flow_make(t, 6);
    g.isn[0] = 0xffffffffu;
    handshake(&g);
    tx(&g, 0, 300, 100);
    tx(&g, 0, 100, 200);
    tx(&g, 0, 0, 100);
    tx(&g, 0, 50, 100); /* retransmission across the wrap */
    close_both(&g, 400, 0);
    expect_stream(&r, 1, 0, (const char *)pat[0], 400);
    /* mid-stream start just below the wrap, first data after it */
    struct flow h = flow_make(t, 7);
    tx_raw(&h, 0, 0xfffffff0u, 0, TCPR_ACK, pat[0], 100, 100);
    tx_raw(&h, 0, 0x00000054u, 0, TCPR_ACK, pat[0] + 100, 50, 50);
    tcpr_finish(t, h.ts);
    expect_stream(&r, 2, 0, (const char *)pat[0], 150);
    tcpr_free(t);
    rec_free(&r);
}

static void gap_at_fin(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    /* segment [100,200) never captured; the server acknowledges the FIN */
    struct flow f = flow_make(t, 8);
    handshake(&f);
    tx(&f, 0, 0, 100);
    tx(&f, 0, 200, 100);
    tx(&f, 0, 300, 50);
    assert_int_equal(r.c[0].gaps[0], 0); /* could still be retransmitted */
    tx_raw(&f, 0, f.isn[0] + 351, ack_of(&f, 0), TCPR_FIN | TCPR_ACK, NULL, 0, 0);
    assert_int_equal(r.c[0].gaps[0], 0);
    f.ackd[0] = 351;
    tx_raw(&f, 1, f.isn[1] + 1, ack_of(&f, 1), TCPR_ACK, NULL, 0, 0);
    assert_int_equal(r.c[0].gaps[0], 1); /* acknowledged: lost for good */
    assert_int_equal(r.c[0].gap_bytes[0], 100);
    char *w = want_pat(0, 350, 100, 200);
    expect_stream(&r, 0, 0, w, 350);
    fin(&f, 1, 0);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_FIN);

    /* same without any acknowledgment: reported when the capture ends, as
     * is a hole between the last data and the FIN */
    struct flow g = flow_make(t, 9);
    handshake(&g);
    tx(&g, 0, 0, 100);
    tx(&g, 0, 200, 150);
    tx_raw(&g, 0, g.isn[0] + 401, ack_of(&g, 0), TCPR_FIN | TCPR_ACK, NULL, 0, 0);
    assert_int_equal(r.c[1].gaps[0], 0);
    tcpr_finish(t, g.ts);
    assert_int_equal(r.c[1].why, TCPR_CLOSE_END);
    assert_int_equal(r.c[1].gaps[0], 2);
    char *w2 = want_pat(0, 400, 100, 200);
    memset(w2 + 350, '?', 50);
    expect_stream(&r, 1, 0, w2, 400);
    free(w);
    free(w2);
    tcpr_free(t);
    rec_free(&r);
}

static void ack_gives_up_hole(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 10);
    handshake(&f);
    tx(&f, 0, 0, 10);
    tx(&f, 0, 20, 10);
    tx(&f, 0, 30, 10);
    /* the server acknowledges up to 25: [10,20) is lost, [20,40) follows */
    f.ackd[0] = 25;
    tx(&f, 1, 0, 5);
    char *w = want_pat(0, 40, 10, 20);
    expect_stream(&r, 0, 0, w, 40);
    /* an acknowledgment beyond anything seen gives up nothing unseen */
    f.ackd[0] = 1000;
    tx(&f, 1, 5, 5);
    expect_stream(&r, 0, 0, w, 40);
    tx(&f, 0, 40, 10);
    assert_int_equal(r.c[0].len[0], 50);
    free(w);
    tcpr_free(t);
    rec_free(&r);
}

static void interleaved(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 11);
    handshake(&f);
    uint64_t oc = 0, os = 0;
    uint32_t seed = 7;
    for (int i = 0; i < 50; i++) {
        uint32_t a = 12 + lcg(&seed) % 40, b = 9 + lcg(&seed) % 250, b2 = lcg(&seed) % 30 + 1;
        /* request in two parts, second first; response in two parts */
        tx(&f, 0, oc + 6, a - 6);
        tx(&f, 1, os + b, b2);
        tx(&f, 0, oc, 6);
        f.ackd[0] = oc + a;
        tx(&f, 1, os, b);
        f.ackd[1] = os + b + b2;
        tx_raw(&f, 0, f.isn[0] + 1 + (uint32_t)(oc + a), ack_of(&f, 0), TCPR_ACK, NULL, 0, 0);
        oc += a;
        os += b + b2;
    }
    close_both(&f, oc, os);
    expect_stream(&r, 0, 0, (const char *)pat[0], oc);
    expect_stream(&r, 0, 1, (const char *)pat[1], os);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_FIN);
    tcpr_free(t);
    rec_free(&r);
}

static void mid_stream(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    /* first packet from the server: port 502 makes it the server anyway */
    struct flow f = flow_make(t, 12);
    tx_raw(&f, 1, 777777, 123456, TCPR_ACK | TCPR_PSH, pat[1], 20, 20);
    tx_raw(&f, 0, 123456, 777797, TCPR_ACK, NULL, 0, 0); /* pure ACK: places nothing */
    tx_raw(&f, 0, 123456, 777797, TCPR_ACK | TCPR_PSH, pat[0], 12, 12);
    tx_raw(&f, 1, 777797, 123468, TCPR_ACK | TCPR_PSH, pat[1] + 20, 30, 30);
    assert_int_equal(r.c[0].handshake, 0);
    assert_int_equal(r.c[0].port[TCPR_S2C], 502);
    assert_int_equal(r.c[0].ip[TCPR_S2C], f.ip[1]);
    tcpr_finish(t, f.ts);
    expect_stream(&r, 0, 0, (const char *)pat[0], 12);
    expect_stream(&r, 0, 1, (const char *)pat[1], 50);
    /* no known port: the side below 1024 is the server */
    struct flow g = flow_make(t, 13);
    g.port[0] = 80;
    g.port[1] = 31337;
    tx_raw(&g, 1, 5, 9, TCPR_ACK, pat[1], 3, 3);
    /* neither: the first packet's destination is the server */
    struct flow h = flow_make(t, 14);
    h.port[0] = 40001;
    h.port[1] = 40002;
    tx_raw(&h, 1, 5, 9, TCPR_ACK, pat[1], 3, 3);
    tcpr_finish(t, h.ts);
    assert_int_equal(r.c[1].port[TCPR_S2C], 80);
    assert_int_equal(r.c[2].port[TCPR_S2C], 40001);
    assert_int_equal(r.c[2].port[TCPR_C2S], 40002);
    /* configured server ports */
    uint16_t ports[] = {20000};
    struct tcpr_config cfg = {.server_ports = ports, .nserver_ports = 1};
    struct rec r2;
    struct tcpr *t2 = table(&r2, &cfg);
    struct flow k = flow_make(t2, 15);
    k.port[0] = 20000;
    k.port[1] = 502;
    tx_raw(&k, 1, 5, 9, TCPR_ACK, pat[1], 3, 3);
    tcpr_finish(t2, k.ts);
    assert_int_equal(r2.c[0].port[TCPR_S2C], 20000);
    tcpr_free(t2);
    rec_free(&r2);
    tcpr_free(t);
    rec_free(&r);
}

static void rst(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 16);
    handshake(&f);
    tx(&f, 0, 0, 10);
    tx(&f, 0, 20, 10); /* buffered behind a hole */
    tx(&f, 1, 0, 7);
    tx_raw(&f, 1, f.isn[1] + 8, ack_of(&f, 1), TCPR_RST | TCPR_ACK, pat[1], 5, 5);
    assert_int_equal(r.c[0].closed, 1);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_RST);
    char *w = want_pat(0, 30, 10, 20);
    expect_stream(&r, 0, 0, w, 30);
    expect_stream(&r, 0, 1, (const char *)pat[1], 7); /* a RST's payload is not data */
    assert_int_equal(tcpr_stats(t)->rst_bytes, 5);
    /* late segments after the RST are absorbed */
    tx(&f, 0, 10, 10);
    assert_int_equal(tcpr_stats(t)->late_segments, 1);
    assert_int_equal(tcpr_stats(t)->opened, 1);
    /* the same SYN again is absorbed too; a new SYN opens a new connection */
    tx_raw(&f, 0, f.isn[0], 0, TCPR_SYN, NULL, 0, 0);
    assert_int_equal(tcpr_stats(t)->opened, 1);
    f.isn[0] += 100000;
    f.ackd[0] = f.ackd[1] = 0;
    handshake(&f);
    tx(&f, 0, 0, 5);
    assert_int_equal(tcpr_stats(t)->opened, 2);
    /* a RST on an unknown 4-tuple opens and closes a connection */
    struct flow g = flow_make(t, 17);
    tx_raw(&g, 1, 1, 1, TCPR_RST, NULL, 0, 0);
    assert_int_equal(tcpr_stats(t)->opened, 3);
    assert_int_equal(r.c[2].why, TCPR_CLOSE_RST);
    tcpr_finish(t, f.ts);
    expect_stream(&r, 1, 0, (const char *)pat[0], 5);
    assert_int_equal(r.c[1].why, TCPR_CLOSE_END);
    free(w);
    tcpr_free(t);
    rec_free(&r);
}

static void port_reuse(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 18);
    handshake(&f);
    tx(&f, 0, 0, 10);
    /* a new SYN on the live connection (the old one ended unseen) */
    struct flow g = f;
    g.isn[0] = f.isn[0] + 999;
    g.isn[1] = 42;
    g.ackd[0] = g.ackd[1] = 0;
    handshake(&g);
    tx(&g, 0, 0, 20);
    tx_raw(&g, 0, g.isn[0], 0, TCPR_SYN, NULL, 0, 0); /* its own SYN again: no effect */
    assert_int_equal(tcpr_stats(t)->opened, 2);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_REUSE);
    close_both(&g, 20, 0);
    expect_stream(&r, 0, 0, (const char *)pat[0], 10);
    expect_stream(&r, 1, 0, (const char *)pat[0], 20);
    assert_int_equal(r.c[1].why, TCPR_CLOSE_FIN);
    tcpr_free(t);
    rec_free(&r);
}

static void beyond_fin_and_truncated(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    struct flow f = flow_make(t, 19);
    handshake(&f);
    /* 100 bytes on the wire, 40 captured; then 50 buffered beyond a hole,
     * 10 of them cut */
    tx_raw(&f, 0, f.isn[0] + 1, ack_of(&f, 0), TCPR_ACK, pat[0], 40, 100);
    tx_raw(&f, 0, f.isn[0] + 201, ack_of(&f, 0), TCPR_ACK, pat[0] + 200, 40, 50);
    tx_raw(&f, 0, f.isn[0] + 101, ack_of(&f, 0), TCPR_ACK, pat[0] + 100, 100, 100);
    char *w = want_pat(0, 250, 40, 100);
    memset(w + 240, '?', 10);
    expect_stream(&r, 0, 0, w, 250);
    /* a FIN at 250, then data beyond it is dropped */
    tx_raw(&f, 0, f.isn[0] + 251, ack_of(&f, 0), TCPR_FIN | TCPR_ACK, NULL, 0, 0);
    tx(&f, 0, 250, 30);
    assert_int_equal(tcpr_stats(t)->beyond_fin_bytes, 30);
    fin(&f, 1, 0);
    assert_int_equal(r.c[0].why, TCPR_CLOSE_FIN);
    expect_stream(&r, 0, 0, w, 250);
    assert_int_equal(r.c[0].gaps[0], 2);
    /* a FIN seen before data beyond it drops the buffered excess */
    struct flow g = flow_make(t, 20);
    handshake(&g);
    tx(&g, 0, 50, 100);
    tx_raw(&g, 0, g.isn[0] + 1 + 120, ack_of(&g, 0), TCPR_FIN | TCPR_ACK, NULL, 0, 0);
    tx(&g, 0, 0, 50);
    expect_stream(&r, 1, 0, (const char *)pat[0], 120);
    free(w);
    tcpr_finish(t, g.ts);
    tcpr_free(t);
    rec_free(&r);
}

static void many_connections(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr *t = table(&r, NULL);
    enum { N = 3000 };
    rec_at(&r, N); /* no reallocation inside the callbacks */
    struct flow *f = calloc(N, sizeof *f);
    for (int i = 0; i < N; i++) {
        f[i] = flow_make(t, i);
        handshake(&f[i]);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++) {
            uint32_t a = 5 + (uint32_t)(i % 13), b = 3 + (uint32_t)(i % 7);
            tx(&f[i], 0, (uint64_t)round * 20 + a, 20 - a);
            tx(&f[i], 0, (uint64_t)round * 20, a);
            tx(&f[i], 1, (uint64_t)round * 10, b);
            tx(&f[i], 1, (uint64_t)round * 10 + b, 10 - b);
        }
    assert_int_equal(tcpr_stats(t)->conns, N);
    for (int i = 0; i < N; i++)
        close_both(&f[i], 60, 30);
    for (int i = 0; i < N; i++) {
        expect_stream(&r, (uint64_t)i, 0, (const char *)pat[0], 60);
        expect_stream(&r, (uint64_t)i, 1, (const char *)pat[1], 30);
        assert_int_equal(r.c[i].why, TCPR_CLOSE_FIN);
    }
    tcpr_free(t);
    rec_free(&r);

    /* a small table: the least recently active connection is evicted */
    struct tcpr_config cfg = {.max_conns = 64};
    t = table(&r, &cfg);
    rec_at(&r, N);
    for (int i = 0; i < 200; i++) {
        f[i] = flow_make(t, i);
        handshake(&f[i]);
        tx(&f[i], 0, 0, 10);
        if (i >= 1) /* connection 0 stays active */
            tx(&f[0], 0, (uint64_t)i * 10, 10);
    }
    assert_true(r.max_conns_seen <= 64);
    assert_int_equal(tcpr_stats(t)->closed[TCPR_CLOSE_EVICT], 200 - 64);
    assert_int_equal(r.c[0].closed, 0);
    assert_int_equal(r.c[1].why, TCPR_CLOSE_EVICT);
    tcpr_finish(t, 0);
    expect_stream(&r, 0, 0, (const char *)pat[0], 2000);
    assert_int_equal(tcpr_stats(t)->closed[TCPR_CLOSE_END], 64);
    free(f);
    tcpr_free(t);
    rec_free(&r);
}

static void ooo_limit(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr_config cfg = {.max_buffer = 4096};
    struct tcpr *t = table(&r, &cfg);
    struct flow f = flow_make(t, 21);
    handshake(&f);
    /* [0,100) lost; 99 segments behind it cannot all wait */
    for (int i = 1; i < 100; i++)
        tx(&f, 0, (uint64_t)i * 100, 100);
    assert_true(tcpr_stats(t)->buffered_peak <= 4096);
    assert_int_equal(tcpr_stats(t)->overflows, 1);
    assert_int_equal(r.c[0].gaps[0], 1);
    assert_int_equal(r.c[0].len[0], 10000);
    tx(&f, 0, 0, 100); /* too late */
    char *w = want_pat(0, 10000, 0, 100);
    expect_stream(&r, 0, 0, w, 10000);
    /* a segment larger than the whole buffer skips straight to itself */
    tx(&f, 0, 12000, 5000);
    char *w2 = want_pat(0, 17000, 0, 100);
    memset(w2 + 10000, '?', 2000);
    expect_stream(&r, 0, 0, w2, 17000);
    tcpr_finish(t, f.ts);
    free(w);
    free(w2);
    tcpr_free(t);
    rec_free(&r);

    /* the limit over all directions: two connections share 6000 bytes */
    struct tcpr_config cfg2 = {.max_buffer = 100000, .max_total_buffer = 6000};
    t = table(&r, &cfg2);
    struct flow a = flow_make(t, 22), b = flow_make(t, 23);
    handshake(&a);
    handshake(&b);
    for (int i = 1; i < 30; i++)
        tx(&a, 0, (uint64_t)i * 100, 100);
    for (int i = 1; i < 30; i++)
        tx(&b, 0, (uint64_t)i * 100, 100);
    assert_true(tcpr_stats(t)->buffered_peak <= 6000);
    assert_int_equal(r.c[1].gaps[0], 1);
    assert_int_equal(r.c[0].gaps[0], 0);
    tcpr_finish(t, b.ts);
    assert_int_equal(r.c[0].gaps[0], 1);
    w = want_pat(0, 3000, 0, 100);
    expect_stream(&r, 0, 0, w, 3000);
    expect_stream(&r, 1, 0, w, 3000);
    free(w);
    tcpr_free(t);
    rec_free(&r);
}

static void idle_timeout(void **state)
{
    (void)state;
    struct rec r;
    struct tcpr_config cfg = {.idle_timeout_ns = 10LL * 1000000000LL};
    struct tcpr *t = table(&r, &cfg);
    struct flow f = flow_make(t, 24), g = flow_make(t, 25);
    handshake(&f);
    tx(&f, 0, 0, 10);
    tx(&f, 0, 20, 10);
    g.ts = f.ts + 5LL * 1000000000LL;
    handshake(&g);
    g.ts = f.ts + 11LL * 1000000000LL;
    tx(&g, 0, 0, 10); /* f has been idle for 11 s */
    assert_int_equal(r.c[0].why, TCPR_CLOSE_TIMEOUT);
    assert_int_equal(r.c[1].closed, 0);
    char *w = want_pat(0, 30, 10, 20);
    expect_stream(&r, 0, 0, w, 30);
    tcpr_expire(t, g.ts + 9LL * 1000000000LL);
    assert_int_equal(r.c[1].closed, 0);
    tcpr_expire(t, g.ts + 11LL * 1000000000LL);
    assert_int_equal(r.c[1].why, TCPR_CLOSE_TIMEOUT);
    assert_int_equal(tcpr_stats(t)->conns, 0);
    /* f talks again: a new connection, mid-stream */
    f.ts = g.ts + 12LL * 1000000000LL;
    tx(&f, 0, 30, 10);
    assert_int_equal(tcpr_stats(t)->opened, 3);
    assert_int_equal(r.c[2].handshake, 0);
    free(w);
    tcpr_finish(t, f.ts);
    tcpr_free(t);
    rec_free(&r);
}

static void determinism(void **state)
{
    (void)state;
    /* the same segments give the same callbacks, whatever the hash seed */
    char *out[2];
    for (int run = 0; run < 2; run++) {
        struct rec r;
        struct tcpr_config cfg = {.hash_seed = run ? 12345 : 0, .max_conns = 50};
        struct tcpr *t = table(&r, &cfg);
        rec_at(&r, 200);
        struct flow f[100];
        for (int i = 0; i < 100; i++) {
            f[i] = flow_make(t, i);
            handshake(&f[i]);
            tx(&f[i], 0, 10, 10);
            tx(&f[i], 1, 0, 10);
        }
        tcpr_finish(t, 0);
        size_t n = 0;
        out[run] = malloc(100 * 64);
        for (int i = 0; i < 100; i++)
            n += (size_t)snprintf(out[run] + n, 64, "%d:%d:%zu:%zu;", r.c[i].why, r.c[i].gaps[0],
                                  r.c[i].len[0], r.c[i].len[1]);
        tcpr_free(t);
        rec_free(&r);
    }
    assert_string_equal(out[0], out[1]);
    free(out[0]);
    free(out[1]);
}

/* ---- the frame decoder ---- */

static size_t put_ipv4_tcp_n(uint8_t *b, size_t ip_opts, size_t tcp_opts, const char *payload,
                             size_t plen, uint16_t frag)
{
    size_t ihl = 20 + ip_opts, doff = 20 + tcp_opts;
    size_t tot = ihl + doff + plen;
    memset(b, 0, tot);
    b[0] = (uint8_t)(0x40 | ihl / 4);
    b[2] = (uint8_t)(tot >> 8);
    b[3] = (uint8_t)tot;
    b[6] = (uint8_t)(frag >> 8);
    b[7] = (uint8_t)frag;
    b[8] = 64;
    b[9] = 6;
    memcpy(b + 12, "\xc0\xa8\x00\x15\xc0\xa8\x00\x14", 8); /* .21 -> .20 */
    uint8_t *h = b + ihl;
    memcpy(h, "\xd1\x2e\x01\xf6", 4);                    /* 53550 -> 502 */
    memcpy(h + 4, "\x01\x02\x03\x04\xa0\xb0\xc0\xd0", 8);
    h[12] = (uint8_t)(doff / 4 << 4);
    h[13] = TCPR_ACK | TCPR_PSH;
    memcpy(h + doff, payload, plen);
    return tot;
}

static size_t put_ipv4_tcp(uint8_t *b, size_t ip_opts, size_t tcp_opts, const char *payload,
                           uint16_t frag)
{
    return put_ipv4_tcp_n(b, ip_opts, tcp_opts, payload, strlen(payload), frag);
}

static void expect_tcp(const struct pcapr_pkt *p, const char *payload)
{
    if (p->kind != PCAPR_TCP)
        fail_msg("kind %s (%s), want tcp", pcapr_kind_name(p->kind), p->why ? p->why : "");
    assert_int_equal(p->tcp.src_ip, 0xc0a80015u);
    assert_int_equal(p->tcp.dst_port, 502);
    assert_int_equal(p->tcp.src_port, 53550);
    assert_int_equal(p->tcp.seq, 0x01020304u);
    assert_int_equal(p->tcp.ack, 0xa0b0c0d0u);
    assert_int_equal(p->tcp.flags, TCPR_ACK | TCPR_PSH);
    assert_int_equal(p->tcp.wire_len, strlen(payload));
    assert_int_equal(p->tcp.payload_len, strlen(payload));
    assert_memory_equal(p->tcp.payload, payload, strlen(payload));
    assert_int_equal(p->tcp.pkt_no, 7);
    assert_int_equal(p->tcp.ts_ns, 99);
}

static void decode(void **state)
{
    (void)state;
    uint8_t f[256];
    struct pcapr_pkt p;
    const char *pl = "\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a";
    /* Ethernet, with padding after a short datagram */
    memset(f, 0xee, sizeof f);
    memcpy(f + 12, "\x08\x00", 2);
    size_t n = 14 + put_ipv4_tcp(f + 14, 0, 0, "hello", 0);
    assert_int_equal(pcapr_decode(DLT_EN10MB, f, 64, 64, 7, 99, &p), 0);
    expect_tcp(&p, "hello");
    /* two VLAN tags, IP and TCP options */
    memcpy(f + 12, "\x81\x00\x00\x05\x88\xa8\x00\x06\x08\x00", 10);
    n = 22 + put_ipv4_tcp(f + 22, 8, 12, "modbus", 0);
    assert_int_equal(pcapr_decode(DLT_EN10MB, f, (uint32_t)n, (uint32_t)n, 7, 99, &p), 0);
    expect_tcp(&p, "modbus");
    /* Linux cooked v1 and v2, raw IP, BSD loopback in both byte orders */
    memset(f, 0, 20);
    memcpy(f + 14, "\x08\x00", 2);
    n = 16 + put_ipv4_tcp(f + 16, 0, 0, "sll", 0);
    pcapr_decode(DLT_LINUX_SLL, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    expect_tcp(&p, "sll");
    memset(f, 0, 20);
    memcpy(f, "\x08\x00", 2);
    n = 20 + put_ipv4_tcp(f + 20, 0, 0, "sll2", 0);
    pcapr_decode(DLT_LINUX_SLL2, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    expect_tcp(&p, "sll2");
    n = put_ipv4_tcp(f, 0, 0, "raw", 0);
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    expect_tcp(&p, "raw");
    memcpy(f, "\x02\x00\x00\x00", 4);
    n = 4 + put_ipv4_tcp(f + 4, 0, 0, "null", 0);
    pcapr_decode(DLT_NULL, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    expect_tcp(&p, "null");
    memcpy(f, "\x00\x00\x00\x02", 4);
    pcapr_decode(DLT_LOOP, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    expect_tcp(&p, "null");
    memcpy(f, "\x00\x00\x00\x1e", 4); /* AF_INET6 */
    pcapr_decode(DLT_LOOP, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_NOT_IPV4);
    /* a Modbus request, then the same cut by the snap length */
    n = put_ipv4_tcp_n(f, 0, 0, pl, 12, 0);
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.tcp.wire_len, 12);
    assert_memory_equal(p.tcp.payload, pl, 12);
    pcapr_decode(DLT_RAW, f, 45, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_TCP);
    assert_int_equal(p.cut, 1);
    assert_int_equal(p.tcp.payload_len, 5);
    assert_int_equal(p.tcp.wire_len, 12);
    pcapr_decode(DLT_RAW, f, 30, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_TRUNCATED);
    /* fragments */
    n = put_ipv4_tcp(f, 0, 0, "frag", 0x2000);
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_FRAGMENT);
    n = put_ipv4_tcp(f, 0, 0, "frag", 0x0010);
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_FRAGMENT);
    n = put_ipv4_tcp(f, 0, 0, "df", 0x4000); /* don't fragment is fine */
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    expect_tcp(&p, "df");
    /* segmentation offload: total length 0 */
    n = put_ipv4_tcp(f, 0, 0, "tso", 0);
    f[2] = f[3] = 0;
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    expect_tcp(&p, "tso");
    /* other protocols */
    n = put_ipv4_tcp(f, 0, 0, "udp", 0);
    f[9] = 17;
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_UDP);
    f[9] = 1;
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_OTHER_IP);
    f[0] = 0x60;
    pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_NOT_IPV4);
    memset(f, 0, 14);
    memcpy(f + 12, "\x08\x06", 2); /* ARP */
    pcapr_decode(DLT_EN10MB, f, 60, 60, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_NOT_IPV4);
    /* malformed: IHL below 5, total length below IHL or beyond the frame,
     * data offset below 5 or beyond the datagram, too many VLAN tags */
    struct { size_t at; uint8_t v; } bad[] = {{0, 0x44}, {3, 10}, {3, 200}, {32, 0x40}, {32, 0xf0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = put_ipv4_tcp(f, 0, 0, "x", 0);
        f[bad[i].at] = bad[i].v;
        pcapr_decode(DLT_RAW, f, (uint32_t)n, (uint32_t)n, 7, 99, &p);
        if (p.kind != PCAPR_MALFORMED)
            fail_msg("case %zu: kind %s", i, pcapr_kind_name(p.kind));
        assert_non_null(p.why);
    }
    for (int i = 0; i < 10; i++)
        memcpy(f + 12 + 4 * i, "\x81\x00\x00\x01", 4);
    pcapr_decode(DLT_EN10MB, f, 100, 100, 7, 99, &p);
    assert_int_equal(p.kind, PCAPR_MALFORMED);
    /* every prefix of a frame decodes without reading past it */
    memset(f, 0, 14);
    memcpy(f + 12, "\x81\x00\x00\x05\x08\x00", 6);
    n = 18 + put_ipv4_tcp(f + 18, 4, 8, "prefix", 0);
    for (size_t k = 0; k <= n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, f, k);
        pcapr_decode(DLT_EN10MB, copy, (uint32_t)k, (uint32_t)n, 7, 99, &p);
        assert_true(k == n ? p.kind == PCAPR_TCP : (p.kind == PCAPR_TRUNCATED || p.kind == PCAPR_TCP));
        free(copy);
    }
    assert_int_equal(pcapr_decode(9999, f, 10, 10, 7, 99, &p), -1);
    assert_int_equal(pcapr_dlt_supported(9999), 0);
}

int main(void)
{
    patterns_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order),
        cmocka_unit_test(reversed),
        cmocka_unit_test(shuffled),
        cmocka_unit_test(retransmissions),
        cmocka_unit_test(wraparound),
        cmocka_unit_test(gap_at_fin),
        cmocka_unit_test(ack_gives_up_hole),
        cmocka_unit_test(interleaved),
        cmocka_unit_test(mid_stream),
        cmocka_unit_test(rst),
        cmocka_unit_test(port_reuse),
        cmocka_unit_test(beyond_fin_and_truncated),
        cmocka_unit_test(many_connections),
        cmocka_unit_test(ooo_limit),
        cmocka_unit_test(idle_timeout),
        cmocka_unit_test(determinism),
        cmocka_unit_test(decode),
    };
    return cmocka_run_group_tests_name("tcp reassembly", tests, NULL, NULL);
}
