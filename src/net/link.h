/* link.h — links: byte streams between two endpoints, whatever carries them.
 *
 * A `struct net` is a transport that makes links: either real TCP sockets
 * on a libuv loop paced by the virtual clock (net_socket_new), or in-memory
 * wires that run on the virtual clock alone (net_mem_new), delivering data
 * in seeded segment sizes, down to one byte, after a configurable latency,
 * so that fast mode runs a day of traffic in seconds and every server and
 * client meets split and merged frames as ordinary cases. Protocol code
 * sees only `struct link` and its handler, and does not know which kind it
 * has.
 *
 * Events (data, close) are delivered through the handler on the scheduler's
 * clock: with sockets, the virtual clock is first brought up to the moment
 * of arrival. A tap (net_set_tap) sees every link of a net: opens, data in
 * both directions and closes, with their virtual time; the range writes its
 * pcap from it.
 *
 * Ownership: a net owns its listeners and links. A link lives from its
 * accept or connect callback until its handler's on_close returns; after
 * link_close() or link_reset() the owner gets exactly one on_close, later,
 * and must not touch the link after it. net_free() closes everything
 * without calling handlers; a connect still in flight gets its one callback
 * with -ECANCELED (in memory during net_free(), with sockets when the loop
 * next runs), so its context can be released.
 */
#ifndef NET_LINK_H
#define NET_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "core/sched.h"
#include "net/addr.h"

struct net;
struct link;
struct listener;

/* Why a link closed, as told to on_close. */
enum link_close_reason {
    LINK_CLOSED_LOCAL = 0, /* our link_close() completed (FIN sent after pending data) */
    LINK_RESET_LOCAL,      /* our link_reset() (RST) */
    LINK_CLOSED_PEER,      /* the peer closed (FIN received) */
    LINK_RESET_PEER,       /* the peer reset the connection or it failed */
    LINK_NET_GONE,         /* the net was freed */
};

struct link_handler {
    /* Bytes arrived (in order). */
    void (*on_data)(void *ctx, struct link *l, const uint8_t *data, size_t len);
    /* The link is finished; it is freed when this returns. */
    void (*on_close)(void *ctx, struct link *l, enum link_close_reason why);
    /* Optional: pending output fell to zero after having been above zero. */
    void (*on_drain)(void *ctx, struct link *l);
};

/* Sets who hears a link's events (call it in the accept/connect callback). */
void link_set_handler(struct link *l, const struct link_handler *h, void *ctx);

/* Queues bytes for sending (copied). Returns 0, or -1 if the link is
 * closing or closed or memory ran out. */
int link_write(struct link *l, const void *data, size_t len);

/* Bytes queued by link_write() that the transport has not yet taken: what
 * a server watches to close a peer that stopped reading. */
size_t link_pending(const struct link *l);

/* Graceful close: pending output is sent, then FIN. Later on_close
 * (LINK_CLOSED_LOCAL, or the peer's reason if it came first). */
void link_close(struct link *l);

/* Abortive close: pending output dropped, RST. Later on_close
 * (LINK_RESET_LOCAL). */
void link_reset(struct link *l);

/* Stops and restarts reading: while paused no on_data is delivered and the
 * peer's data backs up (into its pending output once the window is full). */
void link_pause(struct link *l);
void link_resume(struct link *l);

const struct net_addr *link_local(const struct link *l);
const struct net_addr *link_peer(const struct link *l);
/* A number unique within the net, in order of creation. */
uint64_t link_id(const struct link *l);
/* The owner's pointer given to link_set_handler. */
void *link_ctx(const struct link *l);

/* ---- nets ---- */

/* Options of in-memory wires. */
struct net_mem_opts {
    vtime_t latency;     /* one-way delay of each segment (default 100 us) */
    size_t seg_min;      /* segment sizes are drawn in [seg_min, seg_max] */
    size_t seg_max;      /*   (defaults 1 and 1460) */
    size_t window;       /* bytes a paused receiver buffers (default 65536) */
    uint64_t seed;       /* segment sizes' random stream */
};
/* Fills the defaults. */
void net_mem_opts_default(struct net_mem_opts *o);

/* In-memory wires on the scheduler `s` (events at SCHED_PRIO_NET). */
struct net *net_mem_new(struct sched *s, const struct net_mem_opts *o, struct err *e);

/* Real TCP sockets on the libuv loop of `loop` (whose scheduler stamps
 * events). */
struct net *net_socket_new(struct rtloop *loop, struct err *e);

void net_free(struct net *n);

struct sched *net_sched(const struct net *n);
/* 1 for in-memory wires, 0 for sockets. */
int net_is_mem(const struct net *n);

/* Called with each accepted link; set its handler before returning. */
typedef void (*net_accept_fn)(void *ctx, struct link *l);

/* Listens on an address. Sockets: bound with SO_REUSEADDR; an address
 * already in use or not local fails. In-memory: the address is a name in
 * this net. `backlog` bounds connections not yet accepted (sockets).
 * Returns a listener (owned by the net) or NULL with a message. */
struct listener *net_listen(struct net *n, const struct net_addr *addr, net_accept_fn fn,
                            void *ctx, struct err *e);
/* Stops listening; established links stay. */
void listener_close(struct listener *ls);
/* The address actually bound (port 0 asks for any free port). */
const struct net_addr *listener_addr(const struct listener *ls);

/* Called once per connect: a link (status 0; set its handler) or NULL with
 * status < 0 (a negative errno: -ECONNREFUSED, -ETIMEDOUT ...). */
typedef void (*net_connect_fn)(void *ctx, struct link *l, int status);

/* Connects to `to`, from `from` (NULL: any local address; with sockets a
 * given source address is bound first). Returns 0 (the callback comes
 * later) or -1 with a message. */
int net_connect(struct net *n, const struct net_addr *to, const struct net_addr *from,
                net_connect_fn fn, void *ctx, struct err *e);

/* ---- the tap ---- */
enum tap_dir { TAP_TO_SERVER = 0, TAP_TO_CLIENT = 1 };
struct net_tap {
    /* a connection was established: client (connecting side) and server */
    void (*open)(void *ctx, uint64_t link_id, const struct net_addr *client,
                 const struct net_addr *server, vtime_t t);
    /* bytes crossed the wire in one direction (segment by segment) */
    void (*data)(void *ctx, uint64_t link_id, enum tap_dir dir, const uint8_t *data, size_t len,
                 vtime_t t);
    /* one side closed (FIN) or reset (RST) */
    void (*close)(void *ctx, uint64_t link_id, enum tap_dir dir, int reset, vtime_t t);
};
void net_set_tap(struct net *n, const struct net_tap *tap, void *ctx);

#endif
