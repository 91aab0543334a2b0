/* link_socket.c — links over real TCP sockets on libuv (see link.h).
 *
 * Before each event reaches its handler, the virtual clock is brought up to
 * the moment of arrival (rtloop_catch_up); afterwards the pacing timer is
 * re-armed, since a handler may have scheduled work (rtloop_kick). Writes
 * go out at once when the socket takes them (uv_try_write) and queue
 * otherwise; the queue is what link_pending() reports.
 *
 * The tap sees each connection once: from the accepted side when the
 * server is ours, from the connecting side otherwise.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/link_int.h"

struct sock_net;

struct sock_link {
    struct link base;
    uv_tcp_t tcp;
    struct sock_net *net;
    struct sock_link *prev, *next; /* the net's links */
    size_t pending;
    int reading;
    int paused;
    int done;        /* on_close emitted */
    int tapped;      /* this side reports to the tap */
    int net_gone;    /* freed with the net: emit nothing */
    uv_shutdown_t shutdown;
    /* after a local close: keep reading, for the tap, until the peer's FIN
     * or FIN_WAIT_MS (the owner gets nothing more) */
    int local_fin;
    uv_timer_t fin_timer;
    int fin_timer_on;
    int handles;     /* libuv handles still open (tcp, fin_timer): freed at 0 */
    /* connect */
    uv_connect_t connect;
    net_connect_fn connect_fn;
    void *connect_ctx;
    enum link_close_reason close_why;
};

#define FIN_WAIT_MS 2000

struct sock_listener {
    struct listener base;
    uv_tcp_t tcp;
    struct sock_listener *next;
    int net_gone;
};

struct sock_net {
    struct net base;
    struct rtloop *loop;
    struct sock_link *links;
    struct sock_listener *listeners;
    char rbuf[65536];
};

struct wreq {
    uv_write_t req;
    struct sock_link *l;
    size_t len;
    char data[];
};

static const struct link_ops sock_link_ops;

/* ---- helpers ---- */

static void to_sockaddr(const struct net_addr *a, struct sockaddr_in *sin)
{
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(a->port);
    sin->sin_addr.s_addr = htonl(a->ip);
}

static void from_sockaddr(const struct sockaddr_storage *ss, struct net_addr *a)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    a->ip = ntohl(sin->sin_addr.s_addr);
    a->port = ntohs(sin->sin_port);
}

/* Returns 1 when the peer's address is known (a client that reset its
 * connection before it was accepted has none any more). */
static int fill_addrs(struct sock_link *l)
{
    struct sockaddr_storage ss;
    int n = sizeof ss;
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &n) == 0)
        from_sockaddr(&ss, &l->base.local);
    n = sizeof ss;
    if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &n) != 0)
        return 0;
    from_sockaddr(&ss, &l->base.peer);
    return 1;
}

static vtime_t enter(struct sock_net *n)
{
    rtloop_catch_up(n->loop);
    return sched_now(n->base.sched);
}

static void leave(struct sock_net *n)
{
    rtloop_kick(n->loop);
}

static int is_our_listener(struct sock_net *n, const struct net_addr *a)
{
    for (struct sock_listener *ls = n->listeners; ls; ls = ls->next)
        if (ls->base.addr.port == a->port && (ls->base.addr.ip == a->ip || ls->base.addr.ip == 0))
            return 1;
    return 0;
}

static enum tap_dir dir_out(const struct sock_link *l)
{
    return l->base.is_client ? TAP_TO_SERVER : TAP_TO_CLIENT;
}

static void tap_open(struct sock_link *l, vtime_t t)
{
    const struct net_tap *tap = l->net->base.tap;
    if (!l->tapped || !tap || !tap->open)
        return;
    if (l->base.is_client)
        tap->open(l->net->base.tap_ctx, l->base.id, &l->base.local, &l->base.peer, t);
    else
        tap->open(l->net->base.tap_ctx, l->base.id, &l->base.peer, &l->base.local, t);
}

static void tap_data(struct sock_link *l, enum tap_dir d, const uint8_t *p, size_t len, vtime_t t)
{
    const struct net_tap *tap = l->net->base.tap;
    if (l->tapped && tap && tap->data)
        tap->data(l->net->base.tap_ctx, l->base.id, d, p, len, t);
}

static void tap_close(struct sock_link *l, enum tap_dir d, int reset, vtime_t t)
{
    const struct net_tap *tap = l->net->base.tap;
    if (l->tapped && tap && tap->close)
        tap->close(l->net->base.tap_ctx, l->base.id, d, reset, t);
}

static struct sock_link *link_alloc(struct sock_net *n, int is_client)
{
    struct sock_link *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base.ops = &sock_link_ops;
    l->base.net = &n->base;
    l->base.id = n->base.next_link_id++;
    l->base.is_client = is_client;
    l->net = n;
    uv_tcp_init(rtloop_uv(n->loop), &l->tcp);
    l->tcp.data = l;
    l->handles = 1;
    l->next = n->links;
    if (n->links)
        n->links->prev = l;
    n->links = l;
    return l;
}

static void link_unlist(struct sock_link *l)
{
    if (l->net_gone)
        return;
    struct sock_net *n = l->net;
    if (l->prev)
        l->prev->next = l->next;
    else if (n->links == l)
        n->links = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

static void release(struct sock_link *l)
{
    if (--l->handles == 0)
        free(l);
}

static void on_timer_closed(uv_handle_t *h)
{
    release(h->data);
}

static void stop_fin_timer(struct sock_link *l)
{
    if (l->fin_timer_on) {
        l->fin_timer_on = 0;
        uv_timer_stop(&l->fin_timer);
        uv_close((uv_handle_t *)&l->fin_timer, on_timer_closed);
    }
}

/* The handle is closed: tell the owner (once) and free. */
static void on_handle_closed(uv_handle_t *h)
{
    struct sock_link *l = h->data;
    if (!l->net_gone) {
        struct sock_net *n = l->net;
        link_unlist(l);
        if (!l->done) {
            l->done = 1;
            enter(n);
            link_emit_close(&l->base, l->close_why);
            leave(n);
        }
    }
    release(l);
}

static void finish(struct sock_link *l, enum link_close_reason why)
{
    stop_fin_timer(l);
    if (uv_is_closing((uv_handle_t *)&l->tcp))
        return;
    l->close_why = why;
    l->base.closing = 2;
    uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct sock_link *l = h->data;
    (void)suggested;
    b->base = l->net->rbuf;
    b->len = sizeof l->net->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct sock_link *l = s->data;
    struct sock_net *n = l->net;
    if (nread == 0)
        return;
    vtime_t t = enter(n);
    if (nread > 0) {
        tap_data(l, l->base.is_client ? TAP_TO_CLIENT : TAP_TO_SERVER, (const uint8_t *)b->base,
                 (size_t)nread, t);
        if (!l->local_fin) /* after link_close() the owner reads nothing more */
            link_emit_data(&l->base, (const uint8_t *)b->base, (size_t)nread);
    } else {
        tap_close(l, l->base.is_client ? TAP_TO_CLIENT : TAP_TO_SERVER, nread != UV_EOF, t);
        /* after the peer's FIN, closing this side (finish) sends ours,
         * unless we closed first */
        if (nread == UV_EOF && !l->local_fin)
            tap_close(l, dir_out(l), 0, t);
        uv_read_stop(s);
        l->reading = 0;
        finish(l, l->local_fin ? LINK_CLOSED_LOCAL
                  : nread == UV_EOF ? LINK_CLOSED_PEER : LINK_RESET_PEER);
    }
    leave(n);
}

static void start_reading(struct sock_link *l)
{
    if (!l->reading && !l->paused && !l->base.closing) {
        if (uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read) == 0)
            l->reading = 1;
    }
}

/* ---- link operations ---- */

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct sock_link *l = w->l;
    l->pending -= w->len;
    free(w);
    if (status < 0) {
        if (status != UV_ECANCELED && !l->base.closing)
            finish(l, LINK_RESET_PEER);
        return;
    }
    if (l->pending == 0 && !l->base.closing) {
        enter(l->net);
        link_emit_drain(&l->base);
        leave(l->net);
    }
}

static int sock_write(struct link *lb, const void *data, size_t len)
{
    struct sock_link *l = (struct sock_link *)lb;
    if (uv_is_closing((uv_handle_t *)&l->tcp))
        return -1;
    vtime_t t = sched_now(l->net->base.sched);
    tap_data(l, dir_out(l), data, len, t);
    size_t off = 0;
    if (l->pending == 0) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int r = uv_try_write((uv_stream_t *)&l->tcp, &b, 1);
        if (r > 0)
            off = (size_t)r;
        else if (r < 0 && r != UV_EAGAIN) {
            finish(l, LINK_RESET_PEER);
            return -1;
        }
    }
    if (off == len)
        return 0;
    struct wreq *w = malloc(sizeof *w + (len - off));
    if (!w)
        return -1;
    w->l = l;
    w->len = len - off;
    memcpy(w->data, (const char *)data + off, len - off);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, on_written) != 0) {
        free(w);
        finish(l, LINK_RESET_PEER);
        return -1;
    }
    l->pending += w->len;
    return 0;
}

static size_t sock_pending(const struct link *lb)
{
    return ((const struct sock_link *)lb)->pending;
}

static void on_fin_timeout(uv_timer_t *t)
{
    finish(t->data, LINK_CLOSED_LOCAL);
}

/* Our FIN is out. If we still read, wait (at most FIN_WAIT_MS) for the
 * peer's, so that the tap draws the whole close; else close now. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct sock_link *l = req->data;
    if (status < 0 || !l->reading || uv_is_closing((uv_handle_t *)&l->tcp) ||
        uv_timer_init(rtloop_uv(l->net->loop), &l->fin_timer) != 0) {
        finish(l, LINK_CLOSED_LOCAL);
        return;
    }
    l->fin_timer.data = l;
    l->fin_timer_on = 1;
    l->handles++;
    uv_timer_start(&l->fin_timer, on_fin_timeout, FIN_WAIT_MS, 0);
}

static void sock_close(struct link *lb)
{
    struct sock_link *l = (struct sock_link *)lb;
    if (uv_is_closing((uv_handle_t *)&l->tcp) || l->local_fin)
        return;
    l->local_fin = 1;
    tap_close(l, dir_out(l), 0, sched_now(l->net->base.sched));
    l->shutdown.data = l;
    if (uv_shutdown(&l->shutdown, (uv_stream_t *)&l->tcp, on_shutdown) != 0)
        finish(l, LINK_CLOSED_LOCAL);
}

static void sock_reset(struct link *lb)
{
    struct sock_link *l = (struct sock_link *)lb;
    if (uv_is_closing((uv_handle_t *)&l->tcp))
        return;
    stop_fin_timer(l);
    tap_close(l, dir_out(l), 1, sched_now(l->net->base.sched));
    l->close_why = LINK_RESET_LOCAL;
    l->base.closing = 2;
    if (uv_tcp_close_reset(&l->tcp, on_handle_closed) != 0)
        uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
}

static void sock_pause(struct link *lb)
{
    struct sock_link *l = (struct sock_link *)lb;
    l->paused = 1;
    if (l->reading) {
        uv_read_stop((uv_stream_t *)&l->tcp);
        l->reading = 0;
    }
}

static void sock_resume(struct link *lb)
{
    struct sock_link *l = (struct sock_link *)lb;
    l->paused = 0;
    start_reading(l);
}

static const struct link_ops sock_link_ops = {
    sock_write, sock_pending, sock_close, sock_reset, sock_pause, sock_resume,
};

/* ---- listening and connecting ---- */

static void free_listener(uv_handle_t *h)
{
    free(h->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct sock_listener *ls = server->data;
    struct sock_net *n = (struct sock_net *)ls->base.net;
    if (status < 0)
        return;
    struct sock_link *l = link_alloc(n, 0);
    if (!l)
        return;
    if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0) {
        l->done = 1;
        link_unlist(l);
        uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
        return;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    /* a connection its client already reset (a connect scan) has lost its
     * peer's address: the tap cannot draw it (a live capture records it) */
    l->tapped = fill_addrs(l);
    vtime_t t = enter(n);
    tap_open(l, t);
    ls->base.fn(ls->base.ctx, &l->base);
    start_reading(l);
    leave(n);
}

static struct listener *sock_listen(struct net *nb, const struct net_addr *addr,
                                    net_accept_fn fn, void *ctx, struct err *e)
{
    struct sock_net *n = (struct sock_net *)nb;
    char a[32];
    net_addr_format(addr, a, sizeof a);
    struct sock_listener *ls = calloc(1, sizeof *ls);
    if (!ls) {
        err_set(e, "out of memory");
        return NULL;
    }
    uv_tcp_init(rtloop_uv(n->loop), &ls->tcp);
    ls->tcp.data = ls;
    ls->base.net = nb;
    ls->base.fn = fn;
    ls->base.ctx = ctx;
    struct sockaddr_in sin;
    to_sockaddr(addr, &sin);
    int r = uv_tcp_bind(&ls->tcp, (const struct sockaddr *)&sin, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&ls->tcp, 128, on_connection);
    if (r != 0) {
        err_set(e, "cannot listen on %s: %s", a, uv_strerror(r));
        ls->net_gone = 1;
        uv_close((uv_handle_t *)&ls->tcp, free_listener);
        return NULL;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&ls->tcp, (struct sockaddr *)&ss, &len);
    from_sockaddr(&ss, &ls->base.addr);
    ls->next = n->listeners;
    n->listeners = ls;
    return &ls->base;
}

static void sock_listener_close(struct listener *lb)
{
    struct sock_net *n = (struct sock_net *)lb->net;
    for (struct sock_listener **p = &n->listeners; *p; p = &(*p)->next)
        if (&(*p)->base == lb) {
            struct sock_listener *ls = *p;
            *p = ls->next;
            uv_close((uv_handle_t *)&ls->tcp, free_listener);
            return;
        }
}

static void on_connected(uv_connect_t *req, int status)
{
    struct sock_link *l = req->data;
    if (l->net_gone) { /* net_free() closed it: the one callback, cancelled */
        l->connect_fn(l->connect_ctx, NULL, UV_ECANCELED);
        return;
    }
    struct sock_net *n = l->net;
    vtime_t t = enter(n);
    if (status < 0) {
        l->done = 1; /* the owner never had it */
        link_unlist(l);
        net_connect_fn fn = l->connect_fn;
        void *ctx = l->connect_ctx;
        if (!uv_is_closing((uv_handle_t *)&l->tcp))
            uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
        fn(ctx, NULL, status);
        leave(n);
        return;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    /* the peer is whom we connected to, even if the server reset before
     * getpeername (then nothing can be drawn: no phantom 0.0.0.0) */
    l->tapped = fill_addrs(l) && !is_our_listener(n, &l->base.peer);
    tap_open(l, t);
    l->connect_fn(l->connect_ctx, &l->base, 0);
    start_reading(l);
    leave(n);
}

static int sock_connect(struct net *nb, const struct net_addr *to, const struct net_addr *from,
                        net_connect_fn fn, void *ctx, struct err *e)
{
    struct sock_net *n = (struct sock_net *)nb;
    struct sock_link *l = link_alloc(n, 1);
    if (!l)
        return err_set(e, "out of memory");
    l->base.peer = *to;
    l->connect_fn = fn;
    l->connect_ctx = ctx;
    l->connect.data = l;
    int r = 0;
    if (from) {
        struct sockaddr_in src;
        to_sockaddr(from, &src);
        r = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&src, 0);
    }
    struct sockaddr_in dst;
    to_sockaddr(to, &dst);
    if (r == 0)
        r = uv_tcp_connect(&l->connect, &l->tcp, (const struct sockaddr *)&dst, on_connected);
    if (r != 0) {
        char a[32];
        l->done = 1;
        link_unlist(l);
        uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
        return err_set(e, "cannot connect to %s: %s", net_addr_format(to, a, sizeof a),
                       uv_strerror(r));
    }
    return 0;
}

static void sock_free(struct net *nb)
{
    struct sock_net *n = (struct sock_net *)nb;
    while (n->listeners) {
        struct sock_listener *ls = n->listeners;
        n->listeners = ls->next;
        uv_close((uv_handle_t *)&ls->tcp, free_listener);
    }
    for (struct sock_link *l = n->links; l;) {
        struct sock_link *next = l->next;
        l->net_gone = 1;
        l->done = 1;
        stop_fin_timer(l);
        if (!uv_is_closing((uv_handle_t *)&l->tcp))
            uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
        l = next;
    }
    free(n);
}

static const struct net_ops sock_net_ops = {
    sock_listen, sock_listener_close, sock_connect, sock_free,
};

struct net *net_socket_new(struct rtloop *loop, struct err *e)
{
    struct sock_net *n = calloc(1, sizeof *n);
    if (!n) {
        err_set(e, "out of memory");
        return NULL;
    }
    n->base.ops = &sock_net_ops;
    n->base.sched = rtloop_sched(loop);
    n->base.next_link_id = 1;
    n->loop = loop;
    return &n->base;
}
