/* sensor.c — transmitters and switches, each sampling at its own period.
 *
 * Transmitter, at each sample of period Ts:
 *   f <- f + a (x - f),  a = 1 - exp(-Ts / lag)     (first-order lag)
 *   y  = f + noise * N(0,1) + offset + drift        (faults add here)
 *   raw = round(raw_lo + (y - lo) / (hi - lo) * (raw_hi - raw_lo)), clamped
 * and it reports raw (to a PLC input) and the value raw stands for. Faults:
 * stuck (holds its last report), drift (an error growing at drift_rate),
 * offset (a constant error), dead (reports the bottom of its raw range).
 * The noise is drawn at every sample whatever the fault, so a run with a
 * fault differs from a healthy one only while the fault lasts.
 *
 * Switch, at each sample: active when x >= setpoint (or <= for a low
 * switch), released when x falls back past setpoint -/+ hysteresis. Faults:
 * stuck, dead (reports 0), on (reports 1).
 */
#include <math.h>

#include "sim/plant_int.h"

double transmitter_truth(const struct plant *p, const struct transmitter *t)
{
    if (t->sig_field)
        return *t->sig_field * t->sig_scale;
    return plant_signal(p, t->src, t->sig);
}

/* Inline in the group loop below: a sample group is the hot path. */
static inline __attribute__((always_inline)) void tx_sample(const struct plant *p,
                                                           struct transmitter *t)
{
    double x = transmitter_truth(p, t);
    if (!t->started) {
        t->filt = x;
        t->started = 1;
    } else {
        t->filt += t->alpha * (x - t->filt);
    }
    double n = t->noise > 0 ? t->noise * rng_normal(&t->c.rng) : 0.0;
    if (t->fault == FAULT_DRIFT)
        t->drift_acc += t->drift_rate * vt_to_sec(t->period);
    if (t->fault == FAULT_STUCK)
        return;
    double raw;
    if (t->fault == FAULT_DEAD) {
        raw = t->raw_min; /* the bottom of the input's range */
    } else {
        double y = t->filt + n;
        if (t->fault == FAULT_OFFSET)
            y += t->offset;
        if (t->fault == FAULT_DRIFT)
            y += t->drift_acc;
        raw = t->raw_lo + (y - t->lo) * t->raw_per_unit;
        double rmin = t->raw_min, rmax = t->raw_max;
        if (!(raw >= rmin)) /* NaN too: the cast below must see a number */
            raw = rmin;
        if (raw > rmax)
            raw = rmax;
        raw = (double)(int64_t)(raw + 0.5); /* counts are >= 0: round half up */
    }
    t->raw = raw;
    t->value = t->lo + (raw - t->raw_lo) * t->unit_per_raw;
}

int switch_eval(const struct sw *s, double x, int prev)
{
    if (s->above) {
        if (x >= s->setpoint)
            return 1;
        if (x <= s->setpoint - s->hysteresis)
            return 0;
    } else {
        if (x <= s->setpoint)
            return 1;
        if (x >= s->setpoint + s->hysteresis)
            return 0;
    }
    return prev;
}

static inline __attribute__((always_inline)) void sw_sample(const struct plant *p, struct sw *s)
{
    double x = s->sig_field ? *s->sig_field * s->sig_scale : plant_signal(p, s->src, s->sig);
    s->healthy = switch_eval(s, x, s->healthy);
    switch (s->fault) {
    case FAULT_STUCK: break;
    case FAULT_DEAD: s->state = 0; break;
    case FAULT_ON: s->state = 1; break;
    default: s->state = s->healthy; break;
    }
}

void transmitter_sample(const struct plant *p, struct transmitter *t)
{
    tx_sample(p, t);
}

void switch_sample(const struct plant *p, struct sw *s)
{
    sw_sample(p, s);
}

void sensor_group_sample(void *ctx, vtime_t now)
{
    struct sensor_group *g = ctx;
    g->next = now + g->period; /* a snapshot saves it */
    for (size_t i = 0; i < g->n; i++) {
        struct comp *c = g->p->comps[g->comps[i]];
        if (c->kind == K_TRANSMITTER)
            tx_sample(g->p, (struct transmitter *)c);
        else
            sw_sample(g->p, (struct sw *)c);
    }
}
