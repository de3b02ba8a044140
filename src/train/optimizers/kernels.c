/* The optimizer classes: their names, hyperparameters, slots and update
 * kernels (instantiated for float32 and float64 from kernels_impl.h). */
#include <string.h>
#include <strings.h>
#include <tgmath.h>

#include "train/optimizers/kernels_simd.h"
#include "train/optimizers/opt_impl.h"

#define T float
#define F(name) name##_f32
#define ADAM_SIMD ck_adam_f32_simd
#include "train/optimizers/kernels_impl.h"
#undef ADAM_SIMD
#undef T
#undef F

#define T double
#define F(name) name##_f64
#include "train/optimizers/kernels_impl.h"
#undef T
#undef F

float ck_opt_nadam_u_f32(double beta_1, int64_t t) { return nadam_u_f32(beta_1, t); }
double ck_opt_nadam_u_f64(double beta_1, int64_t t) { return nadam_u_f64(beta_1, t); }

#define NUM(k, d) {k, HYP_NUM, d}
#define BOOL(k) {k, HYP_BOOL, 0}
#define KERNELS(k) k##_f32, k##_f64

/* Slot groups give tf.keras' variable order: Adam builds m and v variable
 * by variable and then every vhat; RMSprop builds every velocity, then every
 * momentum, then every average gradient. */
static const opt_class classes[] = {
    {"SGD", OPT_SGD, 0.01, 2, {NUM("momentum", 0.0), BOOL("nesterov")},
     {{"m", 0, -1}}, KERNELS(sgd)},
    {"Adam", OPT_ADAM, 0.001, 4,
     {NUM("beta_1", 0.9), NUM("beta_2", 0.999), NUM("epsilon", 1e-7), BOOL("amsgrad")},
     {{"m", 0, -1}, {"v", 0, -1}, {"vhat", 1, -1}}, KERNELS(adam)},
    {"AdamW", OPT_ADAMW, 0.001, 4,
     {NUM("beta_1", 0.9), NUM("beta_2", 0.999), NUM("epsilon", 1e-7), BOOL("amsgrad")},
     {{"m", 0, -1}, {"v", 0, -1}, {"vhat", 1, -1}}, KERNELS(adam)},
    {"RMSprop", OPT_RMSPROP, 0.001, 4,
     {NUM("rho", 0.9), NUM("momentum", 0.0), NUM("epsilon", 1e-7), BOOL("centered")},
     {{"velocity", 0, -1}, {"momentum", 1, -1}, {"average_gradient", 2, -1}}, KERNELS(rmsprop)},
    {"Adagrad", OPT_ADAGRAD, 0.001, 2,
     {NUM("initial_accumulator_value", 0.1), NUM("epsilon", 1e-7)},
     {{"accumulator", 0, H_ADAGRAD_INIT}}, KERNELS(adagrad)},
    {"Adadelta", OPT_ADADELTA, 0.001, 2, {NUM("rho", 0.95), NUM("epsilon", 1e-7)},
     {{"accumulated_grad", 0, -1}, {"accumulated_delta_var", 0, -1}}, KERNELS(adadelta)},
    {"Adamax", OPT_ADAMAX, 0.001, 3,
     {NUM("beta_1", 0.9), NUM("beta_2", 0.999), NUM("epsilon", 1e-7)},
     {{"m", 0, -1}, {"u", 0, -1}}, KERNELS(adamax)},
    {"Nadam", OPT_NADAM, 0.001, 3,
     {NUM("beta_1", 0.9), NUM("beta_2", 0.999), NUM("epsilon", 1e-7)},
     {{"m", 0, -1}, {"v", 0, -1}}, KERNELS(nadam)},
    {"Ftrl", OPT_FTRL, 0.001, 6,
     {NUM("learning_rate_power", -0.5), NUM("initial_accumulator_value", 0.1),
      NUM("l1_regularization_strength", 0.0), NUM("l2_regularization_strength", 0.0),
      NUM("l2_shrinkage_regularization_strength", 0.0), NUM("beta", 0.0)},
     {{"accumulator", 0, H_FTRL_INIT}, {"linear", 0, -1}}, KERNELS(ftrl)},
};

const opt_class *ck_opt_class_find(const char *name)
{
    if (!name) return NULL;
    /* Keras 3 and h5 files may prefix registered names. */
    if (strncmp(name, "Custom>", 7) == 0) name += 7;
    if (strncmp(name, "keras.optimizers.", 17) == 0) name += 17;
    static const struct {
        const char *alias;
        opt_kind kind;
    } aliases[] = {{"gradient_descent", OPT_SGD}, {"GradientDescent", OPT_SGD}};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcasecmp(name, classes[i].name) == 0) return &classes[i];
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].alias) == 0) return &classes[aliases[i].kind];
    return NULL;
}
