/* plant_int.h — the plant's private structures, shared by the sim/ files.
 *
 * A plant holds an array of component pointers in file order; each
 * component starts with `struct comp` and is one of the kinds below. The
 * physics step (plant_step.c) works on index lists per kind; loading
 * (plant_load.c), ports/commands/columns (plant_io.c) and the kinds' own
 * equations (hydraulics.c, sensor.c, dosing.c, demand.c, carbonate.c) share
 * these definitions. Nothing outside src/sim includes this file.
 *
 * Every field below is either configuration (rebuilt by plant_load() and
 * plant_attach() from the plant file), per-step scratch, or state that a
 * snapshot saves. plant_snap.c holds that classification field by field:
 * a field added here must be classified there (its size checks fail the
 * build until it is).
 */
#ifndef SIM_PLANT_INT_H
#define SIM_PLANT_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/rng.h"
#include "core/sched.h"
#include "core/units.h"
#include "sim/carbonate.h"
#include "sim/plant.h"

#define COMP_ID_MAX 48

/* Compensated (Kahan) sum: the plant totals that enter the water balance
 * stay exact to ~1e-16 relative over millions of steps, so the balance
 * closes; per-component totals for display are plain sums. */
struct ksum {
    double s, c;
};
static inline void ksum_add(struct ksum *k, double v)
{
    double y = v - k->c;
    double t = k->s + y;
    k->c = (t - k->s) - y;
    k->s = t;
}
static inline double ksum_get(const struct ksum *k)
{
    return k->s - k->c;
}


enum comp_kind {
    K_TANK,
    K_SOURCE,
    K_SINK,
    K_CONSUMER,
    K_PUMP,
    K_VALVE,
    K_DOSING,
    K_TRANSMITTER,
    K_SWITCH,
    K_NKINDS
};

struct comp {
    enum comp_kind kind;
    char id[COMP_ID_MAX];
    cfg_node node;   /* the component's mapping, for messages */
    int csv;         /* contributes columns */
    struct rng rng;  /* this component's own stream */
};

/* A storage node: a prismatic tank. */
struct tank {
    struct comp c;
    double area, inv_area, height, elevation;
    double volume, vmax, volume0;
    double max_level;
    int overflow_return;     /* overflow goes back to the source, not spilled */
    struct ksum spilled_k, returned_k;
    double spilled, returned; /* m3, totals (= the sums above) */
    /* per-step scratch */
    double in_v, out_v;
};

/* A boundary inflow at a set rate into a tank. */
struct source {
    struct comp c;
    int to;          /* tank comp index */
    double flow;     /* m3/s, commanded */
    double total;    /* m3 delivered */
};

/* A boundary outflow that takes whatever reaches it (drain, atmosphere). */
struct sink {
    struct comp c;
    double total;
    double flow;     /* last step, m3/s */
};

enum demand_mode { DEMAND_DIURNAL, DEMAND_CONSTANT, DEMAND_UNLIMITED };

/* Consumers downstream: a demand pattern that limits what they draw. */
struct consumer {
    struct comp c;
    enum demand_mode mode;
    double dmin, dmax;        /* m3/s */
    double profile[24];       /* fraction of (max - min) at each hour */
    double noise, noise_tau;  /* m3/s, s */
    double utc_offset;        /* s, added to the plant clock for the profile */
    /* demand is computed at knots one virtual second apart (profile plus an
     * Ornstein-Uhlenbeck noise sample) and linearly interpolated between */
    double ou;                /* noise at the next knot */
    double d_prev, d_next;    /* demand at the knots, m3/s */
    vtime_t t_prev, t_next;   /* knot times */
    double demand;            /* m3/s, current */
    double flow;              /* m3/s delivered, last step */
    double total, unmet;      /* m3 */
    int nfeeders;
    int feeder_slot;          /* xf slot of the only feeder, or -1 */
};

enum valve_char { VCHAR_LINEAR, VCHAR_EQUAL_PCT };

/* A valve: a gravity orifice between two nodes (from/to), or an inline
 * shut-off valve on a pump's line (no from/to). */
struct valve {
    struct comp c;
    int from, to;             /* comp indexes (tank, sink, consumer), -1 inline */
    int submerged;            /* head counts the level of `to` */
    double cd, orifice_area;  /* -, m2 */
    double outlet_elevation;  /* m, for free discharge */
    enum valve_char characteristic;
    double rangeability;
    double cmd, pos;          /* 0..1 */
    int permit;               /* interlock permissive: 0 drives the valve shut */
    double travel_time;       /* s, full stroke */
    double flow;              /* m3/s actual, last step (signed) */
    double total;             /* m3 */
    /* set at attach for the step: the tank at `from`, and the tank at `to`
     * when the outlet is submerged (NULL when not a tank) */
    const struct tank *up_tank, *down_tank;
};

/* A pump with a variable-speed drive between two nodes. */
struct pump {
    struct comp c;
    int from, to;             /* comp indexes */
    int valve;                /* inline valve comp index, or -1 */
    double max_flow;          /* m3/s at full speed */
    double spin_up;           /* s, first-order time constant */
    double spin_alpha;        /* 1 - exp(-dt / spin_up), set at attach */
    double suction_level;     /* m: below it the pump starves */
    double dry_rate, dead_rate; /* damage fraction per second */
    double deadhead_opening;  /* inline valve below this = dead-head */
    double run_threshold;     /* speed above which the pump counts as running */
    int run;                  /* commanded run */
    int permit;               /* interlock permissive (0 = tripped) */
    double speed_ref;         /* commanded speed 0..1 */
    double speed;             /* actual speed 0..1 */
    double damage;            /* 0..1 */
    double dry_s, dead_s;
    double flow;              /* m3/s actual, last step */
    double total;             /* m3 */
    int dry_now, dead_now;    /* step scratch: conditions at the step's start */
    /* set at attach for the step: the tank at `from` (NULL when not a
     * tank) and the inline valve (NULL when none) */
    const struct tank *suction_tank;
    const struct valve *inline_valve;
};

/* A flow-paced chemical dosing skid on a line, with a plug-flow transport
 * pipe to the consumers and the carbonate pH model of the water. */
struct dose_seg {
    double vol;    /* m3 */
    double conc;   /* kg/m3 */
};
struct dosing {
    struct comp c;
    int line;                 /* comp index of the valve or pump carrying the water */
    int line_slot;            /* its transfer slot (set at attach) */
    double setpoint;          /* kg/m3 */
    double setpoint_max;      /* kg/m3, range of the setpoint input */
    double capacity;          /* kg/s, 0 = unlimited */
    double pipe_volume;       /* m3 */
    struct carbonate chem;
    double conc_dose;         /* kg/m3 at the dosing point, last step */
    double conc_out;          /* kg/m3 at the consumers */
    double max_conc_out;
    double dosed;             /* kg */
    /* ring of segments in the pipe, oldest at head */
    struct dose_seg *ring;
    size_t cap, head, n;
    /* pH cache */
    double ph_for, ph_value;
};

enum sensor_fault {
    FAULT_NONE,
    FAULT_STUCK,
    FAULT_DRIFT,
    FAULT_OFFSET,
    FAULT_DEAD,
    FAULT_ON,   /* switches: stuck active */
};

/* An analog transmitter measuring a signal of another component. */
struct transmitter {
    struct comp c;
    int src, sig;             /* measured component and signal */
    enum unit_dim dim;
    double lo, hi;            /* SI range */
    double raw_lo, raw_hi;    /* raw counts at lo and hi */
    double raw_min, raw_max;  /* the same, ordered */
    double raw_per_unit, unit_per_raw; /* scale factors */
    double noise, lag;        /* SI, s */
    vtime_t period;
    double alpha;             /* lag filter gain per sample */
    enum sensor_fault fault;
    double drift_rate, drift_acc, offset;
    double filt;              /* lagged true value */
    double raw;               /* reported counts */
    double value;             /* reported engineering value (SI) */
    int started;
    const char *unit;         /* display unit */
    double unit_factor;       /* SI per display unit */
    int decimals;
    /* set at attach: the measured signal as field * scale, when it is one
     * (plant_signal_field); NULL otherwise */
    const double *sig_field;
    double sig_scale;
};

/* A discrete switch on a signal: active above (or below) a set point, with
 * hysteresis. */
struct sw {
    struct comp c;
    int src, sig;
    enum unit_dim dim;
    double setpoint, hysteresis;
    int above;
    vtime_t period;
    enum sensor_fault fault;
    int state;      /* reported */
    int healthy;    /* what a healthy switch would report */
    const double *sig_field;  /* as in struct transmitter */
    double sig_scale;
};

/* One transfer of water in a step: from a node to a node (-1: boundary). */
struct xfer {
    int elem;      /* comp index of the source, pump or valve */
    int src, dst;  /* comp indexes; a source has src -1 */
    double v;      /* m3 this step, >= 0 */
    int reversed;  /* valve flowing to -> from */
};

struct plant {
    char *name;
    int64_t start_unix_ns;
    vtime_t dt;
    double dt_s;
    double gravity;
    struct sched *sched;
    vtime_t now;               /* end of the last physics step */
    struct comp **comps;
    size_t ncomps;
    /* index lists per kind, in file order */
    int *by_kind[K_NKINDS];
    size_t nby_kind[K_NKINDS];
    int *tank_order;            /* tanks, upstream first */
    /* columns */
    struct column *cols;
    size_t ncols;
    /* wiring */
    struct plant_wire *wires;
    char **wire_devices;
    size_t nwires, nwire_devices;
    /* totals for the balance: per-step volumes add up in a block, blocks
     * into compensated sums (plant_flush_totals) */
    struct ksum inflow, outflow;
    double inflow_block, outflow_block;
    int block_steps;
    /* step scratch: transfers in a fixed order (sources, pumps, orifice
     * valves), so each element's slot is known at attach time */
    struct xfer *xf;
    size_t nxf;
    int *slot_of;          /* comp index -> xf slot, or -1 */
    double *node_in;       /* per comp: volume in this step */
    double *node_out;      /* per comp: volume out this step */
    struct sensor_group *groups; /* built at load (by period, file order) */
    size_t ngroups;
    int *group_members;   /* storage for all groups' comps */
    /* typed views for the step, built at attach (file order) */
    struct source **sources;
    struct pump **pumps;
    struct valve **orifices;   /* valves with from/to */
    int *orifice_comp;         /* their comp indexes */
    struct valve **inline_valves; /* valves without from/to (on a pump's line) */
    struct tank **tanks;
    struct consumer **consumers;
    struct sink **sinks;
    struct dosing **dosings;
    size_t nsources, npumps, norifices, ninline, ntanks, nconsumers, nsinks, ndosings;
    double inv_dt;
    int attached;
    uint64_t steps;            /* physics steps run since the attach (not saved) */
    vtime_t knot_due;          /* earliest next demand knot of the consumers */
    /* a plant restored by plant_snap_load() before its attach: attach
     * continues from the saved times (now, groups' next) instead of
     * starting afresh, and requires the clock at resume_at */
    int resumed;
    vtime_t resume_at;         /* the instant the snapshot was taken */
};

/* ---- signals and inputs of each kind (plant_io.c) ---- */
struct port_desc {
    const char *name;
    enum unit_dim dim;
    const char *unit;      /* display / default unit */
    int is_bool;
};

/* ---- columns ---- */
enum column_what { COL_MAIN, COL_TRUE };
struct column {
    char name[COMP_ID_MAX + 8];
    const char *unit;
    double factor;          /* SI per display unit */
    int decimals;
    int comp;
    enum column_what what;
    /* the value as *field * scale / factor when it is one (most columns),
     * else NULL: set by plant_build_columns() */
    const double *field;
    double scale;
};

/* plant_load.c */
struct comp *plant_comp(const struct plant *p, int i);

/* demand.c */
void consumer_init(const struct plant *p, struct consumer *k, vtime_t now);
void consumer_advance_knots(const struct plant *p, struct consumer *k, vtime_t t);
/* Advances every consumer's demand knots past t and sets p->knot_due to the
 * earliest next knot (the step calls it only when t reaches knot_due). */
__attribute__((cold)) void plant_advance_demand(struct plant *p, vtime_t t);
/* Demand at time t, between the knots (advanced before). */
static inline void consumer_update(struct consumer *k, vtime_t t)
{
    if (k->mode == DEMAND_UNLIMITED) {
        k->demand = INFINITY;
        return;
    }
    double frac = (double)(t - k->t_prev) * 1e-9;
    k->demand = k->d_prev + (k->d_next - k->d_prev) * frac;
}
extern const double demand_default_profile[24];

/* dosing.c */
int dosing_init(struct dosing *d, struct err *e);
void dosing_free(struct dosing *d);
__attribute__((cold)) void dosing_advance_slow(struct dosing *d, double line_volume, double dt,
                                                double c0);
/* Moves `line_volume` of water past the dosing point and through the pipe. */
static inline void dosing_advance(struct dosing *d, double line_volume, double dt)
{
    if (line_volume <= 0) {
        d->conc_dose = 0;
        return;
    }
    double c0 = d->setpoint;
    if (d->capacity > 0 && c0 * line_volume > d->capacity * dt)
        c0 = d->capacity * dt / line_volume;
    if (d->n == 1 && d->ring[d->head].conc == c0 && d->conc_out == c0) {
        /* steady: the pipe holds one concentration and the same arrives */
        d->conc_dose = c0;
        d->dosed += c0 * line_volume;
        return;
    }
    dosing_advance_slow(d, line_volume, dt, c0);
}
double dosing_ph(struct dosing *d);

/* sensor.c — sensors that share a period sample together, in file order,
 * as one scheduled task (a sample group). */
struct sensor_group {
    struct plant *p;
    vtime_t period;
    int *comps;
    size_t n;
    vtime_t next;   /* time of the group's next sample (kept by the sample task) */
};
void sensor_group_sample(void *ctx, vtime_t now);
void transmitter_sample(const struct plant *p, struct transmitter *t);
void switch_sample(const struct plant *p, struct sw *s);
int switch_eval(const struct sw *s, double x, int prev);
double transmitter_truth(const struct plant *p, const struct transmitter *t);

/* plant_io.c */
double plant_signal(const struct plant *p, int comp, int sig);
/* The double field that holds a signal times *scale (exactly
 * plant_signal()'s value), or NULL when the signal is computed. */
const double *plant_signal_field(const struct plant *p, int comp, int sig, double *scale);
int plant_signal_index(enum comp_kind k, const char *name);
const struct port_desc *plant_signals(enum comp_kind k, size_t *n);
const struct port_desc *plant_inputs(enum comp_kind k, size_t *n);
int plant_build_columns(struct plant *p, struct err *e);

/* plant_step.c */
/* Adds the current block of balance totals into the compensated sums. */
__attribute__((cold)) void plant_flush_totals(struct plant *p);
/* The scheduled physics: steps up to the scheduler's horizon, then
 * reschedules itself at the next step. */
void plant_physics_task(void *ctx, vtime_t now);
int plant_order_tanks(struct plant *p, struct err *e);

#include "sim/hydraulics.h"

#endif
