/* hydraulics.h — the equations of tanks, valves and pumps.
 *
 *   tank:   V = A h, level capped at the rim; what exceeds it overflows
 *   valve:  q = Cd a f(x) sqrt(2 g dh)   (orifice; f the characteristic)
 *           position moves toward permit * command at 1/travel_time per
 *           second (an interlock with permit 0 drives the valve shut)
 *   pump:   q = speed * q_max * s(h_suction) * x_inline, zero when failed;
 *           speed follows run * permit * speed_ref with a first-order lag
 *           (spin_up); `permit` is an interlock (an SIS output,
 *           de-energise to trip) in series with the run command;
 *           running dry (suction starved) or dead-headed (inline valve
 *           shut) accumulates damage; at 100 % the pump fails
 */
#ifndef SIM_HYDRAULICS_H
#define SIM_HYDRAULICS_H

#include <math.h>

/* Included by plant_int.h after the structures it works on; the functions
 * are inline because the physics step calls them millions of times. */

static inline double tank_level(const struct tank *t)
{
    return t->volume * t->inv_area;
}

static inline double valve_char(const struct valve *v, double pos)
{
    if (pos <= 0)
        return 0;
    if (pos >= 1)
        return 1;
    if (v->characteristic == VCHAR_EQUAL_PCT)
        return pow(v->rangeability, pos - 1.0) * (pos < 0.02 ? pos / 0.02 : 1.0);
    return pos;
}

/* Hydraulic head across an orifice valve (m, signed: > 0 drives from -> to). */
static inline double valve_head(const struct valve *v)
{
    const struct tank *ut = v->up_tank, *dn = v->down_tank;
    double up = 0, down = v->outlet_elevation;
    if (ut)
        up = tank_level(ut) + ut->elevation;
    if (dn) {
        double d = tank_level(dn) + dn->elevation;
        if (d > down)
            down = d;
    }
    if (!v->submerged && up < down)
        return 0; /* free discharge: nothing flows back */
    return up - down;
}

/* Flow an orifice valve passes at its present position and heads (m3/s,
 * signed). */
static inline double valve_capacity(const struct plant *p, const struct valve *v)
{
    double dh = valve_head(v);
    double f = valve_char(v, v->pos);
    if (f <= 0 || dh == 0)
        return 0;
    double q = v->cd * v->orifice_area * f * sqrt(2.0 * p->gravity * fabs(dh));
    return dh > 0 ? q : -q;
}

static inline double pump_suction(const struct pump *u)
{
    const struct tank *t = u->suction_tank;
    if (!t)
        return 1.0;
    double h = tank_level(t);
    if (u->suction_level <= 0)
        return h > 0 ? 1.0 : 0.0;
    if (h >= u->suction_level)
        return 1.0;
    return h > 0 ? h / u->suction_level : 0.0;
}

static inline void pump_prepare(struct pump *u, double dt)
{
    u->spin_alpha = u->spin_up > 0 ? 1.0 - exp(-dt / u->spin_up) : 1.0;
}

static inline void pump_advance(struct pump *u, double dt, int dry, int dead)
{
    double target = u->run && u->permit ? u->speed_ref : 0.0;
    if (u->damage >= 1.0)
        target = 0.0; /* seized */
    if (u->spin_alpha >= 1.0)
        u->speed = target;
    else
        u->speed += (target - u->speed) * u->spin_alpha;
    if (dry) {
        u->dry_s += dt;
        u->damage += u->dry_rate * dt;
    }
    if (dead) {
        u->dead_s += dt;
        u->damage += u->dead_rate * dt;
    }
    if (u->damage > 1.0)
        u->damage = 1.0;
}

static inline void valve_advance(struct valve *v, double dt)
{
    double target = v->permit ? v->cmd : 0.0;
    if (v->pos == target)
        return;
    if (v->travel_time <= 0) {
        v->pos = target;
        return;
    }
    double step = dt / v->travel_time;
    double d = target - v->pos;
    if (fabs(d) <= step)
        v->pos = target;
    else
        v->pos += d > 0 ? step : -step;
}

#endif
