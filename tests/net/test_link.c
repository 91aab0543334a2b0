/* test_link.c — links: in-memory wires on the virtual clock (segmentation,
 * latency, order, windows and back-pressure, close and reset handshakes,
 * refused connections, the tap, determinism) and real sockets (the same
 * contract on loopback). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/loop.h"
#include "net/link.h"
#include "testutil.h"

struct end {
    struct link *l;
    struct buf in;
    int nseg;           /* on_data calls */
    size_t max_seg;
    vtime_t first_t;
    int closed;
    enum link_close_reason why;
    int drained;
    struct sched *s;
};

static void on_data(void *ctx, struct link *l, const uint8_t *d, size_t n)
{
    struct end *e = ctx;
    (void)l;
    if (!e->in.len)
        e->first_t = sched_now(e->s);
    buf_append(&e->in, d, n);
    e->nseg++;
    if (n > e->max_seg)
        e->max_seg = n;
}

static void on_close(void *ctx, struct link *l, enum link_close_reason why)
{
    struct end *e = ctx;
    (void)l;
    e->closed = 1;
    e->why = why;
    e->l = NULL;
}

static void on_drain(void *ctx, struct link *l)
{
    struct end *e = ctx;
    (void)l;
    e->drained++;
}

static const struct link_handler handler = {on_data, on_close, on_drain};

static void accept_cb(void *ctx, struct link *l)
{
    struct end *e = ctx;
    e->l = l;
    link_set_handler(l, &handler, e);
}

static int connect_status = 1;
static void connect_cb(void *ctx, struct link *l, int status)
{
    struct end *e = ctx;
    connect_status = status;
    if (l) {
        e->l = l;
        link_set_handler(l, &handler, e);
    }
}

/* tap recorder */
struct taprec {
    int opens, closes, resets;
    size_t bytes[2];
    char log[4096];
    size_t n;
};
static void tap_open(void *ctx, uint64_t id, const struct net_addr *c, const struct net_addr *s,
                     vtime_t t)
{
    struct taprec *r = ctx;
    char a[32], b[32];
    r->opens++;
    r->n += (size_t)snprintf(r->log + r->n, sizeof r->log - r->n, "open %llu %s>%s @%lld\n",
                             (unsigned long long)id, net_addr_format(c, a, sizeof a),
                             net_addr_format(s, b, sizeof b), (long long)t);
}
static void tap_data(void *ctx, uint64_t id, enum tap_dir d, const uint8_t *p, size_t n,
                     vtime_t t)
{
    struct taprec *r = ctx;
    (void)id;
    (void)p;
    r->bytes[d] += n;
    if (r->n < sizeof r->log - 64)
        r->n += (size_t)snprintf(r->log + r->n, sizeof r->log - r->n, "data %d %zu @%lld\n", d,
                                 n, (long long)t);
}
static void tap_close(void *ctx, uint64_t id, enum tap_dir d, int reset, vtime_t t)
{
    struct taprec *r = ctx;
    (void)id;
    r->closes += !reset;
    r->resets += reset;
    if (r->n < sizeof r->log - 64)
        r->n += (size_t)snprintf(r->log + r->n, sizeof r->log - r->n, "%s %d @%lld\n",
                                 reset ? "rst" : "fin", d, (long long)t);
}
static const struct net_tap tap = {tap_open, tap_data, tap_close};

struct world {
    struct sched *s;
    struct net *n;
    struct listener *ls;
    struct end srv, cli;
    struct net_addr addr;
    struct taprec tr;
};

static void world_open(struct world *w, size_t seg_min, size_t seg_max, size_t window,
                       uint64_t seed)
{
    struct err e;
    memset(w, 0, sizeof *w);
    w->s = sched_new();
    struct net_mem_opts o;
    net_mem_opts_default(&o);
    o.seg_min = seg_min;
    o.seg_max = seg_max;
    o.window = window;
    o.seed = seed;
    o.latency = 200 * VT_US;
    w->n = net_mem_new(w->s, &o, &e);
    net_set_tap(w->n, &tap, &w->tr);
    w->srv.s = w->cli.s = w->s;
    net_addr_parse("127.0.1.1:502", 0, &w->addr, &e);
    w->ls = net_listen(w->n, &w->addr, accept_cb, &w->srv, &e);
    assert_non_null(w->ls);
    struct net_addr from;
    net_addr_parse("127.0.1.9:40000", 0, &from, &e);
    assert_int_equal(net_connect(w->n, &w->addr, &from, connect_cb, &w->cli, &e), 0);
    sched_run_until(w->s, VT_MS);
    assert_int_equal(connect_status, 0);
    assert_non_null(w->cli.l);
    assert_non_null(w->srv.l);
}

static void world_close(struct world *w)
{
    net_free(w->n);
    sched_free(w->s);
    buf_clear(&w->srv.in);
    buf_clear(&w->cli.in);
}

static void connect_and_addresses(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 1, 1460, 65536, 1);
    char a[32];
    assert_string_equal(net_addr_format(link_peer(w.srv.l), a, sizeof a), "127.0.1.9:40000");
    assert_string_equal(net_addr_format(link_local(w.cli.l), a, sizeof a), "127.0.1.9:40000");
    assert_string_equal(net_addr_format(link_peer(w.cli.l), a, sizeof a), "127.0.1.1:502");
    /* SYN at 200 us, the client hears at 400 us */
    TU_CONTAINS(w.tr.log, "open 1 127.0.1.9:40000>127.0.1.1:502 @200000");
    world_close(&w);
}

/* Bytes arrive in order, in segments no larger than seg_max, each one
 * latency after it left. */
static void order_segments_latency(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 1, 5, 65536, 7);
    uint8_t msg[1000];
    for (int i = 0; i < 1000; i++)
        msg[i] = (uint8_t)(i * 7);
    vtime_t t0 = sched_now(w.s);
    assert_int_equal(link_write(w.cli.l, msg, sizeof msg), 0);
    sched_run_until(w.s, t0 + 100 * VT_MS);
    assert_int_equal(w.srv.in.len, 1000);
    assert_memory_equal(buf_peek(&w.srv.in), msg, 1000);
    assert_true(w.srv.max_seg <= 5);
    assert_true(w.srv.nseg >= 200);
    assert_int_equal(w.srv.first_t - t0, 200 * VT_US);
    assert_int_equal(w.tr.bytes[TAP_TO_SERVER], 1000);
    world_close(&w);
}

/* One byte at a time. */
static void one_byte_segments(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 1, 1, 65536, 1);
    link_write(w.cli.l, "hello", 5);
    sched_run_until(w.s, sched_now(w.s) + 10 * VT_MS);
    assert_int_equal(w.srv.nseg, 5);
    assert_memory_equal(buf_peek(&w.srv.in), "hello", 5);
    world_close(&w);
}

/* The same seed cuts the same segments; another seed other ones. */
static void segmentation_is_seeded(void **state)
{
    (void)state;
    char logs[3][4096];
    uint64_t seeds[3] = {5, 5, 6};
    for (int k = 0; k < 3; k++) {
        struct world w;
        world_open(&w, 1, 50, 65536, seeds[k]);
        uint8_t msg[3000] = {0};
        link_write(w.cli.l, msg, sizeof msg);
        sched_run_until(w.s, sched_now(w.s) + 100 * VT_MS);
        memcpy(logs[k], w.tr.log, sizeof logs[k]);
        world_close(&w);
    }
    assert_string_equal(logs[0], logs[1]);
    assert_string_not_equal(logs[0], logs[2]);
}

/* A paused receiver buffers up to the window; beyond, output backs up at
 * the sender (link_pending), and drains when reading resumes. */
static void window_and_backpressure(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 100, 100, 1000, 1);
    link_pause(w.srv.l);
    uint8_t big[5000] = {0};
    link_write(w.cli.l, big, sizeof big);
    sched_run_until(w.s, sched_now(w.s) + 50 * VT_MS);
    assert_int_equal(w.srv.in.len, 0);
    assert_int_equal(link_pending(w.cli.l), 4000);
    link_resume(w.srv.l);
    sched_run_until(w.s, sched_now(w.s) + 50 * VT_MS);
    assert_int_equal(w.srv.in.len, 5000);
    assert_int_equal(link_pending(w.cli.l), 0);
    assert_true(w.cli.drained >= 1);
    world_close(&w);
}

/* Graceful close: pending data first, then FIN both ways; each side gets
 * one on_close with its reason. */
static void graceful_close(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 10, 10, 65536, 1);
    link_write(w.cli.l, "0123456789abcdef", 16);
    link_close(w.cli.l);
    assert_int_equal(link_write(w.cli.l, "x", 1), -1);
    sched_run_until(w.s, sched_now(w.s) + 10 * VT_MS);
    assert_int_equal(w.srv.in.len, 16);
    assert_true(w.srv.closed);
    assert_int_equal(w.srv.why, LINK_CLOSED_PEER);
    assert_true(w.cli.closed);
    assert_int_equal(w.cli.why, LINK_CLOSED_LOCAL);
    assert_int_equal(w.tr.closes, 2);
    assert_int_equal(w.tr.resets, 0);
    world_close(&w);
}

static void reset(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 10, 10, 65536, 1);
    link_reset(w.srv.l);
    sched_run_until(w.s, sched_now(w.s) + 10 * VT_MS);
    assert_true(w.srv.closed);
    assert_int_equal(w.srv.why, LINK_RESET_LOCAL);
    assert_true(w.cli.closed);
    assert_int_equal(w.cli.why, LINK_RESET_PEER);
    assert_int_equal(w.tr.resets, 1);
    world_close(&w);
}

static void refused_and_address_in_use(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 10, 10, 65536, 1);
    struct end x = {0};
    struct net_addr nowhere;
    struct err e;
    net_addr_parse("127.0.1.1:503", 0, &nowhere, &e);
    connect_status = 1;
    assert_int_equal(net_connect(w.n, &nowhere, NULL, connect_cb, &x, &e), 0);
    sched_run_until(w.s, sched_now(w.s) + 10 * VT_MS);
    assert_int_equal(connect_status, -ECONNREFUSED);
    assert_null(x.l);
    assert_null(net_listen(w.n, &w.addr, accept_cb, &x, &e));
    TU_CONTAINS(e.msg, "already in use");
    world_close(&w);
}

/* Freeing the net with events pending and links open is clean. */
static void free_with_traffic_in_flight(void **state)
{
    (void)state;
    struct world w;
    world_open(&w, 1, 3, 65536, 1);
    uint8_t msg[500] = {0};
    link_write(w.cli.l, msg, sizeof msg);
    link_write(w.srv.l, msg, sizeof msg);
    sched_run_until(w.s, sched_now(w.s) + 300 * VT_US);
    world_close(&w); /* LeakSanitizer checks the rest */
}

/* ---- sockets: the same contract over loopback ---- */

static void sockets_round_trip(void **state)
{
    (void)state;
    struct err e;
    struct sched *s = sched_new();
    struct rtloop *loop = rtloop_new(s, 1.0, &e);
    struct net *n = net_socket_new(loop, &e);
    struct taprec tr = {0};
    net_set_tap(n, &tap, &tr);
    struct end srv = {0}, cli = {0};
    srv.s = cli.s = s;
    struct net_addr any = {0x7f000001, 0};
    struct listener *ls = net_listen(n, &any, accept_cb, &srv, &e);
    assert_non_null(ls);
    assert_true(listener_addr(ls)->port != 0);
    connect_status = 1;
    assert_int_equal(net_connect(n, listener_addr(ls), NULL, connect_cb, &cli, &e), 0);
    for (int i = 0; i < 500 && (!cli.l || !srv.l); i++)
        rtloop_run(loop, sched_now(s) + VT_MS);
    assert_non_null(cli.l);
    assert_non_null(srv.l);
    uint8_t big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    assert_int_equal(link_write(cli.l, big, sizeof big), 0);
    for (int i = 0; i < 2000 && srv.in.len < sizeof big; i++)
        rtloop_run(loop, sched_now(s) + VT_MS);
    assert_int_equal(srv.in.len, sizeof big);
    assert_memory_equal(buf_peek(&srv.in), big, sizeof big);
    /* the server is ours: the tap saw the connection once, from its side */
    assert_int_equal(tr.opens, 1);
    assert_int_equal(tr.bytes[TAP_TO_SERVER], sizeof big);
    link_close(cli.l);
    for (int i = 0; i < 500 && !(srv.closed && cli.closed); i++)
        rtloop_run(loop, sched_now(s) + VT_MS);
    assert_true(srv.closed);
    assert_int_equal(srv.why, LINK_CLOSED_PEER);
    assert_true(cli.closed);
    assert_int_equal(cli.why, LINK_CLOSED_LOCAL);
    /* refused */
    struct end x = {0};
    struct net_addr closed_port = *listener_addr(ls);
    listener_close(ls);
    connect_status = 1;
    net_connect(n, &closed_port, NULL, connect_cb, &x, &e);
    for (int i = 0; i < 500 && connect_status == 1; i++)
        rtloop_run(loop, sched_now(s) + VT_MS);
    assert_int_equal(connect_status, -ECONNREFUSED);
    net_free(n);
    rtloop_free(loop);
    sched_free(s);
    buf_clear(&srv.in);
    buf_clear(&cli.in);
}

static void addresses(void **state)
{
    (void)state;
    struct net_addr a;
    struct err e;
    char b[32];
    assert_int_equal(net_addr_parse("127.0.3.2:5020", 0, &a, &e), 0);
    assert_int_equal(a.ip, 0x7f000302);
    assert_int_equal(a.port, 5020);
    assert_string_equal(net_addr_format(&a, b, sizeof b), "127.0.3.2:5020");
    assert_int_equal(net_addr_parse("10.1.2.3", 502, &a, &e), 0);
    assert_int_equal(a.port, 502);
    const char *bad[] = {"127.0.0.1", "256.0.0.1:1", "1.2.3:4", "1.2.3.4:70000", "a.b.c.d:1",
                         "1.2.3.4:", "1.2.3.4x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (net_addr_parse(bad[i], 0, &a, &e) == 0)
            fail_msg("'%s' accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_and_addresses),
        cmocka_unit_test(order_segments_latency),
        cmocka_unit_test(one_byte_segments),
        cmocka_unit_test(segmentation_is_seeded),
        cmocka_unit_test(window_and_backpressure),
        cmocka_unit_test(graceful_close),
        cmocka_unit_test(reset),
        cmocka_unit_test(refused_and_address_in_use),
        cmocka_unit_test(free_with_traffic_in_flight),
        cmocka_unit_test(sockets_round_trip),
        cmocka_unit_test(addresses),
    };
    return cmocka_run_group_tests_name("link", tests, NULL, NULL);
}
