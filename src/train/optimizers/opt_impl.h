/* Private to src/train/optimizers/: the optimizer object, the class table,
 * the update kernels and the learning-rate schedules. */
#ifndef CK_TRAIN_OPT_IMPL_H
#define CK_TRAIN_OPT_IMPL_H

#include <jansson.h>
#include <stdint.h>

#include "core/core.h"
#include "train/optimizers/optimizer.h"

/* ---- learning-rate schedules (schedules.c) ---------------------------- */

typedef struct ck_lr_schedule ck_lr_schedule;

/* A schedule from {"class_name": ..., "config": {...}} (legacy, 2.13+ and
 * Keras 3 forms).  Unknown class: CK_VALUE_ERROR; a missing required
 * argument or an unknown key: CK_TYPE_ERROR. */
ck_status ck_lr_schedule_from_json(const json_t *j, ck_lr_schedule **out);

/* An InverseTimeDecay(lr, 1, decay) (what a legacy "decay" argument does);
 * `lr` is the JSON value written as initial_learning_rate (borrowed). */
ck_status ck_lr_schedule_inverse_time(const json_t *lr, double decay, ck_lr_schedule **out);

/* The value at `step`, computed in float32 as tf.keras does. */
float ck_lr_schedule_eval(const ck_lr_schedule *s, int64_t step);

/* {"module": "keras.optimizers.schedules", "class_name", "config",
 * "registered_name": null}; NULL on OOM. */
json_t *ck_lr_schedule_to_json(const ck_lr_schedule *s);

void ck_lr_schedule_free(ck_lr_schedule *s);

/* ---- optimizer classes ---------------------------------------------------- */

typedef enum opt_kind {
    OPT_SGD,
    OPT_ADAM,
    OPT_ADAMW,
    OPT_RMSPROP,
    OPT_ADAGRAD,
    OPT_ADADELTA,
    OPT_ADAMAX,
    OPT_NADAM,
    OPT_FTRL
} opt_kind;

/* Up to this many slots per model variable and hyperparameters per class. */
#define OPT_MAX_SLOTS 3
#define OPT_MAX_HYPER 6

/* One step's data for one variable, handed to an update kernel. */
typedef struct opt_step {
    int64_t n;                   /* elements                                */
    void *w;                     /* the variable                            */
    const void *g;               /* the (clipped) gradient                  */
    void *s[OPT_MAX_SLOTS];      /* slots by role, NULL when absent         */
    double lr;                   /* the float32 learning rate               */
    int64_t iter;                /* iterations before this step             */
    double u_product;            /* Nadam: product of u_1..u_t, in the
                                    variable's dtype semantics             */
} opt_step;

/* One slot kind of a class: its Keras variable name, the group that fixes
 * tf.keras' variable order (groups in order; within a group, variable by
 * variable, slots by role), and its initial value (a hyperparameter index,
 * or -1 for zeros). */
typedef struct opt_slot_def {
    const char *name;
    int group;
    int init_hyper;
} opt_slot_def;

/* A hyperparameter: config key and default (written as a real). */
typedef struct opt_hyper_def {
    const char *key;
    enum { HYP_NUM, HYP_BOOL } type;
    double def;
} opt_hyper_def;

typedef struct opt_class {
    const char *name;               /* Keras class name                */
    opt_kind kind;
    double default_lr;
    int n_hyper;
    opt_hyper_def hyper[OPT_MAX_HYPER];
    opt_slot_def slots[OPT_MAX_SLOTS];
    void (*update_f32)(const ck_optimizer *o, const opt_step *st);
    void (*update_f64)(const ck_optimizer *o, const opt_step *st);
} opt_class;

/* The classes (kernels.c); NULL for an unknown name (case-insensitive, with
 * the aliases tf.keras accepts). */
const opt_class *ck_opt_class_find(const char *name);

/* Hyperparameter indices (order of each class' config keys). */
enum { H_SGD_MOMENTUM, H_SGD_NESTEROV };
enum { H_ADAM_BETA_1, H_ADAM_BETA_2, H_ADAM_EPSILON, H_ADAM_AMSGRAD };
enum { H_RMS_RHO, H_RMS_MOMENTUM, H_RMS_EPSILON, H_RMS_CENTERED };
enum { H_ADAGRAD_INIT, H_ADAGRAD_EPSILON };
enum { H_ADADELTA_RHO, H_ADADELTA_EPSILON };
enum { H_ADAMAX_BETA_1, H_ADAMAX_BETA_2, H_ADAMAX_EPSILON };
enum { H_FTRL_POWER, H_FTRL_INIT, H_FTRL_L1, H_FTRL_L2, H_FTRL_SHRINK, H_FTRL_BETA };

/* Nadam's u_t = beta_1 * (1 - 0.5 * 0.96^t) in float32 / float64. */
float ck_opt_nadam_u_f32(double beta_1, int64_t t);
double ck_opt_nadam_u_f64(double beta_1, int64_t t);

/* ---- the optimizer -------------------------------------------------------- */

struct ck_optimizer {
    const opt_class *cls;
    char *name;                     /* config "name"                        */
    json_t *given;                  /* config values as given (for get_config) */
    float lr;                       /* constant learning rate (float32)     */
    ck_lr_schedule *schedule;       /* or a schedule (owned), else NULL     */
    int has_weight_decay;
    double weight_decay;
    double clipnorm, global_clipnorm, clipvalue; /* 0 = not set             */
    double h[OPT_MAX_HYPER];        /* hyperparameters, class key order     */
    int slot_present[OPT_MAX_SLOTS];
    int64_t iterations;

    /* built on the first apply_gradients (or set_weights) */
    int built;
    int n_vars;
    ck_tensor **slots;              /* n_vars * OPT_MAX_SLOTS, NULL if absent */
    void *scratch;                  /* clipped gradient of one variable     */
    float nadam_u_f32;              /* Nadam: u_1 * ... * u_iterations      */
    double nadam_u_f64;
};

/* Parses a config (opt_config.c).  *out is new. */
ck_status ck_opt_from_json(const json_t *value, ck_optimizer **out);

/* Recomputes Nadam's product for the current iteration count. */
void ck_opt_nadam_reset(ck_optimizer *o);

#endif
