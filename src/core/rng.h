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

uint64_t rng_next(struct rng *r);

/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);

/* Standard normal deviate (ziggurat method). */
double rng_normal(struct rng *r);

/* 64-bit FNV-1a of a string (stable across platforms). */
uint64_t rng_hash(const char *s);

#endif
