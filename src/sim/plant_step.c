/* plant_step.c — one physics step of dt: flows, conservation, overflow.
 *
 * The step runs at virtual time t and integrates [t - dt, t] (explicit
 * Euler on the state at t - dt):
 *   1. demand of each consumer at t - dt;
 *   2. each flow element's volume q dt: sources, pumps, orifice valves;
 *   3. consumers take at most their demand (feeders scaled in proportion);
 *   4. no tank gives more than it holds plus what enters it this step
 *      (outflows scaled in proportion, upstream tanks first, repeated until
 *      nothing changes);
 *   5. volumes move; a tank above its rim overflows (spilled, or returned
 *      to the source);
 *   6. actuators move (pump spin-up, valve travel), pumps accumulate dry-run
 *      and dead-head time and damage, dosing water advances in its pipe.
 * Every volume that moves is counted exactly once, so the balance
 *   inflow - outflow - spilled - returned - (V - V0) = 0
 * holds to rounding (totals use compensated sums).
 */
#include <math.h>
#include <stdlib.h>

#include "sim/plant_int.h"

static int is_tank(const struct plant *p, int i)
{
    return i >= 0 && p->comps[i]->kind == K_TANK;
}

/* Orders tanks so that a tank comes after every tank that feeds it (Kahn's
 * algorithm over pump and valve edges); tanks in a cycle keep file order. */
int plant_order_tanks(struct plant *p, struct err *e)
{
    size_t nt = p->nby_kind[K_TANK];
    p->tank_order = malloc((nt ? nt : 1) * sizeof *p->tank_order);
    int *indeg = calloc(p->ncomps ? p->ncomps : 1, sizeof *indeg);
    char *done = calloc(p->ncomps ? p->ncomps : 1, 1);
    if (!p->tank_order || !indeg || !done) {
        free(indeg);
        free(done);
        return err_set(e, "out of memory");
    }
    for (size_t i = 0; i < p->ncomps; i++) {
        const struct comp *c = p->comps[i];
        int from = -1, to = -1;
        if (c->kind == K_PUMP) {
            from = ((const struct pump *)c)->from;
            to = ((const struct pump *)c)->to;
        } else if (c->kind == K_VALVE) {
            from = ((const struct valve *)c)->from;
            to = ((const struct valve *)c)->to;
        }
        if (is_tank(p, from) && is_tank(p, to) && from != to)
            indeg[to]++;
    }
    size_t n = 0;
    for (;;) {
        int picked = -1;
        for (size_t k = 0; k < nt; k++) {
            int t = p->by_kind[K_TANK][k];
            if (!done[t] && indeg[t] == 0) {
                picked = t;
                break;
            }
        }
        if (picked < 0) /* a cycle: take the first remaining in file order */
            for (size_t k = 0; k < nt; k++)
                if (!done[p->by_kind[K_TANK][k]]) {
                    picked = p->by_kind[K_TANK][k];
                    break;
                }
        if (picked < 0)
            break;
        done[picked] = 1;
        p->tank_order[n++] = picked;
        for (size_t i = 0; i < p->ncomps; i++) {
            const struct comp *c = p->comps[i];
            int from = -1, to = -1;
            if (c->kind == K_PUMP) {
                from = ((const struct pump *)c)->from;
                to = ((const struct pump *)c)->to;
            } else if (c->kind == K_VALVE) {
                from = ((const struct valve *)c)->from;
                to = ((const struct valve *)c)->to;
            }
            if (from == picked && is_tank(p, to) && to != picked)
                indeg[to]--;
        }
    }
    free(indeg);
    free(done);
    return 0;
}

/* Consumers take at most their demand: feeders scaled in proportion. */
static void limit_consumers(struct plant *p, double dt)
{
    for (size_t k = 0; k < p->nconsumers; k++) {
        const struct consumer *c = p->consumers[k];
        if (c->mode == DEMAND_UNLIMITED)
            continue;
        int ci = p->by_kind[K_CONSUMER][k];
        double want = c->demand * dt, sum = p->node_in[ci];
        if (sum <= want)
            continue;
        if (c->feeder_slot >= 0) {
            /* one feeder: it delivers the demand */
            struct xfer *x = &p->xf[c->feeder_slot];
            if (x->src >= 0)
                p->node_out[x->src] -= x->v - want;
            x->v = want;
            p->node_in[ci] = want;
            continue;
        }
        double f = sum > 0 ? want / sum : 0;
        for (size_t i = 0; i < p->nxf; i++) {
            struct xfer *x = &p->xf[i];
            if (x->dst == ci) {
                double nv = x->v * f;
                if (x->src >= 0)
                    p->node_out[x->src] -= x->v - nv;
                x->v = nv;
            }
        }
        p->node_in[ci] = want;
    }
}

/* No tank gives more than it holds plus what enters it this step. */
static void limit_tanks(struct plant *p)
{
    size_t nt = p->ntanks;
    for (size_t pass = 0; pass <= nt; pass++) {
        int changed = 0;
        for (size_t k = 0; k < nt; k++) {
            int ti = p->tank_order[k];
            const struct tank *t = (const struct tank *)p->comps[ti];
            double out = p->node_out[ti], avail = t->volume + p->node_in[ti];
            if (!(out > avail) || out <= 0)
                continue;
            double f = avail > 0 ? avail / out : 0;
            for (size_t i = 0; i < p->nxf; i++) {
                struct xfer *x = &p->xf[i];
                if (x->src == ti) {
                    double nv = x->v * f;
                    p->node_in[x->dst] -= x->v - nv;
                    x->v = nv;
                }
            }
            p->node_out[ti] = avail;
            changed = 1;
        }
        if (!changed)
            break;
    }
}

void plant_step(struct plant *p, vtime_t now)
{
    /* Counts and arrays in locals: the stores below cannot then make the
     * compiler reload them. */
    const double dt = p->dt_s, inv_dt = p->inv_dt;
    const vtime_t t0 = now - p->dt;
    struct xfer *const xf = p->xf;
    double *const in = p->node_in, *const out = p->node_out;
    struct comp *const *const comps = p->comps;
    const size_t nsources = p->nsources, npumps = p->npumps, norifices = p->norifices;
    const size_t ntanks = p->ntanks, nconsumers = p->nconsumers, nnodes = p->nnodes;
    size_t nx = 0;

    for (size_t k = 0; k < nnodes; k++)
        in[p->nodes[k]] = out[p->nodes[k]] = 0;

    /* 1. demand */
    for (size_t k = 0; k < nconsumers; k++)
        consumer_update(p, p->consumers[k], t0);

    /* 2. flow elements, on the state at t0; pump conditions on the same
     * state. Slots: sources, then pumps, then orifice valves; each slot's
     * element and nodes were set at attach. */
    for (size_t k = 0; k < nsources; k++, nx++) {
        double v = p->sources[k]->flow * dt;
        xf[nx].v = v;
        in[xf[nx].dst] += v;
    }
    for (size_t k = 0; k < npumps; k++, nx++) {
        struct pump *u = p->pumps[k];
        double q = 0, suction = pump_suction(p, u), inline_x = 1.0, inline_pos = 1.0;
        if (u->valve >= 0) {
            const struct valve *v = (const struct valve *)comps[u->valve];
            inline_x = valve_char(v, v->pos);
            inline_pos = v->pos;
        }
        int alive = u->damage < 1.0;
        int running = u->speed > u->run_threshold && alive;
        u->dry_now = running && suction < 1.0;
        u->dead_now = running && inline_pos < u->deadhead_opening;
        if (alive)
            q = u->speed * u->max_flow * suction * inline_x;
        double v = q * dt;
        xf[nx].v = v;
        out[u->from] += v;
        in[u->to] += v;
    }
    for (size_t k = 0; k < norifices; k++, nx++) {
        const struct valve *v = p->orifices[k];
        double q = valve_capacity(p, v);
        struct xfer *x = &xf[nx];
        if (q >= 0) {
            x->src = v->from;
            x->dst = v->to;
            x->v = q * dt;
            x->reversed = 0;
        } else {
            x->src = v->to;
            x->dst = v->from;
            x->v = -q * dt;
            x->reversed = 1;
        }
        out[x->src] += x->v;
        in[x->dst] += x->v;
    }

    /* 3-4. limits */
    limit_consumers(p, dt);
    limit_tanks(p);

    /* 5. move the water: element flows and totals, then node volumes */
    nx = 0;
    double inflow = 0, outflow = 0;
    for (size_t k = 0; k < nsources; k++, nx++) {
        double v = xf[nx].v;
        p->sources[k]->total += v;
        inflow += v;
    }
    for (size_t k = 0; k < npumps; k++, nx++) {
        struct pump *u = p->pumps[k];
        double v = xf[nx].v;
        u->flow = v * inv_dt;
        u->total += v;
    }
    for (size_t k = 0; k < norifices; k++, nx++) {
        struct valve *vv = p->orifices[k];
        double v = xf[nx].v;
        vv->flow = xf[nx].reversed ? -v * inv_dt : v * inv_dt;
        vv->total += v;
    }
    const int *tank_idx = p->by_kind[K_TANK];
    for (size_t k = 0; k < ntanks; k++) {
        int ti = tank_idx[k];
        struct tank *t = p->tanks[k];
        double vol = t->volume + (in[ti] - out[ti]);
        if (vol > t->vmax) {
            double excess = vol - t->vmax;
            vol = t->vmax;
            if (t->overflow_return) {
                ksum_add(&t->returned_k, excess);
                t->returned = ksum_get(&t->returned_k);
            } else {
                ksum_add(&t->spilled_k, excess);
                t->spilled = ksum_get(&t->spilled_k);
            }
        } else if (vol < 0) {
            vol = 0; /* rounding residue only (about 1e-20 m3) */
        }
        t->volume = vol;
        double h = vol * t->inv_area;
        if (h > t->max_level)
            t->max_level = h;
    }
    for (size_t k = 0; k < p->nsinks; k++) {
        int si = p->by_kind[K_SINK][k];
        struct sink *s = p->sinks[k];
        s->flow = in[si] * inv_dt;
        s->total += in[si];
        outflow += in[si];
    }

    /* 6. actuators and downstream effects */
    for (size_t k = 0; k < npumps; k++) {
        struct pump *u = p->pumps[k];
        pump_advance(u, dt, u->dry_now, u->dead_now);
    }
    for (size_t k = 0, n = p->nvalves; k < n; k++)
        valve_advance(p->valves[k], dt);
    const int *cons_idx = p->by_kind[K_CONSUMER];
    for (size_t k = 0; k < nconsumers; k++) {
        struct consumer *c = p->consumers[k];
        double got = in[cons_idx[k]];
        outflow += got;
        c->flow = got * inv_dt;
        c->total += got;
        if (c->mode != DEMAND_UNLIMITED) {
            double short_v = c->demand * dt - got;
            if (short_v > 0)
                c->unmet += short_v;
        }
    }
    for (size_t k = 0, n = p->ndosings; k < n; k++) {
        struct dosing *d = p->dosings[k];
        const struct xfer *x = &xf[p->slot_of[d->line]];
        dosing_advance(d, x->reversed ? 0 : x->v, dt);
    }
    /* the balance totals: a plain sum over a block of steps is exact to
     * rounding of its small magnitude; blocks enter compensated sums */
    p->inflow_block += inflow;
    p->outflow_block += outflow;
    if (++p->block_steps >= 1024)
        plant_flush_totals(p);
    p->now = now;
}

void plant_flush_totals(struct plant *p)
{
    ksum_add(&p->inflow, p->inflow_block);
    ksum_add(&p->outflow, p->outflow_block);
    p->inflow_block = p->outflow_block = 0;
    p->block_steps = 0;
}

void plant_physics_task(void *ctx, vtime_t now)
{
    struct plant *p = ctx;
    vtime_t horizon = sched_horizon(p->sched), t = now;
    do {
        plant_step(p, t);
        p->steps++;
        t += p->dt;
    } while (t <= horizon);
    sched_at(p->sched, t, SCHED_PRIO_PHYSICS, plant_physics_task, p);
}
