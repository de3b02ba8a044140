/* Random numbers for the initializers: xoshiro256** (Blackman & Vigna),
 * seeded through splitmix64 so that any 64-bit seed, 0 included, gives a
 * well-mixed state.  Normals by Marsaglia's polar method in double. */
#include <math.h>

#include "core/core.h"
#include "params/params.h"

/* Like tf.random.set_seed, a generator for unseeded initializers: one per
 * thread, so that threads loading or building models in parallel share no
 * state (each starts from seed 0, reproducibly). */
static _Thread_local ck_rng global_rng;
static _Thread_local int global_seeded;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ck_rng_seed(ck_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ck_rng_next(ck_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ck_rng_uniform(ck_rng *rng)
{
    return (double)(ck_rng_next(rng) >> 11) * 0x1.0p-53;
}

double ck_rng_normal(ck_rng *rng)
{
    double u, v, s;
    do {
        u = 2.0 * ck_rng_uniform(rng) - 1.0;
        v = 2.0 * ck_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

void ck_set_random_seed(uint64_t seed)
{
    ck_rng_seed(&global_rng, seed);
    global_seeded = 1;
}

void ck_rng_for_call(ck_rng *rng, int has_seed, int64_t seed)
{
    if (has_seed) {
        ck_rng_seed(rng, (uint64_t)seed);
        return;
    }
    if (!global_seeded) ck_set_random_seed(0);
    /* A fresh stream per call keeps calls independent of how many numbers
     * the previous call consumed (rejection sampling varies). */
    ck_rng_seed(rng, ck_rng_next(&global_rng));
}
