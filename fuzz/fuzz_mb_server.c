/* fuzz_mb_server.c — libFuzzer harness for the Modbus server's byte path:
 * the input is what a client sends, cut into segments, over an in-memory
 * wire into a server (framer, unit routing, budget, dispatch, every
 * built-in handler, device identification). The first bytes choose the
 * server's configuration. Never a crash, a leak or a hang; the server's
 * output never exceeds its cap by more than one response. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/link.h"
#include "proto/mb_mem.h"
#include "proto/mb_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct peer {
    const uint8_t *data;
    size_t size;
    struct link *l;
    size_t got;
};

static void p_data(void *ctx, struct link *l, const uint8_t *d, size_t n)
{
    struct peer *p = ctx;
    (void)l;
    (void)d;
    p->got += n;
}

static void p_close(void *ctx, struct link *l, enum link_close_reason why)
{
    struct peer *p = ctx;
    (void)l;
    (void)why;
    p->l = NULL;
}

static const struct link_handler p_handler = {p_data, p_close, NULL};

static void p_connected(void *ctx, struct link *l, int status)
{
    struct peer *p = ctx;
    (void)status;
    if (!l)
        return;
    p->l = l;
    link_set_handler(l, &p_handler, p);
    link_write(l, p->data, p->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t flags = data[0], seg = data[1], units = data[2], rate = data[3];
    data += 4;
    size -= 4;
    struct err e;
    struct sched *s = sched_new();
    struct net_mem_opts o;
    net_mem_opts_default(&o);
    o.seg_max = 1 + seg;
    o.seed = flags;
    struct net *n = net_mem_new(s, &o, &e);
    struct mb_mem *mem = mb_mem_new(100, 100, 100, 100);
    struct mb_server_config cfg;
    mb_server_config_default(&cfg);
    cfg.gateway = flags & 1;
    cfg.product_name = (flags & 2) ? "a product name long enough to matter" : NULL;
    struct mb_devid_extra extra[] = {{0x80, "extended one"}, {0xFF, "last"}};
    if (flags & 4) {
        cfg.extra = extra;
        cfg.n_extra = 2;
    }
    uint8_t unit_list[2] = {units, (uint8_t)(units + 1)};
    if (flags & 8) {
        cfg.unit_ids = unit_list;
        cfg.n_unit_ids = 2;
    }
    cfg.budget_rate = (flags & 16) ? rate : 0;
    cfg.output_cap = 4096;
    struct mb_server *srv = mb_server_new(n, &cfg, &mb_mem_ops, mem, &e);
    if (cfg.gateway)
        mb_server_route(srv, units, &mb_mem_ops, mem);
    struct net_addr a = {0x7f000001, 502};
    mb_server_listen(srv, &a, &e);
    struct peer p = {data, size, NULL, 0};
    if (flags & 32) {
        /* a peer that never reads: the output cap must hold */
        net_connect(n, &a, NULL, p_connected, &p, &e);
        sched_run_until(s, VT_MS);
        if (p.l)
            link_pause(p.l);
    } else {
        net_connect(n, &a, NULL, p_connected, &p, &e);
    }
    sched_run_until(s, 2 * VT_SEC);
    mb_server_free(srv);
    net_free(n);
    sched_free(s);
    mb_mem_free(mem);
    return 0;
}
