/* demand.c — consumer demand: a diurnal profile plus correlated noise.
 *
 *   D(t) = max(0, min + (max - min) * profile(hour of day) + n(t))
 * profile: 24 hourly fractions, linearly interpolated, cyclic;
 * n(t): Ornstein-Uhlenbeck noise with stationary deviation `noise` and
 * correlation time `noise_time`, drawn once per virtual second from the
 * consumer's own random stream. D is evaluated at one-second knots and
 * linearly interpolated in between (the physics steps much faster than
 * demand changes). The noise sequence is drawn whatever the mode, so
 * switching to unlimited demand and back does not shift it.
 */
#include <math.h>

#include "sim/plant_int.h"

/* A residential pattern: night low, morning peak at 07-08, evening peak
 * at 19-20. */
const double demand_default_profile[24] = {
    0.15, 0.08, 0.03, 0.00, 0.05, 0.25, 0.70, 1.00, 0.90, 0.70, 0.60, 0.60,
    0.62, 0.58, 0.55, 0.55, 0.62, 0.75, 0.90, 0.95, 0.80, 0.60, 0.40, 0.25,
};

static double ou_step(struct consumer *k, double x)
{
    if (k->noise <= 0)
        return 0;
    if (k->noise_tau <= 0)
        return k->noise * rng_normal(&k->c.rng);
    double a = exp(-1.0 / k->noise_tau);
    return x * a + k->noise * sqrt(1.0 - a * a) * rng_normal(&k->c.rng);
}

/* The pattern without noise at virtual time t, m3/s. */
static double base_at(const struct plant *p, const struct consumer *k, vtime_t t)
{
    if (k->mode != DEMAND_DIURNAL)
        return k->dmin;
    int64_t day = 86400LL * 1000000000LL;
    int64_t ns = (p->start_unix_ns + t + (int64_t)(k->utc_offset * 1e9)) % day;
    if (ns < 0)
        ns += day;
    double hours = (double)ns / 3.6e12;
    int h0 = (int)hours;
    if (h0 > 23)
        h0 = 23;
    double f = hours - h0;
    double prof = k->profile[h0] * (1 - f) + k->profile[(h0 + 1) % 24] * f;
    return k->dmin + (k->dmax - k->dmin) * prof;
}

static double knot(const struct plant *p, const struct consumer *k, vtime_t t)
{
    double d = base_at(p, k, t) + k->ou;
    return d > 0 ? d : 0;
}

void consumer_init(const struct plant *p, struct consumer *k, vtime_t now)
{
    k->ou = k->noise > 0 ? k->noise * rng_normal(&k->c.rng) : 0;
    k->t_prev = now;
    k->d_prev = knot(p, k, now);
    k->ou = ou_step(k, k->ou);
    k->t_next = now + VT_SEC;
    k->d_next = knot(p, k, k->t_next);
    k->demand = k->mode == DEMAND_UNLIMITED ? INFINITY : k->d_prev;
}

void consumer_advance_knots(const struct plant *p, struct consumer *k, vtime_t t)
{
    while (t >= k->t_next) {
        k->t_prev = k->t_next;
        k->d_prev = k->d_next;
        k->ou = ou_step(k, k->ou);
        k->t_next += VT_SEC;
        k->d_next = knot(p, k, k->t_next);
    }
}

void plant_advance_demand(struct plant *p, vtime_t t)
{
    vtime_t due = INT64_MAX;
    for (size_t i = 0; i < p->nconsumers; i++) {
        struct consumer *k = p->consumers[i];
        consumer_advance_knots(p, k, t);
        if (k->t_next < due)
            due = k->t_next;
    }
    p->knot_due = due;
}
