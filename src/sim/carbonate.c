/* carbonate.c — charge-balance pH solver (see carbonate.h). */
#include "sim/carbonate.h"

#include <math.h>

#define CACO3_G_PER_EQ 50.0435 /* 100.087 g/mol / 2 */

static void fractions(const struct carbonate *w, double h, double *a1, double *a2)
{
    double d = h * h + w->k1 * h + w->k1 * w->k2;
    *a1 = w->k1 * h / d;
    *a2 = w->k1 * w->k2 / d;
}

int carbonate_init(struct carbonate *w, double raw_ph, double alkalinity,
                   double pk1, double pk2, double pkw, double base_molar)
{
    w->k1 = pow(10.0, -pk1);
    w->k2 = pow(10.0, -pk2);
    w->kw = pow(10.0, -pkw);
    w->base_molar = base_molar;
    w->alk0 = alkalinity / CACO3_G_PER_EQ; /* g/L / (g/eq) = eq/L */
    double h = pow(10.0, -raw_ph), a1, a2;
    fractions(w, h, &a1, &a2);
    w->ct = (w->alk0 - w->kw / h + h) / (a1 + 2 * a2);
    return w->ct >= 0 && isfinite(w->ct) ? 0 : -1;
}

/* f(pH) = C_T (a1 + 2 a2) + Kw/H - H - target; increasing in pH. */
static double balance(const struct carbonate *w, double ph, double target)
{
    double h = pow(10.0, -ph), a1, a2;
    fractions(w, h, &a1, &a2);
    return w->ct * (a1 + 2 * a2) + w->kw / h - h - target;
}

double carbonate_ph(const struct carbonate *w, double conc, double guess)
{
    double target = w->alk0 + conc / w->base_molar / 1000.0; /* g/L -> mol/L */
    double lo = -2.0, hi = 16.0;
    double x = (guess > lo && guess < hi) ? guess : 7.0;
    /* Newton with a bisection bracket: quadratic near the root, safe far
     * from it. */
    for (int i = 0; i < 100; i++) {
        double f = balance(w, x, target);
        if (f > 0)
            hi = x;
        else
            lo = x;
        if (fabs(f) < 1e-15 * (1 + fabs(target)) || hi - lo < 1e-12)
            break;
        double dx = 1e-6;
        double fp = (balance(w, x + dx, target) - f) / dx;
        double nx = fp > 0 ? x - f / fp : 0.5 * (lo + hi);
        if (!(nx > lo && nx < hi))
            nx = 0.5 * (lo + hi);
        if (fabs(nx - x) < 1e-12) {
            x = nx;
            break;
        }
        x = nx;
    }
    return x;
}
