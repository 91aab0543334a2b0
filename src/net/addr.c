/* addr.c — parsing and formatting of IPv4 endpoints (see addr.h). */
#include "net/addr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int net_addr_parse(const char *s, uint16_t default_port, struct net_addr *out, struct err *e)
{
    const char *p = s;
    uint32_t ip = 0;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)*p))
            return err_set(e, "'%s' is not an IPv4 address (A.B.C.D:PORT)", s);
        unsigned v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p) && digits < 4) {
            v = v * 10 + (unsigned)(*p++ - '0');
            digits++;
        }
        if (v > 255 || digits > 3)
            return err_set(e, "'%s': each part of an IPv4 address is 0-255", s);
        ip = (ip << 8) | v;
        if (i < 3 && *p++ != '.')
            return err_set(e, "'%s' is not an IPv4 address (A.B.C.D:PORT)", s);
    }
    unsigned long port = default_port;
    if (*p == ':') {
        p++;
        char *end;
        if (!isdigit((unsigned char)*p))
            return err_set(e, "'%s': port number expected after ':'", s);
        port = strtoul(p, &end, 10);
        if (*end || port > 65535)
            return err_set(e, "'%s': the port is 0-65535", s);
    } else if (*p) {
        return err_set(e, "'%s': unexpected '%s'", s, p);
    } else if (!default_port) {
        return err_set(e, "'%s': a port is needed (A.B.C.D:PORT)", s);
    }
    out->ip = ip;
    out->port = (uint16_t)port;
    return 0;
}

char *net_ip_format(uint32_t ip, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return buf;
}

char *net_addr_format(const struct net_addr *a, char *buf, size_t len)
{
    char ip[16];
    snprintf(buf, len, "%s:%u", net_ip_format(a->ip, ip, sizeof ip), a->port);
    return buf;
}
