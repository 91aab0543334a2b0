/* plc_device.c — a PLC bound to the plant and the network (plc_device.h). */
#include "devices/plc_device.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wire {
    const struct plant_wire *w;
    struct plc_slot slot;
    double scale;          /* raw counts per SI unit (inputs), SI per count (outputs) */
    double raw_min, raw_max; /* inputs: the raw range, ordered */
};

static struct wire wire_make(const struct plant_wire *w, struct plc_slot slot, int input)
{
    struct wire x = {w, slot, 0, 0, 0};
    if (input)
        x.scale = (w->raw_hi - w->raw_lo) / (w->eng_hi - w->eng_lo);
    else
        x.scale = (w->eng_hi - w->eng_lo) / (w->raw_hi - w->raw_lo);
    x.raw_min = fmin(w->raw_lo, w->raw_hi);
    x.raw_max = fmax(w->raw_lo, w->raw_hi);
    return x;
}

struct plc_device {
    char *name;
    struct plant *plant;
    struct plc *plc;
    struct plc_eng *eng;
    struct mb_server *srv;
    struct rio *rio;
    struct wire *in, *out;
    size_t nin, nout;
    plc_device_outputs_fn on_outputs;
    void *on_outputs_ctx;
};

void plc_device_config_default(struct plc_device_config *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    plc_config_default(&c->plc);
    c->plc.name = name;
    plc_eng_config_default(&c->eng);
    mb_server_config_default(&c->server);
}

static void read_inputs(void *ctx, struct plc_image *im, vtime_t now)
{
    struct plc_device *d = ctx;
    (void)now;
    if (d->rio)
        rio_inputs(d->rio, im);
    for (size_t i = 0; i < d->nin; i++) {
        const struct wire *x = &d->in[i];
        const struct plant_wire *w = x->w;
        double v = plant_port_read(d->plant, &w->port);
        uint64_t raw;
        if (w->port.is_bool) {
            raw = v != 0;
        } else {
            double r = w->raw_lo + (v - w->eng_lo) * x->scale;
            if (!(r >= x->raw_min))
                r = x->raw_min;
            if (r > x->raw_max)
                r = x->raw_max;
            raw = (uint64_t)(r + 0.5);
        }
        plc_slot_set(&x->slot, raw);
    }
}

static void write_outputs(void *ctx, const struct plc_image *im, vtime_t now)
{
    struct plc_device *d = ctx;
    (void)now;
    if (d->rio)
        rio_outputs(d->rio, im);
    for (size_t i = 0; i < d->nout; i++) {
        const struct wire *x = &d->out[i];
        const struct plant_wire *w = x->w;
        double raw = (double)plc_slot_get(&x->slot);
        double v;
        if (w->port.is_bool)
            v = raw != 0;
        else
            v = w->eng_lo + (raw - w->raw_lo) * x->scale;
        plant_port_write(d->plant, &w->port, v);
    }
    if (d->on_outputs)
        d->on_outputs(d->on_outputs_ctx, d, im, now);
}

void plc_device_set_outputs_observer(struct plc_device *d, plc_device_outputs_fn fn, void *ctx)
{
    d->on_outputs = fn;
    d->on_outputs_ctx = ctx;
}

static const struct plc_io_hooks io_hooks = {read_inputs, write_outputs};

static void rio_log(void *ctx, const char *msg)
{
    struct plc_device *d = ctx;
    char text[300];
    snprintf(text, sizeof text, "%s: %s", d->name, msg);
    plc_note_event(d->plc, PLC_EV_FAULT, text);
}

static int bind_wires(struct plc_device *d, struct err *e)
{
    if (!d->plant)
        return 0;
    size_t n = plant_nwires(d->plant);
    d->in = calloc(n ? n : 1, sizeof *d->in);
    d->out = calloc(n ? n : 1, sizeof *d->out);
    if (!d->in || !d->out)
        return err_set(e, "out of memory");
    struct plc_image *im = plc_image(d->plc);
    for (size_t i = 0; i < n; i++) {
        const struct plant_wire *w = plant_wire_at(d->plant, i);
        if (strcmp(w->device, d->name) != 0)
            continue;
        struct plc_slot slot;
        if (plc_image_slot(im, &w->addr, &slot) != 0) {
            char a[24];
            return err_set(e, "%s: wiring point %s is outside this PLC's image", d->name,
                           locaddr_format(&w->addr, a, sizeof a));
        }
        if (w->addr.area == 'I')
            d->in[d->nin++] = wire_make(w, slot, 1);
        else
            d->out[d->nout++] = wire_make(w, slot, 0);
    }
    return 0;
}

struct plc_device *plc_device_new(struct plant *plant, struct net *net,
                                  const struct plc_device_config *c, struct err *e)
{
    struct plc_device *d = calloc(1, sizeof *d);
    if (!d) {
        err_set(e, "out of memory");
        return NULL;
    }
    d->name = strdup(c->name ? c->name : "plc");
    d->plant = plant;
    struct plc_config pc = c->plc;
    if (!pc.name)
        pc.name = d->name;
    if (!d->name)
        goto oom;
    d->plc = plc_new(net_sched(net), &pc, e);
    if (!d->plc)
        goto fail;
    if (bind_wires(d, e) != 0)
        goto fail;
    plc_set_io(d->plc, &io_hooks, d);
    d->srv = mb_server_new(net, &c->server, &plc_image_modbus_ops, plc_image(d->plc), e);
    if (!d->srv)
        goto fail;
    d->eng = plc_eng_new(d->plc, net_sched(net), &c->eng, e);
    if (!d->eng || plc_eng_attach(d->eng, d->srv) != 0)
        goto fail;
    if (c->nremote) {
        d->rio = rio_new(net, c->remote, c->nremote, rio_log, d, e);
        if (!d->rio)
            goto fail;
    }
    for (size_t i = 0; i < c->nlisten; i++)
        if (mb_server_listen(d->srv, &c->listen[i], e) != 0) {
            err_prefix(e, "%s", d->name);
            goto fail;
        }
    return d;
oom:
    err_set(e, "out of memory");
fail:
    plc_device_free(d);
    return NULL;
}

void plc_device_free(struct plc_device *d)
{
    if (!d)
        return;
    mb_server_free(d->srv);
    rio_free(d->rio);
    plc_eng_free(d->eng);
    plc_free(d->plc);
    free(d->in);
    free(d->out);
    free(d->name);
    free(d);
}

struct plc *plc_device_plc(struct plc_device *d)
{
    return d->plc;
}

struct mb_server *plc_device_server(struct plc_device *d)
{
    return d->srv;
}

const char *plc_device_name(const struct plc_device *d)
{
    return d->name;
}

struct rio *plc_device_rio(struct plc_device *d)
{
    return d->rio;
}

size_t plc_device_nwires(const struct plc_device *d)
{
    return d->nin + d->nout;
}

void plc_device_snap_save(const struct plc_device *d, struct snapw *w, const char *prefix)
{
    char sec[160];
    snprintf(sec, sizeof sec, "%s/plc", prefix);
    plc_snap_save(d->plc, w, sec);
    snprintf(sec, sizeof sec, "%s/modbus", prefix);
    mb_server_snap_save(d->srv, w, sec);
}

int plc_device_snap_load(struct plc_device *d, struct snapr *r, const char *prefix,
                         struct err *e)
{
    char sec[160];
    snprintf(sec, sizeof sec, "%s/plc", prefix);
    if (plc_snap_load(d->plc, r, sec, e) != 0)
        return -1;
    snprintf(sec, sizeof sec, "%s/modbus", prefix);
    return mb_server_snap_load(d->srv, r, sec, e);
}
