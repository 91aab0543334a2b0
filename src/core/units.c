/* units.c — the unit table and the quantity parser (see units.h). */
#include "core/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit {
    enum unit_dim dim;
    const char *name;
    double to_si;
};

#define GAL 3.785411784e-3
#define PI 3.14159265358979323846

/* The first unit of each dimension is its SI unit. */
static const struct unit units[] = {
    {DIM_RATIO, "1", 1.0}, {DIM_RATIO, "%", 0.01},
    {DIM_LENGTH, "m", 1.0}, {DIM_LENGTH, "cm", 0.01}, {DIM_LENGTH, "mm", 1e-3},
    {DIM_LENGTH, "km", 1e3}, {DIM_LENGTH, "in", 0.0254}, {DIM_LENGTH, "ft", 0.3048},
    {DIM_AREA, "m2", 1.0}, {DIM_AREA, "m^2", 1.0}, {DIM_AREA, "cm2", 1e-4},
    {DIM_AREA, "mm2", 1e-6},
    {DIM_VOLUME, "m3", 1.0}, {DIM_VOLUME, "m^3", 1.0}, {DIM_VOLUME, "L", 1e-3},
    {DIM_VOLUME, "l", 1e-3}, {DIM_VOLUME, "mL", 1e-6}, {DIM_VOLUME, "gal", GAL},
    {DIM_TIME, "s", 1.0}, {DIM_TIME, "ms", 1e-3}, {DIM_TIME, "us", 1e-6},
    {DIM_TIME, "min", 60.0}, {DIM_TIME, "h", 3600.0}, {DIM_TIME, "d", 86400.0},
    {DIM_FLOW, "m3/s", 1.0}, {DIM_FLOW, "m3/h", 1.0 / 3600}, {DIM_FLOW, "L/s", 1e-3},
    {DIM_FLOW, "L/min", 1e-3 / 60}, {DIM_FLOW, "L/h", 1e-3 / 3600},
    {DIM_FLOW, "gpm", GAL / 60},
    {DIM_CONC, "kg/m3", 1.0}, {DIM_CONC, "g/L", 1.0}, {DIM_CONC, "g/m3", 1e-3},
    {DIM_CONC, "mg/L", 1e-3}, {DIM_CONC, "ppm", 1e-3},
    {DIM_VELOCITY, "m/s", 1.0}, {DIM_VELOCITY, "cm/s", 1e-2}, {DIM_VELOCITY, "mm/s", 1e-3},
    {DIM_VELOCITY, "m/min", 1.0 / 60}, {DIM_VELOCITY, "mm/min", 1e-3 / 60},
    {DIM_VELOCITY, "m/h", 1.0 / 3600}, {DIM_VELOCITY, "mm/h", 1e-3 / 3600},
    {DIM_ACCEL, "m/s2", 1.0}, {DIM_ACCEL, "m/s^2", 1.0},
    {DIM_RATE, "1/s", 1.0}, {DIM_RATE, "%/s", 0.01}, {DIM_RATE, "%/min", 0.01 / 60},
    {DIM_RATE, "%/h", 0.01 / 3600}, {DIM_RATE, "1/min", 1.0 / 60}, {DIM_RATE, "1/h", 1.0 / 3600},
    {DIM_MASSFLOW, "kg/s", 1.0}, {DIM_MASSFLOW, "g/s", 1e-3}, {DIM_MASSFLOW, "g/min", 1e-3 / 60},
    {DIM_MASSFLOW, "g/h", 1e-3 / 3600}, {DIM_MASSFLOW, "kg/h", 1.0 / 3600},
    {DIM_MASSFLOW, "kg/min", 1.0 / 60},
    {DIM_PH, "pH", 1.0},
    {DIM_ANGLE, "rad", 1.0}, {DIM_ANGLE, "deg", PI / 180}, {DIM_ANGLE, "mrad", 1e-3},
    {DIM_ANGVEL, "rad/s", 1.0}, {DIM_ANGVEL, "deg/s", PI / 180},
};
#define NUNITS (sizeof units / sizeof units[0])

static const char *dim_names[DIM_COUNT] = {
    "ratio", "length", "area", "volume", "time", "flow", "concentration",
    "velocity", "acceleration", "rate", "mass flow", "pH", "angle", "angular velocity",
};

const char *unit_dim_name(enum unit_dim d)
{
    return (unsigned)d < DIM_COUNT ? dim_names[d] : "?";
}

const char *unit_si_name(enum unit_dim d)
{
    for (size_t i = 0; i < NUNITS; i++)
        if (units[i].dim == d)
            return units[i].name;
    return "?";
}

int unit_factor(enum unit_dim d, const char *unit, double *to_si)
{
    for (size_t i = 0; i < NUNITS; i++)
        if (units[i].dim == d && strcmp(units[i].name, unit) == 0) {
            *to_si = units[i].to_si;
            return 0;
        }
    return -1;
}

int unit_find(const char *unit, enum unit_dim *d, double *to_si)
{
    for (size_t i = 0; i < NUNITS; i++)
        if (strcmp(units[i].name, unit) == 0) {
            *d = units[i].dim;
            *to_si = units[i].to_si;
            return 0;
        }
    return -1;
}

void unit_list(enum unit_dim d, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NUNITS && n < len; i++)
        if (units[i].dim == d && strcmp(units[i].name, "1") != 0)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", units[i].name);
}

/* Splits "NUMBER [UNIT]"; returns 0 and the number and a pointer to the unit
 * text (trailing spaces trimmed into `unit`), or -1. */
static int split_quantity(const char *text, double *v, char *unit, size_t ulen)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    char *end;
    errno = 0;
    *v = strtod(p, &end);
    if (end == p || errno == ERANGE || !isfinite(*v))
        return -1;
    /* strtod accepts "inf", "nan" and hex floats: refuse words */
    for (const char *q = p; q < end; q++)
        if (isalpha((unsigned char)*q) && *q != 'e' && *q != 'E')
            return -1;
    p = end;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    if (n >= ulen)
        return -1;
    memcpy(unit, p, n);
    unit[n] = '\0';
    return 0;
}

int unit_parse(const char *text, enum unit_dim d, const char *default_unit,
               double *si, struct err *e)
{
    double v, f = 1.0;
    char unit[32], list[256];
    if (!text || split_quantity(text, &v, unit, sizeof unit) != 0) {
        unit_list(d, list, sizeof list);
        return err_set(e, "'%s' is not a %s (a number, optionally with a unit: %s)",
                       text ? text : "", unit_dim_name(d), list);
    }
    if (unit[0] == '\0') {
        if (default_unit && unit_factor(d, default_unit, &f) != 0)
            return err_set(e, "internal: unit '%s' is not a %s", default_unit,
                           unit_dim_name(d));
    } else if (unit_factor(d, unit, &f) != 0) {
        unit_list(d, list, sizeof list);
        return err_set(e, "'%s': '%s' is not a unit of %s (use %s)", text, unit,
                       unit_dim_name(d), list);
    }
    *si = v * f;
    if (!isfinite(*si))
        return err_set(e, "'%s' is out of range", text);
    return 0;
}

int unit_parse_per_time(const char *text, enum unit_dim d,
                        const char *default_unit, double *si_per_s,
                        struct err *e)
{
    const char *slash = text ? strrchr(text, '/') : NULL;
    double tf = 1.0;
    if (slash) {
        char tunit[16];
        const char *u = slash + 1;
        while (isspace((unsigned char)*u))
            u++;
        snprintf(tunit, sizeof tunit, "%s", u);
        if (unit_factor(DIM_TIME, tunit, &tf) == 0) {
            char head[128];
            size_t n = (size_t)(slash - text);
            if (n >= sizeof head)
                return err_set(e, "'%s' is too long", text);
            memcpy(head, text, n);
            head[n] = '\0';
            double v;
            if (unit_parse(head, d, default_unit, &v, e) != 0)
                return err_prefix(e, "rate of change");
            *si_per_s = v / tf;
            return 0;
        }
    }
    /* No "/time": a bare number in default_unit per second, or a quantity
     * whose unit is itself per time (e.g. m/s for a length). */
    double v;
    if (unit_parse(text, d, default_unit, &v, e) != 0)
        return err_prefix(e, "rate of change (e.g. '1 mm/min')");
    *si_per_s = v;
    return 0;
}
