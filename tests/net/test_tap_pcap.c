/* test_tap_pcap.c — the tap writer (net/tap_pcap.h) and live capture
 * (net/capture.h).
 *
 * Varied traffic over an in-memory net whose tap is the writer (five
 * connections between hosts on 127.0.x.y, small and large writes both
 * ways, a paused receiver, graceful closes from either side and from both
 * at once, a reset, a refused connect), then the file is judged:
 *   1. our pcap_reader + tcp_reasm read back exactly the bytes each side
 *      sent, per connection and direction, with no gap; checksums, IP ids
 *      and MACs are checked frame by frame;
 *   2. tshark: no malformed frame, no expert error (checksums checked), a
 *      handshake per connection, ARP, the FINs and the RST where expected,
 *      `-z follow,tcp,raw` gives back each stream's bytes; a real Modbus
 *      server and client over a tapped net decode as many requests and
 *      responses as the server counted;
 *   3. the same traffic twice gives byte-identical files;
 *   4. timestamps are start + virtual time to the nanosecond.
 * Then flushing (a process killed with SIGKILL leaves a readable file up
 * to its last flush), a real-socket net (a connection appears once, with
 * its real source port), and live capture on lo (root only).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/loop.h"
#include "net/capture.h"
#include "net/link.h"
#include "net/pcap_reader.h"
#include "net/tap_pcap.h"
#include "net/tcp_reasm.h"
#include "proto/mb_client.h"
#include "proto/mb_mem.h"
#include "proto/mb_server.h"
#include "testutil.h"

#define START_NS 1700000000123456789LL

/* ---- one test connection: both ends, what each sent and received ---- */

struct peer {
    struct link *l;
    struct buf sent, got;
    int closed;
    enum link_close_reason why;
    int echo; /* server: write back what arrives */
};

struct tconn {
    struct net_addr from, to;
    struct peer cli, srv;
    int status;           /* connect callback status (1: not yet) */
    struct buf cap[2];    /* read back from the file, by direction */
    int seen, handshake;
    uint64_t gaps;
    int fins[2], rsts[2]; /* flags seen in the file, by sending side */
    int syn, synack;
};

static void peer_clear(struct peer *p)
{
    buf_clear(&p->sent);
    buf_clear(&p->got);
}

static void tconn_clear(struct tconn *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        peer_clear(&c[i].cli);
        peer_clear(&c[i].srv);
        buf_clear(&c[i].cap[0]);
        buf_clear(&c[i].cap[1]);
    }
}

static void on_data(void *ctx, struct link *l, const uint8_t *d, size_t n)
{
    struct peer *p = ctx;
    buf_append(&p->got, d, n);
    if (p->echo) {
        link_write(l, d, n);
        buf_append(&p->sent, d, n);
    }
}

static void on_close(void *ctx, struct link *l, enum link_close_reason why)
{
    struct peer *p = ctx;
    (void)l;
    p->closed = 1;
    p->why = why;
    p->l = NULL;
}

static const struct link_handler handler = {on_data, on_close, NULL};

/* The connections of a world, for accept to find its server end. */
static struct tconn *g_conns;
static size_t g_nconns;

static void accept_cb(void *ctx, struct link *l)
{
    (void)ctx;
    for (size_t i = 0; i < g_nconns; i++) {
        struct tconn *c = &g_conns[i];
        if (net_addr_eq(link_peer(l), &c->from) && net_addr_eq(link_local(l), &c->to) &&
            !c->srv.l && !c->srv.closed) {
            c->srv.l = l;
            link_set_handler(l, &handler, &c->srv);
            return;
        }
    }
    fail_msg("accepted an unexpected connection");
}

static void connect_cb(void *ctx, struct link *l, int status)
{
    struct tconn *c = ctx;
    c->status = status;
    if (l) {
        c->cli.l = l;
        link_set_handler(l, &handler, &c->cli);
    }
}

static void send_bytes(struct peer *p, size_t n, unsigned k)
{
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i * 31 + k * 7 + (i >> 8));
    assert_int_equal(link_write(p->l, d, n), 0);
    buf_append(&p->sent, d, n);
    free(d);
}

static void send_text(struct peer *p, const char *s)
{
    assert_int_equal(link_write(p->l, s, strlen(s)), 0);
    buf_append(&p->sent, s, strlen(s));
}

static struct net_addr A(const char *s)
{
    struct net_addr a;
    struct err e;
    if (net_addr_parse(s, 0, &a, &e) != 0)
        fail_msg("%s", e.msg);
    return a;
}

/* ---- a proxy tap: forwards to the writer, notes each frame's time ---- */

struct proxy {
    struct tapw *w;
    vtime_t *times; /* virtual time of every frame written, in order */
    size_t n, cap;
};

static void proxy_note(struct proxy *p, uint64_t before, vtime_t t)
{
    uint64_t after = tapw_stats(p->w)->frames;
    for (uint64_t i = before; i < after; i++) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 1024;
            p->times = realloc(p->times, p->cap * sizeof *p->times);
        }
        p->times[p->n++] = t;
    }
}

static void px_open(void *ctx, uint64_t id, const struct net_addr *c, const struct net_addr *s,
                    vtime_t t)
{
    struct proxy *p = ctx;
    uint64_t before = tapw_stats(p->w)->frames;
    tapw_hooks()->open(p->w, id, c, s, t);
    proxy_note(p, before, t);
}

static void px_data(void *ctx, uint64_t id, enum tap_dir d, const uint8_t *b, size_t n, vtime_t t)
{
    struct proxy *p = ctx;
    uint64_t before = tapw_stats(p->w)->frames;
    tapw_hooks()->data(p->w, id, d, b, n, t);
    proxy_note(p, before, t);
}

static void px_close(void *ctx, uint64_t id, enum tap_dir d, int reset, vtime_t t)
{
    struct proxy *p = ctx;
    uint64_t before = tapw_stats(p->w)->frames;
    tapw_hooks()->close(p->w, id, d, reset, t);
    proxy_note(p, before, t);
}

static const struct net_tap proxy_tap = {px_open, px_data, px_close};

/* ---- the varied traffic ---- */

enum { C1, C2, C3, C4, C5, REFUSED, NCONN };

struct world {
    struct tconn c[NCONN];
    struct proxy px;
    struct tapw_stats st;
    char path[1024];
};

static struct world *g_world; /* the file the tshark cases judge */

static void run(struct sched *s, vtime_t d)
{
    sched_run_until(s, sched_now(s) + d);
}

/* Runs the traffic with the writer writing `path`. */
static void traffic(struct world *W, const char *path, uint64_t tap_seed)
{
    struct err e;
    memset(W, 0, sizeof *W);
    snprintf(W->path, sizeof W->path, "%s", path);
    struct tconn *c = W->c;
    const char *spec[NCONN][2] = {
        {"127.0.1.10:40001", "127.0.1.1:24001"},   {"127.0.1.11:40002", "127.0.1.1:24001"},
        {"127.0.2.20:40003", "127.0.2.1:24002"},  {"127.0.1.10:40004", "127.0.3.5:24003"},
        {"127.0.2.20:40005", "127.0.2.1:24002"},  {"127.0.1.12:40006", "127.0.1.1:24004"},
    };
    for (int i = 0; i < NCONN; i++) {
        c[i].from = A(spec[i][0]);
        c[i].to = A(spec[i][1]);
        c[i].status = 1;
    }
    g_conns = c;
    g_nconns = NCONN;

    struct sched *s = sched_new();
    struct net_mem_opts o;
    net_mem_opts_default(&o);
    o.seg_min = 1;
    o.seg_max = 4000; /* some deliveries exceed the MSS */
    o.latency = 100 * VT_US;
    o.seed = 11;
    struct net *n = net_mem_new(s, &o, &e);
    struct tapw_opts to;
    tapw_opts_default(&to);
    to.seed = tap_seed;
    to.delack = 0; /* every frame at an event's time: the proxy checks the stamps */
    W->px.w = tapw_new(path, START_NS, &to, &e);
    if (!W->px.w)
        fail_msg("%s", e.msg);
    net_set_tap(n, &proxy_tap, &W->px);
    const char *listen[] = {"127.0.1.1:24001", "127.0.2.1:24002", "127.0.3.5:24003"};
    for (int i = 0; i < 3; i++) {
        struct net_addr a = A(listen[i]);
        assert_non_null(net_listen(n, &a, accept_cb, NULL, &e));
    }
    for (int i = 0; i < NCONN; i++)
        assert_int_equal(net_connect(n, &c[i].to, &c[i].from, connect_cb, &c[i], &e), 0);
    run(s, 2 * VT_MS);
    for (int i = 0; i < C5 + 1; i++) {
        assert_int_equal(c[i].status, 0);
        assert_non_null(c[i].cli.l);
        assert_non_null(c[i].srv.l);
    }
    assert_int_equal(c[REFUSED].status, -ECONNREFUSED);

    /* C1: small messages both ways */
    send_text(&c[C1].cli, "hello");
    run(s, VT_MS);
    send_text(&c[C1].srv, "world!");
    run(s, VT_MS);
    send_bytes(&c[C1].cli, 300, 1);
    send_bytes(&c[C1].srv, 700, 2);
    /* C2: large writes both ways at once */
    send_bytes(&c[C2].cli, 10000, 3);
    send_bytes(&c[C2].srv, 50000, 4);
    /* C3: a paused receiver, more than its window */
    link_pause(c[C3].srv.l);
    send_bytes(&c[C3].cli, 150000, 5);
    /* C4 and C5: exchanges */
    send_bytes(&c[C4].cli, 100, 6);
    send_bytes(&c[C4].srv, 2000, 7);
    send_bytes(&c[C5].cli, 3000, 8);
    send_bytes(&c[C5].srv, 3000, 9);
    run(s, 20 * VT_MS);
    assert_int_equal(c[C3].srv.got.len, 0);
    assert_true(link_pending(c[C3].cli.l) > 0);
    link_close(c[C2].srv.l);       /* graceful, from the server */
    link_reset(c[C4].srv.l);       /* reset, from the server */
    link_close(c[C5].cli.l);       /* graceful from both at once */
    link_close(c[C5].srv.l);
    link_resume(c[C3].srv.l);
    run(s, 30 * VT_MS);
    link_close(c[C1].cli.l);       /* graceful, from the client */
    link_close(c[C3].cli.l);
    run(s, 100 * VT_MS);
    for (int i = 0; i < C5 + 1; i++) {
        assert_true(c[i].cli.closed);
        assert_true(c[i].srv.closed);
        /* the net delivered everything: what the file must show */
        assert_int_equal(c[i].srv.got.len, c[i].cli.sent.len);
        assert_int_equal(c[i].cli.got.len, c[i].srv.sent.len);
    }
    assert_int_equal(c[C4].srv.why, LINK_RESET_LOCAL);
    assert_int_equal(c[C4].cli.why, LINK_RESET_PEER);
    net_free(n);
    sched_free(s);
    W->st = *tapw_stats(W->px.w);
    assert_int_equal(tapw_flush(W->px.w, &e), 0);
    tapw_free(W->px.w);
    W->px.w = NULL;
}

static void world_free(struct world *W)
{
    if (!W)
        return;
    tconn_clear(W->c, NCONN);
    free(W->px.times);
    free(W);
}

static int group_setup(void **state)
{
    (void)state;
    g_world = calloc(1, sizeof *g_world);
    traffic(g_world, tu_tmp("traffic.pcap"), 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    world_free(g_world);
    g_world = NULL;
    return 0;
}

/* ---- reading back with our reader ---- */

static struct tconn *find_conn(struct tconn *c, size_t n, uint32_t cip, uint16_t cport,
                               uint32_t sip, uint16_t sport)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].from.ip == cip && c[i].from.port == cport && c[i].to.ip == sip &&
            c[i].to.port == sport)
            return &c[i];
    return NULL;
}

struct readback {
    struct tconn *c;
    size_t n;
    int unknown;
};

static void rb_open(void *ctx, struct tcpr_conn *tc, int64_t ts)
{
    struct readback *rb = ctx;
    (void)ts;
    struct tconn *c = find_conn(rb->c, rb->n, tc->ip[0], tc->port[0], tc->ip[1], tc->port[1]);
    tc->user = c;
    if (!c) {
        rb->unknown++;
        return;
    }
    c->seen++;
    c->handshake = tc->handshake;
}

static void rb_data(void *ctx, struct tcpr_conn *tc, enum tcpr_dir d, const uint8_t *p, size_t n,
                    int64_t ts)
{
    (void)ctx;
    (void)ts;
    struct tconn *c = tc->user;
    if (c)
        buf_append(&c->cap[d], p, n);
}

static void rb_gap(void *ctx, struct tcpr_conn *tc, enum tcpr_dir d, uint64_t missing, int64_t ts)
{
    (void)ctx;
    (void)d;
    (void)ts;
    struct tconn *c = tc->user;
    if (c)
        c->gaps += missing;
}

/* Reads the file back through pcap_reader + tcp_reasm into c[i].cap. */
static int read_back(const char *path, struct tconn *c, size_t n)
{
    struct err e;
    struct readback rb = {c, n, 0};
    struct tcpr_callbacks cb = {&rb, rb_open, rb_data, rb_gap, NULL};
    struct tcpr *t = tcpr_new(NULL, &cb, &e);
    struct pcapr *r = pcapr_open(path, &e);
    if (!r)
        fail_msg("%s", e.msg);
    if (pcapr_feed_all(r, t, &e) != 0)
        fail_msg("%s", e.msg);
    tcpr_finish(t, pcapr_last_ts(r));
    tcpr_free(t);
    pcapr_close(r);
    return rb.unknown;
}

static void assert_same(const struct buf *got, const struct buf *want, const char *what)
{
    if (got->len != want->len)
        fail_msg("%s: %zu bytes read back, %zu sent", what, got->len, want->len);
    if (want->len && memcmp(buf_peek(got), buf_peek(want), want->len) != 0)
        fail_msg("%s: the bytes differ", what);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t csum_add(const uint8_t *p, size_t n, uint32_t s)
{
    for (; n > 1; n -= 2, p += 2)
        s += (uint32_t)(p[0] << 8 | p[1]);
    if (n)
        s += (uint32_t)p[0] << 8;
    return s;
}

static uint16_t csum_fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Frame by frame: MACs derived from the addresses, the IP header and TCP
 * checksums, IP ids +1 per sending host, TTL 64, TCP flags by side,
 * timestamps as the proxy noted them (when given). Returns ARP frames. */
static int check_frames(const char *path, struct tconn *c, size_t n, const struct proxy *px)
{
    struct err e;
    struct pcapr *r = pcapr_open(path, &e);
    if (!r)
        fail_msg("%s", e.msg);
    assert_int_equal(pcapr_linktype(r), DLT_EN10MB);
    struct pcapr_pkt pk;
    int arp = 0, rc;
    uint32_t ids_ip[64];
    uint16_t ids[64];
    size_t nids = 0;
    int64_t last = 0;
    uint64_t frames = 0;
    while ((rc = pcapr_next(r, &pk, &e)) == 1) {
        const uint8_t *f = pk.frame;
        assert_true(pk.caplen >= 60 && pk.caplen == pk.len);
        assert_true(pk.ts_ns >= last);
        last = pk.ts_ns;
        if (px) {
            if (frames >= px->n)
                fail_msg("more frames in the file than written");
            if (pk.ts_ns != START_NS + px->times[frames])
                fail_msg("frame %llu: stamped %lld, expected start + %lld",
                         (unsigned long long)pk.pkt_no, (long long)pk.ts_ns,
                         (long long)px->times[frames]);
        }
        frames++;
        uint8_t mac[6];
        if (be16(f + 12) == 0x0806) {
            arp++;
            const uint8_t *a = f + 14;
            tapw_mac_of(be32(a + 14), mac);
            assert_memory_equal(f + 6, mac, 6);
            assert_memory_equal(a + 8, mac, 6);
            continue;
        }
        assert_int_equal(pk.kind, PCAPR_TCP);
        const uint8_t *ip = f + 14;
        tapw_mac_of(pk.src_ip, mac);
        assert_memory_equal(f + 6, mac, 6);
        tapw_mac_of(pk.dst_ip, mac);
        assert_memory_equal(f, mac, 6);
        assert_int_equal(ip[8], 64);
        assert_int_equal(csum_fold(csum_add(ip, 20, 0)), 0xffff);
        size_t tlen = be16(ip + 2) - 20u;
        uint32_t s = csum_add(ip + 12, 8, 0) + 6 + (uint32_t)tlen;
        assert_int_equal(csum_fold(csum_add(ip + 20, tlen, s)), 0xffff);
        size_t k = 0;
        while (k < nids && ids_ip[k] != pk.src_ip)
            k++;
        if (k == nids) {
            assert_true(nids < 64);
            ids_ip[nids] = pk.src_ip;
            ids[nids++] = be16(ip + 4);
        } else {
            uint16_t want = (uint16_t)(ids[k] + 1);
            if (be16(ip + 4) != want)
                fail_msg("frame %llu: IP id %u, expected %u", (unsigned long long)pk.pkt_no,
                         be16(ip + 4), want);
            ids[k] = want;
        }
        const struct tcpr_seg *g = &pk.tcp;
        struct tconn *tc = find_conn(c, n, g->src_ip, g->src_port, g->dst_ip, g->dst_port);
        int side = 0;
        if (!tc) {
            tc = find_conn(c, n, g->dst_ip, g->dst_port, g->src_ip, g->src_port);
            side = 1;
        }
        if (!tc)
            fail_msg("frame %llu: no such connection", (unsigned long long)pk.pkt_no);
        if ((g->flags & (TCPR_SYN | TCPR_ACK)) == TCPR_SYN)
            tc->syn++;
        if ((g->flags & (TCPR_SYN | TCPR_ACK)) == (TCPR_SYN | TCPR_ACK))
            tc->synack++;
        tc->fins[side] += !!(g->flags & TCPR_FIN);
        tc->rsts[side] += !!(g->flags & TCPR_RST);
        assert_true(g->payload_len <= TAPW_MSS);
    }
    if (rc < 0)
        fail_msg("%s", e.msg);
    if (px)
        assert_int_equal(frames, px->n);
    pcapr_close(r);
    return arp;
}

/* (1) and (4): our reader gets every byte back, frames are well formed,
 * timestamps are start + virtual time. */
static void reads_back_exactly(void **state)
{
    (void)state;
    struct world *W = g_world;
    assert_int_equal(read_back(W->path, W->c, NCONN), 0);
    int arp = check_frames(W->path, W->c, NCONN, &W->px);
    char what[64];
    for (int i = 0; i < NCONN; i++) {
        struct tconn *c = &W->c[i];
        if (i == REFUSED) {
            assert_int_equal(c->seen, 0); /* the tap never hears of it */
            continue;
        }
        assert_int_equal(c->seen, 1);
        assert_true(c->handshake);
        assert_int_equal(c->gaps, 0);
        assert_int_equal(c->syn, 1);
        assert_int_equal(c->synack, 1);
        snprintf(what, sizeof what, "C%d client to server", i + 1);
        assert_same(&c->cap[0], &c->cli.sent, what);
        snprintf(what, sizeof what, "C%d server to client", i + 1);
        assert_same(&c->cap[1], &c->srv.sent, what);
    }
    /* 4 host pairs, a request and a reply each */
    assert_int_equal(arp, 8);
    assert_int_equal(W->st.arp_pairs, 4);
    assert_int_equal(W->st.connections, 5);
    /* FINs: both sides of C1, C2, C3, C5; the RST of C4 from the server */
    int fin[] = {C1, C2, C3, C5};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(W->c[fin[k]].fins[0], 1);
        assert_int_equal(W->c[fin[k]].fins[1], 1);
        assert_int_equal(W->c[fin[k]].rsts[0] + W->c[fin[k]].rsts[1], 0);
    }
    assert_int_equal(W->c[C4].fins[0] + W->c[C4].fins[1], 0);
    assert_int_equal(W->c[C4].rsts[1], 1);
    assert_int_equal(W->c[C4].rsts[0], 0);
    assert_int_equal(W->st.fins, 8);
    assert_int_equal(W->st.resets, 1);
    assert_int_equal(W->st.unknown_events, 0);
    size_t payload = 0;
    for (int i = 0; i < NCONN; i++)
        payload += W->c[i].cli.sent.len + W->c[i].srv.sent.len;
    assert_int_equal(W->st.payload_bytes, payload);
    /* the first frames: ARP for the first pair, at start + the first open */
    assert_int_equal(W->px.times[0], 100 * VT_US);
}

/* ---- tshark ---- */

static int have(const char *prog)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null", prog);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    struct tu_run r = tu_exec(argv);
    int ok = r.status == 0;
    tu_run_free(&r);
    return ok;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Runs tshark with the arguments (NULL-terminated, after "tshark"); fails
 * the test unless it exits 0; returns its stdout (caller frees). */
static char *tshark(const char *arg, ...)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "tshark";
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 63; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct tu_run r = tu_exec(argv);
    if (r.status != 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "tshark exited %d: %.900s", r.status, r.err ? r.err : "");
        tu_run_free(&r);
        fail_msg("%s", msg);
    }
    char *out = r.out;
    r.out = NULL;
    tu_run_free(&r);
    return out;
}

/* tshark reads the file with checksums checked: no malformed frame, no
 * expert error. */
static void assert_tshark_clean(const char *path)
{
    char *bad = tshark("-r", path, "-n", "-o", "tcp.check_checksum:TRUE", "-Y",
                       "_ws.malformed || _ws.expert.severity == error", NULL);
    if (count_lines(bad))
        fail_msg("tshark finds errors:\n%.800s", bad);
    free(bad);
}

/* Counts of one section of `tshark -z expert` ("Errors", "Warnings"). */
static long expert_count(const char *text, const char *section)
{
    char key[32];
    snprintf(key, sizeof key, "%s (", section);
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

/* (2) tshark: no malformed frame, no expert error; every handshake, ARP,
 * the FINs and the RST as expected. */
static void tshark_judges(void **state)
{
    (void)state;
    if (!have("tshark"))
        TU_SKIP("tshark (Debian package tshark)");
    const char *F = g_world->path;
    char *bad = tshark("-r", F, "-n", "-Y", "_ws.malformed", NULL);
    if (count_lines(bad))
        fail_msg("tshark finds malformed frames:\n%.800s", bad);
    free(bad);
    char *err = tshark("-r", F, "-n", "-o", "tcp.check_checksum:TRUE", "-o",
                       "ip.check_checksum:TRUE", "-Y", "_ws.expert.severity == error", NULL);
    if (count_lines(err))
        fail_msg("tshark finds expert errors:\n%.800s", err);
    free(err);
    char *ex = tshark("-r", F, "-n", "-q", "-o", "tcp.check_checksum:TRUE", "-o",
                      "ip.check_checksum:TRUE", "-z", "expert", NULL);
    long nerr = expert_count(ex, "Errors"), nwarn = expert_count(ex, "Warns");
    print_message("tshark expert: %ld errors, %ld warnings, %ld notes\n", nerr, nwarn,
                  expert_count(ex, "Notes"));
    assert_int_equal(nerr, 0);
    /* the only warning: the connection reset */
    if (nwarn != 1 || !strstr(ex, "Connection reset"))
        fail_msg("unexpected expert warnings:\n%.1500s", ex);
    free(ex);
    /* frame by frame: ARP opcodes, TCP stream and flags */
    char *tab = tshark("-r", F, "-n", "-T", "fields", "-E", "separator=,", "-e", "arp.opcode",
                       "-e", "tcp.stream", "-e", "tcp.flags", NULL);
    int arp_req = 0, arp_rep = 0, syn[8] = {0}, synack[8] = {0}, fin[8] = {0}, rst[8] = {0};
    int nstreams = 0;
    for (char *line = tab; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        char f0[16] = "", f1[16] = "", f2[16] = "";
        sscanf(line, "%15[^,],%15[^,],%15s", f0, f1, f2);
        if (line[0] == ',') { /* no ARP field */
            f0[0] = 0;
            sscanf(line, ",%15[^,],%15s", f1, f2);
        }
        if (f0[0]) {
            arp_req += atoi(f0) == 1;
            arp_rep += atoi(f0) == 2;
        } else {
            int st = atoi(f1);
            unsigned fl = (unsigned)strtoul(f2, NULL, 16);
            assert_true(st >= 0 && st < 8);
            if (st + 1 > nstreams)
                nstreams = st + 1;
            syn[st] += (fl & 0x12) == 0x02;
            synack[st] += (fl & 0x12) == 0x12;
            fin[st] += !!(fl & 0x01);
            rst[st] += !!(fl & 0x04);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(tab);
    assert_int_equal(arp_req, 4);
    assert_int_equal(arp_rep, 4);
    assert_int_equal(nstreams, 5);
    int total_fin = 0, total_rst = 0;
    for (int st = 0; st < nstreams; st++) {
        assert_int_equal(syn[st], 1);
        assert_int_equal(synack[st], 1);
        total_fin += fin[st];
        total_rst += rst[st];
        assert_true((fin[st] == 2 && rst[st] == 0) || (fin[st] == 0 && rst[st] == 1));
    }
    assert_int_equal(total_fin, 8);
    assert_int_equal(total_rst, 1);
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* `tshark -q -z follow,tcp,raw,N` for every stream gives back each
 * direction's bytes. */
static void tshark_follows_streams(void **state)
{
    (void)state;
    if (!have("tshark"))
        TU_SKIP("tshark (Debian package tshark)");
    struct world *W = g_world;
    char z[5][32];
    for (int i = 0; i < 5; i++)
        snprintf(z[i], sizeof z[i], "follow,tcp,raw,%d", i);
    char *out = tshark("-r", W->path, "-n", "-q", "-z", z[0], "-z", z[1], "-z", z[2], "-z", z[3],
                       "-z", z[4], NULL);
    struct buf got[2];
    struct tconn *cur = NULL;
    int blocks = 0;
    buf_init(&got[0]);
    buf_init(&got[1]);
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "Node 0: ", 8)) {
            struct net_addr a = A(line + 8);
            cur = NULL;
            for (int i = 0; i < NCONN; i++)
                if (net_addr_eq(&W->c[i].from, &a))
                    cur = &W->c[i];
            if (!cur)
                fail_msg("tshark follows an unknown stream: %s", line);
            continue;
        }
        if (!strncmp(line, "=====", 5) && cur) {
            assert_same(&got[0], &cur->cli.sent, "tshark follow, client to server");
            assert_same(&got[1], &cur->srv.sent, "tshark follow, server to client");
            buf_clear(&got[0]);
            buf_clear(&got[1]);
            cur = NULL;
            blocks++;
            continue;
        }
        if (!cur || !strncmp(line, "Node 1: ", 8) || !strncmp(line, "Follow:", 7) ||
            !strncmp(line, "Filter:", 7))
            continue;
        int dir = line[0] == '\t';
        const char *h = line + dir;
        size_t len = strlen(h);
        for (size_t i = 0; i + 1 < len; i += 2) {
            int hi = hexval(h[i]), lo = hexval(h[i + 1]);
            if (hi < 0 || lo < 0)
                fail_msg("tshark follow: not hex: %.80s", line);
            uint8_t b = (uint8_t)(hi << 4 | lo);
            buf_append(&got[dir], &b, 1);
        }
    }
    free(out);
    buf_clear(&got[0]);
    buf_clear(&got[1]);
    assert_int_equal(blocks, 5);
}

/* Modbus over a tapped net: tshark decodes as many requests and responses
 * as the server counted. */
static int mb_done;
static void mb_result_cb(void *ctx, const struct mb_result *r)
{
    (void)ctx;
    assert_int_equal(r->status, MB_CLIENT_OK);
    mb_done++;
}

static void tshark_decodes_modbus(void **state)
{
    (void)state;
    if (!have("tshark"))
        TU_SKIP("tshark (Debian package tshark)");
    struct err e;
    const char *path = tu_tmp("modbus.pcap");
    struct sched *s = sched_new();
    struct net_mem_opts o;
    net_mem_opts_default(&o);
    o.seg_min = 8; /* frames split over segments (Wireshark's Modbus/TCP */
    o.seg_max = 13; /* dissector wants the first 8 bytes of a frame in one) */
    o.seed = 3;
    struct net *n = net_mem_new(s, &o, &e);
    struct tapw *w = tapw_new(path, START_NS, NULL, &e);
    assert_non_null(w);
    net_set_tap(n, tapw_hooks(), w);
    struct mb_mem *mem = mb_mem_new(100, 100, 100, 100);
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    struct mb_server *srv = mb_server_new(n, &cfg, &mb_mem_ops, mem, &e);
    struct net_addr sa = A("127.0.5.1:5020");
    assert_int_equal(mb_server_listen(srv, &sa, &e), 0);
    struct mb_client_opts co;
    mb_client_opts_default(&co);
    co.max_inflight = 3;
    co.has_from = 1;
    co.from = A("127.0.5.10:0");
    struct mb_client *cl = mb_client_new(n, &sa, &co, &e);
    assert_non_null(cl);
    uint8_t regs[4] = {0, 7, 1, 2};
    int sent = 0;
    mb_done = 0;
    for (int round = 0; round < 4; round++) {
        struct mb_req q[6];
        memset(q, 0, sizeof q);
        q[0].fc = MB_FC_READ_HOLDING_REGISTERS;
        q[0].u.read.addr = 0;
        q[0].u.read.qty = 10;
        q[1].fc = MB_FC_READ_COILS;
        q[1].u.read.addr = 3;
        q[1].u.read.qty = 20;
        q[2].fc = MB_FC_WRITE_SINGLE_REGISTER;
        q[2].u.write1.addr = (uint16_t)round;
        q[2].u.write1.value = 1234;
        q[3].fc = MB_FC_WRITE_MULTIPLE_REGISTERS;
        q[3].u.writen.addr = 10;
        q[3].u.writen.qty = 2;
        q[3].u.writen.nbytes = 4;
        q[3].u.writen.data = regs;
        q[4].fc = MB_FC_READ_INPUT_REGISTERS;
        q[4].u.read.addr = 500; /* outside the map: exception 02 */
        q[4].u.read.qty = 2;
        q[5].fc = MB_FC_READ_DISCRETE_INPUTS;
        q[5].u.read.addr = 0;
        q[5].u.read.qty = 8;
        for (int i = 0; i < 6; i++, sent++)
            if (mb_client_send(cl, 1, &q[i], mb_result_cb, NULL, &e) != 0)
                fail_msg("%s", e.msg);
    }
    for (int i = 0; i < 1000 && mb_done < sent; i++)
        run(s, VT_MS);
    assert_int_equal(mb_done, sent);
    mb_client_disconnect(cl);
    run(s, 10 * VT_MS);
    const struct mb_server_stats *ss = mb_server_stats(srv);
    uint64_t frames = ss->frames, responses = ss->responses, exceptions = ss->exceptions;
    assert_int_equal(frames, (uint64_t)sent);
    mb_client_free(cl);
    mb_server_free(srv);
    net_free(n);
    tapw_free(w);
    mb_mem_free(mem);
    sched_free(s);

    char *out = tshark("-r", path, "-n", "-o", "mbtcp.tcp.port:5020", "-Y", "mbtcp", "-T",
                       "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "tcp.srcport",
                       "-e", "mbtcp.trans_id", "-e", "modbus.exception_code", NULL);
    long req = 0, rsp = 0, exc = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab1 = strchr(line, '\t');
        assert_non_null(tab1);
        long ids = 1;
        char *tab2 = strchr(tab1 + 1, '\t');
        for (char *p = tab1 + 1; *p && p != tab2; p++)
            ids += *p == ',';
        if (atoi(line) == 5020)
            rsp += ids;
        else
            req += ids;
        if (tab2 && tab2[1])
            for (char *p = tab2; p; p = strchr(p + 1, ','))
                exc++;
    }
    free(out);
    print_message("modbus: server %llu requests, %llu responses (%llu exceptions); tshark %ld, "
                  "%ld (%ld)\n",
                  (unsigned long long)frames, (unsigned long long)responses,
                  (unsigned long long)exceptions, req, rsp, exc);
    assert_int_equal(req, (long)frames);
    assert_int_equal(rsp, (long)responses);
    assert_int_equal(exc, (long)exceptions);
    char *bad = tshark("-r", path, "-n", "-o", "mbtcp.tcp.port:5020", "-o",
                       "tcp.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity == error",
                       NULL);
    if (count_lines(bad))
        fail_msg("tshark finds malformed frames or errors:\n%.800s", bad);
    free(bad);
}

/* (3) the same traffic twice gives the same bytes; another seed other
 * sequence numbers. */
static void identical_bytes(void **state)
{
    (void)state;
    struct world *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    traffic(a, tu_tmp("again.pcap"), 1);
    traffic(b, tu_tmp("seed2.pcap"), 2);
    assert_true(tu_same_file(g_world->path, a->path));
    assert_false(tu_same_file(g_world->path, b->path));
    assert_int_equal(a->st.frames, b->st.frames);
    assert_int_equal(read_back(b->path, b->c, NCONN), 0);
    assert_same(&b->c[C2].cap[1], &b->c[C2].srv.sent, "seed 2, C2 server to client");
    world_free(a);
    world_free(b);
}

/* ---- flushing ---- */

/* In a child: writes `before` data events, flushes (unless flush_frame),
 * writes `after` more, reports the frames written at the flush and dies
 * by SIGKILL. Returns the frames the file must hold at least / exactly. */
static uint64_t killed_child(const char *path, enum tapw_flush_policy pol, int before, int after,
                             size_t len)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct err e;
        struct tapw_opts o;
        tapw_opts_default(&o);
        o.flush = pol;
        struct tapw *w = tapw_new(path, START_NS, &o, &e);
        if (!w)
            _exit(2);
        const struct net_tap *h = tapw_hooks();
        struct net_addr c = {0x7f000a01, 40000}, s = {0x7f000a02, 502};
        h->open(w, 1, &c, &s, 0);
        uint8_t *d = calloc(1, len);
        for (int i = 0; i < before; i++)
            h->data(w, 1, (enum tap_dir)(i & 1), d, len, (vtime_t)i * VT_MS);
        if (pol != TAPW_FLUSH_FRAME)
            tapw_flush(w, &e);
        uint64_t n = tapw_stats(w)->frames;
        for (int i = before; i < before + after; i++)
            h->data(w, 1, (enum tap_dir)(i & 1), d, len, (vtime_t)i * VT_MS);
        if (pol == TAPW_FLUSH_FRAME)
            n = tapw_stats(w)->frames;
        if (write(fds[1], &n, sizeof n) != sizeof n)
            _exit(3);
        raise(SIGKILL);
        _exit(4);
    }
    close(fds[1]);
    uint64_t n = 0;
    ssize_t got = read(fds[0], &n, sizeof n);
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_int_equal(got, (ssize_t)sizeof n);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    return n;
}

static uint64_t count_frames(const char *path)
{
    struct err e;
    struct pcapr *r = pcapr_open(path, &e);
    if (!r)
        fail_msg("%s", e.msg);
    struct pcapr_pkt pk;
    int rc;
    uint64_t n = 0;
    while ((rc = pcapr_next(r, &pk, &e)) == 1)
        n++;
    if (rc < 0)
        fail_msg("after SIGKILL: %s", e.msg);
    pcapr_close(r);
    return n;
}

static void sigkill_leaves_readable_file(void **state)
{
    (void)state;
    /* buffered: exactly the frames up to tapw_flush() */
    const char *p1 = tu_tmp("killed-full.pcap");
    uint64_t n = killed_child(p1, TAPW_FLUSH_FULL, 20, 10, 100);
    assert_int_equal(count_frames(p1), n);
    /* after every frame: everything */
    const char *p2 = tu_tmp("killed-frame.pcap");
    n = killed_child(p2, TAPW_FLUSH_FRAME, 20, 10, 3000);
    assert_int_equal(count_frames(p2), n);
    /* many buffer-fulls: the file ends at a record boundary */
    const char *p3 = tu_tmp("killed-big.pcap");
    n = killed_child(p3, TAPW_FLUSH_FULL, 10, 300, 5000);
    uint64_t in_file = count_frames(p3);
    assert_true(in_file >= n);
    print_message("killed while writing: %llu frames flushed, %llu in the file\n",
                  (unsigned long long)n, (unsigned long long)in_file);
}

static void flush_interval_and_errors(void **state)
{
    (void)state;
    struct err e;
    struct tapw_opts o;
    tapw_opts_default(&o);
    o.flush = TAPW_FLUSH_INTERVAL;
    o.flush_ms = 1;
    const char *p = tu_tmp("interval.pcap");
    struct tapw *w = tapw_new(p, 0, &o, &e);
    assert_non_null(w);
    assert_int_equal(count_frames(p), 0); /* the header is on disk at once */
    struct net_addr c = {0x7f000001, 40000}, s = {0x7f000001, 502};
    tapw_hooks()->open(w, 7, &c, &s, 0);
    usleep(3000);
    tapw_hooks()->data(w, 7, TAP_TO_SERVER, (const uint8_t *)"x", 1, VT_MS);
    assert_true(tapw_stats(w)->flushes >= 1);
    assert_true(count_frames(p) >= 4); /* handshake (no ARP: one host) + data */
    /* events of unknown links are ignored and counted */
    tapw_hooks()->data(w, 99, TAP_TO_SERVER, (const uint8_t *)"x", 1, VT_MS);
    tapw_hooks()->close(w, 99, TAP_TO_SERVER, 0, VT_MS);
    assert_int_equal(tapw_stats(w)->unknown_events, 2);
    assert_string_equal(tapw_path(w), p);
    tapw_free(w);
    assert_null(tapw_new("/nonexistent-dir/x.pcap", 0, NULL, &e));
    TU_CONTAINS(e.msg, "/nonexistent-dir/x.pcap");
    TU_CONTAINS(e.msg, "No such file");
    uint8_t mac[6], want[6] = {0x02, 0x00, 0x7f, 0x00, 0x01, 0x0a};
    tapw_mac_of(0x7f00010a, mac);
    assert_memory_equal(mac, want, 6);
}

/* Bytes and a FIN still in flight when the other side reset: written,
 * each answered with a RST (seq = its ACK); finished connections are
 * forgotten after a minute of virtual time. */
static void after_reset(void **state)
{
    (void)state;
    struct err e;
    const char *p = tu_tmp("reset.pcap");
    struct tapw *w = tapw_new(p, START_NS, NULL, &e);
    assert_non_null(w);
    const struct net_tap *h = tapw_hooks();
    struct net_addr c = {0x7f000a01, 40000}, s = {0x7f000a02, 502};
    h->open(w, 1, &c, &s, 0);
    h->data(w, 1, TAP_TO_SERVER, (const uint8_t *)"abc", 3, VT_MS);
    h->close(w, 1, TAP_TO_CLIENT, 1, 2 * VT_MS);         /* the server resets */
    h->data(w, 1, TAP_TO_SERVER, (const uint8_t *)"late", 4, 2 * VT_MS);
    h->close(w, 1, TAP_TO_SERVER, 0, 2 * VT_MS);         /* and the client's FIN */
    uint64_t before = tapw_stats(w)->frames;
    h->data(w, 1, TAP_TO_SERVER, (const uint8_t *)"x", 1, 70 * VT_SEC); /* forgotten */
    assert_int_equal(tapw_stats(w)->frames, before);
    assert_int_equal(tapw_stats(w)->unknown_events, 1);
    tapw_free(w);
    /* our reader: the late bytes are after the RST (absorbed); the rest
     * read back whole */
    struct tconn tc[1];
    memset(tc, 0, sizeof tc);
    tc[0].from = c;
    tc[0].to = s;
    assert_int_equal(read_back(p, tc, 1), 0);
    assert_int_equal(tc[0].cap[0].len, 3);
    tconn_clear(tc, 1);
    if (!have("tshark"))
        return;
    char *out = tshark("-r", p, "-n", "-Y", "tcp.port == 40000", "-T", "fields", "-e",
                       "tcp.flags", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", NULL);
    /* SYN, SYN-ACK, ACK, data (its ACK delayed, then overtaken by the
     * reset), RST-ACK, late data, RST, FIN, RST */
    const char *want[] = {"0x0002", "0x0012", "0x0010", "0x0018",
                          "0x0014", "0x0018", "0x0004", "0x0011", "0x0004"};
    char *save = NULL;
    size_t k = 0;
    unsigned long late_ack = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), k++) {
        assert_true(k < 9);
        if (strncmp(line, want[k], 6) != 0)
            fail_msg("frame %zu of the reset connection: %s, expected flags %s", k, line,
                     want[k]);
        unsigned long seq = 0, ack = 0;
        sscanf(line, "%*s %lu %lu", &seq, &ack);
        if (k == 5)
            late_ack = ack;
        if (k == 6)
            assert_int_equal(seq, late_ack); /* RST: seq = the segment's ACK */
    }
    assert_int_equal(k, 9);
    free(out);
    assert_tshark_clean(p);
}

/* Delayed ACKs, as a Linux receiver: a request answered within 40 ms is
 * acknowledged by its response, a response followed by the next request
 * within 40 ms by that request; a pure ACK goes out 40 ms after data only
 * when the receiver had nothing to send, stamped then. */
static void delayed_acks(void **state)
{
    (void)state;
    struct err e;
    const char *p = tu_tmp("delack.pcap");
    struct tapw *w = tapw_new(p, START_NS, NULL, &e);
    assert_non_null(w);
    const struct net_tap *h = tapw_hooks();
    struct net_addr c = {0x7f000b01, 40001}, s = {0x7f000b02, 502};
    h->open(w, 1, &c, &s, 0);
    const uint8_t q[12] = {0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1};
    const uint8_t r[11] = {0, 1, 0, 0, 0, 5, 1, 3, 2, 0, 42};
    h->data(w, 1, TAP_TO_SERVER, q, sizeof q, VT_MS);          /* request */
    h->data(w, 1, TAP_TO_CLIENT, r, sizeof r, VT_MS + 100 * VT_US); /* response */
    h->data(w, 1, TAP_TO_SERVER, q, sizeof q, 11 * VT_MS);     /* next request, within 40 ms */
    h->data(w, 1, TAP_TO_CLIENT, r, sizeof r, 11 * VT_MS + 100 * VT_US);
    /* the client is quiet for a second: its ACK at 11.1 ms + 40 ms */
    h->data(w, 1, TAP_TO_SERVER, q, sizeof q, VT_SEC);
    /* a response still unacknowledged when the writer is freed is not acknowledged */
    h->data(w, 1, TAP_TO_CLIENT, r, sizeof r, VT_SEC + 100 * VT_US);
    tapw_free(w);
    if (!have("tshark"))
        return;
    char *out = tshark("-r", p, "-n", "-Y", "tcp.port == 40001", "-T", "fields", "-e",
                       "tcp.flags", "-e", "tcp.len", "-e", "frame.time_relative", NULL);
    /* SYN, SYN-ACK, ACK, then data only but for one pure ACK */
    const char *want[] = {"0x0002", "0x0012", "0x0010", "0x0018", "0x0018", "0x0018",
                          "0x0018", "0x0010", "0x0018", "0x0018"};
    char *save = NULL;
    size_t k = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), k++) {
        assert_true(k < 10);
        if (strncmp(line, want[k], 6) != 0)
            fail_msg("frame %zu: %s, expected flags %s", k, line, want[k]);
        if (k == 7) {
            double t = 0;
            int len = -1;
            sscanf(line, "%*s %d %lf", &len, &t);
            assert_int_equal(len, 0);
            TU_NEAR(t, 0.0511, 1e-9);
        }
    }
    assert_int_equal(k, 10);
    free(out);
    assert_tshark_clean(p);
}

/* 3000 connections from 3000 hosts to 3 servers: the tables grow, our
 * reader reads the file whole. */
static void many_connections(void **state)
{
    (void)state;
    struct err e;
    const char *p = tu_tmp("many.pcap");
    struct tapw *w = tapw_new(p, START_NS, NULL, &e);
    assert_non_null(w);
    const struct net_tap *h = tapw_hooks();
    uint8_t blob[3000];
    memset(blob, 0x5a, sizeof blob);
    for (uint64_t i = 0; i < 3000; i++) {
        vtime_t t = 71 * VT_SEC + (vtime_t)i * VT_MS;
        struct net_addr cl = {0x7f010000 + (uint32_t)i, (uint16_t)(30000 + i % 1000)};
        struct net_addr sv = {0x7f000001 + (uint32_t)(i % 3), 502};
        uint64_t id = 10 + i;
        h->open(w, id, &cl, &sv, t);
        h->data(w, id, TAP_TO_SERVER, blob, 12, t);
        h->data(w, id, TAP_TO_CLIENT, blob, 1 + i % sizeof blob, t);
        h->close(w, id, TAP_TO_SERVER, 0, t);
        h->close(w, id, TAP_TO_CLIENT, 0, t);
    }
    const struct tapw_stats *st = tapw_stats(w);
    assert_int_equal(st->connections, 3000);
    assert_int_equal(st->arp_pairs, 3000);
    assert_int_equal(st->fins, 6000);
    assert_int_equal(st->unknown_events, 0);
    uint64_t frames = st->frames, payload = st->payload_bytes;
    tapw_free(w);
    assert_int_equal(count_frames(p), frames);
    struct tcpr *t = tcpr_new(NULL, NULL, &e);
    struct pcapr *r = pcapr_open(p, &e);
    assert_int_equal(pcapr_feed_all(r, t, &e), 0);
    tcpr_finish(t, pcapr_last_ts(r));
    const struct tcpr_stats *ts = tcpr_stats(t);
    assert_int_equal(ts->opened, 3000);
    assert_int_equal(ts->closed[TCPR_CLOSE_FIN], 3000);
    assert_int_equal(ts->bytes, payload);
    assert_int_equal(ts->gaps, 0);
    pcapr_close(r);
    tcpr_free(t);
}

/* ---- real sockets ---- */

struct sock_world {
    struct net_addr ext; /* the plain socket's address */
    struct tconn link_c; /* our client */
    struct peer ext_srv; /* the server end of the external client */
    int accepted;
};

static void sock_accept(void *ctx, struct link *l)
{
    struct sock_world *sw = ctx;
    struct peer *p = net_addr_eq(link_peer(l), &sw->ext) ? &sw->ext_srv : &sw->link_c.srv;
    p->l = l;
    p->echo = 1;
    link_set_handler(l, &handler, p);
    sw->accepted++;
}

static void sock_connected(void *ctx, struct link *l, int status)
{
    struct tconn *c = ctx;
    c->status = status;
    if (l) {
        c->cli.l = l;
        c->from = *link_local(l);
        link_set_handler(l, &handler, &c->cli);
    }
}

static void spin(struct rtloop *loop, struct sched *s, const int *a, const int *b)
{
    for (int i = 0; i < 1000 && !(*a && (!b || *b)); i++)
        rtloop_run(loop, sched_now(s) + 2 * VT_MS);
}

static void real_sockets(void **state)
{
    (void)state;
    struct err e;
    struct sched *s = sched_new();
    struct rtloop *loop = rtloop_new(s, 1.0, &e);
    struct net *n = net_socket_new(loop, &e);
    const char *path = tu_tmp("sockets.pcap");
    struct tapw_opts o;
    tapw_opts_default(&o);
    o.flush = TAPW_FLUSH_INTERVAL;
    o.flush_ms = 10;
    struct tapw *w = tapw_new(path, START_NS, &o, &e);
    assert_non_null(w);
    assert_int_equal(tapw_watch(w, loop, &e), 0);
    net_set_tap(n, tapw_hooks(), w);
    struct sock_world *sw = calloc(1, sizeof *sw);
    struct net_addr any = A("127.0.0.1:0");
    struct listener *ls = net_listen(n, &any, sock_accept, sw, &e);
    assert_non_null(ls);
    struct net_addr srv = *listener_addr(ls);
    sw->link_c.to = srv;

    /* an external client: a plain socket */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(srv.port);
    sin.sin_addr.s_addr = htonl(srv.ip);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    getsockname(fd, (struct sockaddr *)&me, &ml);
    struct net_addr ext = {ntohl(me.sin_addr.s_addr), ntohs(me.sin_port)};
    sw->ext = ext;
    const char *ping = "ping from a plain socket";
    assert_int_equal(send(fd, ping, strlen(ping), 0), (ssize_t)strlen(ping));
    /* our own client, in the same process */
    sw->link_c.status = 1;
    assert_int_equal(net_connect(n, &srv, NULL, sock_connected, &sw->link_c, &e), 0);
    for (int i = 0; i < 1000 && !(sw->accepted == 2 && sw->link_c.cli.l); i++)
        rtloop_run(loop, sched_now(s) + 2 * VT_MS);
    assert_int_equal(sw->accepted, 2);
    send_text(&sw->link_c.cli, "ping from our client");
    char echo[64] = "";
    size_t got = 0;
    for (int i = 0; i < 1000 && got < strlen(ping); i++) {
        rtloop_run(loop, sched_now(s) + 2 * VT_MS);
        ssize_t r = recv(fd, echo + got, sizeof echo - 1 - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
    }
    assert_string_equal(echo, ping);
    for (int i = 0; i < 1000 && sw->link_c.cli.got.len < 20; i++)
        rtloop_run(loop, sched_now(s) + 2 * VT_MS);
    assert_int_equal(sw->link_c.cli.got.len, 20);
    close(fd);
    link_close(sw->link_c.cli.l);
    spin(loop, s, &sw->ext_srv.closed, &sw->link_c.srv.closed);
    spin(loop, s, &sw->link_c.cli.closed, NULL);
    assert_true(sw->ext_srv.closed);
    assert_true(sw->link_c.srv.closed);
    const struct tapw_stats *st = tapw_stats(w);
    assert_int_equal(st->connections, 2);
    /* quiet: the watch timer has put every frame on disk */
    rtloop_run(loop, sched_now(s) + 40 * VT_MS);
    assert_int_equal(count_frames(path), st->frames);
    net_free(n);
    tapw_free(w);
    rtloop_free(loop);
    sched_free(s);

    /* read back: each connection once, with its real source port */
    struct tconn c[2];
    memset(c, 0, sizeof c);
    c[0].from = ext;
    c[0].to = srv;
    c[1].from = sw->link_c.from;
    c[1].to = srv;
    buf_append(&c[0].cli.sent, ping, strlen(ping));
    buf_append(&c[0].srv.sent, ping, strlen(ping));
    buf_append(&c[1].cli.sent, "ping from our client", 20);
    buf_append(&c[1].srv.sent, "ping from our client", 20);
    assert_int_equal(read_back(path, c, 2), 0);
    check_frames(path, c, 2, NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(c[i].seen, 1);
        assert_int_equal(c[i].syn, 1);
        assert_int_equal(c[i].synack, 1);
        assert_int_equal(c[i].fins[0], 1); /* the client closed */
        assert_same(&c[i].cap[0], &c[i].cli.sent, "socket, client to server");
        assert_same(&c[i].cap[1], &c[i].srv.sent, "socket, server to client");
    }
    tconn_clear(c, 2);
    tconn_clear(&sw->link_c, 1);
    peer_clear(&sw->ext_srv);
    free(sw);
}

/* ---- live capture ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    bind(fd, (struct sockaddr *)&sin, sizeof sin);
    socklen_t l = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &l);
    close(fd);
    return ntohs(sin.sin_port);
}

struct capc {
    struct tconn t;
    int done;
};

static void cap_connected(void *ctx, struct link *l, int status)
{
    struct capc *cc = ctx;
    cc->t.status = status;
    if (l) {
        cc->t.cli.l = l;
        cc->t.from = *link_local(l);
        link_set_handler(l, &handler, &cc->t.cli);
    } else {
        cc->done = 1;
    }
}

static int cap_naccepted;
static void cap_accept(void *ctx, struct link *l)
{
    struct capc *cc = ctx;
    if (cap_naccepted >= 3)
        fail_msg("an unexpected connection");
    struct peer *p = &cc[cap_naccepted++].t.srv;
    p->l = l;
    p->echo = 1;
    link_set_handler(l, &handler, p);
}

static void capture_on_lo(void **state)
{
    (void)state;
    if (geteuid() != 0)
        TU_SKIP("root (to capture on lo)");
    struct err e;
    struct sched *s = sched_new();
    struct rtloop *loop = rtloop_new(s, 1.0, &e);
    struct net *n = net_socket_new(loop, &e);
    struct net_addr any = A("127.0.0.1:0");
    struct capc cc[4];
    memset(cc, 0, sizeof cc);
    cap_naccepted = 0;
    struct listener *ls = net_listen(n, &any, cap_accept, cc, &e);
    assert_non_null(ls);
    struct net_addr srv = *listener_addr(ls);
    struct net_addr closed = {0x7f000001, (uint16_t)free_port()};
    char filter[96];
    snprintf(filter, sizeof filter, "tcp port %u or tcp port %u", srv.port, closed.port);
    const char *path = tu_tmp("lo.pcap");
    struct cap_opts o;
    cap_opts_default(&o);
    o.filter = filter;
    struct cap *cp = cap_new(loop, "lo", path, &o, &e);
    if (!cp && strstr(e.msg, "permission denied")) { /* root without CAP_NET_RAW */
        net_free(n);
        rtloop_free(loop);
        sched_free(s);
        TU_SKIP("root (to capture on lo): %s", e.msg);
    }
    if (!cp)
        fail_msg("%s", e.msg);
    assert_int_equal(cap_linktype(cp), DLT_EN10MB);
    /* three connections one after the other (the accept pairs them in order) */
    for (int i = 0; i < 3; i++) {
        cc[i].t.to = srv;
        assert_int_equal(net_connect(n, &srv, NULL, cap_connected, &cc[i], &e), 0);
        for (int k = 0; k < 1000 && !(cc[i].t.cli.l && cap_naccepted == i + 1); k++)
            rtloop_run(loop, sched_now(s) + 2 * VT_MS);
        assert_non_null(cc[i].t.cli.l);
        assert_int_equal(cap_naccepted, i + 1);
        send_bytes(&cc[i].t.cli, 1000 + 3000 * (size_t)i, (unsigned)i);
        for (int k = 0; k < 1000 && cc[i].t.cli.got.len < cc[i].t.cli.sent.len; k++)
            rtloop_run(loop, sched_now(s) + 2 * VT_MS);
        assert_int_equal(cc[i].t.cli.got.len, cc[i].t.cli.sent.len);
        link_close(cc[i].t.cli.l);
        spin(loop, s, &cc[i].t.cli.closed, &cc[i].t.srv.closed);
    }
    /* a closed port: SYN, then RST */
    cc[3].t.status = 1;
    assert_int_equal(net_connect(n, &closed, NULL, cap_connected, &cc[3], &e), 0);
    spin(loop, s, &cc[3].done, NULL);
    assert_int_equal(cc[3].t.status, -ECONNREFUSED);
    rtloop_run(loop, sched_now(s) + 50 * VT_MS);
    assert_true(cap_drain(cp, &e) >= 0);
    struct cap_stats cs;
    cap_stats(cp, &cs);
    assert_null(cap_error(cp));
    cap_free(cp);
    net_free(n);
    rtloop_free(loop);
    sched_free(s);
    print_message("captured %llu packets, %llu bytes, %llu dropped\n",
                  (unsigned long long)cs.packets, (unsigned long long)cs.bytes,
                  (unsigned long long)cs.kernel_drops);

    /* read back */
    struct tconn c[3];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 3; i++) {
        c[i].from = cc[i].t.from;
        c[i].to = srv;
        buf_append(&c[i].cli.sent, buf_peek(&cc[i].t.cli.sent), cc[i].t.cli.sent.len);
        buf_append(&c[i].srv.sent, buf_peek(&cc[i].t.cli.sent), cc[i].t.cli.sent.len);
    }
    assert_int_equal(read_back(path, c, 3), 1); /* and the refused one */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c[i].seen, 1);
        assert_true(c[i].handshake);
        assert_same(&c[i].cap[0], &c[i].cli.sent, "lo, client to server");
        assert_same(&c[i].cap[1], &c[i].srv.sent, "lo, server to client");
    }
    struct pcapr *r = pcapr_open(path, &e);
    assert_non_null(r);
    struct pcapr_pkt pk;
    int syn_closed = 0, rst_closed = 0, syn_open = 0, other = 0;
    while (pcapr_next(r, &pk, &e) == 1) {
        if (pk.kind != PCAPR_TCP) {
            other++;
            continue;
        }
        uint8_t fl = pk.tcp.flags;
        if (pk.tcp.dst_port == closed.port && (fl & (TCPR_SYN | TCPR_ACK)) == TCPR_SYN)
            syn_closed++;
        if (pk.tcp.src_port == closed.port && (fl & TCPR_RST))
            rst_closed++;
        if (pk.tcp.dst_port == srv.port && (fl & (TCPR_SYN | TCPR_ACK)) == TCPR_SYN)
            syn_open++;
    }
    pcapr_close(r);
    assert_int_equal(syn_closed, 1);
    assert_int_equal(rst_closed, 1);
    assert_int_equal(syn_open, 3);
    assert_int_equal(other, 0);
    assert_true(cs.packets >= 3 * 8 + 2);
    tconn_clear(c, 3);
    for (int i = 0; i < 4; i++)
        tconn_clear(&cc[i].t, 1);
}

static void capture_errors(void **state)
{
    (void)state;
    struct err e;
    struct sched *s = sched_new();
    struct rtloop *loop = rtloop_new(s, 1.0, &e);
    const char *path = tu_tmp("err.pcap");
    if (geteuid() == 0) {
        assert_null(cap_new(loop, "nosuchdev0", path, NULL, &e));
        assert_string_equal(e.msg, "nosuchdev0: no such device");
        struct cap_opts o;
        cap_opts_default(&o);
        o.filter = "tcp port banana";
        assert_null(cap_new(loop, "lo", path, &o, &e));
        TU_CONTAINS(e.msg, "bad capture filter 'tcp port banana'");
        /* not root: in a child that gives up root */
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            struct err ce;
            struct sched *cs = sched_new();
            struct rtloop *cl = rtloop_new(cs, 1.0, &ce);
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(2);
            struct cap *c = cap_new(cl, "lo", "/nonexistent-dir/x.pcap", NULL, &ce);
            if (c)
                _exit(3);
            if (write(fds[1], ce.msg, strlen(ce.msg) + 1) < 0)
                _exit(4);
            _exit(0);
        }
        close(fds[1]);
        char msg[1024] = "";
        ssize_t got = read(fds[0], msg, sizeof msg - 1);
        close(fds[0]);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_true(got > 0);
        assert_string_equal(msg, "lo: permission denied: capturing needs root (or CAP_NET_RAW)");
    } else {
        assert_null(cap_new(loop, "lo", path, NULL, &e));
        TU_CONTAINS(e.msg, "needs root");
    }
    rtloop_free(loop);
    sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_back_exactly),
        cmocka_unit_test(tshark_judges),
        cmocka_unit_test(tshark_follows_streams),
        cmocka_unit_test(tshark_decodes_modbus),
        cmocka_unit_test(identical_bytes),
        cmocka_unit_test(sigkill_leaves_readable_file),
        cmocka_unit_test(flush_interval_and_errors),
        cmocka_unit_test(after_reset),
        cmocka_unit_test(delayed_acks),
        cmocka_unit_test(many_connections),
        cmocka_unit_test(real_sockets),
        cmocka_unit_test(capture_on_lo),
        cmocka_unit_test(capture_errors),
    };
    return cmocka_run_group_tests_name("tap_pcap", tests, group_setup, group_teardown);
}
