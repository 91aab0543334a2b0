/* hmi.c — the HMI's polling client (see hmi.h): one Modbus client per
 * target, one read per block each period, the last values and the state of
 * each target's view. */
#include "devices/hmi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hmi_target_state;

/* One block of one target: its request's context and its values. */
struct block_state {
    struct hmi_target_state *t;
    struct hmi_block b;
    uint16_t *values;
    int has_values;
};

struct hmi_target_state {
    struct hmi *h;
    char *name;
    struct net_addr addr;
    uint8_t unit;
    struct mb_client *c;
    struct block_state *blocks;
    size_t nblocks;
    int outstanding;  /* requests of this poll still out */
    int poll_failed;
    char poll_error[128];
    struct hmi_view view;
};

struct hmi {
    struct net *net;
    struct sched *s;
    char *name;
    vtime_t period, timeout;
    struct hmi_target_state *targets;
    size_t ntargets;
    int task;
    int stopping;      /* hmi_stop: closing its own connections, nothing to log */
    hmi_log_fn log;
    void *log_ctx;
};

static void hlog(struct hmi *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hlog(struct hmi *h, const char *fmt, ...)
{
    if (!h->log || h->stopping)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->log(h->log_ctx, sched_now(h->s), msg);
}

static void poll_done(struct hmi_target_state *t)
{
    struct hmi *h = t->h;
    int was_fresh = t->view.fresh;
    if (t->poll_failed) {
        t->view.failed++;
        t->view.fresh = 0;
        if (strcmp(t->view.last_error, t->poll_error) != 0 || was_fresh) {
            snprintf(t->view.last_error, sizeof t->view.last_error, "%s", t->poll_error);
            hlog(h, "%s: view of %s lost: %s", h->name, t->name, t->poll_error);
        }
    } else {
        t->view.complete++;
        t->view.fresh = 1;
        t->view.updated = sched_now(h->s);
        if (!was_fresh && t->view.last_error[0])
            hlog(h, "%s: view of %s restored", h->name, t->name);
        t->view.last_error[0] = '\0';
    }
}

static void on_read(void *ctx, const struct mb_result *r)
{
    struct block_state *bs = ctx;
    struct hmi_target_state *t = bs->t;
    if (r->status != MB_CLIENT_OK) {
        static const char *why[] = {"ok", "no answer (timeout)", "connection refused",
                                    "connection closed", "malformed response"};
        t->poll_failed = 1;
        snprintf(t->poll_error, sizeof t->poll_error, "%s",
                 (unsigned)r->status < 5 ? why[r->status] : "error");
    } else if (r->rsp.exception) {
        t->poll_failed = 1;
        snprintf(t->poll_error, sizeof t->poll_error, "exception %02X (%s)", r->rsp.exception,
                 mb_exception_name(r->rsp.exception));
    } else {
        const uint8_t *d = r->rsp.u.read.data;
        for (unsigned i = 0; i < bs->b.count; i++)
            bs->values[i] = (bs->b.table == MB_COILS || bs->b.table == MB_DISCRETE_INPUTS)
                                ? (uint16_t)mb_get_bit(d, i)
                                : mb_get16(d + 2 * i);
        bs->has_values = 1;
    }
    if (--t->outstanding == 0)
        poll_done(t);
}

static const uint8_t read_fc[4] = {MB_FC_READ_COILS, MB_FC_READ_DISCRETE_INPUTS,
                                   MB_FC_READ_HOLDING_REGISTERS, MB_FC_READ_INPUT_REGISTERS};

static void poll(void *ctx, vtime_t now)
{
    struct hmi *h = ctx;
    (void)now;
    for (size_t k = 0; k < h->ntargets; k++) {
        struct hmi_target_state *t = &h->targets[k];
        if (t->outstanding) {
            t->view.skipped++;
            continue;
        }
        t->view.polls++;
        t->poll_failed = 0;
        t->poll_error[0] = '\0';
        for (size_t i = 0; i < t->nblocks; i++) {
            struct block_state *bs = &t->blocks[i];
            struct mb_req q = {.fc = read_fc[bs->b.table]};
            q.u.read.addr = bs->b.start;
            q.u.read.qty = bs->b.count;
            struct err e;
            if (mb_client_send(t->c, t->unit, &q, on_read, bs, &e) != 0) {
                t->poll_failed = 1;
                snprintf(t->poll_error, sizeof t->poll_error, "%s", e.msg);
                continue;
            }
            t->outstanding++;
        }
        if (t->outstanding == 0)
            poll_done(t);
    }
}

static int check_block(const struct hmi_block *b, struct err *e, const char *target)
{
    unsigned max = (b->table == MB_COILS || b->table == MB_DISCRETE_INPUTS) ? 2000 : 125;
    if ((unsigned)b->table > MB_INPUT_REGISTERS)
        return err_set(e, "%s: unknown table", target);
    if (b->count == 0 || b->count > max || (unsigned)b->start + b->count > 65536)
        return err_set(e, "%s: a block of %u at %u (1 to %u per read, within 0-65535)", target,
                       b->count, b->start, max);
    return 0;
}

struct hmi *hmi_new(struct net *net, const struct hmi_config *c, hmi_log_fn log, void *log_ctx,
                    struct err *e)
{
    struct hmi *h = calloc(1, sizeof *h);
    if (!h) {
        err_set(e, "out of memory");
        return NULL;
    }
    h->net = net;
    h->s = net_sched(net);
    h->task = -1;
    h->log = log;
    h->log_ctx = log_ctx;
    h->name = strdup(c->name ? c->name : "hmi");
    h->period = c->period > 0 ? c->period : VT_SEC;
    h->timeout = c->timeout > 0 ? c->timeout : (h->period / 2 < VT_SEC ? h->period / 2 : VT_SEC);
    h->targets = calloc(c->ntargets ? c->ntargets : 1, sizeof *h->targets);
    if (!h->name || !h->targets) {
        err_set(e, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < c->ntargets; k++) {
        const struct hmi_target *ct = &c->targets[k];
        struct hmi_target_state *t = &h->targets[h->ntargets++];
        t->h = h;
        t->addr = ct->addr;
        t->unit = ct->unit;
        t->view.updated = VT_NEVER;
        t->name = strdup(ct->name ? ct->name : "plc");
        t->blocks = calloc(ct->nblocks ? ct->nblocks : 1, sizeof *t->blocks);
        if (!t->name || !t->blocks) {
            err_set(e, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < ct->nblocks; i++) {
            if (check_block(&ct->blocks[i], e, t->name) != 0)
                goto fail;
            struct block_state *bs = &t->blocks[t->nblocks++];
            bs->t = t;
            bs->b = ct->blocks[i];
            if (!(bs->values = calloc(bs->b.count, sizeof *bs->values))) {
                err_set(e, "out of memory");
                goto fail;
            }
        }
        struct mb_client_opts o;
        mb_client_opts_default(&o);
        o.timeout = h->timeout;
        o.max_inflight = 1;
        if (c->from.ip) {
            o.from = c->from;
            o.from.port = 0;
            o.has_from = 1;
        }
        if (!(t->c = mb_client_new(net, &t->addr, &o, e)))
            goto fail;
    }
    h->task = sched_every(h->s, sched_now(h->s), h->period, SCHED_PRIO_NET, poll, h);
    if (h->task < 0) {
        err_set(e, "out of memory");
        goto fail;
    }
    return h;
fail:
    hmi_free(h);
    return NULL;
}

size_t hmi_nconnected(const struct hmi *h)
{
    size_t n = 0;
    for (size_t k = 0; k < h->ntargets; k++)
        n += mb_client_connected(h->targets[k].c) != 0;
    return n;
}

void hmi_stop(struct hmi *h)
{
    h->stopping = 1;
    if (h->task >= 0) {
        sched_cancel(h->s, h->task);
        h->task = -1;
    }
    for (size_t k = 0; k < h->ntargets; k++)
        mb_client_disconnect(h->targets[k].c);
}

void hmi_free(struct hmi *h)
{
    if (!h)
        return;
    if (h->task >= 0)
        sched_cancel(h->s, h->task);
    for (size_t k = 0; k < h->ntargets; k++) {
        struct hmi_target_state *t = &h->targets[k];
        mb_client_free(t->c);
        for (size_t i = 0; i < t->nblocks; i++)
            free(t->blocks[i].values);
        free(t->blocks);
        free(t->name);
    }
    free(h->targets);
    free(h->name);
    free(h);
}

size_t hmi_ntargets(const struct hmi *h)
{
    return h->ntargets;
}

int hmi_find(const struct hmi *h, const char *name)
{
    for (size_t k = 0; k < h->ntargets; k++)
        if (strcmp(h->targets[k].name, name) == 0)
            return (int)k;
    return -1;
}

int hmi_value(const struct hmi *h, size_t target, enum mb_table table, uint16_t addr,
              uint16_t *out)
{
    if (target >= h->ntargets)
        return -1;
    const struct hmi_target_state *t = &h->targets[target];
    for (size_t i = 0; i < t->nblocks; i++) {
        const struct block_state *bs = &t->blocks[i];
        if (bs->b.table == table && addr >= bs->b.start &&
            (unsigned)addr < (unsigned)bs->b.start + bs->b.count) {
            if (!bs->has_values)
                return -1;
            *out = bs->values[addr - bs->b.start];
            return 0;
        }
    }
    return -1;
}

const struct hmi_view *hmi_target_view(const struct hmi *h, size_t target)
{
    return target < h->ntargets ? &h->targets[target].view : NULL;
}

const struct mb_client_stats *hmi_client_stats(const struct hmi *h, size_t target)
{
    return target < h->ntargets ? mb_client_stats(h->targets[target].c) : NULL;
}

static void ignore_result(void *ctx, const struct mb_result *r)
{
    (void)ctx;
    (void)r;
}

int hmi_write_register(struct hmi *h, size_t target, uint16_t addr, uint16_t value,
                       mb_result_fn fn, void *ctx, struct err *e)
{
    if (target >= h->ntargets)
        return err_set(e, "%s: no target %zu", h->name, target);
    struct mb_req q = {.fc = MB_FC_WRITE_SINGLE_REGISTER};
    q.u.write1.addr = addr;
    q.u.write1.value = value;
    return mb_client_send(h->targets[target].c, h->targets[target].unit, &q,
                          fn ? fn : ignore_result, ctx, e);
}

int hmi_write_coil(struct hmi *h, size_t target, uint16_t addr, int on, mb_result_fn fn,
                   void *ctx, struct err *e)
{
    if (target >= h->ntargets)
        return err_set(e, "%s: no target %zu", h->name, target);
    struct mb_req q = {.fc = MB_FC_WRITE_SINGLE_COIL};
    q.u.write1.addr = addr;
    q.u.write1.value = on ? 0xFF00 : 0x0000;
    return mb_client_send(h->targets[target].c, h->targets[target].unit, &q,
                          fn ? fn : ignore_result, ctx, e);
}

/* ---- snapshots ---- */

void hmi_snap_save(const struct hmi *h, struct snapw *w, const char *section)
{
    snapw_section(w, section);
    snapw_i64(w, sched_task_next(h->s, h->task));
    snapw_u64(w, h->ntargets);
    for (size_t k = 0; k < h->ntargets; k++) {
        const struct hmi_target_state *t = &h->targets[k];
        snapw_str(w, t->name);
        snapw_bytes(w, &t->view, sizeof t->view);
        snapw_u64(w, t->nblocks);
        for (size_t i = 0; i < t->nblocks; i++) {
            snapw_u8(w, (uint8_t)t->blocks[i].has_values);
            snapw_bytes(w, t->blocks[i].values, t->blocks[i].b.count * sizeof(uint16_t));
        }
    }
}

int hmi_snap_load(struct hmi *h, struct snapr *r, const char *section, struct err *e)
{
    if (snapr_section(r, section, e) != 0)
        return -1;
    vtime_t next = snapr_i64(r);
    uint64_t nt = snapr_u64(r);
    if (snapr_ok(r, e) != 0)
        return -1;
    if (nt != h->ntargets) {
        snapr_fail(r, "%llu targets, this HMI polls %zu", (unsigned long long)nt, h->ntargets);
        return snapr_ok(r, e);
    }
    for (size_t k = 0; k < h->ntargets; k++) {
        struct hmi_target_state *t = &h->targets[k];
        const char *name = snapr_str(r);
        if (snapr_ok(r, e) != 0)
            return -1;
        if (!name || strcmp(name, t->name) != 0) {
            snapr_fail(r, "target %zu is '%s', this HMI's is '%s'", k, name ? name : "?",
                       t->name);
            return snapr_ok(r, e);
        }
        snapr_bytes_into(r, &t->view, sizeof t->view);
        t->view.last_error[sizeof t->view.last_error - 1] = '\0'; /* a crafted file */
        uint64_t nb = snapr_u64(r);
        if (snapr_ok(r, e) != 0)
            return -1;
        if (nb != t->nblocks) {
            snapr_fail(r, "%s: %llu blocks, this HMI reads %zu", t->name,
                       (unsigned long long)nb, t->nblocks);
            return snapr_ok(r, e);
        }
        for (size_t i = 0; i < t->nblocks; i++) {
            t->blocks[i].has_values = snapr_u8(r) != 0;
            snapr_bytes_into(r, t->blocks[i].values, t->blocks[i].b.count * sizeof(uint16_t));
        }
    }
    if (snapr_ok(r, e) != 0)
        return -1;
    if (next != VT_NEVER) {
        if (next < sched_now(h->s))
            next = sched_now(h->s);
        sched_cancel(h->s, h->task);
        h->task = sched_every(h->s, next, h->period, SCHED_PRIO_NET, poll, h);
    }
    return 0;
}
