/* mb_client.c — the Modbus/TCP client (see mb_client.h).
 *
 * Requests wait in a queue until the connection is up and an in-flight
 * slot is free; each attempt gets a fresh transaction id and a timeout
 * task. Responses are cut by a framer and matched by transaction id.
 */
#include "proto/mb_client.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

struct pending {
    struct pending *next;
    struct mb_client *c;
    uint8_t unit;
    uint8_t pdu[MB_MAX_PDU];
    size_t len;
    struct mb_req req;   /* the PDU decoded once, to check responses against */
    int req_ok;
    mb_result_fn fn;
    void *ctx;
    uint16_t tid;
    int attempts;
    vtime_t sent;
    vtime_t deadline;
};

/* A connect in progress; outlives the client if the client is freed first. */
struct connect_token {
    struct mb_client *c;
};

struct mb_client {
    struct net *net;
    struct sched *sched;
    struct net_addr server;
    struct mb_client_opts o;
    struct link *l;
    struct connect_token *connecting;
    struct mb_framer fr;
    struct pending *qhead, *qtail; /* waiting */
    struct pending *inflight;      /* on the wire, newest first */
    size_t ninflight, nqueued;
    struct pending *spare;         /* recycled request slots */
    size_t nspare;
    int timer;                     /* one task at the earliest deadline, or -1 */
    vtime_t timer_at;
    uint16_t next_tid;
    struct buf raw;                /* raw bytes to send once connected */
    struct mb_client_stats stats;
};

static const struct link_handler client_handler;
static const struct link_handler orphan_handler;

void mb_client_opts_default(struct mb_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout = VT_SEC;
    o->retries = 0;
    o->max_inflight = 1;
}

const char *mb_client_status_name(enum mb_client_status s)
{
    switch (s) {
    case MB_CLIENT_OK: return "ok";
    case MB_CLIENT_TIMEOUT: return "no response (timeout)";
    case MB_CLIENT_CONNECT: return "cannot connect";
    case MB_CLIENT_CLOSED: return "connection closed before the response";
    case MB_CLIENT_MALFORMED: return "malformed response";
    }
    return "?";
}

static void kick(struct mb_client *c);

static void recycle(struct mb_client *c, struct pending *p)
{
    if (c->nspare < 64) {
        p->next = c->spare;
        c->spare = p;
        c->nspare++;
    } else {
        free(p);
    }
}

static void finish(struct pending *p, struct mb_result *r)
{
    struct mb_client *c = p->c;
    if (p->fn)
        p->fn(p->ctx, r);
    recycle(c, p);
}

static void fail(struct pending *p, enum mb_client_status st, int sys)
{
    struct mb_result r = {0};
    r.status = st;
    r.sys_errno = sys;
    r.unit = p->unit;
    r.tid = p->tid;
    r.attempts = p->attempts;
    finish(p, &r);
}

static void queue_push_front(struct mb_client *c, struct pending *p)
{
    p->next = c->qhead;
    c->qhead = p;
    if (!c->qtail)
        c->qtail = p;
    c->nqueued++;
}

static void queue_push(struct mb_client *c, struct pending *p)
{
    p->next = NULL;
    if (c->qtail)
        c->qtail->next = p;
    else
        c->qhead = p;
    c->qtail = p;
    c->nqueued++;
}

static struct pending *queue_pop(struct mb_client *c)
{
    struct pending *p = c->qhead;
    if (p) {
        c->qhead = p->next;
        if (!c->qhead)
            c->qtail = NULL;
        c->nqueued--;
    }
    return p;
}

static void inflight_remove(struct mb_client *c, struct pending *p)
{
    for (struct pending **q = &c->inflight; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            c->ninflight--;
            return;
        }
}

static void on_timer(void *ctx, vtime_t now);

/* Keeps the client's one timer at the earliest deadline in flight. All
 * attempts share one timeout, so the oldest attempt has the earliest
 * deadline; the timer is moved only when it would fire too late. */
static void arm_timer(struct mb_client *c)
{
    vtime_t earliest = VT_NEVER;
    for (struct pending *p = c->inflight; p; p = p->next)
        if (p->deadline < earliest)
            earliest = p->deadline;
    if (earliest == VT_NEVER) {
        if (c->timer >= 0)
            sched_cancel(c->sched, c->timer);
        c->timer = -1;
        return;
    }
    if (c->timer >= 0 && c->timer_at <= earliest)
        return; /* fires early: it will re-arm itself */
    if (c->timer >= 0)
        sched_cancel(c->sched, c->timer);
    c->timer_at = earliest;
    c->timer = sched_at(c->sched, earliest, SCHED_PRIO_NET, on_timer, c);
}

static void on_timer(void *ctx, vtime_t now)
{
    struct mb_client *c = ctx;
    c->timer = -1;
    /* collect the expired attempts first: callbacks may send */
    struct pending *expired = NULL;
    for (struct pending **pp = &c->inflight; *pp;) {
        struct pending *p = *pp;
        if (p->deadline <= now) {
            *pp = p->next;
            c->ninflight--;
            p->next = expired;
            expired = p;
        } else {
            pp = &p->next;
        }
    }
    while (expired) {
        struct pending *p = expired;
        expired = p->next;
        c->stats.timeouts++;
        if (p->attempts <= c->o.retries)
            queue_push_front(c, p);
        else
            fail(p, MB_CLIENT_TIMEOUT, ETIMEDOUT);
    }
    kick(c);
    arm_timer(c);
}

static void transmit(struct mb_client *c, struct pending *p)
{
    uint8_t adu[MB_MBAP_LEN + MB_MAX_PDU];
    p->tid = c->next_tid++;
    p->attempts++;
    size_t n = mb_adu_write(adu, p->tid, p->unit, p->pdu, p->len);
    p->sent = sched_now(c->sched);
    p->deadline = p->sent + c->o.timeout;
    p->next = c->inflight;
    c->inflight = p;
    c->ninflight++;
    c->stats.requests++;
    if (c->timer < 0)
        arm_timer(c);
    link_write(c->l, adu, n);
}

static void fail_all(struct mb_client *c, enum mb_client_status st, int sys, int queued_too)
{
    while (c->inflight) {
        struct pending *p = c->inflight;
        c->inflight = p->next;
        c->ninflight--;
        fail(p, st, sys);
    }
    while (queued_too && c->qhead)
        fail(queue_pop(c), st, sys);
    arm_timer(c);
}

static void on_connected(void *ctx, struct link *l, int status)
{
    struct connect_token *tok = ctx;
    struct mb_client *c = tok->c;
    free(tok);
    if (!c) { /* the client is gone */
        if (l) {
            link_set_handler(l, &orphan_handler, NULL);
            link_reset(l);
        }
        return;
    }
    c->connecting = NULL;
    if (!l) {
        buf_clear(&c->raw);
        fail_all(c, MB_CLIENT_CONNECT, -status, 1);
        return;
    }
    c->l = l;
    c->stats.connects++;
    mb_framer_init(&c->fr);
    link_set_handler(l, &client_handler, c);
    if (c->raw.len) {
        link_write(l, buf_peek(&c->raw), c->raw.len);
        buf_clear(&c->raw);
    }
    kick(c);
}

static int connect_now(struct mb_client *c, struct err *e)
{
    struct connect_token *tok = calloc(1, sizeof *tok);
    if (!tok)
        return err_set(e, "out of memory");
    tok->c = c;
    c->connecting = tok;
    if (net_connect(c->net, &c->server, c->o.has_from ? &c->o.from : NULL, on_connected, tok,
                    e) != 0) {
        c->connecting = NULL;
        free(tok);
        return -1;
    }
    return 0;
}

static void kick(struct mb_client *c)
{
    if (!c->l) {
        if (!c->connecting && c->qhead) {
            struct err e;
            if (connect_now(c, &e) != 0)
                fail_all(c, MB_CLIENT_CONNECT, ECONNREFUSED, 1);
        }
        return;
    }
    while (c->qhead && c->ninflight < (size_t)c->o.max_inflight)
        transmit(c, queue_pop(c));
}

static int on_adu(void *ctx, const struct mb_mbap *h, const uint8_t *pdu, size_t len)
{
    struct mb_client *c = ctx;
    struct pending *p = c->inflight;
    while (p && p->tid != h->tid)
        p = p->next;
    if (!p || p->unit != h->unit) {
        c->stats.unmatched++;
        return 0;
    }
    inflight_remove(c, p);
    struct mb_result r;
    memset(&r, 0, offsetof(struct mb_result, rsp));
    r.unit = p->unit;
    r.tid = p->tid;
    r.attempts = p->attempts;
    r.rtt = sched_now(c->sched) - p->sent;
    r.pdu = pdu;
    r.pdu_len = len;
    int st = mb_rsp_decode(pdu, len, 1, &r.rsp);
    if (st == MB_OK) {
        if (p->req_ok)
            st = mb_rsp_check(&p->req, &r.rsp);
        else if (r.rsp.fc != p->pdu[0])
            st = MB_BAD_FUNCTION;
    }
    if (st != MB_OK) {
        r.status = MB_CLIENT_MALFORMED;
        r.decode = st;
    } else {
        c->stats.responses++;
        c->stats.by_fc[p->pdu[0]]++;
        if (r.rsp.exception)
            c->stats.exceptions++;
    }
    finish(p, &r);
    return 0;
}

static void client_on_data(void *ctx, struct link *l, const uint8_t *data, size_t len)
{
    struct mb_client *c = ctx;
    int r = mb_framer_feed(&c->fr, data, len, on_adu, c, NULL);
    if (r == MB_BAD_PROTOCOL || r == MB_BAD_LENGTH) {
        /* the server's stream cannot be framed: give up on this connection */
        link_set_handler(l, &orphan_handler, NULL);
        link_reset(l);
        c->l = NULL;
        fail_all(c, MB_CLIENT_MALFORMED, 0, 0);
    }
    kick(c);
}

static void client_on_close(void *ctx, struct link *l, enum link_close_reason why)
{
    struct mb_client *c = ctx;
    (void)l;
    c->l = NULL;
    fail_all(c, MB_CLIENT_CLOSED, why == LINK_RESET_PEER ? ECONNRESET : 0, 0);
    kick(c); /* queued requests reconnect */
}

static const struct link_handler client_handler = {client_on_data, client_on_close, NULL};

static void orphan_close(void *ctx, struct link *l, enum link_close_reason why)
{
    (void)ctx;
    (void)l;
    (void)why;
}
static const struct link_handler orphan_handler = {NULL, orphan_close, NULL};

struct mb_client *mb_client_new(struct net *n, const struct net_addr *server,
                                const struct mb_client_opts *o, struct err *e)
{
    struct mb_client *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(e, "out of memory");
        return NULL;
    }
    c->net = n;
    c->sched = net_sched(n);
    c->server = *server;
    if (o)
        c->o = *o;
    else
        mb_client_opts_default(&c->o);
    if (c->o.timeout <= 0)
        c->o.timeout = VT_SEC;
    if (c->o.max_inflight < 1)
        c->o.max_inflight = 1;
    if (c->o.retries < 0)
        c->o.retries = 0;
    c->next_tid = 1;
    c->timer = -1;
    return c;
}

void mb_client_free(struct mb_client *c)
{
    if (!c)
        return;
    if (c->connecting)
        c->connecting->c = NULL;
    if (c->l) {
        link_set_handler(c->l, &orphan_handler, NULL);
        link_close(c->l);
    }
    while (c->inflight) {
        struct pending *p = c->inflight;
        c->inflight = p->next;
        free(p);
    }
    while (c->qhead)
        free(queue_pop(c));
    while (c->spare) {
        struct pending *p = c->spare;
        c->spare = p->next;
        free(p);
    }
    if (c->timer >= 0)
        sched_cancel(c->sched, c->timer);
    buf_clear(&c->raw);
    free(c);
}

static int enqueue(struct mb_client *c, uint8_t unit, const uint8_t *pdu, size_t len,
                   mb_result_fn fn, void *ctx, struct err *e)
{
    if (len == 0 || len > MB_MAX_PDU)
        return err_set(e, "a PDU is 1 to %d bytes, not %zu", MB_MAX_PDU, len);
    struct pending *p = c->spare;
    if (p) {
        c->spare = p->next;
        c->nspare--;
    } else if (!(p = malloc(sizeof *p))) {
        return err_set(e, "out of memory");
    }
    p->c = c;
    p->unit = unit;
    memcpy(p->pdu, pdu, len);
    p->len = len;
    p->req_ok = mb_req_decode(p->pdu, len, 1, &p->req) == MB_OK;
    p->fn = fn;
    p->ctx = ctx;
    p->tid = 0;
    p->attempts = 0;
    p->sent = p->deadline = 0;
    queue_push(c, p);
    kick(c);
    return 0;
}

int mb_client_send(struct mb_client *c, uint8_t unit, const struct mb_req *req,
                   mb_result_fn fn, void *ctx, struct err *e)
{
    uint8_t pdu[MB_MAX_PDU];
    int n = mb_req_encode(req, 0, pdu, sizeof pdu);
    if (n < 0)
        return err_set(e, "request not sent: %s", mb_status_name(n));
    return enqueue(c, unit, pdu, (size_t)n, fn, ctx, e);
}

int mb_client_send_pdu(struct mb_client *c, uint8_t unit, const uint8_t *pdu, size_t len,
                       mb_result_fn fn, void *ctx, struct err *e)
{
    return enqueue(c, unit, pdu, len, fn, ctx, e);
}

int mb_client_send_raw(struct mb_client *c, const uint8_t *bytes, size_t len, struct err *e)
{
    if (c->l)
        return link_write(c->l, bytes, len) == 0 ? 0 : err_set(e, "connection closing");
    if (buf_append(&c->raw, bytes, len) != 0)
        return err_set(e, "out of memory");
    if (!c->connecting && connect_now(c, e) != 0)
        return -1;
    return 0;
}

size_t mb_client_pending(const struct mb_client *c)
{
    return c->ninflight + c->nqueued;
}

int mb_client_connected(const struct mb_client *c)
{
    return c->l != NULL;
}

void mb_client_disconnect(struct mb_client *c)
{
    if (c->l) {
        struct link *l = c->l;
        c->l = NULL;
        link_set_handler(l, &orphan_handler, NULL);
        link_close(l);
        fail_all(c, MB_CLIENT_CLOSED, 0, 0);
    }
}

const struct mb_client_stats *mb_client_stats(const struct mb_client *c)
{
    return &c->stats;
}

/* ---- synchronous calls ---- */

struct sync_call {
    struct rtloop *loop;
    struct mb_result *out;
    uint8_t *store;
    int done;
};

static void sync_done(void *ctx, const struct mb_result *r)
{
    struct sync_call *sc = ctx;
    *sc->out = *r;
    if (r->pdu && r->pdu_len) {
        memcpy(sc->store, r->pdu, r->pdu_len);
        sc->out->pdu = sc->store;
        if (r->status == MB_CLIENT_OK)
            mb_rsp_decode(sc->store, r->pdu_len, 1, &sc->out->rsp);
    }
    sc->done = 1;
    rtloop_stop(sc->loop);
}

static int sync_wait(struct sync_call *sc, struct err *e)
{
    while (!sc->done) {
        if (rtloop_run(sc->loop, VT_NEVER) != 0 && !sc->done)
            return err_set(e, "interrupted");
    }
    return 0;
}

int mb_client_call(struct mb_client *c, struct rtloop *loop, uint8_t unit, const struct mb_req *req,
                   struct mb_result *out, uint8_t *pdu_store, struct err *e)
{
    struct sync_call sc = {loop, out, pdu_store, 0};
    if (mb_client_send(c, unit, req, sync_done, &sc, e) != 0)
        return -1;
    return sync_wait(&sc, e);
}

int mb_client_call_pdu(struct mb_client *c, struct rtloop *loop, uint8_t unit, const uint8_t *pdu,
                       size_t len, struct mb_result *out, uint8_t *pdu_store, struct err *e)
{
    struct sync_call sc = {loop, out, pdu_store, 0};
    if (mb_client_send_pdu(c, unit, pdu, len, sync_done, &sc, e) != 0)
        return -1;
    return sync_wait(&sc, e);
}
