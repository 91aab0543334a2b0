/* test_mb_server.c — the Modbus/TCP server and client, over both kinds of
 * link: in-memory wires on the virtual clock (with seeded segmentation down
 * to one byte) and real sockets on loopback. Every case runs on both.
 *
 * Covers normal traffic, pipelining, every malformed-request rule (the
 * specification's exception or a close, never a wrong answer or a hang),
 * the connection limit, idle timeout, listen-only, the comms budget, unit
 * ids (direct and gateway), the output cap with a client that never reads
 * while 63 others work, client timeouts, retries and late answers, device
 * identification with more-follows, extension handlers and the observer.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/loop.h"
#include "net/link.h"
#include "proto/mb_client.h"
#include "proto/mb_mem.h"
#include "proto/mb_server.h"
#include "mbcall.h"
#include "testutil.h"

enum mode { MEM, MEM_ONE_BYTE, SOCK };
static enum mode mode_mem = MEM, mode_mem1 = MEM_ONE_BYTE, mode_sock = SOCK;

struct fx {
    enum mode mode;
    struct sched *s;
    struct rtloop *loop;
    struct net *net;
    struct mb_mem *mem;
    struct mb_server *srv;
    struct net_addr addr;
};

static uint16_t next_port(void)
{
    static uint16_t p;
    if (!p)
        p = (uint16_t)(20000 + (getpid() % 20000));
    return p++;
}

static void fx_open(struct fx *f, enum mode m, const struct mb_server_config *cfg)
{
    struct err e;
    memset(f, 0, sizeof *f);
    f->mode = m;
    f->s = sched_new();
    if (m == SOCK) {
        f->loop = rtloop_new(f->s, 1.0, &e);
        f->net = net_socket_new(f->loop, &e);
    } else {
        struct net_mem_opts o;
        net_mem_opts_default(&o);
        if (m == MEM_ONE_BYTE)
            o.seg_max = 1;
        else
            o.seg_max = 7; /* frames split often */
        o.seed = 42;
        f->net = net_mem_new(f->s, &o, &e);
    }
    assert_non_null(f->net);
    f->mem = mb_mem_new(1000, 1000, 1000, 1000);
    for (int i = 0; i < 1000; i++) {
        f->mem->regs[0][i] = (uint16_t)(i * 3);
        f->mem->regs[1][i] = (uint16_t)(60000 - i);
        f->mem->bits[1][i] = (uint8_t)(i % 3 == 0);
    }
    struct mb_server_config c;
    mb_server_config_default(&c);
    if (cfg)
        c = *cfg;
    f->srv = mb_server_new(f->net, &c, &mb_mem_ops, f->mem, &e);
    if (!f->srv)
        fail_msg("server: %s", e.msg);
    f->addr.ip = 0x7f000001;
    for (int tries = 0;; tries++) {
        f->addr.port = next_port();
        if (mb_server_listen(f->srv, &f->addr, &e) == 0)
            break;
        if (tries > 50)
            fail_msg("listen: %s", e.msg);
    }
}

static void fx_close(struct fx *f)
{
    mb_server_free(f->srv);
    net_free(f->net);
    rtloop_free(f->loop);
    sched_free(f->s);
    mb_mem_free(f->mem);
}

/* Runs the world until *flag is set or `max` of virtual time has passed. */
static void drive(struct fx *f, const int *flag, vtime_t max)
{
    vtime_t end = sched_now(f->s) + max;
    while ((!flag || !*flag) && sched_now(f->s) < end) {
        vtime_t step = sched_now(f->s) + (f->mode == SOCK ? 2 * VT_MS : VT_MS);
        if (step > end)
            step = end;
        if (f->mode == SOCK)
            rtloop_run(f->loop, step);
        else
            sched_run_until(f->s, step);
    }
}

/* ---- a client and a call that waits (tu_call, tests/common/mbcall.h) ---- */

static struct mb_client *client(struct fx *f, int inflight, vtime_t timeout, int retries)
{
    struct mb_client_opts o;
    mb_client_opts_default(&o);
    o.max_inflight = inflight;
    o.timeout = timeout;
    o.retries = retries;
    struct err e;
    struct mb_client *c = mb_client_new(f->net, &f->addr, &o, &e);
    assert_non_null(c);
    return c;
}

static void do_call(struct fx *f, struct mb_client *c, uint8_t unit, const struct mb_req *q,
                    struct tu_call *out)
{
    struct err e;
    memset(out, 0, sizeof *out);
    if (mb_client_send(c, unit, q, tu_call_done, out, &e) != 0)
        fail_msg("send: %s", e.msg);
    drive(f, &out->done, 5 * VT_SEC);
    assert_true(out->done);
}

static void do_call_pdu(struct fx *f, struct mb_client *c, uint8_t unit, const uint8_t *pdu,
                        size_t len, struct tu_call *out)
{
    struct err e;
    memset(out, 0, sizeof *out);
    if (mb_client_send_pdu(c, unit, pdu, len, tu_call_done, out, &e) != 0)
        fail_msg("send: %s", e.msg);
    drive(f, &out->done, 5 * VT_SEC);
    assert_true(out->done);
}

/* ---- a raw peer: sends any bytes, records what comes back ---- */

struct peer {
    struct link *l;
    struct buf in;
    int connected, closed;
    enum link_close_reason why;
};

static void peer_data(void *ctx, struct link *l, const uint8_t *d, size_t n)
{
    struct peer *p = ctx;
    (void)l;
    buf_append(&p->in, d, n);
}

static void peer_close(void *ctx, struct link *l, enum link_close_reason why)
{
    struct peer *p = ctx;
    (void)l;
    p->closed = 1;
    p->why = why;
    p->l = NULL;
}

static const struct link_handler peer_handler = {peer_data, peer_close, NULL};

static void peer_connected(void *ctx, struct link *l, int status)
{
    struct peer *p = ctx;
    if (!l) {
        p->closed = 1;
        p->connected = -1;
        (void)status;
        return;
    }
    p->l = l;
    p->connected = 1;
    link_set_handler(l, &peer_handler, p);
}

static void peer_open(struct fx *f, struct peer *p)
{
    struct err e;
    memset(p, 0, sizeof *p);
    assert_int_equal(net_connect(f->net, &f->addr, NULL, peer_connected, p, &e), 0);
    drive(f, &p->connected, 5 * VT_SEC);
    assert_int_equal(p->connected, 1);
}

static void peer_send(struct peer *p, const void *d, size_t n)
{
    assert_non_null(p->l);
    assert_int_equal(link_write(p->l, d, n), 0);
}

static void peer_free(struct fx *f, struct peer *p)
{
    if (p->l) {
        link_close(p->l);
        drive(f, &p->closed, 5 * VT_SEC);
    }
    buf_clear(&p->in);
}

/* Waits for `n` bytes from the server (or a close); returns bytes held. */
static size_t peer_wait(struct fx *f, struct peer *p, size_t n, vtime_t max)
{
    vtime_t end = sched_now(f->s) + max;
    while (p->in.len < n && !p->closed && sched_now(f->s) < end)
        drive(f, NULL, f->mode == SOCK ? 5 * VT_MS : VT_MS);
    return p->in.len;
}

static size_t adu(uint8_t *out, uint16_t tid, uint16_t pid, uint16_t len, uint8_t unit,
                  const uint8_t *pdu, size_t pdu_len)
{
    mb_put16(out, tid);
    mb_put16(out + 2, pid);
    mb_put16(out + 4, len);
    out[6] = unit;
    memcpy(out + 7, pdu, pdu_len);
    return 7 + pdu_len;
}

/* ---- cases ---- */

static void read_write_every_table(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct mb_client *c = client(&f, 1, VT_SEC, 0);
    struct tu_call k;
    struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {10, 125}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    assert_int_equal(k.r.rsp.u.read.nbytes, 250);
    for (int i = 0; i < 125; i++)
        assert_int_equal(mb_get16(k.r.rsp.u.read.data + 2 * i), (10 + i) * 3);
    q = (struct mb_req){.fc = MB_FC_READ_INPUT_REGISTERS, .u.read = {999, 1}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(mb_get16(k.r.rsp.u.read.data), 60000 - 999);
    q = (struct mb_req){.fc = MB_FC_READ_DISCRETE_INPUTS, .u.read = {0, 10}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.rsp.u.read.nbytes, 2);
    for (int i = 0; i < 10; i++)
        assert_int_equal(mb_get_bit(k.r.rsp.u.read.data, (unsigned)i), i % 3 == 0);
    /* writes: FC 5, 6, 15, 16, 22, 23 */
    q = (struct mb_req){.fc = MB_FC_WRITE_SINGLE_COIL, .u.write1 = {7, MB_COIL_ON}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.rsp.u.write1.value, MB_COIL_ON);
    assert_int_equal(f.mem->bits[0][7], 1);
    uint8_t bits[2] = {0xA5, 0x01};
    q = (struct mb_req){.fc = MB_FC_WRITE_MULTIPLE_COILS, .u.writen = {100, 9, 2, bits}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    assert_int_equal(f.mem->bits[0][100], 1);
    assert_int_equal(f.mem->bits[0][101], 0);
    assert_int_equal(f.mem->bits[0][108], 1);
    q = (struct mb_req){.fc = MB_FC_READ_COILS, .u.read = {100, 9}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.rsp.u.read.data[0], 0xA5);
    assert_int_equal(k.r.rsp.u.read.data[1], 0x01);
    q = (struct mb_req){.fc = MB_FC_WRITE_SINGLE_REGISTER, .u.write1 = {5, 0xBEEF}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(f.mem->regs[0][5], 0xBEEF);
    uint8_t regs[6] = {0, 1, 0, 2, 0xFF, 0xFF};
    q = (struct mb_req){.fc = MB_FC_WRITE_MULTIPLE_REGISTERS, .u.writen = {20, 3, 6, regs}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(f.mem->regs[0][22], 0xFFFF);
    /* mask write: (cur AND and) OR (or AND NOT and) */
    f.mem->regs[0][4] = 0x12;
    q = (struct mb_req){.fc = MB_FC_MASK_WRITE_REGISTER, .u.mask = {4, 0xF2, 0x25}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(f.mem->regs[0][4], 0x17); /* the specification's example */
    /* read/write: the write happens first */
    uint8_t w[2] = {0x12, 0x34};
    q = (struct mb_req){.fc = MB_FC_READ_WRITE_REGISTERS, .u.rw = {30, 2, 30, 1, 2, w}};
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(mb_get16(k.r.rsp.u.read.data), 0x1234);
    assert_int_equal(mb_get16(k.r.rsp.u.read.data + 2), 31 * 3);
    const struct mb_server_stats *st = mb_server_stats(f.srv);
    assert_int_equal(st->by_fc[3], 1);
    assert_int_equal(st->exceptions, 0);
    assert_int_equal(mb_client_stats(c)->by_fc[3], 1);
    mb_client_free(c);
    fx_close(&f);
}

static void pipelining(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct mb_client *c = client(&f, 8, VT_SEC, 0);
    static struct tu_call k[60];
    struct err e;
    memset(k, 0, sizeof k);
    for (int i = 0; i < 60; i++) {
        struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {(uint16_t)i, 1}};
        assert_int_equal(mb_client_send(c, 1, &q, tu_call_done, &k[i], &e), 0);
    }
    int all = 0;
    vtime_t end = sched_now(f.s) + 5 * VT_SEC;
    while (!all && sched_now(f.s) < end) {
        drive(&f, NULL, 10 * VT_MS);
        all = 1;
        for (int i = 0; i < 60; i++)
            all &= k[i].done;
    }
    for (int i = 0; i < 60; i++) {
        assert_true(k[i].done);
        assert_int_equal(k[i].r.status, MB_CLIENT_OK);
        assert_int_equal(mb_get16(k[i].r.rsp.u.read.data), i * 3);
    }
    mb_client_free(c);
    fx_close(&f);
}

/* Each malformed PDU gets the specification's exception. */
static void malformed_requests_get_exceptions(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct mb_client *c = client(&f, 1, VT_SEC, 0);
    struct {
        uint8_t pdu[16];
        size_t len;
        uint8_t ex;
        const char *what;
    } cases[] = {
        {{3, 0, 0, 0, 0}, 5, 3, "quantity 0"},
        {{3, 0, 0, 0, 126}, 5, 3, "quantity 126 > 125"},
        {{1, 0, 0, 0x07, 0xD1}, 5, 3, "2001 coils"},
        {{3, 0xFF, 0xFF, 0, 2}, 5, 2, "address + quantity past 65535"},
        {{3, 0x03, 0xE7, 0, 2}, 5, 2, "past the end of the table (1000)"},
        {{16, 0, 0, 0, 2, 3, 1, 2, 3}, 9, 3, "byte count 3 for 2 registers"},
        {{16, 0, 0, 0, 1, 4, 1, 2, 3, 4}, 10, 3, "byte count 4 for 1 register"},
        {{15, 0, 0, 0, 9, 1, 0xFF}, 7, 3, "byte count 1 for 9 coils"},
        {{5, 0, 1, 0x12, 0x34}, 5, 3, "coil value 0x1234"},
        {{0x41, 0, 0}, 3, 1, "unknown function code"},
        {{3, 0, 1}, 3, 3, "truncated PDU"},
        {{3, 0, 1, 0, 1, 9}, 6, 3, "trailing byte"},
        {{8, 0x00, 0x77, 0, 0}, 5, 1, "unknown FC 8 sub-function"},
        {{43, 0x0D, 0, 0}, 4, 1, "unknown MEI type"},
        {{43, 0x0E, 7, 0}, 4, 3, "read device id code 7"},
        {{43, 0x0E, 4, 0x55}, 4, 2, "absent object, individual access"},
        {{23, 0, 0, 0, 126, 0, 0, 0, 1, 2, 0, 0}, 12, 3, "FC 23 read 126"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tu_call k;
        do_call_pdu(&f, c, 1, cases[i].pdu, cases[i].len, &k);
        if (k.r.status != MB_CLIENT_OK || k.r.rsp.exception != cases[i].ex)
            fail_msg("%s: status %s, exception %02X, expected %02X", cases[i].what,
                     mb_client_status_name(k.r.status), k.r.rsp.exception, cases[i].ex);
        assert_int_equal(k.r.rsp.fc, cases[i].pdu[0]);
    }
    mb_client_free(c);
    fx_close(&f);
}

/* A length field that lies, a protocol id != 0: dropped and closed; the
 * other connections do not notice. */
static void bad_mbap_closes_only_that_connection(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct mb_client *c = client(&f, 1, VT_SEC, 0);
    struct tu_call k;
    struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {0, 1}};
    static const struct { uint16_t pid, len; const char *what; } bad[] = {
        {1, 6, "protocol id 1"}, {0, 0, "length 0"}, {0, 1, "length 1"},
        {0, 255, "length 255"}, {0, 65535, "length 65535"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct peer p;
        peer_open(&f, &p);
        uint8_t frame[32];
        const uint8_t pdu[] = {3, 0, 0, 0, 1};
        size_t n = adu(frame, 9, bad[i].pid, bad[i].len, 1, pdu, sizeof pdu);
        peer_send(&p, frame, n);
        peer_wait(&f, &p, 1, 2 * VT_SEC);
        if (!p.closed)
            fail_msg("%s: the connection stayed open", bad[i].what);
        assert_int_equal(p.in.len, 0); /* no answer at all */
        peer_free(&f, &p);
        do_call(&f, c, 1, &q, &k); /* the others are fine */
        assert_int_equal(k.r.status, MB_CLIENT_OK);
    }
    assert_int_equal(mb_server_stats(f.srv)->dropped, 5);
    /* a length saying less than the PDU: the short PDU is answered with 03,
     * and the rest of the bytes are a new frame the server cannot frame */
    struct peer p;
    peer_open(&f, &p);
    uint8_t frame[32];
    const uint8_t pdu[] = {3, 0, 0, 0, 1};
    size_t n = adu(frame, 10, 0, 3, 1, pdu, sizeof pdu); /* unit + 2 bytes */
    peer_send(&p, frame, n);
    static const uint8_t pad[16] = {0}; /* whatever follows */
    peer_send(&p, pad, sizeof pad);
    peer_wait(&f, &p, 9, 2 * VT_SEC);
    assert_true(p.in.len >= 9);
    const uint8_t *r = buf_peek(&p.in);
    assert_int_equal(mb_get16(r), 10);
    assert_int_equal(r[7], 0x83);
    assert_int_equal(r[8], 3);
    peer_free(&f, &p);
    /* a length saying more than sent: the server waits for the rest */
    peer_open(&f, &p);
    n = adu(frame, 11, 0, 12, 1, pdu, sizeof pdu);
    peer_send(&p, frame, n);
    peer_wait(&f, &p, 1, 300 * VT_MS);
    assert_int_equal(p.in.len, 0);
    assert_false(p.closed);
    /* ... and answers the PDU it was promised: 11 bytes of FC 3 = trailing */
    static const uint8_t rest[6] = {0};
    peer_send(&p, rest, sizeof rest);
    peer_wait(&f, &p, 9, 2 * VT_SEC);
    r = buf_peek(&p.in);
    assert_int_equal(r[7], 0x83);
    assert_int_equal(r[8], 3);
    peer_free(&f, &p);
    mb_client_free(c);
    fx_close(&f);
}

/* One byte at a time, and 100 requests in one write. */
static void segmentation(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct peer p;
    peer_open(&f, &p);
    uint8_t frames[100 * 12];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        uint8_t pdu[5] = {3, 0, (uint8_t)i, 0, 1};
        n += adu(frames + n, (uint16_t)(1000 + i), 0, 6, 1, pdu, 5);
    }
    /* one byte at a time for the first frame, then the rest at once */
    for (size_t i = 0; i < 12; i++) {
        peer_send(&p, frames + i, 1);
        drive(&f, NULL, VT_MS);
    }
    peer_send(&p, frames + 12, n - 12);
    peer_wait(&f, &p, 100 * 11, 5 * VT_SEC);
    assert_int_equal(p.in.len, 100 * 11);
    const uint8_t *r = buf_peek(&p.in);
    for (int i = 0; i < 100; i++, r += 11) {
        assert_int_equal(mb_get16(r), 1000 + i);
        assert_int_equal(r[7], 3);
        assert_int_equal(mb_get16(r + 9), i * 3);
    }
    peer_free(&f, &p);
    fx_close(&f);
}

static void connection_limit(void **state)
{
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    cfg.max_connections = 2;
    struct fx f;
    fx_open(&f, *(enum mode *)*state, &cfg);
    struct peer a, b, x;
    peer_open(&f, &a);
    peer_open(&f, &b);
    peer_open(&f, &x); /* accepted, then closed at once */
    peer_wait(&f, &x, 1, 2 * VT_SEC);
    assert_true(x.closed);
    assert_int_equal(mb_server_stats(f.srv)->refused, 1);
    assert_int_equal(mb_server_nconnections(f.srv), 2);
    uint8_t frame[16];
    const uint8_t pdu[] = {3, 0, 0, 0, 1};
    peer_send(&a, frame, adu(frame, 1, 0, 6, 1, pdu, 5));
    peer_wait(&f, &a, 11, 2 * VT_SEC);
    assert_int_equal(a.in.len, 11);
    peer_free(&f, &a);
    drive(&f, NULL, 50 * VT_MS);
    /* a slot is free again */
    struct peer y;
    peer_open(&f, &y);
    peer_send(&y, frame, adu(frame, 2, 0, 6, 1, pdu, 5));
    peer_wait(&f, &y, 11, 2 * VT_SEC);
    assert_int_equal(y.in.len, 11);
    peer_free(&f, &y);
    peer_free(&f, &b);
    peer_free(&f, &x);
    fx_close(&f);
}

static void idle_timeout(void **state)
{
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    cfg.idle_timeout = 300 * VT_MS;
    struct fx f;
    fx_open(&f, *(enum mode *)*state, &cfg);
    struct peer p;
    peer_open(&f, &p);
    drive(&f, &p.closed, 2 * VT_SEC);
    assert_true(p.closed);
    assert_int_equal(mb_server_stats(f.srv)->idle_closes, 1);
    peer_free(&f, &p);
    fx_close(&f);
}

/* FC 8/04 silences the whole device until FC 8/01, which is not answered
 * either. */
static void listen_only_mode(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct mb_client *c = client(&f, 1, 200 * VT_MS, 0);
    struct mb_client *other = client(&f, 1, 200 * VT_MS, 0);
    struct tu_call k;
    const uint8_t lo[] = {8, 0, 4, 0, 0}, restart[] = {8, 0, 1, 0, 0};
    do_call_pdu(&f, c, 1, lo, sizeof lo, &k);
    assert_int_equal(k.r.status, MB_CLIENT_TIMEOUT);
    assert_true(mb_server_listen_only(f.srv));
    struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {0, 1}};
    do_call(&f, other, 1, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_TIMEOUT);
    do_call_pdu(&f, other, 1, restart, sizeof restart, &k);
    assert_int_equal(k.r.status, MB_CLIENT_TIMEOUT);
    assert_false(mb_server_listen_only(f.srv));
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    /* counters: FC 8/0E server messages since the restart */
    const uint8_t cnt[] = {8, 0, 0x0E, 0, 0};
    do_call_pdu(&f, c, 1, cnt, sizeof cnt, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    assert_int_equal(mb_get16(k.r.rsp.u.diag.data), 2); /* the read and this one */
    /* echo */
    const uint8_t echo[] = {8, 0, 0, 0xAB, 0xCD};
    do_call_pdu(&f, c, 1, echo, sizeof echo, &k);
    assert_int_equal(mb_get16(k.r.rsp.u.diag.data), 0xABCD);
    mb_client_free(c);
    mb_client_free(other);
    fx_close(&f);
}

static void comms_budget_answers_busy(void **state)
{
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    cfg.budget_rate = 5;
    cfg.budget_burst = 2;
    struct fx f;
    fx_open(&f, *(enum mode *)*state, &cfg);
    struct peer p;
    peer_open(&f, &p);
    uint8_t frames[5 * 12];
    size_t n = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t pdu[5] = {3, 0, 0, 0, 1};
        n += adu(frames + n, (uint16_t)i, 0, 6, 1, pdu, 5);
    }
    peer_send(&p, frames, n);
    peer_wait(&f, &p, 2 * 11 + 3 * 9, 2 * VT_SEC);
    const uint8_t *r = buf_peek(&p.in);
    int ok = 0, busy = 0;
    size_t off = 0;
    while (off + 9 <= p.in.len) {
        if (r[off + 7] == 3) {
            ok++;
            off += 11;
        } else {
            assert_int_equal(r[off + 7], 0x83);
            assert_int_equal(r[off + 8], MB_EX_SERVER_DEVICE_BUSY);
            busy++;
            off += 9;
        }
    }
    assert_int_equal(ok, 2);
    assert_int_equal(busy, 3);
    assert_int_equal(mb_server_stats(f.srv)->busy, 3);
    /* after a second the budget has refilled */
    drive(&f, NULL, VT_SEC);
    buf_clear(&p.in);
    peer_send(&p, frames, 12);
    peer_wait(&f, &p, 11, 2 * VT_SEC);
    assert_int_equal(buf_peek(&p.in)[7], 3);
    peer_free(&f, &p);
    fx_close(&f);
}

static void unit_ids_direct_and_gateway(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct mb_client *c = client(&f, 1, 200 * VT_MS, 0);
    struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {1, 1}};
    struct tu_call k;
    static const uint8_t answered[] = {0, 1, 255};
    for (int i = 0; i < 3; i++) {
        do_call(&f, c, answered[i], &q, &k);
        assert_int_equal(k.r.status, MB_CLIENT_OK);
        assert_int_equal(k.r.unit, answered[i]);
    }
    do_call(&f, c, 7, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_TIMEOUT);
    mb_client_free(c);
    fx_close(&f);
    /* a gateway: unit 7 routed, unit 8 not: 0x0B */
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    cfg.gateway = 1;
    fx_open(&f, *(enum mode *)*state, &cfg);
    struct mb_mem *m7 = mb_mem_new(10, 10, 10, 10);
    m7->regs[0][1] = 777;
    mb_server_route(f.srv, 7, &mb_mem_ops, m7);
    c = client(&f, 1, 500 * VT_MS, 0);
    do_call(&f, c, 7, &q, &k);
    assert_int_equal(mb_get16(k.r.rsp.u.read.data), 777);
    do_call(&f, c, 8, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    assert_int_equal(k.r.rsp.exception, MB_EX_GATEWAY_TARGET_FAILED);
    mb_client_free(c);
    fx_close(&f);
    mb_mem_free(m7);
}

/* A client that never reads: closed at the output cap, while 63 others
 * each complete 1,000 requests. */
static int others_done;
static void other_done(void *ctx, const struct mb_result *r)
{
    int *count = ctx;
    if (r->status == MB_CLIENT_OK && !r->rsp.exception)
        (*count)++;
    if (*count == 1000)
        others_done++;
}

struct other {
    struct mb_client *c;
    int count, sent;
};

static void stalled_client_is_closed_at_the_cap(void **state)
{
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    cfg.max_connections = 64;
    cfg.output_cap = 32768;
    struct fx f;
    fx_open(&f, *(enum mode *)*state, &cfg);
    struct peer stall;
    peer_open(&f, &stall);
    link_pause(stall.l); /* it never reads */
    static struct other o[63];
    memset(o, 0, sizeof o);
    for (int i = 0; i < 63; i++)
        o[i].c = client(&f, 1, 5 * VT_SEC, 0);
    others_done = 0;
    /* the stalled client pipelines big reads without reading the answers:
     * enough to fill every buffer between it and the server */
    uint8_t frames[256 * 12];
    size_t n = 0;
    for (int i = 0; i < 256; i++) {
        uint8_t pdu[5] = {3, 0, 0, 0, 125};
        n += adu(frames + n, (uint16_t)i, 0, 6, 1, pdu, 5);
    }
    struct err e;
    vtime_t end = sched_now(f.s) + 60 * VT_SEC;
    size_t stall_sent = 0;
    while ((others_done < 63 || !stall.closed) && sched_now(f.s) < end) {
        if (!stall.closed && stall.l && stall_sent < 400000) {
            /* a write fails once the server has reset the connection */
            if (link_write(stall.l, frames, n) == 0)
                stall_sent += 256;
        }
        for (int i = 0; i < 63; i++) {
            while (o[i].sent < 1000 && o[i].sent - o[i].count < 4) {
                struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {0, 10}};
                assert_int_equal(mb_client_send(o[i].c, 1, &q, other_done, &o[i].count, &e), 0);
                o[i].sent++;
            }
        }
        drive(&f, NULL, f.mode == SOCK ? 5 * VT_MS : VT_MS);
    }
    assert_true(stall.closed);
    assert_int_equal(mb_server_stats(f.srv)->output_cap_resets, 1);
    for (int i = 0; i < 63; i++)
        if (o[i].count != 1000)
            fail_msg("client %d completed %d of 1000", i, o[i].count);
    for (int i = 0; i < 63; i++)
        mb_client_free(o[i].c);
    peer_free(&f, &stall);
    fx_close(&f);
}

/* ---- client behaviour against a server that misbehaves on purpose ---- */

struct mute {
    struct fx *f;
    struct listener *ls;
    struct link *l;
    int answer_after; /* answer only from this attempt on */
    int seen;
    struct mb_framer fr;
};

static int mute_frame(void *ctx, const struct mb_mbap *h, const uint8_t *pdu, size_t len)
{
    struct mute *m = ctx;
    (void)len;
    m->seen++;
    if (m->answer_after && m->seen >= m->answer_after) {
        uint8_t out[16], rpdu[4] = {pdu[0], 2, 0x12, 0x34};
        link_write(m->l, out, mb_adu_write(out, h->tid, h->unit, rpdu, 4));
    }
    return 0;
}

static void mute_data(void *ctx, struct link *l, const uint8_t *d, size_t n)
{
    struct mute *m = ctx;
    (void)l;
    mb_framer_feed(&m->fr, d, n, mute_frame, m, NULL);
}

static void mute_close(void *ctx, struct link *l, enum link_close_reason why)
{
    struct mute *m = ctx;
    (void)l;
    (void)why;
    m->l = NULL;
}

static const struct link_handler mute_handler = {mute_data, mute_close, NULL};

static void mute_accept(void *ctx, struct link *l)
{
    struct mute *m = ctx;
    m->l = l;
    mb_framer_init(&m->fr);
    link_set_handler(l, &mute_handler, m);
}

static void timeouts_retries_late_answers(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct mute m = {0};
    m.f = &f;
    struct net_addr a = {0x7f000001, 0};
    struct err e;
    for (int i = 0; i < 50 && !m.ls; i++) {
        a.port = next_port();
        m.ls = net_listen(f.net, &a, mute_accept, &m, &e);
    }
    assert_non_null(m.ls);
    struct mb_client_opts o;
    mb_client_opts_default(&o);
    o.timeout = 100 * VT_MS;
    o.retries = 2;
    struct mb_client *c = mb_client_new(f.net, &a, &o, &e);
    struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {0, 1}};
    struct tu_call k;
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_TIMEOUT);
    assert_int_equal(k.r.attempts, 3);
    assert_int_equal(m.seen, 3);
    assert_int_equal(mb_client_stats(c)->timeouts, 3);
    /* answers only to the second attempt of the next request */
    m.seen = 0;
    m.answer_after = 2;
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    assert_int_equal(k.r.attempts, 2);
    assert_int_equal(mb_get16(k.r.rsp.u.read.data), 0x1234);
    mb_client_free(c);
    /* nobody listening: the connection fails */
    listener_close(m.ls);
    if (m.l)
        link_reset(m.l);
    drive(&f, NULL, 50 * VT_MS);
    c = mb_client_new(f.net, &a, &o, &e);
    do_call(&f, c, 1, &q, &k);
    assert_int_equal(k.r.status, MB_CLIENT_CONNECT);
    mb_client_free(c);
    fx_close(&f);
}

/* FC 43 stream access across several responses (more follows), FC 17. */
static void device_identification(void **state)
{
    char big[5][241];
    for (int i = 0; i < 5; i++) {
        memset(big[i], 'A' + i, 240);
        big[i][240] = '\0';
    }
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    cfg.vendor_name = "Range Works";
    cfg.product_code = "RW-PLC";
    cfg.revision = "3.2";
    cfg.vendor_url = big[0];
    cfg.product_name = big[1];
    cfg.model_name = big[2];
    struct mb_devid_extra extra[] = {{0x80, big[3]}, {0x91, "site 7"}};
    cfg.extra = extra;
    cfg.n_extra = 2;
    cfg.server_id = (const uint8_t *)"RW-PLC-01";
    cfg.server_id_len = 9;
    cfg.server_id_additional = "v3.2";
    struct fx f;
    fx_open(&f, *(enum mode *)*state, &cfg);
    struct mb_client *c = client(&f, 1, VT_SEC, 0);
    struct tu_call k;
    uint8_t pdu[4] = {43, 14, 3, 0};
    int seen[256] = {0}, rounds = 0;
    for (;;) {
        do_call_pdu(&f, c, 1, pdu, 4, &k);
        assert_int_equal(k.r.status, MB_CLIENT_OK);
        assert_int_equal(k.r.rsp.u.devid.conformity, 0x83);
        for (unsigned i = 0; i < k.r.rsp.u.devid.nobjects; i++)
            seen[k.r.rsp.u.devid.objects[i].id]++;
        rounds++;
        if (k.r.rsp.u.devid.more != 0xFF)
            break;
        pdu[3] = k.r.rsp.u.devid.next;
    }
    assert_true(rounds >= 5); /* 240-byte objects: one per response */
    for (int id = 0; id <= 5; id++)
        assert_int_equal(seen[id], 1);
    assert_int_equal(seen[0x80], 1);
    assert_int_equal(seen[0x91], 1);
    /* basic stream: objects 0-2 only; individual access to 0x91 */
    uint8_t basic[4] = {43, 14, 1, 0};
    do_call_pdu(&f, c, 1, basic, 4, &k);
    assert_int_equal(k.r.rsp.u.devid.nobjects, 3);
    uint8_t one[4] = {43, 14, 4, 0x91};
    do_call_pdu(&f, c, 1, one, 4, &k);
    assert_int_equal(k.r.rsp.u.devid.nobjects, 1);
    assert_memory_equal(k.r.rsp.u.devid.objects[0].value, "site 7", 6);
    /* an unknown start object restarts the stream at 0 */
    uint8_t restart[4] = {43, 14, 1, 0x44};
    do_call_pdu(&f, c, 1, restart, 4, &k);
    assert_int_equal(k.r.rsp.u.devid.objects[0].id, 0);
    /* FC 17 */
    const uint8_t sid[] = {17};
    do_call_pdu(&f, c, 1, sid, 1, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    assert_int_equal(k.r.rsp.u.server_id.nbytes, 9 + 1 + 4);
    assert_memory_equal(k.r.rsp.u.server_id.data, "RW-PLC-01\xffv3.2", 14);
    mb_client_free(c);
    fx_close(&f);
}

/* An extension handler (the PLC's FC 90 will be one) and the observer. */
static int ext_calls;
static int ext_handler(void *ctx, const struct mb_request_info *info, const uint8_t *pdu,
                       size_t len, uint8_t *out)
{
    (void)ctx;
    ext_calls++;
    assert_non_null(info->peer);
    if (len < 2)
        return -MB_EX_ILLEGAL_DATA_VALUE;
    out[0] = pdu[0];
    out[1] = (uint8_t)(pdu[1] + 1);
    return 2;
}

struct seen_log {
    int n, with_rsp;
    uint8_t last_fc;
};
static void observer(void *ctx, const struct mb_request_info *info, const uint8_t *req,
                     size_t req_len, const uint8_t *rsp, size_t rsp_len)
{
    struct seen_log *s = ctx;
    (void)info;
    (void)req_len;
    (void)rsp_len;
    s->n++;
    s->with_rsp += rsp != NULL;
    s->last_fc = req[0];
}

static void extension_handler_and_observer(void **state)
{
    struct fx f;
    fx_open(&f, *(enum mode *)*state, NULL);
    struct seen_log log = {0};
    mb_server_set_observer(f.srv, observer, &log);
    assert_int_equal(mb_server_set_handler(f.srv, 90, ext_handler, NULL), 0);
    struct mb_client *c = client(&f, 1, 300 * VT_MS, 0);
    struct tu_call k;
    const uint8_t good[] = {90, 41}, bad[] = {90};
    ext_calls = 0;
    do_call_pdu(&f, c, 1, good, 2, &k);
    assert_int_equal(k.r.status, MB_CLIENT_OK);
    assert_int_equal(k.r.pdu[1], 42);
    do_call_pdu(&f, c, 1, bad, 1, &k);
    assert_int_equal(k.r.rsp.exception, MB_EX_ILLEGAL_DATA_VALUE);
    assert_int_equal(ext_calls, 2);
    /* without the handler FC 90 is unknown */
    mb_server_set_handler(f.srv, 90, NULL, NULL);
    do_call_pdu(&f, c, 1, good, 2, &k);
    assert_int_equal(k.r.rsp.exception, MB_EX_ILLEGAL_FUNCTION);
    /* unit 9 is not ours: observed, not answered */
    do_call_pdu(&f, c, 9, good, 2, &k);
    assert_int_equal(k.r.status, MB_CLIENT_TIMEOUT);
    assert_int_equal(log.n, 4);
    assert_int_equal(log.with_rsp, 3);
    assert_int_equal(log.last_fc, 90);
    mb_client_free(c);
    fx_close(&f);
}

#define ON(t, m, label) {#t " (" label ")", t, NULL, NULL, m}
#define BOTH(t) ON(t, &mode_mem, "memory wire"), ON(t, &mode_sock, "sockets")

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(read_write_every_table),
        ON(read_write_every_table, &mode_mem1, "memory wire, 1-byte segments"),
        BOTH(pipelining),
        BOTH(malformed_requests_get_exceptions),
        BOTH(bad_mbap_closes_only_that_connection),
        BOTH(segmentation),
        ON(segmentation, &mode_mem1, "memory wire, 1-byte segments"),
        BOTH(connection_limit),
        BOTH(idle_timeout),
        BOTH(listen_only_mode),
        BOTH(comms_budget_answers_busy),
        BOTH(unit_ids_direct_and_gateway),
        BOTH(stalled_client_is_closed_at_the_cap),
        BOTH(timeouts_retries_late_answers),
        BOTH(device_identification),
        BOTH(extension_handler_and_observer),
    };
    return cmocka_run_group_tests_name("mb_server", tests, NULL, NULL);
}
