/* plant_io.c — what the outside world sees of a plant: signals and inputs
 * of each kind, ports for field I/O, commands, columns, metrics and the
 * status line (see plant.h).
 *
 * The tables below are the one place that names each kind's signals and
 * inputs; sensors' `measures:`, the wiring section and commands all resolve
 * names through them. ORDER: the index of an entry is the selector used by
 * plant_signal() and cmd_apply(), so keep the switch cases in step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/plant_int.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- signals ---- */
static const struct port_desc sig_tank[] = {
    {"level", DIM_LENGTH, "m", 0},
    {"volume", DIM_VOLUME, "L", 0},
    {"spilled", DIM_VOLUME, "L", 0},
};
static const struct port_desc sig_source[] = {{"flow", DIM_FLOW, "L/min", 0}};
static const struct port_desc sig_sink[] = {{"flow", DIM_FLOW, "L/min", 0}};
static const struct port_desc sig_consumer[] = {
    {"demand", DIM_FLOW, "L/min", 0},
    {"flow", DIM_FLOW, "L/min", 0},
    {"unmet", DIM_VOLUME, "L", 0},
};
static const struct port_desc sig_pump[] = {
    {"flow", DIM_FLOW, "L/min", 0},
    {"speed", DIM_RATIO, "%", 0},
    {"running", DIM_RATIO, "1", 1},
    {"damage", DIM_RATIO, "%", 0},
};
static const struct port_desc sig_valve[] = {
    {"position", DIM_RATIO, "%", 0},
    {"flow", DIM_FLOW, "L/min", 0},
    {"opened", DIM_RATIO, "1", 1},
    {"closed", DIM_RATIO, "1", 1},
};
static const struct port_desc sig_dosing[] = {
    {"concentration", DIM_CONC, "mg/L", 0},
    {"dose", DIM_CONC, "mg/L", 0},
    {"ph", DIM_PH, "pH", 0},
    {"setpoint", DIM_CONC, "mg/L", 0},
};
/* A transmitter's "value" has the dimension of what it measures: the
 * DIM_COUNT marker means "look at the transmitter". */
static const struct port_desc sig_transmitter[] = {
    {"raw", DIM_RATIO, "1", 0},
    {"value", DIM_COUNT, NULL, 0},
};
static const struct port_desc sig_switch[] = {{"state", DIM_RATIO, "1", 1}};

static const struct {
    const struct port_desc *d;
    size_t n;
} signal_tab[K_NKINDS] = {
    [K_TANK] = {sig_tank, NELEM(sig_tank)},
    [K_SOURCE] = {sig_source, NELEM(sig_source)},
    [K_SINK] = {sig_sink, NELEM(sig_sink)},
    [K_CONSUMER] = {sig_consumer, NELEM(sig_consumer)},
    [K_PUMP] = {sig_pump, NELEM(sig_pump)},
    [K_VALVE] = {sig_valve, NELEM(sig_valve)},
    [K_DOSING] = {sig_dosing, NELEM(sig_dosing)},
    [K_TRANSMITTER] = {sig_transmitter, NELEM(sig_transmitter)},
    [K_SWITCH] = {sig_switch, NELEM(sig_switch)},
};

/* ---- inputs ---- */
static const struct port_desc in_pump[] = {
    {"speed", DIM_RATIO, "%", 0},
    {"run", DIM_RATIO, "1", 1},
    {"permit", DIM_RATIO, "1", 1},
};
static const struct port_desc in_valve[] = {
    {"position", DIM_RATIO, "%", 0},
    {"open", DIM_RATIO, "1", 1},
    {"permit", DIM_RATIO, "1", 1},
};
static const struct port_desc in_dosing[] = {{"setpoint", DIM_CONC, "mg/L", 0}};
static const struct port_desc in_source[] = {{"flow", DIM_FLOW, "L/min", 0}};

static const struct {
    const struct port_desc *d;
    size_t n;
} input_tab[K_NKINDS] = {
    [K_PUMP] = {in_pump, NELEM(in_pump)},
    [K_VALVE] = {in_valve, NELEM(in_valve)},
    [K_DOSING] = {in_dosing, NELEM(in_dosing)},
    [K_SOURCE] = {in_source, NELEM(in_source)},
};

/* ---- runtime parameters (commands that are not inputs) ---- */
enum {
    PARAM_BASE = 100,
    PARAM_FAULT = PARAM_BASE,
    PARAM_DRIFT,
    PARAM_OFFSET,
    PARAM_NOISE,
    PARAM_DEMAND,
};

static const char *fault_names[] = {"none", "stuck", "drift", "offset", "dead", "on"};

const struct port_desc *plant_signals(enum comp_kind k, size_t *n)
{
    *n = signal_tab[k].n;
    return signal_tab[k].d;
}

const struct port_desc *plant_inputs(enum comp_kind k, size_t *n)
{
    *n = input_tab[k].n;
    return input_tab[k].d;
}

int plant_signal_index(enum comp_kind k, const char *name)
{
    for (size_t i = 0; i < signal_tab[k].n; i++)
        if (strcmp(signal_tab[k].d[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int input_index(enum comp_kind k, const char *name)
{
    for (size_t i = 0; i < input_tab[k].n; i++)
        if (strcmp(input_tab[k].d[i].name, name) == 0)
            return (int)i;
    return -1;
}

double plant_signal(const struct plant *p, int comp, int sig)
{
    const struct comp *c = p->comps[comp];
    switch (c->kind) {
    case K_TANK: {
        const struct tank *t = (const struct tank *)c;
        switch (sig) {
        case 0: return tank_level(t);
        case 1: return t->volume;
        default: return t->spilled;
        }
    }
    case K_SOURCE: return ((const struct source *)c)->flow;
    case K_SINK: return ((const struct sink *)c)->flow;
    case K_CONSUMER: {
        const struct consumer *k = (const struct consumer *)c;
        switch (sig) {
        case 0: return k->demand;
        case 1: return k->flow;
        default: return k->unmet;
        }
    }
    case K_PUMP: {
        const struct pump *u = (const struct pump *)c;
        switch (sig) {
        case 0: return u->flow;
        case 1: return u->speed;
        case 2: return u->speed > u->run_threshold;
        default: return u->damage;
        }
    }
    case K_VALVE: {
        const struct valve *v = (const struct valve *)c;
        switch (sig) {
        case 0: return v->pos;
        case 1: return v->flow;
        case 2: return v->pos >= 0.99;
        default: return v->pos <= 0.01;
        }
    }
    case K_DOSING: {
        struct dosing *d = (struct dosing *)c; /* pH is cached */
        switch (sig) {
        case 0: return d->conc_out;
        case 1: return d->conc_dose;
        case 2: return dosing_ph(d);
        default: return d->setpoint;
        }
    }
    case K_TRANSMITTER: {
        const struct transmitter *t = (const struct transmitter *)c;
        return sig == 0 ? t->raw : t->value;
    }
    case K_SWITCH: return ((const struct sw *)c)->state;
    default: return NAN;
    }
}

const double *plant_signal_field(const struct plant *p, int comp, int sig, double *scale)
{
    struct comp *c = p->comps[comp];
    *scale = 1.0;
    switch (c->kind) {
    case K_TANK: {
        struct tank *t = (struct tank *)c;
        if (sig == 0)
            *scale = t->inv_area; /* tank_level() */
        return sig <= 1 ? &t->volume : &t->spilled;
    }
    case K_SOURCE: return &((struct source *)c)->flow;
    case K_SINK: return &((struct sink *)c)->flow;
    case K_CONSUMER: {
        struct consumer *k = (struct consumer *)c;
        return sig == 0 ? &k->demand : sig == 1 ? &k->flow : &k->unmet;
    }
    case K_PUMP: {
        struct pump *u = (struct pump *)c;
        return sig == 0 ? &u->flow : sig == 1 ? &u->speed : sig == 2 ? NULL : &u->damage;
    }
    case K_VALVE: {
        struct valve *v = (struct valve *)c;
        return sig == 0 ? &v->pos : sig == 1 ? &v->flow : NULL;
    }
    case K_DOSING: {
        struct dosing *d = (struct dosing *)c;
        return sig == 0 ? &d->conc_out : sig == 1 ? &d->conc_dose : sig == 2 ? NULL : &d->setpoint;
    }
    case K_TRANSMITTER: {
        struct transmitter *t = (struct transmitter *)c;
        return sig == 0 ? &t->raw : &t->value;
    }
    default: return NULL;
    }
}

/* ---- ports ---- */

static int is_sensor(enum comp_kind k)
{
    return k == K_TRANSMITTER || k == K_SWITCH;
}

int plant_port_find(const struct plant *p, const char *name, int want_input,
                    struct plant_port *out, struct err *e)
{
    char tag[COMP_ID_MAX];
    const char *dot = strchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : strlen(name);
    if (n == 0 || n >= sizeof tag)
        return err_set(e, "'%s' is not a tag", name);
    memcpy(tag, name, n);
    tag[n] = '\0';
    int ci = plant_find(p, tag);
    if (ci < 0)
        return err_set(e, "no component '%s'", tag);
    const struct comp *c = p->comps[ci];
    out->comp = ci;
    out->is_input = want_input;
    size_t cnt;
    const struct port_desc *d = want_input ? plant_inputs(c->kind, &cnt)
                                           : plant_signals(c->kind, &cnt);
    if (!dot) {
        if (want_input && cnt == 0)
            return err_set(e, "'%s' is a %s: it has no input to drive", tag,
                           plant_comp_type(p, (size_t)ci));
        if (!want_input && !is_sensor(c->kind))
            return err_set(e, "'%s' is a %s, not a sensor; name one of its signals "
                           "(e.g. %s.%s) or wire a sensor that measures it", tag,
                           plant_comp_type(p, (size_t)ci), tag, d[0].name);
        out->index = 0;
        out->is_bool = d[0].is_bool;
        return 0;
    }
    int idx = want_input ? input_index(c->kind, dot + 1) : plant_signal_index(c->kind, dot + 1);
    if (idx < 0) {
        char list[256] = "";
        size_t len = 0;
        for (size_t i = 0; i < cnt && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                    d[i].name);
        if (cnt == 0)
            return err_set(e, "'%s' (%s) has no %s", tag, plant_comp_type(p, (size_t)ci),
                           want_input ? "inputs" : "signals");
        return err_set(e, "'%s' (%s) has no %s '%s' (it has: %s)", tag,
                       plant_comp_type(p, (size_t)ci), want_input ? "input" : "signal",
                       dot + 1, list);
    }
    out->index = idx;
    out->is_bool = d[idx].is_bool;
    return 0;
}

double plant_port_read(const struct plant *p, const struct plant_port *port)
{
    if (!port->is_input)
        return plant_signal(p, port->comp, port->index);
    const struct comp *c = p->comps[port->comp];
    switch (c->kind) {
    case K_PUMP: {
        const struct pump *u = (const struct pump *)c;
        return port->index == 0 ? u->speed_ref : port->index == 1 ? u->run : u->permit;
    }
    case K_VALVE: {
        const struct valve *v = (const struct valve *)c;
        return port->index == 0 ? v->cmd : port->index == 1 ? v->cmd >= 0.5 : v->permit;
    }
    case K_DOSING: return ((const struct dosing *)c)->setpoint;
    case K_SOURCE: return ((const struct source *)c)->flow;
    default: return NAN;
    }
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void plant_port_write(struct plant *p, const struct plant_port *port, double v)
{
    if (!port->is_input || !isfinite(v))
        return;
    struct comp *c = p->comps[port->comp];
    switch (c->kind) {
    case K_PUMP: {
        struct pump *u = (struct pump *)c;
        if (port->index == 0)
            u->speed_ref = clamp(v, 0, 1);
        else if (port->index == 1)
            u->run = v != 0;
        else
            u->permit = v != 0;
        break;
    }
    case K_VALVE: {
        struct valve *vv = (struct valve *)c;
        if (port->index == 0)
            vv->cmd = clamp(v, 0, 1);
        else if (port->index == 1)
            vv->cmd = v != 0 ? 1.0 : 0.0;
        else
            vv->permit = v != 0;
        break;
    }
    case K_DOSING: {
        struct dosing *d = (struct dosing *)c;
        d->setpoint = clamp(v, 0, d->setpoint_max);
        break;
    }
    case K_SOURCE: ((struct source *)c)->flow = v < 0 ? 0 : v; break;
    default: break;
    }
}

void plant_port_range(const struct plant *p, const struct plant_port *port,
                      double *lo, double *hi)
{
    const struct comp *c = p->comps[port->comp];
    *lo = 0;
    *hi = 1;
    if (port->is_bool)
        return;
    if (c->kind == K_TRANSMITTER) {
        const struct transmitter *t = (const struct transmitter *)c;
        if (port->index == 0) {
            *lo = t->raw_lo;
            *hi = t->raw_hi;
        } else {
            *lo = t->lo;
            *hi = t->hi;
        }
    } else if (c->kind == K_DOSING && port->is_input) {
        *hi = ((const struct dosing *)c)->setpoint_max;
    } else if (c->kind == K_SOURCE && port->is_input) {
        *hi = 1e-3; /* 60 L/min */
    }
}

/* ---- commands ---- */

static int parse_bool_word(const char *s, double *v)
{
    static const char *on[] = {"on", "true", "yes", "open", "run", "start", "1"};
    static const char *off[] = {"off", "false", "no", "closed", "close", "stop", "0"};
    for (size_t i = 0; i < NELEM(on); i++) {
        if (strcasecmp(s, on[i]) == 0) {
            *v = 1;
            return 0;
        }
        if (strcasecmp(s, off[i]) == 0) {
            *v = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_input_value(const struct port_desc *d, const char *tag,
                             const char *val, double *out, struct err *e)
{
    if (d->is_bool) {
        if (parse_bool_word(val, out) == 0)
            return 0;
        return err_set(e, "%s.%s: '%s' is not on/off (on, off, 1, 0, open, closed)", tag,
                       d->name, val);
    }
    if (d->dim == DIM_RATIO && parse_bool_word(val, out) == 0)
        return 0; /* "open" = 100 %, "off" = 0 % */
    struct err ue;
    if (unit_parse(val, d->dim, d->dim == DIM_RATIO ? "1" : d->unit, out, &ue) != 0)
        return err_set(e, "%s.%s: %s", tag, d->name, ue.msg);
    if (d->dim == DIM_RATIO && (*out < 0 || *out > 1))
        return err_set(e, "%s.%s: '%s' is outside 0..100 %% (write 61%% or 0.61)", tag,
                       d->name, val);
    if (*out < 0)
        return err_set(e, "%s.%s: '%s' must not be negative", tag, d->name, val);
    return 0;
}

int plant_cmd_parse(const struct plant *p, const char *text, struct plant_cmd *out,
                    struct err *e)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || !eq[1])
        return err_set(e, "'%s': expected TAG=VALUE or TAG.PARAM=VALUE", text);
    char lhs[2 * COMP_ID_MAX];
    size_t n = (size_t)(eq - text);
    if (n >= sizeof lhs)
        return err_set(e, "'%s': name too long", text);
    memcpy(lhs, text, n);
    lhs[n] = '\0';
    const char *val = eq + 1;
    char *dot = strchr(lhs, '.');
    if (dot)
        *dot = '\0';
    int ci = plant_find(p, lhs);
    if (ci < 0)
        return err_set(e, "'%s': no component '%s'", text, lhs);
    const struct comp *c = p->comps[ci];
    out->comp = ci;
    size_t nin;
    const struct port_desc *ins = plant_inputs(c->kind, &nin);
    const char *param = dot ? dot + 1 : NULL;
    if (!param) {
        if (nin == 0) {
            if (is_sensor(c->kind))
                return err_set(e, "'%s': %s is a sensor; inject a fault instead "
                               "(%s.fault=stuck|drift|offset|dead)", text, lhs, lhs);
            return err_set(e, "'%s': %s (%s) takes no command", text, lhs,
                           plant_comp_type(p, (size_t)ci));
        }
        out->what = 0;
        return parse_input_value(&ins[0], lhs, val, &out->value, e);
    }
    int ii = input_index(c->kind, param);
    if (ii >= 0) {
        out->what = ii;
        return parse_input_value(&ins[ii], lhs, val, &out->value, e);
    }
    if (strcmp(param, "fault") == 0 && is_sensor(c->kind)) {
        size_t nf = c->kind == K_SWITCH ? NELEM(fault_names) : 5;
        for (size_t i = 0; i < nf; i++) {
            if (c->kind == K_SWITCH && (i == FAULT_DRIFT || i == FAULT_OFFSET))
                continue;
            if (strcmp(val, fault_names[i]) == 0) {
                out->what = PARAM_FAULT;
                out->value = (double)i;
                return 0;
            }
        }
        return err_set(e, "'%s': fault must be one of %s", text,
                       c->kind == K_SWITCH ? "none, stuck, dead, on"
                                           : "none, stuck, drift, offset, dead");
    }
    if (c->kind == K_TRANSMITTER &&
        (strcmp(param, "drift") == 0 || strcmp(param, "offset") == 0 ||
         strcmp(param, "noise") == 0)) {
        const struct transmitter *t = (const struct transmitter *)c;
        struct err ue;
        int r;
        if (strcmp(param, "drift") == 0) {
            out->what = PARAM_DRIFT;
            r = unit_parse_per_time(val, t->dim, t->unit, &out->value, &ue);
        } else {
            out->what = strcmp(param, "offset") == 0 ? PARAM_OFFSET : PARAM_NOISE;
            r = unit_parse(val, t->dim, t->unit, &out->value, &ue);
            if (r == 0 && out->what == PARAM_NOISE && out->value < 0)
                return err_set(e, "'%s': noise must not be negative", text);
        }
        if (r != 0)
            return err_set(e, "'%s': %s", text, ue.msg);
        return 0;
    }
    if (c->kind == K_CONSUMER && strcmp(param, "demand") == 0) {
        static const char *modes[] = {"diurnal", "constant", "unlimited"};
        for (int i = 0; i < 3; i++)
            if (strcmp(val, modes[i]) == 0) {
                out->what = PARAM_DEMAND;
                out->value = i;
                return 0;
            }
        return err_set(e, "'%s': demand must be diurnal, constant or unlimited", text);
    }
    char list[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < nin; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "",
                                ins[i].name);
    if (c->kind == K_TRANSMITTER)
        snprintf(list + len, sizeof list - len, "%sfault, drift, offset, noise", len ? ", " : "");
    else if (c->kind == K_SWITCH)
        snprintf(list + len, sizeof list - len, "%sfault", len ? ", " : "");
    else if (c->kind == K_CONSUMER)
        snprintf(list + len, sizeof list - len, "%sdemand", len ? ", " : "");
    if (!list[0])
        return err_set(e, "'%s': %s (%s) has nothing to command", text, lhs,
                       plant_comp_type(p, (size_t)ci));
    return err_set(e, "'%s': %s (%s) has no parameter '%s' (commands: %s)", text, lhs,
                   plant_comp_type(p, (size_t)ci), param, list);
}

void plant_cmd_apply(struct plant *p, const struct plant_cmd *cmd)
{
    struct comp *c = p->comps[cmd->comp];
    if (cmd->what < PARAM_BASE) {
        struct plant_port port = {cmd->comp, cmd->what, 1, 0};
        if (c->kind == K_PUMP && cmd->what == 0) {
            /* "PUMP=61%": speed reference, and run when above zero */
            struct pump *u = (struct pump *)c;
            u->speed_ref = clamp(cmd->value, 0, 1);
            u->run = cmd->value > 0;
            return;
        }
        plant_port_write(p, &port, cmd->value);
        return;
    }
    switch (cmd->what) {
    case PARAM_FAULT:
        if (c->kind == K_TRANSMITTER) {
            struct transmitter *t = (struct transmitter *)c;
            t->fault = (enum sensor_fault)cmd->value;
            t->drift_acc = 0;
        } else if (c->kind == K_SWITCH) {
            ((struct sw *)c)->fault = (enum sensor_fault)cmd->value;
        }
        break;
    case PARAM_DRIFT: {
        struct transmitter *t = (struct transmitter *)c;
        t->drift_rate = cmd->value;
        if (t->fault == FAULT_NONE)
            t->fault = FAULT_DRIFT;
        break;
    }
    case PARAM_OFFSET: {
        struct transmitter *t = (struct transmitter *)c;
        t->offset = cmd->value;
        if (t->fault == FAULT_NONE)
            t->fault = FAULT_OFFSET;
        break;
    }
    case PARAM_NOISE: ((struct transmitter *)c)->noise = cmd->value; break;
    case PARAM_DEMAND: ((struct consumer *)c)->mode = (enum demand_mode)cmd->value; break;
    default: break;
    }
}

/* ---- columns ---- */

static int decimals_for(const char *unit)
{
    if (!unit)
        return 6;
    if (strcmp(unit, "m") == 0)
        return 6;
    if (strcmp(unit, "1") == 0)
        return 0;
    if (strcmp(unit, "%") == 0 || strcmp(unit, "L") == 0 || strcmp(unit, "mg/L") == 0)
        return 3;
    if (strcmp(unit, "pH") == 0)
        return 4;
    return 4;
}

/* The field that holds a column's value times *scale, exactly as
 * plant_column_value() computes it, or NULL when it is computed. */
static const double *column_field(struct plant *p, int comp, enum column_what what,
                                  double *scale)
{
    struct comp *c = p->comps[comp];
    int main = what == COL_MAIN;
    *scale = 1.0;
    switch (c->kind) {
    case K_TANK:
        *scale = ((struct tank *)c)->inv_area; /* tank_level() */
        return &((struct tank *)c)->volume;
    case K_SOURCE: return &((struct source *)c)->flow;
    case K_SINK: return &((struct sink *)c)->flow;
    case K_VALVE: return main ? &((struct valve *)c)->cmd : &((struct valve *)c)->pos;
    case K_DOSING:
        return main ? &((struct dosing *)c)->setpoint : &((struct dosing *)c)->conc_out;
    case K_TRANSMITTER: {
        struct transmitter *t = (struct transmitter *)c;
        return main ? &t->value : plant_signal_field(p, t->src, t->sig, scale);
    }
    default: return NULL; /* consumer (NaN when unlimited), pump, switch */
    }
}

static int add_column(struct plant *p, int comp, enum column_what what,
                      const char *unit, enum unit_dim dim, int decimals, struct err *e)
{
    struct column *cols = realloc(p->cols, (p->ncols + 1) * sizeof *cols);
    if (!cols)
        return err_set(e, "out of memory");
    p->cols = cols;
    struct column *col = &cols[p->ncols++];
    snprintf(col->name, sizeof col->name, "%s%s", p->comps[comp]->id,
             what == COL_TRUE ? ".true" : "");
    col->comp = comp;
    col->what = what;
    col->unit = unit;
    col->factor = 1.0;
    if (unit && strcmp(unit, "1") != 0 && unit_factor(dim, unit, &col->factor) != 0)
        col->factor = 1.0;
    col->decimals = decimals >= 0 ? decimals : decimals_for(unit);
    col->field = column_field(p, comp, what, &col->scale);
    return 0;
}

int plant_build_columns(struct plant *p, struct err *e)
{
    for (size_t i = 0; i < p->ncomps; i++) {
        struct comp *c = p->comps[i];
        if (!c->csv)
            continue;
        int ci = (int)i, r = 0;
        switch (c->kind) {
        case K_TANK: r = add_column(p, ci, COL_MAIN, "m", DIM_LENGTH, -1, e); break;
        case K_SOURCE:
        case K_SINK: r = add_column(p, ci, COL_MAIN, "L/min", DIM_FLOW, -1, e); break;
        case K_CONSUMER: r = add_column(p, ci, COL_MAIN, "L/min", DIM_FLOW, -1, e); break;
        case K_PUMP:
        case K_VALVE:
            r = add_column(p, ci, COL_MAIN, "%", DIM_RATIO, -1, e) ||
                add_column(p, ci, COL_TRUE, "%", DIM_RATIO, -1, e);
            break;
        case K_DOSING:
            r = add_column(p, ci, COL_MAIN, "mg/L", DIM_CONC, -1, e) ||
                add_column(p, ci, COL_TRUE, "mg/L", DIM_CONC, -1, e);
            break;
        case K_TRANSMITTER: {
            struct transmitter *t = (struct transmitter *)c;
            r = add_column(p, ci, COL_MAIN, t->unit, t->dim, t->decimals, e) ||
                add_column(p, ci, COL_TRUE, t->unit, t->dim, t->decimals + 2, e);
            break;
        }
        case K_SWITCH:
            r = add_column(p, ci, COL_MAIN, "1", DIM_RATIO, 0, e) ||
                add_column(p, ci, COL_TRUE, "1", DIM_RATIO, 0, e);
            break;
        default: break;
        }
        if (r)
            return -1;
    }
    return 0;
}

size_t plant_ncolumns(const struct plant *p)
{
    return p->ncols;
}

const char *plant_column_name(const struct plant *p, size_t i)
{
    return i < p->ncols ? p->cols[i].name : NULL;
}

const char *plant_column_unit(const struct plant *p, size_t i)
{
    return i < p->ncols ? p->cols[i].unit : NULL;
}

int plant_column_decimals(const struct plant *p, size_t i)
{
    return i < p->ncols ? p->cols[i].decimals : 0;
}

double plant_column_value(const struct plant *p, size_t i)
{
    const struct column *col = &p->cols[i];
    if (col->field)
        return *col->field * col->scale / col->factor;
    const struct comp *c = p->comps[col->comp];
    int main = col->what == COL_MAIN;
    double v;
    switch (c->kind) {
    case K_TANK: v = tank_level((const struct tank *)c); break;
    case K_SOURCE: v = ((const struct source *)c)->flow; break;
    case K_SINK: v = ((const struct sink *)c)->flow; break;
    case K_CONSUMER: {
        const struct consumer *k = (const struct consumer *)c;
        v = k->mode == DEMAND_UNLIMITED ? NAN : k->demand;
        break;
    }
    case K_PUMP: {
        const struct pump *u = (const struct pump *)c;
        v = main ? (u->run ? u->speed_ref : 0.0) : u->speed;
        break;
    }
    case K_VALVE: {
        const struct valve *vv = (const struct valve *)c;
        v = main ? vv->cmd : vv->pos;
        break;
    }
    case K_DOSING: {
        const struct dosing *d = (const struct dosing *)c;
        v = main ? d->setpoint : d->conc_out;
        break;
    }
    case K_TRANSMITTER: {
        const struct transmitter *t = (const struct transmitter *)c;
        v = main ? t->value : transmitter_truth(p, t);
        break;
    }
    case K_SWITCH: {
        const struct sw *s = (const struct sw *)c;
        if (main)
            return s->state;
        /* the healthy switch, judged on the truth now */
        return switch_eval(s, plant_signal(p, s->src, s->sig), s->healthy);
    }
    default: return NAN;
    }
    return v / col->factor;
}

/* ---- metrics ---- */

static void put_metric(struct plant_metric *out, size_t cap, size_t *n,
                       const char *comp, const char *name, double v)
{
    if (*n < cap)
        out[*n] = (struct plant_metric){comp, name, v};
    (*n)++;
}

size_t plant_metrics(const struct plant *p, struct plant_metric *out, size_t cap)
{
    size_t n = 0;
    double spilled = 0, returned = 0, unmet = 0, damage = 0, dry = 0, dead = 0;
    double vol = 0, vol0 = 0;
    for (size_t i = 0; i < p->ncomps; i++) {
        const struct comp *c = p->comps[i];
        switch (c->kind) {
        case K_TANK: {
            const struct tank *t = (const struct tank *)c;
            spilled += t->spilled;
            returned += t->returned;
            vol += t->volume;
            vol0 += t->volume0;
            break;
        }
        case K_PUMP: {
            const struct pump *u = (const struct pump *)c;
            if (u->damage > damage)
                damage = u->damage;
            dry += u->dry_s;
            dead += u->dead_s;
            break;
        }
        case K_CONSUMER: unmet += ((const struct consumer *)c)->unmet; break;
        default: break;
        }
    }
    put_metric(out, cap, &n, NULL, "spilled_L", spilled * 1e3);
    put_metric(out, cap, &n, NULL, "returned_L", returned * 1e3);
    put_metric(out, cap, &n, NULL, "unmet_demand_L", unmet * 1e3);
    put_metric(out, cap, &n, NULL, "pump_damage_pct", damage * 100);
    put_metric(out, cap, &n, NULL, "dry_run_s", dry);
    put_metric(out, cap, &n, NULL, "dead_head_s", dead);
    struct ksum in = p->inflow, outk = p->outflow;
    ksum_add(&in, p->inflow_block);
    ksum_add(&outk, p->outflow_block);
    put_metric(out, cap, &n, NULL, "inflow_m3", ksum_get(&in));
    put_metric(out, cap, &n, NULL, "outflow_m3", ksum_get(&outk));
    put_metric(out, cap, &n, NULL, "spilled_m3", spilled);
    put_metric(out, cap, &n, NULL, "returned_m3", returned);
    put_metric(out, cap, &n, NULL, "volume_start_m3", vol0);
    put_metric(out, cap, &n, NULL, "volume_m3", vol);
    for (size_t i = 0; i < p->ncomps; i++) {
        const struct comp *c = p->comps[i];
        switch (c->kind) {
        case K_TANK: {
            const struct tank *t = (const struct tank *)c;
            if (!t->overflow_return)
                put_metric(out, cap, &n, c->id, "spilled_L", t->spilled * 1e3);
            else
                put_metric(out, cap, &n, c->id, "returned_L", t->returned * 1e3);
            put_metric(out, cap, &n, c->id, "level_m", tank_level(t));
            put_metric(out, cap, &n, c->id, "max_level_m", t->max_level);
            break;
        }
        case K_PUMP: {
            const struct pump *u = (const struct pump *)c;
            put_metric(out, cap, &n, c->id, "damage_pct", u->damage * 100);
            put_metric(out, cap, &n, c->id, "dry_run_s", u->dry_s);
            put_metric(out, cap, &n, c->id, "dead_head_s", u->dead_s);
            put_metric(out, cap, &n, c->id, "delivered_L", u->total * 1e3);
            break;
        }
        case K_CONSUMER: {
            const struct consumer *k = (const struct consumer *)c;
            put_metric(out, cap, &n, c->id, "delivered_L", k->total * 1e3);
            put_metric(out, cap, &n, c->id, "unmet_L", k->unmet * 1e3);
            break;
        }
        case K_DOSING: {
            struct dosing *d = (struct dosing *)c;
            put_metric(out, cap, &n, c->id, "concentration_mg_L", d->conc_out * 1e3);
            put_metric(out, cap, &n, c->id, "max_concentration_mg_L", d->max_conc_out * 1e3);
            put_metric(out, cap, &n, c->id, "ph", dosing_ph(d));
            /* pH rises with the dose, so the worst pH is that of the worst dose */
            put_metric(out, cap, &n, c->id, "max_ph",
                       carbonate_ph(&d->chem, d->max_conc_out, d->ph_value));
            put_metric(out, cap, &n, c->id, "dosed_g", d->dosed * 1e3);
            break;
        }
        default: break;
        }
    }
    return n;
}

double plant_metric(const struct plant *p, const char *name)
{
    struct plant_metric m[16];
    size_t n = plant_metrics(p, m, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        if (!m[i].comp && strcmp(m[i].name, name) == 0)
            return m[i].value;
    return NAN;
}

void plant_status_line(const struct plant *p, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->ncomps && n < len; i++) {
        const struct comp *c = p->comps[i];
        switch (c->kind) {
        case K_TANK:
            n += (size_t)snprintf(buf + n, len - n, "%s %.3f m | ", c->id,
                                  tank_level((const struct tank *)c));
            break;
        case K_PUMP: {
            const struct pump *u = (const struct pump *)c;
            n += (size_t)snprintf(buf + n, len - n, "%s %.0f %%%s | ", c->id, u->speed * 100,
                                  u->damage >= 1 ? " FAILED" : "");
            break;
        }
        case K_VALVE:
            n += (size_t)snprintf(buf + n, len - n, "%s %.0f %% | ", c->id,
                                  ((const struct valve *)c)->pos * 100);
            break;
        default: break;
        }
    }
    if (n < len)
        snprintf(buf + n, len - n, "spilled %.1f L", plant_metric(p, "spilled_L"));
}
