/* plant_snap.c — the plant's snapshot: its whole dynamic state in section
 * "plant" of a snapshot (see plant.h and core/snap.h).
 *
 * This file owns the split of struct plant and its components into
 * configuration (rebuilt by plant_load() and plant_attach() from the same
 * plant file), per-step scratch (rewritten before it is read in every
 * step) and state (saved). The list below is that classification, field by
 * field, in the order of plant_int.h; `visit()` walks the state in the same
 * order. A field added to plant_int.h must be added here, and the size
 * checks at the end of this comment fail the build until it is.
 *
 *   struct comp        kind, id, node, csv: config    rng: STATE
 *   struct tank        area, inv_area, height, elevation, vmax, volume0,
 *                      overflow_return: config
 *                      volume, max_level, spilled_k, returned_k, spilled,
 *                      returned: STATE            in_v, out_v: scratch (unused)
 *   struct source      to: config                 flow (a command), total: STATE
 *   struct sink        total, flow: STATE
 *   struct consumer    dmin, dmax, profile, noise, noise_tau, utc_offset,
 *                      nfeeders, feeder_slot (attach): config
 *                      mode (a command), ou, d_prev, d_next, t_prev, t_next,
 *                      demand, flow, total, unmet: STATE
 *   struct valve       from, to, submerged, cd, orifice_area,
 *                      outlet_elevation, characteristic, rangeability,
 *                      travel_time, up_tank, down_tank (attach): config
 *                      cmd, pos, permit, flow, total: STATE
 *   struct pump        from, to, valve, max_flow, spin_up, spin_alpha
 *                      (attach), suction_level, dry_rate, dead_rate,
 *                      deadhead_opening, run_threshold, suction_tank,
 *                      inline_valve (attach): config
 *                      run, permit, speed_ref, speed, damage, dry_s, dead_s,
 *                      flow, total: STATE          dry_now, dead_now: scratch
 *   struct dosing      line, line_slot (attach), setpoint_max, capacity,
 *                      pipe_volume, chem: config
 *                      setpoint (a command), conc_dose, conc_out,
 *                      max_conc_out, dosed, the pipe's segments (ring, n; cap
 *                      kept so a restored ring grows and merges alike; head
 *                      is not: segments are saved oldest first), ph_for,
 *                      ph_value (the pH cache: its value seeds the next
 *                      solve, so it changes later bits): STATE
 *   struct transmitter src, sig, dim, lo, hi, raw_lo, raw_hi, raw_min,
 *                      raw_max, raw_per_unit, unit_per_raw, lag, period,
 *                      alpha, unit, unit_factor, decimals, sig_field,
 *                      sig_scale (attach): config
 *                      noise, fault, drift_rate, offset (commands),
 *                      drift_acc, filt, raw, value, started: STATE
 *   struct sw          src, sig, dim, setpoint, hysteresis, above, period,
 *                      sig_field, sig_scale (attach): config
 *                      fault, state, healthy: STATE
 *   struct xfer        elem (attach): config      src, dst, v, reversed: scratch
 *   struct sensor_group p, period, comps, n: config (built at load)
 *                      next: STATE (the group's next sample)
 *   struct plant       name, start_unix_ns, dt, dt_s, gravity, comps, ncomps,
 *                      by_kind, nby_kind, tank_order, cols, ncols, wires,
 *                      wire_devices, nwires, nwire_devices, groups,
 *                      group_members, ngroups, and what attach builds (xf,
 *                      nxf, slot_of, the typed views and their counts,
 *                      inv_dt): config
 *                      node_in, node_out: scratch (zero between steps)
 *                      sched, attached, steps, knot_due: the run's own
 *                      (not saved; knot_due is found again at the first step)
 *                      now (saved as the time of the next step, now + dt),
 *                      inflow, outflow, inflow_block, outflow_block,
 *                      block_steps: STATE
 *                      resumed, resume_at: set by a restore (saved as the
 *                      snapshot's instant)
 *
 * Section "plant", in order (integers little-endian, doubles as their bits):
 *   fingerprint: str name, u32 ncomps, i64 dt, per component str id, str type
 *   u8 has_times; if 1: i64 taken_at (the clock), i64 next_step,
 *      u32 ngroups, per group i64 period, i64 next
 *   totals: f64 inflow.s, inflow.c, outflow.s, outflow.c, inflow_block,
 *      outflow_block, i64 block_steps
 *   per component, file order: u64 rng[4], then its kind's STATE fields in
 *      the order of the list above (ints as i64, flags and enums checked
 *      against their range on load)
 * A plant never attached has no times (has_times 0): restored, it starts
 * afresh at its attach like the plant it was saved from.
 *
 * Checked on load, besides the fingerprint: the instant within 0 .. a
 * century (later time sums cannot overflow), the next step within one dt
 * after it, each group's next sample within one period after it, each
 * consumer's demand knots one second apart around the last step (no
 * catching up second by second), flags and enums in range, the pipe's
 * ring, and no byte left over. Doubles are taken as they are (bit-exact).
 * docs/snapshots.md describes the section for users.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/snap.h"
#include "sim/plant_int.h"

/* The size checks: a structure that grows stops the build here until its
 * new fields are classified above (and saved, if they are state). LP64
 * only; a field that fits in padding slips through, so read the list. */
#if defined(__LP64__)
#define SNAP_SIZE(type, n) \
    _Static_assert(sizeof(type) == (n), #type " changed: classify its fields in plant_snap.c")
SNAP_SIZE(struct comp, 96);
SNAP_SIZE(struct tank, 232);
SNAP_SIZE(struct source, 120);
SNAP_SIZE(struct sink, 112);
SNAP_SIZE(struct consumer, 416);
SNAP_SIZE(struct valve, 216);
SNAP_SIZE(struct pump, 264);
SNAP_SIZE(struct dosing, 264);
SNAP_SIZE(struct transmitter, 312);
SNAP_SIZE(struct sw, 176);
SNAP_SIZE(struct xfer, 32);
SNAP_SIZE(struct sensor_group, 40);
SNAP_SIZE(struct plant, 576);
#endif

#define SECTION "plant"
/* A bound on a dosing pipe's segment ring (dosing.c caps it at 65536), so
 * a bad count cannot ask for a huge allocation. */
#define RING_CAP_LIMIT ((uint64_t)1 << 20)
/* A bound on the snapshot's instant: a century of virtual time keeps every
 * later time sum (plant start + t, t + period) far from overflowing. */
#define TIME_LIMIT (36525 * VT_DAY)

/* One walk over the state: writing to w, or reading from r, first to check
 * every value (apply 0, the plant untouched) and then to store them
 * (apply 1, which cannot fail). */
struct pass {
    struct snapw *w;         /* writing; else reading r */
    struct snapr *r;
    int apply;               /* reading: store the values */
    const char *who;         /* component being visited, for messages */
    struct dose_seg **rings; /* reading: each dosing skid's new ring (the check makes them) */
    size_t ndose;            /* dosing skids visited so far */
    int timed;               /* reading: the section has times */
    vtime_t last_step;       /* reading, if timed: the time of the last step (p->now) */
    vtime_t dt;
};

static int reading_failed(const struct pass *ps)
{
    return !ps->w && snapr_ok(ps->r, NULL) != 0;
}

static void v_f64(struct pass *ps, double *v)
{
    if (ps->w) {
        snapw_f64(ps->w, *v);
        return;
    }
    double x = snapr_f64(ps->r);
    if (ps->apply)
        *v = x;
}

static void v_u64(struct pass *ps, uint64_t *v)
{
    if (ps->w) {
        snapw_u64(ps->w, *v);
        return;
    }
    uint64_t x = snapr_u64(ps->r);
    if (ps->apply)
        *v = x;
}

/* Returns the value written or read (for checks of the check pass). */
static int64_t v_i64(struct pass *ps, int64_t *v)
{
    if (ps->w) {
        snapw_i64(ps->w, *v);
        return *v;
    }
    int64_t x = snapr_i64(ps->r);
    if (ps->apply)
        *v = x;
    return x;
}

/* An int (flag, enum or count) that must lie in [lo, hi]. */
static void v_int(struct pass *ps, int *v, int lo, int hi, const char *what)
{
    if (ps->w) {
        snapw_i64(ps->w, *v);
        return;
    }
    int64_t x = snapr_i64(ps->r);
    if (reading_failed(ps))
        return;
    if (x < lo || x > hi) {
        snapr_fail(ps->r, "%s: %s is %lld, outside %d..%d", ps->who, what, (long long)x, lo, hi);
        return;
    }
    if (ps->apply)
        *v = (int)x;
}

/* An enum field through an int. */
#define V_ENUM(ps, field, hi, what)            \
    do {                                       \
        int v_ = (int)(field);                 \
        v_int((ps), &v_, 0, (hi), (what));     \
        if ((ps)->apply)                       \
            (field) = v_;                      \
    } while (0)

static void v_ksum(struct pass *ps, struct ksum *k)
{
    v_f64(ps, &k->s);
    v_f64(ps, &k->c);
}

/* ---- the fingerprint: the same plant, component for component ---- */

static int fingerprint(struct pass *ps, const struct plant *p)
{
    if (ps->w) {
        snapw_str(ps->w, p->name);
        snapw_u32(ps->w, (uint32_t)p->ncomps);
        snapw_i64(ps->w, p->dt);
        for (size_t i = 0; i < p->ncomps; i++) {
            snapw_str(ps->w, p->comps[i]->id);
            snapw_str(ps->w, plant_comp_type(p, i));
        }
        return 0;
    }
    struct snapr *r = ps->r;
    const char *name = snapr_str(r);
    uint32_t n = snapr_u32(r);
    int64_t dt = snapr_i64(r);
    if (reading_failed(ps))
        return -1;
    if (!name || strcmp(name, p->name) != 0 || n != p->ncomps) {
        snapr_fail(r, "snapshot is of plant '%s' (%u components), this plant is '%s' (%zu "
                   "components)", name ? name : "?", n, p->name, p->ncomps);
        return -1;
    }
    if (dt != p->dt) {
        char a[64], b[64];
        snapr_fail(r, "snapshot of plant '%s' steps at dt %s, this plant at %s", p->name,
                   vt_format_duration(dt, a, sizeof a), vt_format_duration(p->dt, b, sizeof b));
        return -1;
    }
    for (size_t i = 0; i < p->ncomps; i++) {
        const char *id = snapr_str(r), *type = snapr_str(r);
        if (reading_failed(ps))
            return -1;
        const char *my_type = plant_comp_type(p, i);
        if (!id || !type || strcmp(id, p->comps[i]->id) != 0 || strcmp(type, my_type) != 0) {
            snapr_fail(r, "snapshot is of plant '%s' (%u components), this plant is '%s' "
                       "(%zu components), and component %zu is '%s' (%s) in the snapshot, "
                       "'%s' (%s) here", name, n, p->name, p->ncomps, i + 1, id ? id : "?",
                       type ? type : "?", p->comps[i]->id, my_type);
            return -1;
        }
    }
    return 0;
}

/* ---- times: the snapshot's instant, the next step and samples ---- */

static void visit_times(struct pass *ps, struct plant *p)
{
    if (ps->w) {
        int has = p->attached || p->resumed;
        snapw_u8(ps->w, (uint8_t)has);
        if (!has)
            return;
        snapw_i64(ps->w, p->attached ? sched_now(p->sched) : p->resume_at);
        snapw_i64(ps->w, p->now + p->dt);
        snapw_u32(ps->w, (uint32_t)p->ngroups);
        for (size_t g = 0; g < p->ngroups; g++) {
            snapw_i64(ps->w, p->groups[g].period);
            snapw_i64(ps->w, p->groups[g].next);
        }
        return;
    }
    struct snapr *r = ps->r;
    uint8_t has = snapr_u8(r);
    if (reading_failed(ps))
        return;
    if (has > 1) {
        snapr_fail(r, "times flag %u", has);
        return;
    }
    if (ps->apply)
        p->resumed = has;
    if (!has)
        return;
    vtime_t at = snapr_i64(r), next_step = snapr_i64(r);
    uint32_t ng = snapr_u32(r);
    if (reading_failed(ps))
        return;
    if (at < 0 || at > TIME_LIMIT) {
        char a[64];
        snapr_fail(r, "snapshot taken at %s of virtual time, outside 0 .. a century",
                   vt_format_duration(at, a, sizeof a));
        return;
    }
    if (next_step < at || next_step - p->dt > at) {
        snapr_fail(r, "next step at %lld ns does not follow the snapshot's instant %lld ns",
                   (long long)next_step, (long long)at);
        return;
    }
    if (ng != p->ngroups) {
        snapr_fail(r, "%u sensor sample groups, the plant has %zu", ng, p->ngroups);
        return;
    }
    ps->timed = 1;
    ps->last_step = next_step - p->dt;
    if (ps->apply) {
        p->resume_at = at;
        p->now = next_step - p->dt;
    }
    for (size_t g = 0; g < ng; g++) {
        struct sensor_group *grp = &p->groups[g];
        vtime_t per = snapr_i64(r), next = snapr_i64(r);
        if (reading_failed(ps))
            return;
        if (per != grp->period || next < at || next - per > at) {
            snapr_fail(r, "sample group %zu: period %lld ns, next at %lld ns (the plant's "
                       "period is %lld ns)", g + 1, (long long)per, (long long)next,
                       (long long)grp->period);
            return;
        }
        if (ps->apply)
            grp->next = next;
    }
}

/* ---- components ---- */

static void visit_dosing(struct pass *ps, struct dosing *d)
{
    v_f64(ps, &d->setpoint);
    v_f64(ps, &d->conc_dose);
    v_f64(ps, &d->conc_out);
    v_f64(ps, &d->max_conc_out);
    v_f64(ps, &d->dosed);
    v_f64(ps, &d->ph_for);
    v_f64(ps, &d->ph_value);
    size_t k = ps->ndose++;
    if (ps->w) {
        snapw_u64(ps->w, d->cap);
        snapw_u64(ps->w, d->n);
        for (size_t i = 0; i < d->n; i++) {
            const struct dose_seg *s = &d->ring[(d->head + i) & (d->cap - 1)];
            snapw_f64(ps->w, s->vol);
            snapw_f64(ps->w, s->conc);
        }
        return;
    }
    uint64_t cap = snapr_u64(ps->r), n = snapr_u64(ps->r);
    if (reading_failed(ps))
        return;
    if (cap == 0 || (cap & (cap - 1)) != 0 || cap > RING_CAP_LIMIT || n > cap) {
        snapr_fail(ps->r, "%s: %llu pipe segments in a ring of %llu", ps->who,
                   (unsigned long long)n, (unsigned long long)cap);
        return;
    }
    struct dose_seg *ring = ps->rings[k];
    if (!ring) {
        ring = ps->rings[k] = calloc((size_t)cap, sizeof *ring);
        if (!ring) {
            snapr_fail(ps->r, "%s: out of memory", ps->who);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        ring[i].vol = snapr_f64(ps->r);
        ring[i].conc = snapr_f64(ps->r);
    }
    if (ps->apply) {
        free(d->ring);
        d->ring = ring;
        ps->rings[k] = NULL;
        d->cap = (size_t)cap;
        d->n = (size_t)n;
        d->head = 0;
    }
}

static void visit_comp(struct pass *ps, struct comp *c)
{
    ps->who = c->id;
    for (int i = 0; i < 4; i++)
        v_u64(ps, &c->rng.s[i]);
    switch (c->kind) {
    case K_TANK: {
        struct tank *t = (struct tank *)c;
        v_f64(ps, &t->volume);
        v_f64(ps, &t->max_level);
        v_ksum(ps, &t->spilled_k);
        v_ksum(ps, &t->returned_k);
        v_f64(ps, &t->spilled);
        v_f64(ps, &t->returned);
        break;
    }
    case K_SOURCE: {
        struct source *s = (struct source *)c;
        v_f64(ps, &s->flow);
        v_f64(ps, &s->total);
        break;
    }
    case K_SINK: {
        struct sink *s = (struct sink *)c;
        v_f64(ps, &s->total);
        v_f64(ps, &s->flow);
        break;
    }
    case K_CONSUMER: {
        struct consumer *k = (struct consumer *)c;
        V_ENUM(ps, k->mode, DEMAND_UNLIMITED, "demand mode");
        v_f64(ps, &k->ou);
        v_f64(ps, &k->d_prev);
        v_f64(ps, &k->d_next);
        vtime_t t_prev = v_i64(ps, &k->t_prev), t_next = v_i64(ps, &k->t_next);
        v_f64(ps, &k->demand);
        v_f64(ps, &k->flow);
        v_f64(ps, &k->total);
        v_f64(ps, &k->unmet);
        /* the demand knots are one second apart around the last step (a
         * fresh attach puts t_prev at it; each step at t0 leaves t_prev <=
         * t0 < t_next); checked so that no time far away makes a step
         * catch up second by second. Without times, attach starts them. */
        if (!ps->w && ps->timed && !reading_failed(ps)) {
            vtime_t last = ps->last_step, lo = last - ps->dt - VT_SEC;
            if (t_prev > last || t_prev <= lo || t_next != t_prev + VT_SEC)
                snapr_fail(ps->r, "%s: demand knots at %lld and %lld ns, the last step at "
                           "%lld ns", ps->who, (long long)t_prev, (long long)t_next,
                           (long long)last);
        }
        break;
    }
    case K_VALVE: {
        struct valve *v = (struct valve *)c;
        v_f64(ps, &v->cmd);
        v_f64(ps, &v->pos);
        v_int(ps, &v->permit, 0, 1, "permit");
        v_f64(ps, &v->flow);
        v_f64(ps, &v->total);
        break;
    }
    case K_PUMP: {
        struct pump *u = (struct pump *)c;
        v_int(ps, &u->run, 0, 1, "run");
        v_int(ps, &u->permit, 0, 1, "permit");
        v_f64(ps, &u->speed_ref);
        v_f64(ps, &u->speed);
        v_f64(ps, &u->damage);
        v_f64(ps, &u->dry_s);
        v_f64(ps, &u->dead_s);
        v_f64(ps, &u->flow);
        v_f64(ps, &u->total);
        break;
    }
    case K_DOSING: visit_dosing(ps, (struct dosing *)c); break;
    case K_TRANSMITTER: {
        struct transmitter *t = (struct transmitter *)c;
        v_f64(ps, &t->noise);
        V_ENUM(ps, t->fault, FAULT_DEAD, "fault");
        v_f64(ps, &t->drift_rate);
        v_f64(ps, &t->offset);
        v_f64(ps, &t->drift_acc);
        v_f64(ps, &t->filt);
        v_f64(ps, &t->raw);
        v_f64(ps, &t->value);
        v_int(ps, &t->started, 0, 1, "started");
        break;
    }
    case K_SWITCH: {
        struct sw *s = (struct sw *)c;
        V_ENUM(ps, s->fault, FAULT_ON, "fault");
        v_int(ps, &s->state, 0, 1, "state");
        v_int(ps, &s->healthy, 0, 1, "healthy");
        break;
    }
    default: break;
    }
}

/* The whole section after its name; stops at a fingerprint mismatch. */
static void visit(struct pass *ps, struct plant *p)
{
    if (fingerprint(ps, p) != 0)
        return;
    visit_times(ps, p);
    ps->who = p->name;
    v_ksum(ps, &p->inflow);
    v_ksum(ps, &p->outflow);
    v_f64(ps, &p->inflow_block);
    v_f64(ps, &p->outflow_block);
    v_int(ps, &p->block_steps, 0, INT_MAX, "block_steps");
    for (size_t i = 0; i < p->ncomps && !reading_failed(ps); i++)
        visit_comp(ps, p->comps[i]);
}

void plant_snap_save(const struct plant *p, struct snapw *w)
{
    struct pass ps = {.w = w};
    snapw_section(w, SECTION);
    /* the writing pass only reads the plant */
    visit(&ps, (struct plant *)p);
}

int plant_snap_load(struct plant *p, struct snapr *r, struct err *e)
{
    if (p->attached)
        return err_set(e, "plant '%s': a snapshot is restored before plant_attach()", p->name);
    if (snapr_section(r, SECTION, e) != 0)
        return -1;
    size_t nd = p->nby_kind[K_DOSING];
    struct pass ps = {.r = r, .dt = p->dt};
    ps.rings = calloc(nd ? nd : 1, sizeof *ps.rings);
    if (!ps.rings)
        return err_set(e, "out of memory");
    visit(&ps, p);
    if (!reading_failed(&ps) && snapr_left(r) != 0)
        snapr_fail(r, "%zu bytes left unread (a snapshot of another version?)", snapr_left(r));
    int rc = snapr_ok(r, e);
    if (rc == 0) {
        /* every value checked: store them, which cannot fail */
        snapr_section(r, SECTION, e);
        ps.apply = 1;
        ps.ndose = 0;
        visit(&ps, p);
        rc = snapr_ok(r, e);
    }
    for (size_t k = 0; k < nd; k++)
        free(ps.rings[k]);
    free(ps.rings);
    return rc;
}
