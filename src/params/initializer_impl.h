/* The initializer object shared by the two halves of initializers:
 * configs (initializers.c) and filling tensors (initializer_fill.c).
 * Private to src/params. */
#ifndef CK_PARAMS_INITIALIZER_IMPL_H
#define CK_PARAMS_INITIALIZER_IMPL_H

#include "params/params.h"

typedef enum init_kind {
    I_ZEROS, I_ONES, I_CONSTANT, I_RANDOM_NORMAL, I_RANDOM_UNIFORM, I_TRUNCATED_NORMAL,
    I_VARIANCE_SCALING, I_GLOROT_UNIFORM, I_GLOROT_NORMAL, I_HE_UNIFORM, I_HE_NORMAL,
    I_LECUN_UNIFORM, I_LECUN_NORMAL, I_ORTHOGONAL, I_IDENTITY, I_KIND_COUNT
} init_kind;

enum { MODE_FAN_IN, MODE_FAN_OUT, MODE_FAN_AVG };
enum { DIST_TRUNCATED, DIST_UNTRUNCATED, DIST_UNIFORM };
struct ck_initializer {
    init_kind kind;
    double p[2];      /* mean,stddev | minval,maxval | scale | gain | value */
    int p_int[2];     /* p[i] came as a JSON integer (kept for get_config) */
    int mode, dist;   /* VarianceScaling */
    int has_seed;
    int64_t seed;
    json_t *value;    /* Constant: the value as given (number or list) */
    /* Keras 3.15+ VarianceScaling family: the kernel axes whose sizes
     * multiply into fan_in / fan_out (n_axes[i] 0: not given, the usual
     * fans; both must be given to count). */
    int n_axes[2];
    int axes[2][CK_MAX_RANK];
};

/* Keras' class name of each kind. */
extern const char *const ck_init_class_names[I_KIND_COUNT];

/* Counts the numbers of a (nested) JSON list of numbers or booleans into
 * *n; 0 when anything else is in it (a Constant's value). */
int ck_init_count_numbers(const json_t *v, int64_t *n);

/* The scale, mode and distribution of the VarianceScaling shorthands
 * (glorot_*, he_*, lecun_*). */
static inline void ck_init_variant(init_kind k, double *scale, int *mode, int *dist)
{
    *scale = (k == I_HE_UNIFORM || k == I_HE_NORMAL) ? 2.0 : 1.0;
    *mode = (k == I_GLOROT_UNIFORM || k == I_GLOROT_NORMAL) ? MODE_FAN_AVG : MODE_FAN_IN;
    *dist = (k == I_GLOROT_UNIFORM || k == I_HE_UNIFORM || k == I_LECUN_UNIFORM) ? DIST_UNIFORM
                                                                                  : DIST_TRUNCATED;
}

#endif
