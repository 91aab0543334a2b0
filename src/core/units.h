/* units.h — physical quantities written with units ("12 L/min", "10 mm").
 *
 * Everything inside icsrange is SI (m, m2, m3, s, m3/s, kg/m3, ...). Files a
 * user writes may give a unit after the number; a bare number is read in the
 * field's documented default unit. unit_parse() converts to SI and refuses a
 * unit of the wrong kind ("12 mm" for a flow) with a message that lists the
 * accepted units.
 */
#ifndef CORE_UNITS_H
#define CORE_UNITS_H

#include <stddef.h>

#include "core/err.h"

enum unit_dim {
    DIM_RATIO,     /* dimensionless fraction: 0.61, 61 % */
    DIM_LENGTH,    /* m */
    DIM_AREA,      /* m2 */
    DIM_VOLUME,    /* m3 */
    DIM_TIME,      /* s */
    DIM_FLOW,      /* m3/s */
    DIM_CONC,      /* kg/m3 (mass concentration; 1 mg/L = 1e-3 kg/m3) */
    DIM_VELOCITY,  /* m/s */
    DIM_ACCEL,     /* m/s2 */
    DIM_RATE,      /* 1/s (a fraction per second: %/s, %/min) */
    DIM_MASSFLOW,  /* kg/s */
    DIM_PH,        /* pH units (dimensionless) */
    DIM_ANGLE,     /* rad */
    DIM_ANGVEL,    /* rad/s */
    DIM_COUNT      /* number of dimensions */
};

/* Name of the SI unit of a dimension ("m3/s"). */
const char *unit_si_name(enum unit_dim d);
/* Human name of a dimension ("flow"). */
const char *unit_dim_name(enum unit_dim d);

/* Looks up a unit by name within a dimension; sets *to_si (multiply a value
 * in that unit by it to get SI). Returns 0, or -1 if the unit is not of that
 * dimension. */
int unit_factor(enum unit_dim d, const char *unit, double *to_si);

/* Finds the dimension of a unit name among all dimensions (first match).
 * Returns 0 or -1. */
int unit_find(const char *unit, enum unit_dim *d, double *to_si);

/* Parses "NUMBER [UNIT]" for dimension d. A bare number is taken in
 * `default_unit` (a unit name of d, or NULL for SI). Returns 0 and the SI
 * value, or -1 with a message in `e` ("'12 mm' is not a flow; use m3/s,
 * L/min, ..."). NaN and infinities are refused. */
int unit_parse(const char *text, enum unit_dim d, const char *default_unit,
               double *si, struct err *e);

/* Parses a rate of change of a quantity of dimension d: "1 mm/min" (d =
 * length) gives SI units per second. A bare number is in default_unit per
 * second. */
int unit_parse_per_time(const char *text, enum unit_dim d,
                        const char *default_unit, double *si_per_s,
                        struct err *e);

/* Writes the accepted unit names of d, comma separated, into buf. */
void unit_list(enum unit_dim d, char *buf, size_t len);

#endif
