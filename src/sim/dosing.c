/* dosing.c — flow-paced dosing and plug-flow transport to the consumers.
 *
 * The dosing pump adds mass at setpoint * q (capped by its capacity), so the
 * concentration at the dosing point is min(setpoint, capacity / q). Water
 * then travels through a pipe of fixed volume in plug flow: the pipe is a
 * queue of segments (volume, concentration); each step pushes the dosed
 * water in and the same volume leaves at the consumers' end, mixed. The
 * transport delay is therefore volume / flow, and stops when the flow does.
 */
#include <math.h>
#include <stdlib.h>

#include "sim/plant_int.h"

#define DOSE_RING_MAX 65536

int dosing_init(struct dosing *d, struct err *e)
{
    d->cap = 64;
    d->ring = calloc(d->cap, sizeof *d->ring);
    if (!d->ring)
        return err_set(e, "out of memory");
    d->head = 0;
    d->n = 0;
    if (d->pipe_volume > 0) {
        d->ring[0].vol = d->pipe_volume;
        d->ring[0].conc = d->setpoint; /* steady state at start */
        d->n = 1;
    }
    d->conc_out = d->setpoint;
    d->max_conc_out = d->conc_out;
    d->conc_dose = d->setpoint;
    d->ph_for = NAN;
    d->ph_value = 7.0;
    dosing_ph(d);
    return 0;
}

void dosing_free(struct dosing *d)
{
    free(d->ring);
    d->ring = NULL;
}

/* cap is a power of two */
static struct dose_seg *seg(struct dosing *d, size_t i)
{
    return &d->ring[(d->head + i) & (d->cap - 1)];
}

static int ring_grow(struct dosing *d)
{
    size_t cap = d->cap * 2;
    struct dose_seg *r = malloc(cap * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        r[i] = *seg(d, i);
    free(d->ring);
    d->ring = r;
    d->cap = cap;
    d->head = 0;
    return 0;
}

/* Merges the two adjacent segments with the closest concentrations (a
 * little mixing), to keep memory bounded. */
static void ring_merge_one(struct dosing *d)
{
    size_t best = 0;
    double bestd = INFINITY;
    for (size_t i = 0; i + 1 < d->n; i++) {
        double dd = fabs(seg(d, i)->conc - seg(d, i + 1)->conc);
        if (dd < bestd) {
            bestd = dd;
            best = i;
        }
    }
    struct dose_seg *a = seg(d, best), *b = seg(d, best + 1);
    double v = a->vol + b->vol;
    a->conc = v > 0 ? (a->conc * a->vol + b->conc * b->vol) / v : a->conc;
    a->vol = v;
    for (size_t i = best + 1; i + 1 < d->n; i++)
        *seg(d, i) = *seg(d, i + 1);
    d->n--;
}

void dosing_advance_slow(struct dosing *d, double line_volume, double dt, double c0)
{
    (void)dt;
    d->conc_dose = c0;
    d->dosed += c0 * line_volume;
    if (d->n == 1 && d->ring[d->head].conc == c0) {
        /* the pipe holds one concentration and the same arrives: steady */
        d->conc_out = c0;
    } else if (d->pipe_volume <= 0) {
        d->conc_out = c0;
    } else {
        /* push the new water at the tail */
        if (d->n && seg(d, d->n - 1)->conc == c0) {
            seg(d, d->n - 1)->vol += line_volume;
        } else {
            if (d->n == d->cap && (d->cap >= DOSE_RING_MAX || ring_grow(d) != 0))
                ring_merge_one(d);
            *seg(d, d->n) = (struct dose_seg){line_volume, c0};
            d->n++;
        }
        /* the same volume leaves at the head */
        double left = line_volume, mass = 0;
        while (left > 0 && d->n) {
            struct dose_seg *h = seg(d, 0);
            double take = h->vol < left ? h->vol : left;
            mass += take * h->conc;
            h->vol -= take;
            left -= take;
            if (h->vol <= 0 || (d->n > 1 && h->vol < 1e-15)) {
                d->head = (d->head + 1) & (d->cap - 1);
                d->n--;
            }
        }
        d->conc_out = mass / (line_volume - left);
    }
    if (d->conc_out > d->max_conc_out)
        d->max_conc_out = d->conc_out;
}

double dosing_ph(struct dosing *d)
{
    if (d->conc_out != d->ph_for) {
        d->ph_value = carbonate_ph(&d->chem, d->conc_out, d->ph_value);
        d->ph_for = d->conc_out;
    }
    return d->ph_value;
}
