/* rng.h — seeded random streams, one per component.
 *
 * A stream is xoshiro256** seeded from (run seed, stream name) through
 * SplitMix64, so each component draws from its own sequence: adding or
 * removing a component never shifts the numbers another one sees.
 * Streams are plain values (no allocation); copy one to fork it.
 */
#ifndef CORE_RNG_H
#define CORE_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Seeds `r` from the run seed and a stream name (e.g. a component id). */
void rng_init(struct rng *r, uint64_t seed, const char *name);

/* The next 64 random bits (xoshiro256**). */
static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);

/* Standard normal deviate (ziggurat method, 128 strips). The common case
 * (98.8 % of draws: inside its strip's rectangle) is inline; the rest, and
 * the first draw of the process, which builds the tables, are in rng.c. */
extern double rng_zig_x_[129];
double rng_normal_slow_(struct rng *r, uint64_t b);
static inline double rng_normal(struct rng *r)
{
    uint64_t b = rng_next(r);
    int i = (int)(b & 127);
    double x = (double)(b >> 11) * 0x1.0p-53 * rng_zig_x_[i];
    /* before the tables exist they are all zero and x < 0 fails */
    if (__builtin_expect(x < rng_zig_x_[i + 1], 1))
        return (b & 128) ? -x : x;
    return rng_normal_slow_(r, b);
}

/* 64-bit FNV-1a of a string (stable across platforms). */
uint64_t rng_hash(const char *s);

#endif
