/* remote_io.c — polling remote I/O with OpenPLC's mapping (remote_io.h). */
#include "plc/remote_io.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mb_client.h"

struct rdev;

/* One request of a poll in flight: the callback's context. Each device owns one
 * per kind of request (never more than one of a kind is out), so nothing is
 * allocated per poll and nothing is lost when the client drops its queue. */
struct req_ctx {
    struct rdev *d;
    int what; /* 0 di, 1 ir, 2 hr read, 3 coils write, 4 hr write */
};

struct rdev {
    struct rio *r;
    struct req_ctx req[5];
    struct rio_device_cfg cfg;
    struct mb_client *c;
    int task;
    /* image positions (bit index for bits, word index for registers) */
    unsigned di_at, coil_at, ir_at, hr_at, hw_at;
    /* last values polled, and outputs to write */
    uint8_t di[2000], coils[2000];
    uint16_t ir[125], hr[125], hw[123];
    int outstanding;     /* requests of this poll still on the wire */
    int answered;        /* all of this poll's requests answered */
    int misses;
    int lost;
    uint64_t polls;
};

struct rio {
    struct net *net;
    struct rdev *devs;
    size_t n;
    rio_log_fn log;
    void *log_ctx;
};

static void rlog(struct rio *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rlog(struct rio *r, const char *fmt, ...)
{
    if (!r->log)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->log(r->log_ctx, msg);
}

static void poll_done(struct rdev *d)
{
    if (d->answered) {
        d->polls++;
        d->misses = 0;
        if (d->lost) {
            d->lost = 0;
            rlog(d->r, "remote I/O %s: communication restored", d->cfg.name);
        }
    } else if (++d->misses >= d->cfg.fail_after && !d->lost) {
        d->lost = 1;
        rlog(d->r, "remote I/O %s: communication lost (%s)", d->cfg.name,
             d->cfg.on_loss == RIO_HOLD ? "inputs hold their last values"
                                        : "inputs take their fail-safe values");
    }
}

static void on_result(void *ctx, const struct mb_result *res)
{
    struct req_ctx *rc = ctx;
    struct rdev *d = rc->d;
    int ok = res->status == MB_CLIENT_OK && !res->rsp.exception;
    if (!ok) {
        d->answered = 0;
    } else {
        const uint8_t *data = res->rsp.u.read.data;
        switch (rc->what) {
        case 0:
            for (unsigned i = 0; i < d->cfg.discrete_inputs.count; i++)
                d->di[i] = (uint8_t)mb_get_bit(data, i);
            break;
        case 1:
            for (unsigned i = 0; i < d->cfg.input_registers.count; i++)
                d->ir[i] = mb_get16(data + 2 * i);
            break;
        case 2:
            for (unsigned i = 0; i < d->cfg.holding_read.count; i++)
                d->hr[i] = mb_get16(data + 2 * i);
            break;
        default: break;
        }
    }
    if (--d->outstanding == 0)
        poll_done(d);
}

static void send_req(struct rdev *d, int what, const struct mb_req *q)
{
    struct req_ctx *rc = &d->req[what];
    struct err e;
    rc->d = d;
    rc->what = what;
    if (mb_client_send(d->c, d->cfg.unit, q, on_result, rc, &e) != 0) {
        d->answered = 0;
        return;
    }
    d->outstanding++;
}

static void poll_task(void *ctx, vtime_t now)
{
    struct rdev *d = ctx;
    (void)now;
    if (d->outstanding)
        return; /* the last poll is still out: its timeout will count it */
    d->answered = 1;
    const struct rio_device_cfg *c = &d->cfg;
    struct mb_req q;
    if (c->discrete_inputs.count) {
        q = (struct mb_req){.fc = MB_FC_READ_DISCRETE_INPUTS,
                            .u.read = {c->discrete_inputs.start, c->discrete_inputs.count}};
        send_req(d, 0, &q);
    }
    if (c->input_registers.count) {
        q = (struct mb_req){.fc = MB_FC_READ_INPUT_REGISTERS,
                            .u.read = {c->input_registers.start, c->input_registers.count}};
        send_req(d, 1, &q);
    }
    if (c->holding_read.count) {
        q = (struct mb_req){.fc = MB_FC_READ_HOLDING_REGISTERS,
                            .u.read = {c->holding_read.start, c->holding_read.count}};
        send_req(d, 2, &q);
    }
    if (c->coils.count) {
        uint8_t bits[250] = {0};
        for (unsigned i = 0; i < c->coils.count; i++)
            mb_set_bit(bits, i, d->coils[i]);
        q = (struct mb_req){.fc = MB_FC_WRITE_MULTIPLE_COILS};
        q.u.writen.addr = c->coils.start;
        q.u.writen.qty = c->coils.count;
        q.u.writen.nbytes = (uint8_t)((c->coils.count + 7) / 8);
        q.u.writen.data = bits;
        send_req(d, 3, &q);
    }
    if (c->holding_write.count) {
        uint8_t regs[246];
        for (unsigned i = 0; i < c->holding_write.count; i++)
            mb_put16(regs + 2 * i, d->hw[i]);
        q = (struct mb_req){.fc = MB_FC_WRITE_MULTIPLE_REGISTERS};
        q.u.writen.addr = c->holding_write.start;
        q.u.writen.qty = c->holding_write.count;
        q.u.writen.nbytes = (uint8_t)(2 * c->holding_write.count);
        q.u.writen.data = regs;
        send_req(d, 4, &q);
    }
    if (d->outstanding == 0)
        poll_done(d);
}

struct rio *rio_new(struct net *net, const struct rio_device_cfg *devs, size_t n, rio_log_fn log,
                    void *log_ctx, struct err *e)
{
    struct rio *r = calloc(1, sizeof *r);
    if (!r || !(r->devs = calloc(n ? n : 1, sizeof *r->devs))) {
        free(r);
        err_set(e, "out of memory");
        return NULL;
    }
    r->net = net;
    r->log = log;
    r->log_ctx = log_ctx;
    unsigned bit_i = 800, bit_q = 800, word_i = 100, word_q = 100; /* %IX100.0 = bit 800 */
    for (size_t i = 0; i < n; i++) {
        struct rdev *d = &r->devs[i];
        d->r = r;
        d->task = -1;
        d->cfg = devs[i];
        if (d->cfg.period <= 0)
            d->cfg.period = 100 * VT_MS;
        if (d->cfg.timeout <= 0)
            d->cfg.timeout = 500 * VT_MS;
        if (d->cfg.fail_after <= 0)
            d->cfg.fail_after = 3;
        const struct rio_device_cfg *c = &d->cfg;
        if (c->discrete_inputs.count > 2000 || c->coils.count > 1968 ||
            c->input_registers.count > 125 || c->holding_read.count > 125 ||
            c->holding_write.count > 123) {
            err_set(e, "remote I/O %s: an area is larger than one request can carry", c->name);
            goto fail;
        }
        d->di_at = bit_i;
        bit_i += c->discrete_inputs.count;
        d->coil_at = bit_q;
        bit_q += c->coils.count;
        d->ir_at = word_i;
        word_i += c->input_registers.count;
        d->hr_at = word_i;
        word_i += c->holding_read.count;
        d->hw_at = word_q;
        word_q += c->holding_write.count;
        if (bit_i > 8 * PLC_IMAGE_BYTES || bit_q > 8 * PLC_IMAGE_BYTES ||
            word_i > PLC_IMAGE_WORDS || word_q > PLC_IMAGE_WORDS) {
            err_set(e, "remote I/O %s: the areas run past the process image", c->name);
            goto fail;
        }
        struct mb_client_opts o;
        mb_client_opts_default(&o);
        o.timeout = c->timeout;
        o.max_inflight = 8;
        d->c = mb_client_new(net, &c->addr, &o, e);
        if (!d->c)
            goto fail;
        struct sched *s = net_sched(net);
        d->task = sched_every(s, sched_now(s), c->period, SCHED_PRIO_NET, poll_task, d);
        r->n++;
    }
    return r;
fail:
    rio_free(r);
    return NULL;
}

void rio_free(struct rio *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->devs[i].task >= 0)
            sched_cancel(net_sched(r->net), r->devs[i].task);
        mb_client_free(r->devs[i].c);
    }
    free(r->devs);
    free(r);
}

static void set_bit(uint8_t *bytes, unsigned i, int v)
{
    if (v)
        bytes[i >> 3] = (uint8_t)(bytes[i >> 3] | (1u << (i & 7)));
    else
        bytes[i >> 3] = (uint8_t)(bytes[i >> 3] & ~(1u << (i & 7)));
}

void rio_inputs(struct rio *r, struct plc_image *im)
{
    for (size_t k = 0; k < r->n; k++) {
        const struct rdev *d = &r->devs[k];
        int safe = d->lost && d->cfg.on_loss == RIO_FAILSAFE;
        for (unsigned i = 0; i < d->cfg.discrete_inputs.count; i++)
            set_bit(im->ix, d->di_at + i, safe ? d->cfg.failsafe_bit : d->di[i]);
        for (unsigned i = 0; i < d->cfg.input_registers.count; i++)
            im->iw[d->ir_at + i] = safe ? d->cfg.failsafe_word : d->ir[i];
        for (unsigned i = 0; i < d->cfg.holding_read.count; i++)
            im->iw[d->hr_at + i] = safe ? d->cfg.failsafe_word : d->hr[i];
    }
}

void rio_outputs(struct rio *r, const struct plc_image *im)
{
    for (size_t k = 0; k < r->n; k++) {
        struct rdev *d = &r->devs[k];
        for (unsigned i = 0; i < d->cfg.coils.count; i++) {
            unsigned b = d->coil_at + i;
            d->coils[i] = (uint8_t)((im->qx[b >> 3] >> (b & 7)) & 1);
        }
        for (unsigned i = 0; i < d->cfg.holding_write.count; i++)
            d->hw[i] = im->qw[d->hw_at + i];
    }
}

int rio_lost(const struct rio *r, size_t i)
{
    return i < r->n && r->devs[i].lost;
}

uint64_t rio_polls(const struct rio *r, size_t i)
{
    return i < r->n ? r->devs[i].polls : 0;
}
