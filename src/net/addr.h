/* addr.h — IPv4 endpoint addresses ("127.0.0.1:502").
 *
 * The range works with IPv4 on loopback and in network namespaces; an
 * address is kept in host byte order with its port.
 */
#ifndef NET_ADDR_H
#define NET_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct net_addr {
    uint32_t ip;   /* host byte order: 127.0.0.1 = 0x7f000001 */
    uint16_t port;
};

/* Parses "A.B.C.D:PORT" (or "A.B.C.D" with default_port; default_port 0
 * makes the port mandatory). Returns 0 or -1 with a message. */
int net_addr_parse(const char *s, uint16_t default_port, struct net_addr *out, struct err *e);

/* "127.0.0.1:502" into buf (at least 22 bytes); returns buf. */
char *net_addr_format(const struct net_addr *a, char *buf, size_t len);

/* "127.0.0.1" into buf (at least 16 bytes); returns buf. */
char *net_ip_format(uint32_t ip, char *buf, size_t len);

static inline int net_addr_eq(const struct net_addr *a, const struct net_addr *b)
{
    return a->ip == b->ip && a->port == b->port;
}

#endif
