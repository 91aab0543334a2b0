/* link_int.h — what every transport of links shares (see link.h): the
 * common head of a link and of a net, and each transport's table of
 * functions. Only src/net includes this file. */
#ifndef NET_LINK_INT_H
#define NET_LINK_INT_H

#include "net/link.h"

struct link_ops {
    int (*write)(struct link *l, const void *data, size_t len);
    size_t (*pending)(const struct link *l);
    void (*close)(struct link *l);
    void (*reset)(struct link *l);
    void (*pause)(struct link *l);
    void (*resume)(struct link *l);
};

struct net_ops {
    struct listener *(*listen)(struct net *n, const struct net_addr *addr, net_accept_fn fn,
                               void *ctx, struct err *e);
    void (*listener_close)(struct listener *ls);
    int (*connect)(struct net *n, const struct net_addr *to, const struct net_addr *from,
                   net_connect_fn fn, void *ctx, struct err *e);
    void (*free)(struct net *n);
};

struct link {
    const struct link_ops *ops;
    struct net *net;
    const struct link_handler *h;
    void *ctx;
    struct net_addr local, peer;
    uint64_t id;
    int is_client;   /* the connecting side */
    int closing;     /* link_close/link_reset called: no more data to the owner */
};

struct listener {
    struct net *net;
    struct net_addr addr;
    net_accept_fn fn;
    void *ctx;
};

struct net {
    const struct net_ops *ops;
    struct sched *sched;
    const struct net_tap *tap;
    void *tap_ctx;
    uint64_t next_link_id;
    int is_mem;
};

/* Handler calls, safe when no handler is set. */
void link_emit_data(struct link *l, const uint8_t *data, size_t len);
void link_emit_close(struct link *l, enum link_close_reason why);
void link_emit_drain(struct link *l);

#endif
