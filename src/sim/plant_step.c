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
 *
 * The physics task runs the steps of a batch (up to the scheduler's horizon)
 * in one call, with each step's loops inlined: a loop per kind over typed
 * arrays, the demand computed in the consumers' limit loop (nothing reads
 * it before), and the node sums zeroed by the loops that consume them. A
 * flat list of operations dispatched by computed goto was tried: fewer
 * instructions, but slower on the benchmark machine (an indirect jump per
 * element).
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

/* Demand at t0 (step 1, which nothing before step 3 reads), then
 * consumers take at most their demand: feeders scaled in proportion. */
static inline void limit_consumers(struct plant *p, vtime_t t0, double dt, double *in,
                                   double *out)
{
    if (__builtin_expect(t0 >= p->knot_due, 0))
        plant_advance_demand(p, t0);
    for (size_t k = 0, n = p->nconsumers; k < n; k++) {
        struct consumer *c = p->consumers[k];
        consumer_update(c, t0);
        if (c->mode == DEMAND_UNLIMITED)
            continue;
        int ci = p->by_kind[K_CONSUMER][k];
        double want = c->demand * dt, sum = in[ci];
        if (sum <= want)
            continue;
        if (c->feeder_slot >= 0) {
            /* one feeder: it delivers the demand */
            struct xfer *x = &p->xf[c->feeder_slot];
            if (x->src >= 0)
                out[x->src] -= x->v - want;
            x->v = want;
            in[ci] = want;
            continue;
        }
        double f = sum > 0 ? want / sum : 0;
        for (size_t i = 0; i < p->nxf; i++) {
            struct xfer *x = &p->xf[i];
            if (x->dst == ci) {
                double nv = x->v * f;
                if (x->src >= 0)
                    out[x->src] -= x->v - nv;
                x->v = nv;
            }
        }
        in[ci] = want;
    }
}

/* No tank gives more than it holds plus what enters it this step. */
static inline void limit_tanks(struct plant *p, double *in, double *out)
{
    size_t nt = p->ntanks;
    for (size_t pass = 0; pass <= nt; pass++) {
        int changed = 0;
        for (size_t k = 0; k < nt; k++) {
            int ti = p->tank_order[k];
            const struct tank *t = (const struct tank *)p->comps[ti];
            double o = out[ti], avail = t->volume + in[ti];
            if (!(o > avail) || o <= 0)
                continue;
            double f = avail > 0 ? avail / o : 0;
            for (size_t i = 0; i < p->nxf; i++) {
                struct xfer *x = &p->xf[i];
                if (x->src == ti) {
                    double nv = x->v * f;
                    in[x->dst] -= x->v - nv;
                    x->v = nv;
                }
            }
            out[ti] = avail;
            changed = 1;
        }
        if (!changed)
            break;
    }
}

/* One step ending at `now`. Inlined into the batch loop of
 * plant_physics_task(), so the step's arrays and counts are loaded once a
 * batch, not once a step. */
static inline __attribute__((always_inline)) void step(struct plant *p, vtime_t now)
{
    const double dt = p->dt_s, inv_dt = p->inv_dt;
    const vtime_t t0 = now - p->dt;
    struct xfer *const xf = p->xf;
    double *const in = p->node_in, *const out = p->node_out;
    size_t nx = 0;

    /* in[] and out[] are zero here: zeroed at attach, and after each use
     * by the node loops of phase 5 (every node is a tank, a sink or a
     * consumer) */

    /* 2. flow elements, on the state at t0; pump conditions on the same
     * state. Slots: sources, then pumps, then orifice valves; each slot's
     * element and nodes were set at attach. */
    for (size_t k = 0, n = p->nsources; k < n; k++, nx++) {
        double v = p->sources[k]->flow * dt;
        xf[nx].v = v;
        in[xf[nx].dst] += v;
    }
    for (size_t k = 0, n = p->npumps; k < n; k++, nx++) {
        struct pump *u = p->pumps[k];
        double q = 0, suction = pump_suction(u), inline_x = 1.0, inline_pos = 1.0;
        const struct valve *iv = u->inline_valve;
        if (iv) {
            inline_pos = iv->pos;
            inline_x = valve_char(iv, inline_pos);
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
    for (size_t k = 0, n = p->norifices; k < n; k++, nx++) {
        const struct valve *v = p->orifices[k];
        double q = valve_capacity(p, v);
        struct xfer *x = &xf[nx];
        int src = v->from, dst = v->to, rev = !(q >= 0);
        if (rev) {
            src = v->to;
            dst = v->from;
            q = -q;
        }
        double vol = q * dt;
        x->src = src;
        x->dst = dst;
        x->v = vol;
        x->reversed = rev;
        out[src] += vol;
        in[dst] += vol;
    }

    /* 1, 3-4. demand, limits */
    limit_consumers(p, t0, dt, in, out);
    limit_tanks(p, in, out);

    /* 5-6. move the water (element flows and totals, node volumes), move
     * the actuators (pump spin-up and damage on the conditions at the
     * step's start, valve travel), downstream effects */
    nx = 0;
    double inflow = 0, outflow = 0;
    for (size_t k = 0, n = p->nsources; k < n; k++, nx++) {
        double v = xf[nx].v;
        p->sources[k]->total += v;
        inflow += v;
    }
    for (size_t k = 0, n = p->npumps; k < n; k++, nx++) {
        struct pump *u = p->pumps[k];
        double v = xf[nx].v;
        u->flow = v * inv_dt;
        u->total += v;
        pump_advance(u, dt, u->dry_now, u->dead_now);
    }
    for (size_t k = 0, n = p->norifices; k < n; k++, nx++) {
        struct valve *vv = p->orifices[k];
        double v = xf[nx].v;
        vv->flow = xf[nx].reversed ? -v * inv_dt : v * inv_dt;
        vv->total += v;
        valve_advance(vv, dt);
    }
    for (size_t k = 0, n = p->ninline; k < n; k++)
        valve_advance(p->inline_valves[k], dt);
    for (size_t k = 0, n = p->ntanks; k < n; k++) {
        int ti = p->by_kind[K_TANK][k];
        struct tank *t = p->tanks[k];
        double vol = t->volume + (in[ti] - out[ti]);
        in[ti] = out[ti] = 0;
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
    for (size_t k = 0, n = p->nsinks; k < n; k++) {
        int si = p->by_kind[K_SINK][k];
        struct sink *s = p->sinks[k];
        double got = in[si];
        in[si] = out[si] = 0;
        s->flow = got * inv_dt;
        s->total += got;
        outflow += got;
    }
    for (size_t k = 0, n = p->nconsumers; k < n; k++) {
        struct consumer *c = p->consumers[k];
        int ci = p->by_kind[K_CONSUMER][k];
        double got = in[ci];
        in[ci] = out[ci] = 0;
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
        const struct xfer *x = &xf[d->line_slot];
        dosing_advance(d, x->reversed ? 0 : x->v, dt);
    }
    /* the balance totals: a plain sum over a block of steps is exact to
     * rounding of its small magnitude; blocks enter compensated sums */
    p->inflow_block += inflow;
    p->outflow_block += outflow;
    if (++p->block_steps >= 1024)
        plant_flush_totals(p);
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
    uint64_t n = 0;
    do {
        step(p, t);
        n++;
        t += p->dt;
    } while (t <= horizon);
    p->now = t - p->dt;
    p->steps += n;
    sched_at(p->sched, t, SCHED_PRIO_PHYSICS, plant_physics_task, p);
}
