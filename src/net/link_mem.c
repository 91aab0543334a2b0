/* link_mem.c — in-memory wires on the virtual clock (see link.h).
 *
 * A connection is two endpoints in one allocation. Bytes written at one end
 * wait in its output buffer (link_pending) until the receiver's window has
 * room, then cross the wire as segments whose sizes are drawn from the
 * net's seeded stream in [seg_min, seg_max], each delivered as a scheduler
 * event `latency` later, in order. A paused receiver keeps what arrives
 * (up to `window` bytes); past that, output backs up at the sender.
 *
 * Closing mirrors TCP closely enough for a tap to draw it: connect is a
 * SYN then a SYN-ACK one latency apart; a graceful close sends FIN after
 * the pending output, and the peer, on receiving it, is told (on_close,
 * CLOSED_PEER) and answers with its own FIN, whose arrival completes the
 * closer's on_close (CLOSED_LOCAL). A reset sends RST after the data
 * already on the wire and drops the rest.
 *
 * Every scheduled event is on a list, so net_free() cancels them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rng.h"
#include "net/link_int.h"

enum ev_type { EV_DATA, EV_FIN, EV_RST, EV_SYN, EV_SYNACK, EV_REFUSED, EV_LOCAL_CLOSE, EV_RESUME };

struct mem_conn;

struct mem_ev {
    struct mem_ev *prev, *next; /* the net's list of pending events */
    int sched_id;
    enum ev_type type;
    struct mem_net *net;
    struct mem_conn *conn;
    int side;        /* sending end (0 client, 1 server) or the end concerned */
    /* EV_SYN / EV_REFUSED */
    struct net_addr to, from;
    net_connect_fn fn;
    void *ctx;
    size_t len;
    uint8_t data[];
};

struct mem_end {
    struct link base;
    struct mem_conn *conn;
    int side;
    struct buf out;      /* written, not yet on the wire */
    struct buf in;       /* arrived while paused */
    size_t inflight;     /* this end's bytes on the wire */
    vtime_t last_t;      /* delivery time of this end's last segment */
    int paused;
    int fin_queued;      /* graceful close asked: FIN after `out` drains */
    int fin_sent;
    int peer_fin;        /* FIN arrived while data waited in `in` */
    int done;            /* on_close delivered (or never owned) */
    int had_pending;
    int resume_queued;
};

struct mem_conn {
    struct mem_conn *prev, *next;
    struct mem_net *net;
    struct mem_end end[2]; /* 0 client, 1 server */
    uint64_t id;           /* the client link's id: the tap's connection id */
    int events;
};

struct mem_listener {
    struct listener base;
    struct mem_listener *next;
};

struct mem_net {
    struct net base;
    struct net_mem_opts o;
    struct rng rng;
    struct mem_listener *listeners;
    struct mem_conn *conns;
    struct mem_ev *events;
    uint16_t next_port;
    int freeing; /* net_free() under way: no new connects */
};

static const struct link_ops mem_link_ops;

void net_mem_opts_default(struct net_mem_opts *o)
{
    o->latency = 100 * VT_US;
    o->seg_min = 1;
    o->seg_max = 1460;
    o->window = 65536;
    o->seed = 1;
}

/* ---- events ---- */

static void ev_fire(void *ctx, vtime_t now);

static struct mem_ev *ev_new(struct mem_net *n, enum ev_type type, size_t len)
{
    struct mem_ev *ev = calloc(1, sizeof *ev + len);
    if (!ev)
        abort(); /* out of memory in the event path: nothing sane to do */
    ev->type = type;
    ev->net = n;
    ev->len = len;
    return ev;
}

static void ev_schedule(struct mem_ev *ev, vtime_t t)
{
    struct mem_net *n = ev->net;
    ev->next = n->events;
    if (n->events)
        n->events->prev = ev;
    n->events = ev;
    if (ev->conn)
        ev->conn->events++;
    ev->sched_id = sched_at(n->base.sched, t, SCHED_PRIO_NET, ev_fire, ev);
    if (ev->sched_id < 0)
        abort();
}

static void ev_unlink(struct mem_ev *ev)
{
    struct mem_net *n = ev->net;
    if (ev->prev)
        ev->prev->next = ev->next;
    else
        n->events = ev->next;
    if (ev->next)
        ev->next->prev = ev->prev;
}

static vtime_t now_of(struct mem_net *n)
{
    return sched_now(n->base.sched);
}

/* ---- connections ---- */

static void conn_maybe_free(struct mem_conn *c)
{
    if (!c->end[0].done || !c->end[1].done || c->events > 0)
        return;
    struct mem_net *n = c->net;
    if (c->prev)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    for (int i = 0; i < 2; i++) {
        buf_clear(&c->end[i].out);
        buf_clear(&c->end[i].in);
    }
    free(c);
}

static void tap_data(struct mem_conn *c, int from, const uint8_t *d, size_t len, vtime_t t)
{
    struct net *n = &c->net->base;
    if (n->tap && n->tap->data)
        n->tap->data(n->tap_ctx, c->id, from == 0 ? TAP_TO_SERVER : TAP_TO_CLIENT, d, len, t);
}

static void tap_close(struct mem_conn *c, int from, int reset, vtime_t t)
{
    struct net *n = &c->net->base;
    if (n->tap && n->tap->close)
        n->tap->close(n->tap_ctx, c->id, from == 0 ? TAP_TO_SERVER : TAP_TO_CLIENT, reset, t);
}

static vtime_t next_slot(struct mem_end *e)
{
    vtime_t t = now_of(e->conn->net) + e->conn->net->o.latency;
    if (t < e->last_t)
        t = e->last_t;
    e->last_t = t;
    return t;
}

static void send_ctrl(struct mem_end *e, enum ev_type type)
{
    struct mem_ev *ev = ev_new(e->conn->net, type, 0);
    ev->conn = e->conn;
    ev->side = e->side;
    ev_schedule(ev, next_slot(e));
}

/* Moves output onto the wire while the receiver's window has room; sends
 * the FIN once a graceful close has drained the output. */
static void pump(struct mem_end *e)
{
    struct mem_conn *c = e->conn;
    struct mem_net *n = c->net;
    struct mem_end *peer = &c->end[1 - e->side];
    while (e->out.len > 0 && !peer->done) {
        size_t used = e->inflight + peer->in.len;
        if (used >= n->o.window)
            break;
        size_t space = n->o.window - used;
        size_t span = n->o.seg_max - n->o.seg_min + 1;
        size_t len = n->o.seg_min + (size_t)(rng_next(&n->rng) % span);
        if (len > e->out.len)
            len = e->out.len;
        if (len > space)
            len = space;
        struct mem_ev *ev = ev_new(n, EV_DATA, len);
        ev->conn = c;
        ev->side = e->side;
        memcpy(ev->data, buf_peek(&e->out), len);
        buf_consume(&e->out, len);
        e->inflight += len;
        ev_schedule(ev, next_slot(e));
    }
    if (peer->done && e->out.len)
        buf_clear(&e->out); /* nobody will read it */
    if (e->out.len > 0)
        e->had_pending = 1;
    if (e->out.len == 0 && e->fin_queued && !e->fin_sent) {
        e->fin_sent = 1;
        send_ctrl(e, EV_FIN);
    }
}

static void end_done(struct mem_end *e, enum link_close_reason why)
{
    if (e->done)
        return;
    e->done = 1;
    e->base.closing = 2;
    link_emit_close(&e->base, why);
}

/* The end learns that its peer closed gracefully: it is told, and answers
 * with its own FIN (its unsent output is dropped). */
static void peer_closed(struct mem_end *e)
{
    if (e->done)
        return;
    int answered = e->fin_sent;
    end_done(e, answered ? LINK_CLOSED_LOCAL : LINK_CLOSED_PEER);
    buf_clear(&e->out);
    if (!answered) {
        e->fin_sent = 1;
        send_ctrl(e, EV_FIN);
    }
}

static void deliver(struct mem_end *to, const uint8_t *d, size_t len)
{
    if (to->done)
        return;
    if (to->paused || to->in.len) {
        if (buf_append(&to->in, d, len) != 0)
            abort();
        return;
    }
    link_emit_data(&to->base, d, len);
}

static void ev_fire(void *ctx, vtime_t now)
{
    struct mem_ev *ev = ctx;
    struct mem_net *n = ev->net;
    struct mem_conn *c = ev->conn;
    ev_unlink(ev);
    if (c)
        c->events--;
    switch (ev->type) {
    case EV_DATA: {
        struct mem_end *from = &c->end[ev->side], *to = &c->end[1 - ev->side];
        from->inflight -= ev->len;
        tap_data(c, ev->side, ev->data, ev->len, now);
        deliver(to, ev->data, ev->len);
        if (!from->done) {
            pump(from);
            if (from->out.len == 0 && from->had_pending) {
                from->had_pending = 0;
                link_emit_drain(&from->base);
            }
        }
        break;
    }
    case EV_FIN: {
        struct mem_end *to = &c->end[1 - ev->side];
        tap_close(c, ev->side, 0, now);
        if (to->in.len)
            to->peer_fin = 1; /* after the buffered data */
        else
            peer_closed(to);
        break;
    }
    case EV_RST: {
        struct mem_end *to = &c->end[1 - ev->side];
        tap_close(c, ev->side, 1, now);
        buf_clear(&to->in);
        buf_clear(&to->out);
        end_done(to, LINK_RESET_PEER);
        break;
    }
    case EV_LOCAL_CLOSE: {
        struct mem_end *e = &c->end[ev->side];
        end_done(e, (enum link_close_reason)ev->len == LINK_RESET_LOCAL ? LINK_RESET_LOCAL
                                                                         : LINK_CLOSED_LOCAL);
        break;
    }
    case EV_RESUME: {
        struct mem_end *e = &c->end[ev->side];
        e->resume_queued = 0;
        if (!e->done && !e->paused && e->in.len) {
            /* hand over what waited, then let the sender continue */
            struct buf b = e->in;
            buf_init(&e->in);
            link_emit_data(&e->base, buf_peek(&b), b.len);
            buf_clear(&b);
            pump(&c->end[1 - e->side]);
        }
        if (!e->done && !e->paused && !e->in.len && e->peer_fin) {
            e->peer_fin = 0;
            peer_closed(e);
        }
        break;
    }
    case EV_SYN: {
        struct mem_listener *ls = n->listeners;
        while (ls && !net_addr_eq(&ls->base.addr, &ev->to))
            ls = ls->next;
        if (!ls) {
            struct mem_ev *r = ev_new(n, EV_REFUSED, 0);
            r->fn = ev->fn;
            r->ctx = ev->ctx;
            ev_schedule(r, now + n->o.latency);
            break;
        }
        struct mem_conn *nc = calloc(1, sizeof *nc);
        if (!nc)
            abort();
        nc->net = n;
        nc->next = n->conns;
        if (n->conns)
            n->conns->prev = nc;
        n->conns = nc;
        for (int i = 0; i < 2; i++) {
            struct mem_end *e = &nc->end[i];
            e->base.ops = &mem_link_ops;
            e->base.net = &n->base;
            e->base.id = n->base.next_link_id++;
            e->base.is_client = i == 0;
            e->conn = nc;
            e->side = i;
        }
        nc->id = nc->end[0].base.id;
        nc->end[0].base.local = ev->from;
        nc->end[0].base.peer = ev->to;
        nc->end[1].base.local = ev->to;
        nc->end[1].base.peer = ev->from;
        /* the client learns of the connection one latency later */
        struct mem_ev *ack = ev_new(n, EV_SYNACK, 0);
        ack->conn = nc;
        ack->side = 0;
        ack->fn = ev->fn;
        ack->ctx = ev->ctx;
        ev_schedule(ack, now + n->o.latency);
        if (n->base.tap && n->base.tap->open)
            n->base.tap->open(n->base.tap_ctx, nc->id, &ev->from, &ev->to, now);
        ls->base.fn(ls->base.ctx, &nc->end[1].base);
        break;
    }
    case EV_SYNACK: {
        ev->fn(ev->ctx, &c->end[0].base, 0);
        break;
    }
    case EV_REFUSED: ev->fn(ev->ctx, NULL, -ECONNREFUSED); break;
    }
    free(ev);
    if (c)
        conn_maybe_free(c);
}

/* ---- link operations ---- */

static int mem_write(struct link *l, const void *data, size_t len)
{
    struct mem_end *e = (struct mem_end *)l;
    if (e->done || e->fin_queued)
        return -1;
    if (buf_append(&e->out, data, len) != 0)
        return -1;
    pump(e);
    return 0;
}

static size_t mem_pending(const struct link *l)
{
    return ((const struct mem_end *)l)->out.len;
}

static void local_close_event(struct mem_end *e, enum link_close_reason why)
{
    struct mem_ev *ev = ev_new(e->conn->net, EV_LOCAL_CLOSE, 0);
    ev->conn = e->conn;
    ev->side = e->side;
    ev->len = (size_t)why;
    ev_schedule(ev, now_of(e->conn->net));
}

static void mem_close(struct link *l)
{
    struct mem_end *e = (struct mem_end *)l;
    if (e->done)
        return;
    e->fin_queued = 1;
    pump(e);
}

static void mem_reset(struct link *l)
{
    struct mem_end *e = (struct mem_end *)l;
    if (e->done)
        return;
    buf_clear(&e->out);
    buf_clear(&e->in);
    struct mem_end *peer = &e->conn->end[1 - e->side];
    if (!peer->done)
        send_ctrl(e, EV_RST);
    e->fin_sent = 1;
    local_close_event(e, LINK_RESET_LOCAL);
}

static void mem_pause(struct link *l)
{
    ((struct mem_end *)l)->paused = 1;
}

static void mem_resume(struct link *l)
{
    struct mem_end *e = (struct mem_end *)l;
    e->paused = 0;
    if ((e->in.len || e->peer_fin) && !e->resume_queued && !e->done) {
        e->resume_queued = 1;
        struct mem_ev *ev = ev_new(e->conn->net, EV_RESUME, 0);
        ev->conn = e->conn;
        ev->side = e->side;
        ev_schedule(ev, now_of(e->conn->net));
    }
}

static const struct link_ops mem_link_ops = {
    mem_write, mem_pending, mem_close, mem_reset, mem_pause, mem_resume,
};

/* ---- net operations ---- */

static struct listener *mem_listen(struct net *nb, const struct net_addr *addr,
                                   net_accept_fn fn, void *ctx, struct err *e)
{
    struct mem_net *n = (struct mem_net *)nb;
    char a[32];
    for (struct mem_listener *ls = n->listeners; ls; ls = ls->next)
        if (net_addr_eq(&ls->base.addr, addr)) {
            err_set(e, "%s: address already in use", net_addr_format(addr, a, sizeof a));
            return NULL;
        }
    struct mem_listener *ls = calloc(1, sizeof *ls);
    if (!ls) {
        err_set(e, "out of memory");
        return NULL;
    }
    ls->base.net = nb;
    ls->base.addr = *addr;
    ls->base.fn = fn;
    ls->base.ctx = ctx;
    ls->next = n->listeners;
    n->listeners = ls;
    return &ls->base;
}

static void mem_listener_close(struct listener *lb)
{
    struct mem_net *n = (struct mem_net *)lb->net;
    for (struct mem_listener **p = &n->listeners; *p; p = &(*p)->next)
        if (&(*p)->base == lb) {
            struct mem_listener *ls = *p;
            *p = ls->next;
            free(ls);
            return;
        }
}

static int mem_connect(struct net *nb, const struct net_addr *to, const struct net_addr *from,
                       net_connect_fn fn, void *ctx, struct err *e)
{
    struct mem_net *n = (struct mem_net *)nb;
    if (n->freeing)
        return err_set(e, "the network is being freed");
    struct mem_ev *ev = ev_new(n, EV_SYN, 0);
    ev->to = *to;
    if (from && from->port) {
        ev->from = *from;
    } else {
        ev->from.ip = from ? from->ip : 0x7f000001;
        ev->from.port = n->next_port;
        n->next_port = n->next_port == 65535 ? 49152 : (uint16_t)(n->next_port + 1);
    }
    ev->fn = fn;
    ev->ctx = ctx;
    ev_schedule(ev, now_of(n) + n->o.latency);
    return 0;
}

static void mem_free(struct net *nb)
{
    struct mem_net *n = (struct mem_net *)nb;
    n->freeing = 1;
    while (n->events) {
        struct mem_ev *ev = n->events;
        n->events = ev->next;
        sched_cancel(n->base.sched, ev->sched_id);
        /* a connect still in flight gets its one callback, cancelled */
        if (ev->type == EV_SYN || ev->type == EV_SYNACK || ev->type == EV_REFUSED)
            ev->fn(ev->ctx, NULL, -ECANCELED);
        free(ev);
    }
    while (n->conns) {
        struct mem_conn *c = n->conns;
        n->conns = c->next;
        for (int i = 0; i < 2; i++) {
            buf_clear(&c->end[i].out);
            buf_clear(&c->end[i].in);
        }
        free(c);
    }
    while (n->listeners) {
        struct mem_listener *ls = n->listeners;
        n->listeners = ls->next;
        free(ls);
    }
    free(n);
}

static const struct net_ops mem_net_ops = {
    mem_listen, mem_listener_close, mem_connect, mem_free,
};

struct net *net_mem_new(struct sched *s, const struct net_mem_opts *o, struct err *e)
{
    struct mem_net *n = calloc(1, sizeof *n);
    if (!n) {
        err_set(e, "out of memory");
        return NULL;
    }
    if (o)
        n->o = *o;
    else
        net_mem_opts_default(&n->o);
    if (n->o.seg_min == 0)
        n->o.seg_min = 1;
    if (n->o.seg_max < n->o.seg_min)
        n->o.seg_max = n->o.seg_min;
    if (n->o.window == 0)
        n->o.window = 65536;
    n->base.ops = &mem_net_ops;
    n->base.sched = s;
    n->base.is_mem = 1;
    n->base.next_link_id = 1;
    n->next_port = 49152;
    rng_init(&n->rng, n->o.seed, "net.mem");
    return &n->base;
}
