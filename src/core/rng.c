/* rng.c — xoshiro256** streams seeded by SplitMix64 (see rng.h). */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rng_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void rng_init(struct rng *r, uint64_t seed, const char *name)
{
    uint64_t x = seed ^ splitmix64(&(uint64_t){rng_hash(name ? name : "")});
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

double rng_uniform(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Ziggurat method (Marsaglia and Tsang, 2000) with 128 strips: a normal
 * deviate costs one 64-bit draw and a table lookup 98.8 % of the time. The
 * tables are computed once, deterministically, from R and V below. */
#define ZN 128
#define ZR 3.442619855899
#define ZV 9.91256303526217e-3
double rng_zig_x_[ZN + 1];
#define zx rng_zig_x_
static double zf[ZN + 1];
static int z_ready;

static void zig_init(void)
{
    zx[0] = ZV / exp(-0.5 * ZR * ZR);
    zx[1] = ZR;
    for (int i = 2; i < ZN; i++)
        zx[i] = sqrt(-2.0 * log(ZV / zx[i - 1] + exp(-0.5 * zx[i - 1] * zx[i - 1])));
    zx[ZN] = 0.0;
    for (int i = 0; i <= ZN; i++)
        zf[i] = exp(-0.5 * zx[i] * zx[i]);
    z_ready = 1;
}

/* The rest of the ziggurat for a draw `b` that missed the rectangle of its
 * strip (1.2 % of draws), and the first draw of the process (the tables are
 * built then). Out of line, so the common path makes no calls. */
double rng_normal_slow_(struct rng *r, uint64_t b)
{
    if (!z_ready)
        zig_init();
    for (;;) {
        int i = (int)(b & (ZN - 1));
        double sign = (b & ZN) ? -1.0 : 1.0;
        double u = (double)(b >> 11) * 0x1.0p-53;
        double x = u * zx[i];
        if (x < zx[i + 1])
            return sign * x;
        if (i == 0) {
            /* the tail beyond R */
            double a, y;
            do {
                a = -log(1.0 - rng_uniform(r)) / ZR;
                y = -log(1.0 - rng_uniform(r));
            } while (y + y < a * a);
            return sign * (ZR + a);
        }
        double y = zf[i] + rng_uniform(r) * (zf[i + 1] - zf[i]);
        if (y < exp(-0.5 * x * x))
            return sign * x;
        b = rng_next(r);
    }
}

