/* link.c — the transport-independent half of links and nets (link.h):
 * dispatch through each transport's table, handler calls, the tap. */
#include "net/link_int.h"

void link_set_handler(struct link *l, const struct link_handler *h, void *ctx)
{
    l->h = h;
    l->ctx = ctx;
}

int link_write(struct link *l, const void *data, size_t len)
{
    if (l->closing)
        return -1;
    if (len == 0)
        return 0;
    return l->ops->write(l, data, len);
}

size_t link_pending(const struct link *l)
{
    return l->ops->pending(l);
}

void link_close(struct link *l)
{
    if (l->closing)
        return;
    l->closing = 1;
    l->ops->close(l);
}

void link_reset(struct link *l)
{
    if (l->closing == 2)
        return;
    l->closing = 2;
    l->ops->reset(l);
}

void link_pause(struct link *l)
{
    l->ops->pause(l);
}

void link_resume(struct link *l)
{
    l->ops->resume(l);
}

const struct net_addr *link_local(const struct link *l)
{
    return &l->local;
}

const struct net_addr *link_peer(const struct link *l)
{
    return &l->peer;
}

uint64_t link_id(const struct link *l)
{
    return l->id;
}

void *link_ctx(const struct link *l)
{
    return l->ctx;
}

void link_emit_data(struct link *l, const uint8_t *data, size_t len)
{
    if (!l->closing && l->h && l->h->on_data)
        l->h->on_data(l->ctx, l, data, len);
}

void link_emit_close(struct link *l, enum link_close_reason why)
{
    if (l->h && l->h->on_close)
        l->h->on_close(l->ctx, l, why);
}

void link_emit_drain(struct link *l)
{
    if (!l->closing && l->h && l->h->on_drain)
        l->h->on_drain(l->ctx, l);
}

struct listener *net_listen(struct net *n, const struct net_addr *addr, net_accept_fn fn,
                            void *ctx, struct err *e)
{
    return n->ops->listen(n, addr, fn, ctx, e);
}

void listener_close(struct listener *ls)
{
    if (ls)
        ls->net->ops->listener_close(ls);
}

const struct net_addr *listener_addr(const struct listener *ls)
{
    return &ls->addr;
}

int net_connect(struct net *n, const struct net_addr *to, const struct net_addr *from,
                net_connect_fn fn, void *ctx, struct err *e)
{
    return n->ops->connect(n, to, from, fn, ctx, e);
}

void net_free(struct net *n)
{
    if (n)
        n->ops->free(n);
}

struct sched *net_sched(const struct net *n)
{
    return n->sched;
}

int net_is_mem(const struct net *n)
{
    return n->is_mem;
}

void net_set_tap(struct net *n, const struct net_tap *tap, void *ctx)
{
    n->tap = tap;
    n->tap_ctx = ctx;
}
