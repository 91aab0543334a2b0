/* plant_load.c — builds a plant from its YAML file and attaches it to a
 * scheduler (see plant.h; the format is docs/plant-format.md).
 *
 * Loading runs in two passes: the first creates every component with its id
 * and kind, so that references may point forward; the second reads each
 * component's fields, resolves its references and checks every value, and
 * reports the first problem at the node it concerns. Unknown keys are
 * errors, with the closest valid key suggested.
 */
#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/plant_int.h"

struct build {
    struct plant *p;
    struct cfg *c;
    uint64_t seed;
};

typedef int (*load_fn)(struct build *b, struct comp *c, cfg_node m, struct err *e);

static int load_tank(struct build *, struct comp *, cfg_node, struct err *);
static int load_source(struct build *, struct comp *, cfg_node, struct err *);
static int load_sink(struct build *, struct comp *, cfg_node, struct err *);
static int load_consumer(struct build *, struct comp *, cfg_node, struct err *);
static int load_pump(struct build *, struct comp *, cfg_node, struct err *);
static int load_valve(struct build *, struct comp *, cfg_node, struct err *);
static int load_dosing(struct build *, struct comp *, cfg_node, struct err *);
static int load_transmitter(struct build *, struct comp *, cfg_node, struct err *);
static int load_switch(struct build *, struct comp *, cfg_node, struct err *);
static int build_groups(struct plant *, struct err *);

/* ORDER: indexed by enum comp_kind. */
static const struct {
    const char *type;
    size_t size;
    load_fn load;
    int csv;
} kinds[K_NKINDS] = {
    [K_TANK] = {"tank", sizeof(struct tank), load_tank, 1},
    [K_SOURCE] = {"source", sizeof(struct source), load_source, 0},
    [K_SINK] = {"sink", sizeof(struct sink), load_sink, 0},
    [K_CONSUMER] = {"consumer", sizeof(struct consumer), load_consumer, 1},
    [K_PUMP] = {"pump", sizeof(struct pump), load_pump, 1},
    [K_VALVE] = {"valve", sizeof(struct valve), load_valve, 1},
    [K_DOSING] = {"dosing", sizeof(struct dosing), load_dosing, 1},
    [K_TRANSMITTER] = {"transmitter", sizeof(struct transmitter), load_transmitter, 1},
    [K_SWITCH] = {"switch", sizeof(struct sw), load_switch, 1},
};

/* keys every component may have */
static const char *const common_keys[] = {"id", "type", "csv", "description", "note", NULL};

#define DEFAULT_START "2026-01-05T00:00:00Z"
#define PLANT_MAX_COMPONENTS 4096

struct comp *plant_comp(const struct plant *p, int i)
{
    return p->comps[i];
}

/* ---- helpers ---- */

static int bad(struct build *b, cfg_node n, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(struct build *b, cfg_node n, struct err *e, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cfg_error(b->c, n, e, "%s", msg);
}

/* Reads a scalar string field; `who` (may be NULL) prefixes messages.
 * Returns 0, 1 when absent and optional, -1 on error. */
static int str_field(struct build *b, const char *who, cfg_node m, const char *key,
                     int required, const char **out, struct err *e)
{
    cfg_node vn = cfg_get(b->c, m, key);
    if (!vn) {
        if (!required)
            return 1;
        return cfg_missing(b->c, m, key, e, "%s%smissing '%s'", who ? who : "", who ? ": " : "",
                           key);
    }
    const char *s = cfg_scalar(b->c, vn);
    if (!s)
        return bad(b, vn, e, "%s%s%s: expected a single value, not a list or mapping",
                   who ? who : "", who ? ": " : "", key);
    *out = s;
    return 0;
}

/* Reads a quantity and checks its range; min/max may be -INFINITY/INFINITY;
 * strict_min: value must be > min (else >= min). Returns 0, 1 when absent
 * and optional (*out untouched), -1 on error. */
static int qty(struct build *b, struct comp *c, cfg_node m, const char *key, int required,
               enum unit_dim dim, const char *unit, double min, int strict_min, double max,
               double *out, struct err *e)
{
    const char *s;
    int r = str_field(b, c->id, m, key, required, &s, e);
    if (r)
        return r;
    cfg_node vn = cfg_get(b->c, m, key);
    double v;
    struct err ue;
    if (unit_parse(s, dim, unit, &v, &ue) != 0)
        return bad(b, vn, e, "%s: %s: %s", c->id, key, ue.msg);
    if ((strict_min && !(v > min)) || (!strict_min && !(v >= min)) || v > max) {
        char lo[32], hi[32];
        const char *si = unit_si_name(dim);
        if (dim == DIM_RATIO)
            si = "";
        snprintf(lo, sizeof lo, "%g", min);
        snprintf(hi, sizeof hi, "%g", max);
        if (isinf(max))
            return bad(b, vn, e, "%s: %s must be %s %s %s (got '%s')", c->id, key,
                       strict_min ? ">" : ">=", lo, si, s);
        if (isinf(min))
            return bad(b, vn, e, "%s: %s must be <= %s %s (got '%s')", c->id, key, hi, si, s);
        return bad(b, vn, e, "%s: %s must be between %s and %s %s (got '%s')", c->id, key, lo,
                   hi, si, s);
    }
    *out = v;
    return 0;
}

/* Resolves a reference to another component. `mask` is a bit set of allowed
 * kinds. Returns 0 (and *idx), 1 if absent and optional, -1 on error. */
static int ref(struct build *b, struct comp *c, cfg_node m, const char *key, int required,
               unsigned mask, int *idx, struct err *e)
{
    const char *s;
    int r = str_field(b, c->id, m, key, required, &s, e);
    if (r)
        return r;
    cfg_node vn = cfg_get(b->c, m, key);
    int i = plant_find(b->p, s);
    if (i < 0) {
        /* suggest the nearest id */
        const char *best = NULL;
        size_t bestd = 3;
        for (size_t k = 0; k < b->p->ncomps; k++) {
            size_t d = cfg_edit_distance(s, b->p->comps[k]->id);
            if (d < bestd) {
                bestd = d;
                best = b->p->comps[k]->id;
            }
        }
        if (best)
            return bad(b, vn, e, "%s: %s: no component '%s' (did you mean '%s'?)", c->id, key,
                       s, best);
        return bad(b, vn, e, "%s: %s: no component '%s'", c->id, key, s);
    }
    enum comp_kind k = b->p->comps[i]->kind;
    if (!(mask & (1u << k))) {
        char want[128] = "";
        size_t n = 0;
        for (int j = 0; j < K_NKINDS; j++)
            if (mask & (1u << j))
                n += (size_t)snprintf(want + n, sizeof want - n, "%s%s", n ? " or " : "",
                                      kinds[j].type);
        return bad(b, vn, e, "%s: %s: '%s' is a %s; expected a %s", c->id, key, s,
                   kinds[k].type, want);
    }
    if (b->p->comps[i] == c)
        return bad(b, vn, e, "%s: %s: a component cannot refer to itself", c->id, key);
    *idx = i;
    return 0;
}

static int enum_of(struct build *b, struct comp *c, cfg_node m, const char *key,
                   const char *const *names, int *out, struct err *e)
{
    const char *s;
    int r = str_field(b, c->id, m, key, 0, &s, e);
    if (r)
        return r;
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    char list[256] = "";
    size_t n = 0;
    for (int i = 0; names[i]; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", names[i]);
    return bad(b, cfg_get(b->c, m, key), e, "%s: %s must be one of %s (got '%s')", c->id,
               key, list, s);
}

/* A ratio given as "open"/"closed", "61 %" or 0.61. */
static int ratio_or_word(struct build *b, struct comp *c, cfg_node m, const char *key,
                         double *out, struct err *e)
{
    const char *s;
    int r = str_field(b, c->id, m, key, 0, &s, e);
    if (r)
        return r;
    if (strcmp(s, "open") == 0 || strcmp(s, "on") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(s, "closed") == 0 || strcmp(s, "off") == 0) {
        *out = 0;
        return 0;
    }
    return qty(b, c, m, key, 0, DIM_RATIO, "1", 0, 0, 1, out, e);
}

#define KIND_BIT(k) (1u << (k))

/* ---- kinds ---- */

static int load_tank(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct tank *t = (struct tank *)c;
    double area = NAN, diameter = NAN, level = 0;
    int ra = qty(b, c, m, "area", 0, DIM_AREA, "m2", 0, 1, INFINITY, &area, e);
    if (ra < 0)
        return -1;
    int rd = qty(b, c, m, "diameter", 0, DIM_LENGTH, "m", 0, 1, INFINITY, &diameter, e);
    if (rd < 0)
        return -1;
    if (ra == 0 && rd == 0)
        return bad(b, cfg_get(b->c, m, "diameter"), e,
                   "%s: give either area or diameter, not both", c->id);
    if (ra && rd)
        return cfg_typo_of(b->c, m, "diameter")
                   ? cfg_missing(b->c, m, "diameter", e, "?")
                   : cfg_missing(b->c, m, "area", e, "%s: missing 'area' (or 'diameter') of the tank",
                                 c->id);
    t->area = ra == 0 ? area : M_PI * diameter * diameter / 4.0;
    if (qty(b, c, m, "height", 1, DIM_LENGTH, "m", 0, 1, INFINITY, &t->height, e) < 0)
        return -1;
    t->elevation = 0;
    if (qty(b, c, m, "elevation", 0, DIM_LENGTH, "m", -INFINITY, 0, INFINITY, &t->elevation, e) < 0)
        return -1;
    int r = qty(b, c, m, "initial_level", 0, DIM_LENGTH, "m", 0, 0, INFINITY, &level, e);
    if (r < 0)
        return -1;
    if (level > t->height)
        return bad(b, cfg_get(b->c, m, "initial_level"), e,
                   "%s: initial_level %g m is above the rim (height %g m)", c->id, level,
                   t->height);
    static const char *const ov[] = {"spill", "return", NULL};
    int o = 0;
    if (enum_of(b, c, m, "overflow", ov, &o, e) < 0)
        return -1;
    t->overflow_return = o == 1;
    t->inv_area = 1.0 / t->area;
    t->vmax = t->area * t->height;
    t->volume = t->volume0 = t->area * level;
    t->max_level = level;
    return 0;
}

static int load_source(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct source *s = (struct source *)c;
    if (ref(b, c, m, "to", 1, KIND_BIT(K_TANK), &s->to, e) < 0)
        return -1;
    return qty(b, c, m, "flow", 1, DIM_FLOW, "L/min", 0, 0, INFINITY, &s->flow, e) < 0 ? -1 : 0;
}

static int load_sink(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    (void)b;
    (void)c;
    (void)m;
    (void)e;
    return 0;
}

static int load_consumer(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct consumer *k = (struct consumer *)c;
    static const char *const modes[] = {"diurnal", "constant", "unlimited", NULL};
    int mode = 0;
    if (enum_of(b, c, m, "demand", modes, &mode, e) < 0)
        return -1;
    k->mode = (enum demand_mode)mode;
    int rmin = qty(b, c, m, "min", 0, DIM_FLOW, "L/min", 0, 0, INFINITY, &k->dmin, e);
    int rmax = qty(b, c, m, "max", 0, DIM_FLOW, "L/min", 0, 0, INFINITY, &k->dmax, e);
    if (rmin < 0 || rmax < 0)
        return -1;
    double flow = NAN;
    int rf = qty(b, c, m, "flow", 0, DIM_FLOW, "L/min", 0, 0, INFINITY, &flow, e);
    if (rf < 0)
        return -1;
    if (k->mode == DEMAND_DIURNAL) {
        if (rmin || rmax)
            return bad(b, m, e, "%s: a diurnal demand needs 'min' and 'max'", c->id);
        if (k->dmax < k->dmin)
            return bad(b, cfg_get(b->c, m, "max"), e, "%s: max is below min", c->id);
    } else if (k->mode == DEMAND_CONSTANT) {
        if (rf)
            return bad(b, m, e, "%s: a constant demand needs 'flow'", c->id);
        k->dmin = k->dmax = flow;
    }
    memcpy(k->profile, demand_default_profile, sizeof k->profile);
    cfg_node prof = cfg_get(b->c, m, "profile");
    if (prof) {
        if (cfg_kind(b->c, prof) != CFG_SEQ || cfg_len(b->c, prof) != 24)
            return bad(b, prof, e, "%s: profile must be a list of 24 hourly fractions (0-1)",
                       c->id);
        for (size_t i = 0; i < 24; i++) {
            cfg_node it = cfg_item(b->c, prof, i);
            double v;
            if (cfg_qty_of(b->c, it, DIM_RATIO, "1", &v, NULL) != 0)
                return bad(b, it, e, "%s: profile[%zu]: expected a number between 0 and 1",
                           c->id, i);
            if (v < 0 || v > 1)
                return bad(b, it, e, "%s: profile[%zu] must be between 0 and 1", c->id, i);
            k->profile[i] = v;
        }
    }
    k->noise = 0;
    if (qty(b, c, m, "noise", 0, DIM_FLOW, "L/min", 0, 0, INFINITY, &k->noise, e) < 0)
        return -1;
    k->noise_tau = 60;
    if (qty(b, c, m, "noise_time", 0, DIM_TIME, "s", 0, 0, INFINITY, &k->noise_tau, e) < 0)
        return -1;
    k->utc_offset = 0;
    if (qty(b, c, m, "utc_offset", 0, DIM_TIME, "h", -14 * 3600.0, 0, 14 * 3600.0,
            &k->utc_offset, e) < 0)
        return -1;
    return 0;
}

static int load_valve(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct valve *v = (struct valve *)c;
    v->from = v->to = -1;
    int rf = ref(b, c, m, "from", 0, KIND_BIT(K_TANK), &v->from, e);
    if (rf < 0)
        return -1;
    int rt = ref(b, c, m, "to", 0, KIND_BIT(K_TANK) | KIND_BIT(K_SINK) | KIND_BIT(K_CONSUMER),
                 &v->to, e);
    if (rt < 0)
        return -1;
    if (rf != rt)
        return bad(b, m, e, "%s: a valve has both 'from' and 'to' (an orifice between two "
                   "nodes) or neither (an inline valve on a pump's line)", c->id);
    double diameter = NAN, area = NAN;
    int rd = qty(b, c, m, "diameter", 0, DIM_LENGTH, "mm", 0, 1, INFINITY, &diameter, e);
    int ra = rd < 0 ? -1 : qty(b, c, m, "orifice_area", 0, DIM_AREA, "mm2", 0, 1, INFINITY, &area, e);
    if (rd < 0 || ra < 0)
        return -1;
    v->cd = 0.62;
    if (qty(b, c, m, "cd", 0, DIM_RATIO, "1", 0, 1, 1.0, &v->cd, e) < 0)
        return -1;
    if (rf == 0) {
        if (rd && ra)
            return cfg_typo_of(b->c, m, "orifice_area")
                       ? cfg_missing(b->c, m, "orifice_area", e, "?")
                       : cfg_missing(b->c, m, "diameter", e,
                                     "%s: missing 'diameter' (or 'orifice_area') of the valve",
                                     c->id);
        if (rd == 0 && ra == 0)
            return bad(b, cfg_get(b->c, m, "orifice_area"), e,
                       "%s: give either diameter or orifice_area, not both", c->id);
        v->orifice_area = rd == 0 ? M_PI * diameter * diameter / 4.0 : area;
    } else if (rd == 0 || ra == 0) {
        return bad(b, cfg_get(b->c, m, rd == 0 ? "diameter" : "orifice_area"), e,
                   "%s: an inline valve (no from/to) has no orifice; its size does not apply",
                   c->id);
    }
    static const char *const dis[] = {"free", "submerged", NULL};
    int d = 0;
    if (enum_of(b, c, m, "discharge", dis, &d, e) < 0)
        return -1;
    v->submerged = d == 1;
    v->outlet_elevation = NAN;
    if (qty(b, c, m, "outlet_elevation", 0, DIM_LENGTH, "m", -INFINITY, 0, INFINITY,
            &v->outlet_elevation, e) < 0)
        return -1;
    if (isnan(v->outlet_elevation))
        v->outlet_elevation = v->from >= 0 ? ((struct tank *)b->p->comps[v->from])->elevation : 0;
    static const char *const ch[] = {"linear", "equal_percentage", NULL};
    int chv = 0;
    if (enum_of(b, c, m, "characteristic", ch, &chv, e) < 0)
        return -1;
    v->characteristic = (enum valve_char)chv;
    v->rangeability = 50;
    if (qty(b, c, m, "rangeability", 0, DIM_RATIO, "1", 1, 1, INFINITY, &v->rangeability, e) < 0)
        return -1;
    v->travel_time = 0;
    if (qty(b, c, m, "travel_time", 0, DIM_TIME, "s", 0, 0, INFINITY, &v->travel_time, e) < 0)
        return -1;
    v->cmd = 1;
    if (ratio_or_word(b, c, m, "initial", &v->cmd, e) < 0)
        return -1;
    v->pos = v->cmd;
    v->permit = 1;
    return 0;
}

static int load_pump(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct pump *u = (struct pump *)c;
    u->valve = -1;
    if (ref(b, c, m, "from", 1, KIND_BIT(K_TANK), &u->from, e) < 0)
        return -1;
    if (ref(b, c, m, "to", 1, KIND_BIT(K_TANK) | KIND_BIT(K_SINK) | KIND_BIT(K_CONSUMER),
            &u->to, e) < 0)
        return -1;
    if (u->from == u->to)
        return bad(b, cfg_get(b->c, m, "to"), e, "%s: pumps from a tank into itself", c->id);
    int rv = ref(b, c, m, "valve", 0, KIND_BIT(K_VALVE), &u->valve, e);
    if (rv < 0)
        return -1;
    if (rv == 0 && ((struct valve *)b->p->comps[u->valve])->from >= 0)
        return bad(b, cfg_get(b->c, m, "valve"), e,
                   "%s: valve '%s' is an orifice between nodes; a pump's valve is inline "
                   "(no from/to)", c->id, b->p->comps[u->valve]->id);
    if (qty(b, c, m, "max_flow", 1, DIM_FLOW, "L/min", 0, 1, INFINITY, &u->max_flow, e) < 0)
        return -1;
    u->spin_up = 0;
    if (qty(b, c, m, "spin_up", 0, DIM_TIME, "s", 0, 0, INFINITY, &u->spin_up, e) < 0)
        return -1;
    u->suction_level = 0.02;
    if (qty(b, c, m, "suction_level", 0, DIM_LENGTH, "m", 0, 0, INFINITY, &u->suction_level, e) < 0)
        return -1;
    u->dry_rate = 0.01;
    if (qty(b, c, m, "dry_run_damage", 0, DIM_RATE, "%/s", 0, 0, INFINITY, &u->dry_rate, e) < 0)
        return -1;
    u->dead_rate = 0.005;
    if (qty(b, c, m, "dead_head_damage", 0, DIM_RATE, "%/s", 0, 0, INFINITY, &u->dead_rate, e) < 0)
        return -1;
    u->deadhead_opening = 0.05;
    if (qty(b, c, m, "dead_head_below", 0, DIM_RATIO, "1", 0, 0, 1, &u->deadhead_opening, e) < 0)
        return -1;
    u->run_threshold = 0.05;
    u->speed_ref = 0;
    if (qty(b, c, m, "initial", 0, DIM_RATIO, "1", 0, 0, 1, &u->speed_ref, e) < 0)
        return -1;
    u->run = u->speed_ref > 0;
    int run = u->run;
    if (cfg_get_bool(b->c, m, "initial_run", 0, &run, e) < 0)
        return -1;
    u->run = run;
    u->permit = 1;
    u->speed = u->run ? u->speed_ref : 0;
    return 0;
}

static int load_dosing(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct dosing *d = (struct dosing *)c;
    if (ref(b, c, m, "line", 1, KIND_BIT(K_VALVE) | KIND_BIT(K_PUMP), &d->line, e) < 0)
        return -1;
    const struct comp *line = b->p->comps[d->line];
    if (line->kind == K_VALVE && ((const struct valve *)line)->from < 0)
        return bad(b, cfg_get(b->c, m, "line"), e,
                   "%s: line '%s' is an inline valve; name the pump or the orifice valve whose "
                   "flow carries the chemical", c->id, line->id);
    d->setpoint = 0;
    if (qty(b, c, m, "setpoint", 0, DIM_CONC, "mg/L", 0, 0, INFINITY, &d->setpoint, e) < 0)
        return -1;
    d->setpoint_max = 20.0; /* 20,000 mg/L */
    if (qty(b, c, m, "setpoint_max", 0, DIM_CONC, "mg/L", 0, 1, INFINITY, &d->setpoint_max, e) < 0)
        return -1;
    if (d->setpoint > d->setpoint_max)
        return bad(b, cfg_get(b->c, m, "setpoint"), e, "%s: setpoint is above setpoint_max",
                   c->id);
    d->capacity = 0;
    if (qty(b, c, m, "capacity", 0, DIM_MASSFLOW, "g/min", 0, 0, INFINITY, &d->capacity, e) < 0)
        return -1;
    d->pipe_volume = 0;
    if (qty(b, c, m, "transport_volume", 0, DIM_VOLUME, "L", 0, 0, INFINITY, &d->pipe_volume, e) < 0)
        return -1;
    double raw_ph, alk, pk1 = 6.35, pk2 = 10.33, pkw = 14.0, molar = 39.997;
    if (qty(b, c, m, "raw_ph", 1, DIM_PH, "pH", 0, 0, 14, &raw_ph, e) < 0 ||
        qty(b, c, m, "alkalinity", 1, DIM_CONC, "mg/L", 0, 0, INFINITY, &alk, e) < 0 ||
        qty(b, c, m, "pk1", 0, DIM_PH, "pH", 0, 0, 14, &pk1, e) < 0 ||
        qty(b, c, m, "pk2", 0, DIM_PH, "pH", 0, 0, 14, &pk2, e) < 0 ||
        qty(b, c, m, "pkw", 0, DIM_PH, "pH", 0, 1, 20, &pkw, e) < 0 ||
        qty(b, c, m, "molar_mass", 0, DIM_RATIO, "1", 0, 1, INFINITY, &molar, e) < 0)
        return -1;
    if (carbonate_init(&d->chem, raw_ph, alk, pk1, pk2, pkw, molar / 1000.0) != 0)
        return bad(b, cfg_get(b->c, m, "raw_ph"), e,
                   "%s: raw_ph and alkalinity do not describe a carbonate water "
                   "(negative inorganic carbon)", c->id);
    return dosing_init(d, e) != 0 ? bad(b, m, e, "%s: out of memory", c->id) : 0;
}

/* Reads `measures: TAG.SIGNAL`; the signal must be analog (transmitter) or
 * any (switch). Sets src, sig and the dimension. */
static int measures(struct build *b, struct comp *c, cfg_node m, int *src, int *sig,
                    enum unit_dim *dim, const char **unit, struct err *e)
{
    const char *s;
    if (str_field(b, c->id, m, "measures", 1, &s, e) != 0)
        return -1;
    cfg_node vn = cfg_get(b->c, m, "measures");
    const char *dot = strchr(s, '.');
    if (!dot)
        return bad(b, vn, e, "%s: measures: write TAG.SIGNAL (e.g. TANK.level), got '%s'",
                   c->id, s);
    char tag[COMP_ID_MAX];
    size_t n = (size_t)(dot - s);
    if (n >= sizeof tag)
        return bad(b, vn, e, "%s: measures: '%s' is not a tag", c->id, s);
    memcpy(tag, s, n);
    tag[n] = '\0';
    int i = plant_find(b->p, tag);
    if (i < 0)
        return bad(b, vn, e, "%s: measures: no component '%s'", c->id, tag);
    enum comp_kind k = b->p->comps[i]->kind;
    if (k == K_TRANSMITTER || k == K_SWITCH)
        return bad(b, vn, e, "%s: measures: '%s' is a sensor; a sensor measures a physical "
                   "quantity (e.g. TANK.level)", c->id, tag);
    int si = plant_signal_index(k, dot + 1);
    if (si < 0) {
        size_t cnt;
        const struct port_desc *d = plant_signals(k, &cnt);
        char list[256] = "";
        size_t len = 0;
        for (size_t j = 0; j < cnt; j++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "",
                                    d[j].name);
        return bad(b, vn, e, "%s: measures: %s (%s) has no signal '%s' (it has: %s)", c->id,
                   tag, kinds[k].type, dot + 1, list);
    }
    size_t cnt;
    const struct port_desc *d = plant_signals(k, &cnt);
    *src = i;
    *sig = si;
    *dim = d[si].dim;
    *unit = d[si].unit;
    return 0;
}

static const char *const fault_names_t[] = {"none", "stuck", "drift", "offset", "dead", NULL};

static int load_transmitter(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct transmitter *t = (struct transmitter *)c;
    const char *unit;
    if (measures(b, c, m, &t->src, &t->sig, &t->dim, &unit, e) < 0)
        return -1;
    size_t cnt;
    if (plant_signals(b->p->comps[t->src]->kind, &cnt)[t->sig].is_bool)
        return bad(b, cfg_get(b->c, m, "measures"), e,
                   "%s: a transmitter measures an analog quantity; use a switch for '%s'",
                   c->id, cfg_scalar(b->c, cfg_get(b->c, m, "measures")));
    /* display unit */
    t->unit = unit;
    const char *u;
    int ru = str_field(b, c->id, m, "unit", 0, &u, e);
    if (ru < 0)
        return -1;
    if (ru == 0) {
        double f;
        if (unit_factor(t->dim, u, &f) != 0) {
            char list[256];
            unit_list(t->dim, list, sizeof list);
            return bad(b, cfg_get(b->c, m, "unit"), e, "%s: unit '%s' is not a unit of %s (%s)",
                       c->id, u, unit_dim_name(t->dim), list);
        }
        t->unit = u;
    }
    t->unit_factor = 1;
    unit_factor(t->dim, t->unit, &t->unit_factor);
    /* range [lo, hi] */
    cfg_node rn = cfg_get(b->c, m, "range");
    if (!rn)
        return cfg_missing(b->c, m, "range", e, "%s: missing 'range' (e.g. range: [0 m, 1 m])",
                           c->id);
    if (cfg_kind(b->c, rn) != CFG_SEQ || cfg_len(b->c, rn) != 2)
        return bad(b, rn, e, "%s: range must be [low, high]", c->id);
    for (int i = 0; i < 2; i++) {
        cfg_node it = cfg_item(b->c, rn, (size_t)i);
        const char *txt = cfg_scalar(b->c, it);
        struct err ue;
        if (!txt || unit_parse(txt, t->dim, t->unit, i ? &t->hi : &t->lo, &ue) != 0)
            return bad(b, it, e, "%s: range: %s", c->id, txt ? ue.msg : "expected a value");
    }
    if (!(t->hi > t->lo))
        return bad(b, rn, e, "%s: range: high must be above low", c->id);
    t->raw_lo = 0;
    t->raw_hi = 65535;
    cfg_node raw = cfg_get(b->c, m, "raw");
    if (raw) {
        if (cfg_kind(b->c, raw) != CFG_SEQ || cfg_len(b->c, raw) != 2)
            return bad(b, raw, e, "%s: raw must be [counts at low, counts at high]", c->id);
        for (int i = 0; i < 2; i++) {
            double v;
            cfg_node it = cfg_item(b->c, raw, (size_t)i);
            if (cfg_qty_of(b->c, it, DIM_RATIO, "1", &v, e) != 0 || v < 0 || v > 65535 ||
                v != floor(v))
                return bad(b, it, e, "%s: raw counts are integers 0-65535", c->id);
            if (i == 0)
                t->raw_lo = v;
            else
                t->raw_hi = v;
        }
        if (t->raw_lo == t->raw_hi)
            return bad(b, raw, e, "%s: raw: the two counts must differ", c->id);
    }
    t->noise = 0;
    if (qty(b, c, m, "noise", 0, t->dim, t->unit, 0, 0, INFINITY, &t->noise, e) < 0)
        return -1;
    t->lag = 0;
    if (qty(b, c, m, "lag", 0, DIM_TIME, "s", 0, 0, INFINITY, &t->lag, e) < 0)
        return -1;
    t->period = 100 * VT_MS;
    int rp = cfg_get_duration(b->c, m, "period", 0, &t->period, e);
    if (rp < 0)
        return -1;
    if (t->period < b->p->dt)
        return bad(b, cfg_get(b->c, m, "period"), e,
                   "%s: period must be at least the physics step dt", c->id);
    double ts = vt_to_sec(t->period);
    t->alpha = t->lag > 0 ? 1.0 - exp(-ts / t->lag) : 1.0;
    int f = 0;
    if (enum_of(b, c, m, "fault", fault_names_t, &f, e) < 0)
        return -1;
    t->fault = (enum sensor_fault)f;
    t->drift_rate = 0;
    const char *ds;
    int rdr = str_field(b, c->id, m, "drift", 0, &ds, e);
    if (rdr < 0)
        return -1;
    if (rdr == 0) {
        struct err ue;
        if (unit_parse_per_time(ds, t->dim, t->unit, &t->drift_rate, &ue) != 0)
            return bad(b, cfg_get(b->c, m, "drift"), e, "%s: drift: %s", c->id, ue.msg);
    }
    t->offset = 0;
    if (qty(b, c, m, "offset", 0, t->dim, t->unit, -INFINITY, 0, INFINITY, &t->offset, e) < 0)
        return -1;
    /* enough decimals to tell two raw counts apart, in the display unit */
    double step = (t->hi - t->lo) / fabs(t->raw_hi - t->raw_lo) / t->unit_factor;
    int dec = (int)ceil(-log10(step));
    t->decimals = dec < 0 ? 0 : dec > 7 ? 7 : dec;
    long long d;
    int rdec = cfg_get_int(b->c, m, "decimals", 0, 0, 9, &d, e);
    if (rdec < 0)
        return -1;
    if (rdec == 0)
        t->decimals = (int)d;
    t->raw_min = fmin(t->raw_lo, t->raw_hi);
    t->raw_max = fmax(t->raw_lo, t->raw_hi);
    t->raw_per_unit = (t->raw_hi - t->raw_lo) / (t->hi - t->lo);
    t->unit_per_raw = (t->hi - t->lo) / (t->raw_hi - t->raw_lo);
    /* a transmitter reports its range's bottom until its first sample */
    t->raw = t->raw_lo;
    t->value = t->lo;
    return 0;
}

static const char *const fault_names_s[] = {"none", "stuck", "drift", "offset", "dead", "on", NULL};

static int load_switch(struct build *b, struct comp *c, cfg_node m, struct err *e)
{
    struct sw *s = (struct sw *)c;
    const char *unit;
    if (measures(b, c, m, &s->src, &s->sig, &s->dim, &unit, e) < 0)
        return -1;
    size_t cnt;
    int isbool = plant_signals(b->p->comps[s->src]->kind, &cnt)[s->sig].is_bool;
    double above = NAN, below = NAN;
    int ra = qty(b, c, m, "above", 0, s->dim, unit, -INFINITY, 0, INFINITY, &above, e);
    if (ra < 0)
        return -1;
    int rb = qty(b, c, m, "below", 0, s->dim, unit, -INFINITY, 0, INFINITY, &below, e);
    if (rb < 0)
        return -1;
    if (isbool && ra && rb) {
        above = 0.5; /* a switch on a discrete signal follows it */
        ra = 0;
    }
    if (ra == rb)
        return bad(b, m, e, "%s: a switch needs exactly one of 'above' or 'below'", c->id);
    s->above = ra == 0;
    s->setpoint = ra == 0 ? above : below;
    s->hysteresis = 0;
    if (qty(b, c, m, "hysteresis", 0, s->dim, unit, 0, 0, INFINITY, &s->hysteresis, e) < 0)
        return -1;
    s->period = 100 * VT_MS;
    if (cfg_get_duration(b->c, m, "period", 0, &s->period, e) < 0)
        return -1;
    if (s->period < b->p->dt)
        return bad(b, cfg_get(b->c, m, "period"), e,
                   "%s: period must be at least the physics step dt", c->id);
    int f = 0;
    if (enum_of(b, c, m, "fault", fault_names_s, &f, e) < 0)
        return -1;
    if (f == FAULT_DRIFT || f == FAULT_OFFSET)
        return bad(b, cfg_get(b->c, m, "fault"), e,
                   "%s: a switch's fault is none, stuck, dead or on", c->id);
    s->fault = (enum sensor_fault)f;
    return 0;
}

/* ---- the file ---- */

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= COMP_ID_MAX || !isalnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

int plant_find(const struct plant *p, const char *id)
{
    for (size_t i = 0; i < p->ncomps; i++)
        if (strcmp(p->comps[i]->id, id) == 0)
            return (int)i;
    return -1;
}

const char *plant_name(const struct plant *p)
{
    return p->name;
}

uint64_t plant_steps(const struct plant *p)
{
    return p->steps;
}

int64_t plant_start_unix_ns(const struct plant *p)
{
    return p->start_unix_ns;
}

vtime_t plant_dt(const struct plant *p)
{
    return p->dt;
}

size_t plant_ncomponents(const struct plant *p)
{
    return p->ncomps;
}

const char *plant_comp_id(const struct plant *p, size_t i)
{
    return i < p->ncomps ? p->comps[i]->id : NULL;
}

const char *plant_comp_type(const struct plant *p, size_t i)
{
    return i < p->ncomps ? kinds[p->comps[i]->kind].type : NULL;
}

static int first_pass(struct build *b, cfg_node list, struct err *e)
{
    struct plant *p = b->p;
    size_t n = cfg_len(b->c, list);
    p->comps = calloc(n ? n : 1, sizeof *p->comps);
    if (!p->comps)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++) {
        cfg_node m = cfg_item(b->c, list, i);
        if (cfg_kind(b->c, m) != CFG_MAP)
            return bad(b, m, e, "components[%zu]: expected a mapping with id and type", i);
        const char *id, *type;
        char who[32];
        snprintf(who, sizeof who, "components[%zu]", i);
        if (str_field(b, who, m, "id", 1, &id, e) != 0)
            return -1;
        cfg_node idn = cfg_get(b->c, m, "id");
        if (!valid_id(id))
            return bad(b, idn, e, "id '%s': use letters, digits, '-' and '_' (at most %d "
                       "characters, starting with a letter or digit)", id, COMP_ID_MAX - 1);
        int dup = plant_find(p, id);
        if (dup >= 0)
            return bad(b, idn, e, "duplicate id '%s' (first at line %d)", id,
                       cfg_line(b->c, p->comps[dup]->node));
        if (str_field(b, id, m, "type", 1, &type, e) != 0)
            return -1;
        int k = -1;
        for (int j = 0; j < K_NKINDS; j++)
            if (strcmp(kinds[j].type, type) == 0)
                k = j;
        if (k < 0) {
            char list2[256] = "";
            size_t len = 0;
            for (int j = 0; j < K_NKINDS; j++)
                len += (size_t)snprintf(list2 + len, sizeof list2 - len, "%s%s", j ? ", " : "",
                                        kinds[j].type);
            return bad(b, cfg_get(b->c, m, "type"), e,
                       "%s: unknown component type '%s' (known: %s)", id, type, list2);
        }
        struct comp *c = calloc(1, kinds[k].size);
        if (!c)
            return err_set(e, "out of memory");
        c->kind = (enum comp_kind)k;
        snprintf(c->id, sizeof c->id, "%s", id);
        c->node = m;
        c->csv = kinds[k].csv;
        rng_init(&c->rng, b->seed, id);
        p->comps[p->ncomps++] = c;
    }
    return 0;
}

static int index_kinds(struct plant *p, struct err *e)
{
    for (int k = 0; k < K_NKINDS; k++) {
        p->by_kind[k] = malloc((p->ncomps ? p->ncomps : 1) * sizeof(int));
        if (!p->by_kind[k])
            return err_set(e, "out of memory");
    }
    for (size_t i = 0; i < p->ncomps; i++) {
        enum comp_kind k = p->comps[i]->kind;
        p->by_kind[k][p->nby_kind[k]++] = (int)i;
    }
    return 0;
}

/* wiring:
 *   DEVICE:
 *     "%IW0": TAG | TAG.SIGNAL | {port: TAG.X, raw: [lo, hi], range: [lo, hi]}
 */
static int load_wiring(struct build *b, cfg_node w, struct err *e)
{
    struct plant *p = b->p;
    if (cfg_kind(b->c, w) != CFG_MAP)
        return bad(b, w, e, "wiring: expected a mapping of device names to their I/O points");
    size_t nd = cfg_len(b->c, w), total = 0;
    for (size_t i = 0; i < nd; i++) {
        cfg_node pts = cfg_value_at(b->c, w, i);
        if (cfg_kind(b->c, pts) != CFG_MAP)
            return bad(b, pts, e, "wiring: %s: expected a mapping of addresses (\"%%IW0\") to tags",
                       cfg_scalar(b->c, cfg_key_at(b->c, w, i)));
        total += cfg_len(b->c, pts);
    }
    p->wires = calloc(total ? total : 1, sizeof *p->wires);
    p->wire_devices = calloc(nd ? nd : 1, sizeof *p->wire_devices);
    if (!p->wires || !p->wire_devices)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < nd; i++) {
        cfg_node dk = cfg_key_at(b->c, w, i), pts = cfg_value_at(b->c, w, i);
        const char *dev = cfg_scalar(b->c, dk);
        if (!dev || !valid_id(dev))
            return bad(b, dk, e, "wiring: '%s' is not a device name", dev ? dev : "?");
        p->wire_devices[p->nwire_devices] = strdup(dev);
        if (!p->wire_devices[p->nwire_devices])
            return err_set(e, "out of memory");
        dev = p->wire_devices[p->nwire_devices++];
        size_t np = cfg_len(b->c, pts);
        for (size_t j = 0; j < np; j++) {
            cfg_node an = cfg_key_at(b->c, pts, j), vn = cfg_value_at(b->c, pts, j);
            const char *as = cfg_scalar(b->c, an);
            struct plant_wire *wr = &p->wires[p->nwires];
            struct err ae;
            if (!as || locaddr_parse(as, &wr->addr, &ae) != 0)
                return bad(b, an, e, "wiring: %s: %s", dev, as ? ae.msg : "address expected");
            if (wr->addr.area == 'M')
                return bad(b, an, e, "wiring: %s: %s is memory; only %%I (sensors) and %%Q "
                           "(actuators) are wired to the plant", dev, as);
            for (size_t k = 0; k < p->nwires; k++)
                if (p->wires[k].device == dev && p->wires[k].addr.area == wr->addr.area &&
                    p->wires[k].addr.size == wr->addr.size &&
                    p->wires[k].addr.index == wr->addr.index &&
                    p->wires[k].addr.bit == wr->addr.bit)
                    return bad(b, an, e, "wiring: %s: %s is wired twice", dev, as);
            const char *port;
            cfg_node map = 0;
            if (cfg_kind(b->c, vn) == CFG_MAP) {
                map = vn;
                char who[96];
                snprintf(who, sizeof who, "wiring: %s: %s", dev, as);
                if (str_field(b, who, map, "port", 1, &port, e) != 0)
                    return -1;
            } else if (!(port = cfg_scalar(b->c, vn))) {
                return bad(b, vn, e, "wiring: %s: %s: expected a tag", dev, as);
            }
            int want_input = wr->addr.area == 'Q';
            struct err pe;
            if (plant_port_find(p, port, want_input, &wr->port, &pe) != 0)
                return bad(b, map ? cfg_get(b->c, map, "port") : vn, e, "wiring: %s: %s: %s",
                           dev, as, pe.msg);
            int bit = wr->addr.size == 'X';
            if (bit != wr->port.is_bool)
                return bad(b, vn, e, "wiring: %s: %s is a %s point but '%s' is %s", dev, as,
                           bit ? "bit" : "word", port,
                           wr->port.is_bool ? "discrete (wire it to a %IX/%QX bit)"
                                            : "analog (wire it to a word such as %IW/%QW)");
            if (wr->addr.area == 'I' && !want_input) {
                enum comp_kind k = p->comps[wr->port.comp]->kind;
                if (k != K_TRANSMITTER && k != K_SWITCH)
                    return bad(b, vn, e, "wiring: %s: %s: an input reads a sensor, and '%s' "
                               "is a %s's own state; add a transmitter or switch that "
                               "measures it", dev, as, port, kinds[k].type);
            }
            wr->device = dev;
            plant_port_range(p, &wr->port, &wr->eng_lo, &wr->eng_hi);
            wr->raw_lo = 0;
            wr->raw_hi = bit ? 1 : 65535;
            if (!want_input && !bit && p->comps[wr->port.comp]->kind == K_TRANSMITTER &&
                wr->port.index == 0) {
                /* raw counts go straight to the register */
                wr->raw_lo = wr->eng_lo;
                wr->raw_hi = wr->eng_hi;
            }
            if (map) {
                cfg_node rn = cfg_get(b->c, map, "raw");
                if (rn) {
                    if (cfg_kind(b->c, rn) != CFG_SEQ || cfg_len(b->c, rn) != 2)
                        return bad(b, rn, e, "wiring: %s: %s: raw must be [low, high]", dev, as);
                    double r0, r1;
                    if (cfg_qty_of(b->c, cfg_item(b->c, rn, 0), DIM_RATIO, "1", &r0, e) ||
                        cfg_qty_of(b->c, cfg_item(b->c, rn, 1), DIM_RATIO, "1", &r1, e))
                        return -1;
                    if (r0 == r1)
                        return bad(b, rn, e, "wiring: %s: %s: raw: the counts must differ",
                                   dev, as);
                    wr->raw_lo = r0;
                    wr->raw_hi = r1;
                }
                cfg_node gn = cfg_get(b->c, map, "range");
                if (gn) {
                    if (cfg_kind(b->c, gn) != CFG_SEQ || cfg_len(b->c, gn) != 2)
                        return bad(b, gn, e, "wiring: %s: %s: range must be [low, high]", dev,
                                   as);
                    size_t cnt;
                    const struct port_desc *d =
                        want_input ? plant_inputs(p->comps[wr->port.comp]->kind, &cnt)
                                   : plant_signals(p->comps[wr->port.comp]->kind, &cnt);
                    enum unit_dim dim = d[wr->port.index].dim;
                    const char *unit = d[wr->port.index].unit;
                    if (dim == DIM_COUNT) {
                        const struct transmitter *t =
                            (const struct transmitter *)p->comps[wr->port.comp];
                        dim = t->dim;
                        unit = t->unit;
                    }
                    if (dim == DIM_RATIO)
                        unit = "1";
                    if (cfg_qty_of(b->c, cfg_item(b->c, gn, 0), dim, unit, &wr->eng_lo, e) ||
                        cfg_qty_of(b->c, cfg_item(b->c, gn, 1), dim, unit, &wr->eng_hi, e))
                        return -1;
                }
                static const char *const wk[] = {"port", "raw", "range", NULL};
                if (cfg_check_keys(b->c, map, "a wiring point", wk, e) != 0)
                    return -1;
            }
            p->nwires++;
        }
    }
    return 0;
}

size_t plant_nwires(const struct plant *p)
{
    return p->nwires;
}

const struct plant_wire *plant_wire_at(const struct plant *p, size_t i)
{
    return i < p->nwires ? &p->wires[i] : NULL;
}

struct plant *plant_load(struct cfg *c, uint64_t seed, const char *const *foreign_keys,
                         struct err *e)
{
    struct plant *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(e, "out of memory");
        return NULL;
    }
    struct build b = {p, c, seed};
    cfg_node root = cfg_root(c);
    if (cfg_kind(c, root) != CFG_MAP) {
        cfg_error(c, root, e, "a plant file is a mapping (plant:, start:, components: ...)");
        goto fail;
    }
    const char *name = NULL;
    if (cfg_get_str(c, root, "plant", 0, &name, e) < 0)
        goto fail;
    if (!name) {
        const char *base = strrchr(cfg_name(c), '/');
        name = base ? base + 1 : cfg_name(c);
    }
    p->name = strdup(name);
    if (!p->name) {
        err_set(e, "out of memory");
        goto fail;
    }
    const char *desc;
    if (cfg_get_str(c, root, "description", 0, &desc, e) < 0)
        goto fail;
    const char *start = DEFAULT_START;
    if (cfg_get_str(c, root, "start", 0, &start, e) < 0)
        goto fail;
    struct err te;
    if (vt_parse_iso(start, &p->start_unix_ns, &te) != 0) {
        cfg_error(c, cfg_get(c, root, "start"), e, "start: %s", te.msg);
        goto fail;
    }
    p->dt = 10 * VT_MS;
    if (cfg_get_duration(c, root, "dt", 0, &p->dt, e) < 0)
        goto fail;
    if (p->dt < VT_US || p->dt > VT_SEC) {
        cfg_error(c, cfg_get(c, root, "dt"), e, "dt must be between 1 us and 1 s");
        goto fail;
    }
    p->dt_s = vt_to_sec(p->dt);
    p->gravity = 9.80665;
    if (cfg_get_qty(c, root, "gravity", 0, DIM_ACCEL, "m/s2", &p->gravity, e) < 0)
        goto fail;
    if (!(p->gravity > 0)) {
        cfg_error(c, cfg_get(c, root, "gravity"), e, "gravity must be > 0");
        goto fail;
    }
    cfg_node list = cfg_get(c, root, "components");
    if (!list) {
        cfg_missing(c, root, "components", e,
                    "missing 'components' (the list of tanks, pumps, sensors ...)");
        goto fail;
    }
    if (cfg_kind(c, list) != CFG_SEQ || cfg_len(c, list) == 0) {
        cfg_error(c, list, e, "components: expected a non-empty list");
        goto fail;
    }
    if (cfg_len(c, list) > PLANT_MAX_COMPONENTS) {
        cfg_error(c, list, e, "components: %zu components; a plant has at most %d",
                  cfg_len(c, list), PLANT_MAX_COMPONENTS);
        goto fail;
    }
    if (first_pass(&b, list, e) != 0)
        goto fail;
    for (size_t i = 0; i < p->ncomps; i++) {
        struct comp *comp = p->comps[i];
        int csv = comp->csv;
        if (cfg_get_bool(c, comp->node, "csv", 0, &csv, e) < 0)
            goto fail;
        comp->csv = csv;
        const char *d;
        if (cfg_get_str(c, comp->node, "description", 0, &d, e) < 0 ||
            cfg_get_str(c, comp->node, "note", 0, &d, e) < 0)
            goto fail;
        if (kinds[comp->kind].load(&b, comp, comp->node, e) != 0)
            goto fail;
        char what[COMP_ID_MAX + 32];
        snprintf(what, sizeof what, "%s (%s)", comp->id, kinds[comp->kind].type);
        if (cfg_check_keys(c, comp->node, what, common_keys, e) != 0)
            goto fail;
    }
    if (index_kinds(p, e) != 0)
        goto fail;
    /* every tank needs something to happen to it; a consumer needs a feeder */
    for (size_t k = 0; k < p->nby_kind[K_CONSUMER]; k++) {
        int ci = p->by_kind[K_CONSUMER][k];
        int fed = 0;
        for (size_t i = 0; i < p->ncomps; i++) {
            const struct comp *x = p->comps[i];
            if ((x->kind == K_VALVE && ((const struct valve *)x)->to == ci) ||
                (x->kind == K_PUMP && ((const struct pump *)x)->to == ci))
                fed++;
        }
        struct consumer *cons = (struct consumer *)p->comps[ci];
        cons->nfeeders = fed;
        if (!fed) {
            cfg_error(c, cons->c.node, e, "%s: no valve or pump delivers to this consumer",
                      cons->c.id);
            goto fail;
        }
    }
    cfg_node wiring = cfg_get(c, root, "wiring");
    if (wiring && load_wiring(&b, wiring, e) != 0)
        goto fail;
    if (plant_order_tanks(p, e) != 0 || plant_build_columns(p, e) != 0 ||
        build_groups(p, e) != 0)
        goto fail;
    if (cfg_check_keys(c, root, "the plant file", foreign_keys, e) != 0)
        goto fail;
    return p;
fail:
    plant_free(p);
    return NULL;
}

void plant_free(struct plant *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncomps; i++) {
        if (p->comps[i]->kind == K_DOSING)
            dosing_free((struct dosing *)p->comps[i]);
        free(p->comps[i]);
    }
    free(p->comps);
    for (int k = 0; k < K_NKINDS; k++)
        free(p->by_kind[k]);
    free(p->tank_order);
    free(p->cols);
    free(p->wires);
    for (size_t i = 0; i < p->nwire_devices; i++)
        free(p->wire_devices[i]);
    free(p->wire_devices);
    free(p->xf);
    free(p->slot_of);
    free(p->node_in);
    free(p->node_out);
    free(p->sources);
    free(p->pumps);
    free(p->orifices);
    free(p->orifice_comp);
    free(p->inline_valves);
    free(p->tanks);
    free(p->consumers);
    free(p->sinks);
    free(p->dosings);
    free(p->groups);
    free(p->group_members);
    free(p->name);
    free(p);
}

static vtime_t sensor_period(const struct comp *c)
{
    return c->kind == K_TRANSMITTER ? ((const struct transmitter *)c)->period
                                    : ((const struct sw *)c)->period;
}

/* Groups sensors by period, in file order within a group: one sampling
 * task per group once attached. Configuration, so built at load (a
 * snapshot restores each group's next sample before the attach). */
static int build_groups(struct plant *p, struct err *e)
{
    size_t nsens = p->nby_kind[K_TRANSMITTER] + p->nby_kind[K_SWITCH];
    p->groups = calloc(nsens ? nsens : 1, sizeof *p->groups);
    p->group_members = calloc(nsens ? nsens : 1, sizeof *p->group_members);
    if (!p->groups || !p->group_members)
        return err_set(e, "out of memory");
    size_t used = 0;
    for (size_t i = 0; i < p->ncomps; i++) {
        const struct comp *c = p->comps[i];
        if (c->kind != K_TRANSMITTER && c->kind != K_SWITCH)
            continue;
        vtime_t per = sensor_period(c);
        size_t g = 0;
        while (g < p->ngroups && p->groups[g].period != per)
            g++;
        if (g == p->ngroups) {
            /* a new group: members are contiguous, so reserve room for every
             * later sensor of the same period now */
            size_t count = 0;
            for (size_t j = i; j < p->ncomps; j++) {
                const struct comp *cj = p->comps[j];
                if ((cj->kind == K_TRANSMITTER || cj->kind == K_SWITCH) && sensor_period(cj) == per)
                    count++;
            }
            p->groups[g] = (struct sensor_group){p, per, p->group_members + used, 0, 0};
            used += count;
            p->ngroups++;
        }
        p->groups[g].comps[p->groups[g].n++] = (int)i;
    }
    return 0;
}

/* Schedules one sampling task per group. A fresh plant samples each sensor
 * once now (in file order), so its report is valid from the start, and
 * each group next at now + period; a restored plant continues at its
 * groups' saved times. */
static int attach_sensors(struct plant *p, struct sched *s, vtime_t now, struct err *e)
{
    for (size_t i = 0; i < p->ncomps; i++) {
        struct comp *c = p->comps[i];
        if (c->kind == K_TRANSMITTER) {
            struct transmitter *t = (struct transmitter *)c;
            t->sig_field = plant_signal_field(p, t->src, t->sig, &t->sig_scale);
        } else if (c->kind == K_SWITCH) {
            struct sw *w = (struct sw *)c;
            w->sig_field = plant_signal_field(p, w->src, w->sig, &w->sig_scale);
        }
    }
    if (!p->resumed) {
        for (size_t i = 0; i < p->ncomps; i++) {
            struct comp *c = p->comps[i];
            if (c->kind == K_TRANSMITTER)
                transmitter_sample(p, (struct transmitter *)c);
            else if (c->kind == K_SWITCH)
                switch_sample(p, (struct sw *)c);
        }
        for (size_t g = 0; g < p->ngroups; g++)
            p->groups[g].next = now + p->groups[g].period;
    }
    for (size_t g = 0; g < p->ngroups; g++)
        if (sched_every(s, p->groups[g].next, p->groups[g].period, SCHED_PRIO_SENSOR,
                        sensor_group_sample, &p->groups[g]) < 0)
            return err_set(e, "out of memory");
    return 0;
}

/* Typed arrays of each kind for the step (see plant_int.h). */
static int build_views(struct plant *p, struct err *e)
{
    size_t n = p->ncomps ? p->ncomps : 1;
    p->sources = calloc(n, sizeof *p->sources);
    p->pumps = calloc(n, sizeof *p->pumps);
    p->orifices = calloc(n, sizeof *p->orifices);
    p->orifice_comp = calloc(n, sizeof *p->orifice_comp);
    p->inline_valves = calloc(n, sizeof *p->inline_valves);
    p->tanks = calloc(n, sizeof *p->tanks);
    p->consumers = calloc(n, sizeof *p->consumers);
    p->sinks = calloc(n, sizeof *p->sinks);
    p->dosings = calloc(n, sizeof *p->dosings);
    if (!p->sources || !p->pumps || !p->orifices || !p->orifice_comp || !p->inline_valves ||
        !p->tanks || !p->consumers || !p->sinks || !p->dosings)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < p->ncomps; i++) {
        struct comp *c = p->comps[i];
        switch (c->kind) {
        case K_SOURCE: p->sources[p->nsources++] = (struct source *)c; break;
        case K_PUMP: p->pumps[p->npumps++] = (struct pump *)c; break;
        case K_VALVE: {
            struct valve *v = (struct valve *)c;
            if (v->from >= 0) {
                p->orifice_comp[p->norifices] = (int)i;
                p->orifices[p->norifices++] = v;
            } else {
                p->inline_valves[p->ninline++] = v;
            }
            break;
        }
        case K_TANK: p->tanks[p->ntanks++] = (struct tank *)c; break;
        case K_CONSUMER: p->consumers[p->nconsumers++] = (struct consumer *)c; break;
        case K_SINK: p->sinks[p->nsinks++] = (struct sink *)c; break;
        case K_DOSING: p->dosings[p->ndosings++] = (struct dosing *)c; break;
        default: break;
        }
    }
    p->inv_dt = 1.0 / p->dt_s;
    return 0;
}

int plant_attach(struct plant *p, struct sched *s, struct err *e)
{
    if (p->attached)
        return err_set(e, "plant already attached");
    if (p->resumed && sched_now(s) != p->resume_at) {
        char at[64], now[64];
        return err_set(e, "plant '%s': the snapshot was taken at %s of virtual time but the "
                       "clock is at %s (set it with sched_set_now() first)", p->name,
                       vt_format_duration(p->resume_at, at, sizeof at),
                       vt_format_duration(sched_now(s), now, sizeof now));
    }
    size_t nel = p->nby_kind[K_SOURCE] + p->nby_kind[K_PUMP] + p->nby_kind[K_VALVE];
    p->xf = calloc(nel ? nel : 1, sizeof *p->xf);
    p->slot_of = malloc(p->ncomps * sizeof *p->slot_of);
    p->node_in = calloc(p->ncomps, sizeof *p->node_in);
    p->node_out = calloc(p->ncomps, sizeof *p->node_out);
    if (!p->xf || !p->slot_of || !p->node_in || !p->node_out)
        return err_set(e, "out of memory");
    /* slots in the order the step fills them */
    size_t slot = 0;
    for (size_t i = 0; i < p->ncomps; i++)
        p->slot_of[i] = -1;
    static const enum comp_kind order[] = {K_SOURCE, K_PUMP, K_VALVE};
    for (size_t o = 0; o < 3; o++)
        for (size_t k = 0; k < p->nby_kind[order[o]]; k++) {
            int ci = p->by_kind[order[o]][k];
            if (order[o] == K_VALVE && ((struct valve *)p->comps[ci])->from < 0)
                continue;
            p->slot_of[ci] = (int)slot++;
        }
    if (build_views(p, e) != 0)
        return -1;
    /* static part of each transfer slot */
    for (size_t i = 0; i < p->ncomps; i++) {
        int sl = p->slot_of[i];
        if (sl < 0)
            continue;
        const struct comp *c = p->comps[i];
        struct xfer *x = &p->xf[sl];
        x->elem = (int)i;
        if (c->kind == K_SOURCE) {
            x->src = -1;
            x->dst = ((const struct source *)c)->to;
        } else if (c->kind == K_PUMP) {
            x->src = ((const struct pump *)c)->from;
            x->dst = ((const struct pump *)c)->to;
        } else {
            x->src = ((const struct valve *)c)->from;
            x->dst = ((const struct valve *)c)->to;
        }
    }
    p->nxf = slot;
    /* the step zeroes a node's sums in the loops over tanks, sinks and
     * consumers: every end of a transfer must be one of them (the loader
     * allows nothing else; this keeps it so) */
    for (size_t i = 0; i < p->nxf; i++) {
        const struct xfer *x = &p->xf[i];
        int ends[2] = {x->src, x->dst};
        for (int k = 0; k < 2; k++) {
            if (ends[k] < 0 && !(k == 0 && p->comps[x->elem]->kind == K_SOURCE))
                return err_set(e, "%s: no node at one end", p->comps[x->elem]->id);
            if (ends[k] < 0)
                continue;
            enum comp_kind nk = p->comps[ends[k]]->kind;
            if (nk != K_TANK && nk != K_SINK && nk != K_CONSUMER)
                return err_set(e, "%s: '%s' is not a tank, a sink or a consumer",
                               p->comps[x->elem]->id, p->comps[ends[k]]->id);
        }
    }
    for (size_t k = 0; k < p->ndosings; k++)
        p->dosings[k]->line_slot = p->slot_of[p->dosings[k]->line];
    /* the tanks and valves each pump and orifice valve reads in the step */
    for (size_t k = 0; k < p->npumps; k++) {
        struct pump *u = p->pumps[k];
        const struct comp *from = p->comps[u->from];
        u->suction_tank = from->kind == K_TANK ? (const struct tank *)from : NULL;
        u->inline_valve = u->valve >= 0 ? (const struct valve *)p->comps[u->valve] : NULL;
    }
    for (size_t k = 0; k < p->norifices; k++) {
        struct valve *v = p->orifices[k];
        const struct comp *from = p->comps[v->from];
        const struct comp *to = v->to >= 0 ? p->comps[v->to] : NULL;
        v->up_tank = from->kind == K_TANK ? (const struct tank *)from : NULL;
        v->down_tank = v->submerged && to && to->kind == K_TANK ? (const struct tank *)to : NULL;
    }
    for (size_t k = 0; k < p->nconsumers; k++) {
        struct consumer *c = p->consumers[k];
        c->feeder_slot = -1;
        if (c->nfeeders != 1)
            continue;
        int ci = p->by_kind[K_CONSUMER][k];
        for (size_t i = 0; i < p->ncomps; i++) {
            const struct comp *x = p->comps[i];
            if ((x->kind == K_VALVE && ((const struct valve *)x)->to == ci) ||
                (x->kind == K_PUMP && ((const struct pump *)x)->to == ci))
                c->feeder_slot = p->slot_of[i];
        }
    }
    p->sched = s;
    vtime_t now = sched_now(s);
    for (size_t k = 0; k < p->nby_kind[K_PUMP]; k++)
        pump_prepare((struct pump *)p->comps[p->by_kind[K_PUMP][k]], p->dt_s);
    if (!p->resumed) {
        /* a fresh start; a restored plant has its last step's time and its
         * consumers' demand knots from the snapshot */
        p->now = now;
        for (size_t k = 0; k < p->nby_kind[K_CONSUMER]; k++) {
            struct consumer *c = (struct consumer *)p->comps[p->by_kind[K_CONSUMER][k]];
            consumer_init(p, c, now);
        }
    }
    p->knot_due = INT64_MIN; /* the first step finds the earliest knot */
    if (sched_at(s, p->now + p->dt, SCHED_PRIO_PHYSICS, plant_physics_task, p) < 0)
        return err_set(e, "out of memory");
    if (attach_sensors(p, s, now, e) != 0)
        return -1;
    p->attached = 1;
    return 0;
}
