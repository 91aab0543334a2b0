/* plant.h — the physical process: a plant assembled from a plant file.
 *
 * A plant is a set of generic components (tanks, sources, sinks, consumers,
 * pumps, valves, dosing skids, transmitters, switches) declared in YAML and
 * linked by their ids; no plant is known to the code. Once attached to a
 * scheduler the physics steps at a fixed dt and each sensor samples at its
 * own period, all on the virtual clock. The state is a pure function of the
 * plant file, the seed and the commands given: no sockets, no files, no
 * knowledge of PLCs.
 *
 * Everything is SI inside (m, m2, m3, s, m3/s, kg/m3). Columns and metrics
 * carry their display unit (L/min, mg/L, ...) for outputs.
 *
 * Ownership: plant_load() returns a plant the caller frees with plant_free();
 * strings returned by accessors live as long as the plant.
 */
#ifndef SIM_PLANT_H
#define SIM_PLANT_H

#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/locaddr.h"
#include "core/sched.h"
#include "core/vtime.h"

struct plant;

/* Builds a plant from a loaded plant file (overrides already applied with
 * cfg_override()). `seed` seeds every component's random stream. Top-level
 * keys the plant does not own but another module does may be listed in
 * `foreign_keys` (NULL-terminated; may be NULL). Returns NULL with
 * "file:line:col: message" in e. */
struct plant *plant_load(struct cfg *c, uint64_t seed,
                         const char *const *foreign_keys, struct err *e);
void plant_free(struct plant *p);

/* Registers the physics step and the sensor samples on `s`, starting at its
 * current time. A plant is attached to one scheduler once. */
int plant_attach(struct plant *p, struct sched *s, struct err *e);

/* Physics steps run since plant_attach() in this process (a restored plant
 * counts from its restore). */
uint64_t plant_steps(const struct plant *p);

/* Snapshots (core/snap.h): section "plant" holds the whole dynamic state —
 * every tank, valve, pump, sensor (with its random stream and pending
 * sample time), dosing pipe and consumer, the balance sums and the time of
 * the next physics step. plant_snap_save() may be called between scheduler
 * events, attached or not. plant_snap_load() is called on a plant freshly
 * loaded from the same plant file (with the same --set overrides), before
 * plant_attach(); it checks the section is of this plant (component ids and
 * types, dt) and every value before changing anything, so on error the
 * plant is untouched. The attach then requires the scheduler's clock at the
 * snapshot's instant (sched_set_now()) and continues from the saved times:
 * the run after a restore is bit-for-bit the run that was not interrupted. */
struct snapw;
struct snapr;
void plant_snap_save(const struct plant *p, struct snapw *w);
int plant_snap_load(struct plant *p, struct snapr *r, struct err *e);

/* `--set TAG.PARAM=VALUE`: overrides PARAM of component TAG in a loaded
 * plant file before plant_load() (errors then name "--set ..."). Returns 0
 * or -1. */
int plant_cfg_set(struct cfg *c, const char *text, struct err *e);
/* An instant for `--at`: a duration from the start ("90s", "1h30m") or an
 * ISO-8601 UTC time not before the plant's start. Returns 0 or -1. */
int plant_parse_when(const struct plant *p, const char *s, vtime_t *out, struct err *e);

const char *plant_name(const struct plant *p);
/* Unix nanoseconds of virtual time 0 (the plant file's `start`). */
int64_t plant_start_unix_ns(const struct plant *p);
vtime_t plant_dt(const struct plant *p);

/* Components, in file order. */
size_t plant_ncomponents(const struct plant *p);
const char *plant_comp_id(const struct plant *p, size_t i);
const char *plant_comp_type(const struct plant *p, size_t i);
/* Index of the component with this id, or -1. */
int plant_find(const struct plant *p, const char *id);

/* ---- commands ----
 * A command sets an actuator input ("PUMP=61%", "VALVE=closed",
 * "PUMP.run=1") or a runtime parameter ("SENSOR.fault=stuck",
 * "SENSOR.drift=2 mm/min"). It is parsed once (with errors naming the
 * target) and applied at a chosen instant. */
struct plant_cmd {
    int comp;       /* component index */
    int what;       /* kind-specific selector */
    double value;   /* SI value, or an enum for symbolic parameters */
};

/* Parses "TAG=VALUE" or "TAG.PARAM=VALUE". Returns 0 or -1 with a message
 * naming the tag, the parameter and the accepted values. */
int plant_cmd_parse(const struct plant *p, const char *text,
                    struct plant_cmd *out, struct err *e);
/* Applies a parsed command now. */
void plant_cmd_apply(struct plant *p, const struct plant_cmd *cmd);

/* ---- ports: named signals and inputs for field I/O ----
 * "SENSOR" (a sensor's reading, as raw counts), "SENSOR.value",
 * "PUMP.run", "PUMP.speed", "TANK.level" ... */
struct plant_port {
    int comp;
    int index;     /* signal or input index within the component */
    int is_input;  /* 1: writable actuator input; 0: readable signal */
    int is_bool;   /* 1: a discrete (0/1) quantity */
};

/* Resolves "TAG" or "TAG.NAME". want_input selects inputs (1), signals
 * (0). Returns 0 or -1 with a message. */
int plant_port_find(const struct plant *p, const char *name, int want_input,
                    struct plant_port *out, struct err *e);
double plant_port_read(const struct plant *p, const struct plant_port *port);
void plant_port_write(struct plant *p, const struct plant_port *port, double v);
/* Engineering range of a port (for raw scaling), in SI. */
void plant_port_range(const struct plant *p, const struct plant_port *port,
                      double *lo, double *hi);

/* ---- wiring: the plant's terminals to devices (the `wiring` section) ----
 * Each point binds a located address of a named device to a port: %I
 * addresses read sensors, %Q addresses drive actuators. */
struct plant_wire {
    const char *device;     /* device name as written in the plant file */
    struct locaddr addr;
    struct plant_port port;
    double raw_lo, raw_hi;  /* raw counts for analog points */
    double eng_lo, eng_hi;  /* SI range the raw counts map to */
};
size_t plant_nwires(const struct plant *p);
const struct plant_wire *plant_wire_at(const struct plant *p, size_t i);

/* ---- columns: the values a recorder writes (CSV, historian) ----
 * For each sensor "TAG" (what it reports) and "TAG.true" (the physical
 * truth); for each actuator "TAG" (command) and "TAG.true" (actual state);
 * tank levels, consumer demand, dosing setpoints. Values are in the
 * column's display unit. */
size_t plant_ncolumns(const struct plant *p);
const char *plant_column_name(const struct plant *p, size_t i);
const char *plant_column_unit(const struct plant *p, size_t i);
int plant_column_decimals(const struct plant *p, size_t i);
double plant_column_value(const struct plant *p, size_t i);

/* ---- metrics: consequences, computed continuously ----
 * Plant totals (comp == NULL): spilled_L, returned_L, unmet_demand_L,
 * pump_damage_pct (worst pump), dry_run_s, dead_head_s, inflow_m3,
 * outflow_m3, spilled_m3, returned_m3, volume_start_m3, volume_m3; and per
 * component: tanks (spilled_L, returned_L, level_m, max_level_m), pumps
 * (damage_pct, dry_run_s, dead_head_s, delivered_L), consumers
 * (delivered_L, unmet_L), dosing (concentration_mg_L, max_concentration_mg_L,
 * ph, max_ph, dosed_g). */
struct plant_metric {
    const char *comp;  /* component id, or NULL for a plant total */
    const char *name;
    double value;
};
/* Fills up to `cap` metrics into out and returns how many exist. */
size_t plant_metrics(const struct plant *p, struct plant_metric *out, size_t cap);
/* One metric by name (plant total); NAN if unknown. */
double plant_metric(const struct plant *p, const char *name);

/* A one-line status of the plant ("TANK 0.512 m | PUMP 61 % | ...") for a
 * live display. */
void plant_status_line(const struct plant *p, char *buf, size_t len);

#endif
