/* The arguments of the recurrent layers: from C options, from configs in
 * every dialect (Keras 1, Keras 2.0-2.2, tf.keras 2.x, Keras 3) and back
 * to tf.keras 2.x's get_config, with tf.keras' checks and defaults. */
#include <string.h>

#include "layers/rnn_common.h"

static void args_free(ck_rnn_args *a)
{
    ck_activation_free(a->activation);
    ck_activation_free(a->recurrent_activation);
    ck_initializer_free(a->kernel_init);
    ck_initializer_free(a->recurrent_init);
    ck_initializer_free(a->bias_init);
    ck_regularizer_free(a->kernel_reg);
    ck_regularizer_free(a->recurrent_reg);
    ck_regularizer_free(a->bias_reg);
    ck_constraint_free(a->kernel_con);
    ck_constraint_free(a->recurrent_con);
    ck_constraint_free(a->bias_con);
    memset(a, 0, sizeof *a);
}

void ck_rnn_destroy(ck_layer *layer)
{
    ck_rnn_layer *r = (ck_rnn_layer *)layer;
    args_free(&r->a);
    ck_free(r->state);
    r->state = NULL;
}

/* Keras clips the rates: min(1, max(0, rate)). */
static double clip_rate(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* The checks every constructor runs, then the layer made from `a` (whose
 * objects it takes over; `a` is emptied, also on failure). */
static ck_status finish(const ck_layer_class *cls, const ck_rnn_cell *cell, ck_rnn_args *a, ck_layer *layer,
                        ck_layer **out)
{
    ck_status st = CK_OK;
    (void)cls;
    if (a->units <= 0)
        st = ck_error(CK_VALUE_ERROR, "Received an invalid value for argument `units`, expected a positive integer, "
                      "got %lld.", (long long)a->units);
    /* Keras' defaults for what was not given. */
    if (st == CK_OK && !a->activation) st = ck_activation_new(&a->activation, "tanh", NULL);
    if (st == CK_OK && cell->has_recurrent_activation && !a->recurrent_activation)
        st = ck_activation_new(&a->recurrent_activation, "sigmoid", NULL);
    a->dropout = clip_rate(a->dropout);
    a->recurrent_dropout = clip_rate(a->recurrent_dropout);
    /* LSTM / GRU: a recurrent dropout needs implementation 1 in Keras. */
    if (cell->has_implementation && a->recurrent_dropout != 0 && a->implementation != 1) a->implementation = 1;
    if (!cell->has_unit_forget_bias) a->unit_forget_bias = false;
    if (!cell->has_reset_after) a->reset_after = false;
    if (st != CK_OK) {
        args_free(a);
        ck_layer_free(layer);
        return st;
    }
    ck_rnn_layer *r = (ck_rnn_layer *)layer;
    r->cell = cell;
    r->a = *a;
    memset(a, 0, sizeof *a);
    layer->spec = (ck_input_spec){.ndim = 3};
    *out = layer;
    return CK_OK;
}

/* ---- from C options ----------------------------------------------------------- */

static ck_status not_taken(const ck_layer_class *cls, const char *key)
{
    return ck_error(CK_TYPE_ERROR, "Keyword argument not understood: '%s' (%s does not take it)", key,
                    cls->class_name);
}

ck_status ck_rnn_new(const ck_layer_class *cls, const ck_rnn_cell *cell, const ck_rnn_opts *o, ck_layer **out)
{
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (units)", cls->class_name);
    if (!cell->has_recurrent_activation && o->recurrent_activation) return not_taken(cls, "recurrent_activation");
    if (!cell->has_unit_forget_bias && o->no_unit_forget_bias) return not_taken(cls, "unit_forget_bias");
    if (!cell->has_reset_after && o->no_reset_after) return not_taken(cls, "reset_after");
    ck_rnn_args a = {.units = o->units, .implementation = o->implementation ? o->implementation : 2,
                     .use_bias = !o->no_bias, .unit_forget_bias = !o->no_unit_forget_bias,
                     .reset_after = !o->no_reset_after, .return_sequences = o->return_sequences,
                     .return_state = o->return_state, .go_backwards = o->go_backwards, .stateful = o->stateful,
                     .unroll = o->unroll, .time_major = o->time_major, .dropout = o->dropout,
                     .recurrent_dropout = o->recurrent_dropout};
    ck_status st = CK_OK;
    if (o->activation) st = ck_activation_new(&a.activation, o->activation, NULL);
    if (st == CK_OK && o->recurrent_activation)
        st = ck_activation_new(&a.recurrent_activation, o->recurrent_activation, NULL);
    const char *inits[3] = {o->kernel_initializer ? o->kernel_initializer : "glorot_uniform",
                            o->recurrent_initializer ? o->recurrent_initializer : "orthogonal",
                            o->bias_initializer ? o->bias_initializer : "zeros"};
    if (st == CK_OK) st = ck_initializer_new(&a.kernel_init, inits[0]);
    if (st == CK_OK) st = ck_initializer_new(&a.recurrent_init, inits[1]);
    if (st == CK_OK) st = ck_initializer_new(&a.bias_init, inits[2]);
    const char *regs[3] = {o->kernel_regularizer, o->recurrent_regularizer, o->bias_regularizer};
    ck_regularizer **rd[3] = {&a.kernel_reg, &a.recurrent_reg, &a.bias_reg};
    const char *cons[3] = {o->kernel_constraint, o->recurrent_constraint, o->bias_constraint};
    ck_constraint **cd[3] = {&a.kernel_con, &a.recurrent_con, &a.bias_con};
    for (int i = 0; i < 3 && st == CK_OK; i++) {
        if (regs[i]) st = ck_regularizer_new(rd[i], regs[i]);
        if (st == CK_OK && cons[i]) st = ck_constraint_new(cd[i], cons[i]);
    }
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(cls, o, &layer);
    if (st != CK_OK) {
        args_free(&a);
        return st;
    }
    return finish(cls, cell, &a, layer, out);
}

/* ---- from configs --------------------------------------------------------------- */

static const char *const common_keys[] = {
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout", "return_sequences", "return_state", "go_backwards", "stateful",
    "unroll", "time_major", "zero_output_for_mask", "implementation", "enable_caching_device", "num_constants",
    /* Keras 3 */
    "seed", "use_cudnn",
    /* Keras 1 */
    "output_dim", "init", "inner_init", "W_regularizer", "U_regularizer", "b_regularizer", "W_constraint",
    "U_constraint", "b_constraint", "dropout_W", "dropout_U", "consume_less", "input_length"};
#define N_COMMON (sizeof common_keys / sizeof common_keys[0])

/* A bool key (absent or null keeps *out). */
static ck_status get_bool(const json_t *c, const char *cls, const char *key, bool *out)
{
    int v = *out;
    CK_TRY(ck_arg_bool(json_object_get(c, key), cls, key, &v));
    *out = v;
    return CK_OK;
}

/* A rate key or its Keras 1 alias. */
static ck_status get_rate(const json_t *c, const char *cls, const char *key, const char *k1, double *out)
{
    return ck_arg_number(ck_arg_get2(c, key, k1), cls, key, out, NULL);
}

/* An initializer: absent gives Keras' default, null gives none (Keras'
 * add_weight default then). */
static ck_status get_init(const json_t *c, const char *key, const char *k1, const char *dflt, ck_initializer **out)
{
    const json_t *v = ck_arg_get2(c, key, k1);
    if (!v) return ck_initializer_new(out, dflt);
    return ck_initializer_from_json(v, out);
}

static ck_status parse_config(const char *cls, const ck_rnn_cell *cell, const json_t *c, ck_rnn_args *a)
{
    int has_units = 0;
    CK_TRY(ck_arg_int(ck_arg_get2(c, "units", "output_dim"), cls, "units", &a->units, &has_units));
    if (!has_units) return ck_error(CK_VALUE_ERROR, "%s config: `units` is required", cls);
    const json_t *act = json_object_get(c, "activation");
    if (act) CK_TRY(ck_activation_from_json(act, &a->activation));
    const json_t *ract = ck_arg_get2(c, "recurrent_activation", "inner_activation");
    if (ract) CK_TRY(ck_activation_from_json(ract, &a->recurrent_activation));
    CK_TRY(get_bool(c, cls, "use_bias", &a->use_bias));
    CK_TRY(get_bool(c, cls, "unit_forget_bias", &a->unit_forget_bias));
    const json_t *fbi = json_object_get(c, "forget_bias_init"); /* Keras 1: "one" is unit_forget_bias */
    if (json_is_string(fbi) && strcmp(json_string_value(fbi), "one") == 0) a->unit_forget_bias = true;
    CK_TRY(get_init(c, "kernel_initializer", "init", "glorot_uniform", &a->kernel_init));
    CK_TRY(get_init(c, "recurrent_initializer", "inner_init", "orthogonal", &a->recurrent_init));
    CK_TRY(get_init(c, "bias_initializer", NULL, "zeros", &a->bias_init));
    CK_TRY(ck_regularizer_from_json(ck_arg_get2(c, "kernel_regularizer", "W_regularizer"), &a->kernel_reg));
    CK_TRY(ck_regularizer_from_json(ck_arg_get2(c, "recurrent_regularizer", "U_regularizer"), &a->recurrent_reg));
    CK_TRY(ck_regularizer_from_json(ck_arg_get2(c, "bias_regularizer", "b_regularizer"), &a->bias_reg));
    CK_TRY(ck_constraint_from_json(ck_arg_get2(c, "kernel_constraint", "W_constraint"), &a->kernel_con));
    CK_TRY(ck_constraint_from_json(ck_arg_get2(c, "recurrent_constraint", "U_constraint"), &a->recurrent_con));
    CK_TRY(ck_constraint_from_json(ck_arg_get2(c, "bias_constraint", "b_constraint"), &a->bias_con));
    CK_TRY(get_rate(c, cls, "dropout", "dropout_W", &a->dropout));
    CK_TRY(get_rate(c, cls, "recurrent_dropout", "dropout_U", &a->recurrent_dropout));
    static const char *const flags[] = {"return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                                        "time_major", "zero_output_for_mask"};
    bool *dst[] = {&a->return_sequences, &a->return_state, &a->go_backwards, &a->stateful, &a->unroll,
                   &a->time_major, &a->zero_output_for_mask};
    for (int i = 0; i < 7; i++) CK_TRY(get_bool(c, cls, flags[i], dst[i]));
    /* implementation 0 (Keras 2.0) reads as 1, as tf.keras' from_config;
     * Keras 1's consume_less cpu / mem / gpu was 0 / 1 / 2. */
    const json_t *cl = json_object_get(c, "consume_less");
    if (json_is_string(cl)) a->implementation = strcmp(json_string_value(cl), "gpu") == 0 ? 2 : 1;
    CK_TRY(ck_arg_int(json_object_get(c, "implementation"), cls, "implementation", &a->implementation, NULL));
    if (a->implementation == 0) a->implementation = 1;
    const json_t *ra = json_object_get(c, "reset_after");
    if (cell->has_reset_after && !ra)
        /* No key: tf.keras' default (True), except in the configs of Keras
         * 1 and 2.0-2.1 (no time_major either), whose GRU had the reset
         * gate before the product. */
        a->reset_after = json_object_get(c, "time_major") || json_object_get(c, "seed") ||
                         json_object_get(c, "zero_output_for_mask");
    CK_TRY(get_bool(c, cls, "reset_after", &a->reset_after));
    return CK_OK;
}

/* Keras 1's input_dim / input_length: the input_shape (input_length,
 * input_dim) when the config has no batch_input_shape.  *out is a new
 * config without those keys, or NULL when there is nothing to change. */
static ck_status keras1_input_shape(const json_t *c, json_t **out)
{
    const json_t *dim = json_object_get(c, "input_dim"), *len = json_object_get(c, "input_length");
    *out = NULL;
    if (!dim && !len) return CK_OK;
    json_t *copy = json_deep_copy(c);
    if (!copy) return ck_oom("a recurrent layer config");
    json_object_del(copy, "input_dim");
    json_object_del(copy, "input_length");
    const json_t *bis = json_object_get(c, "batch_input_shape");
    if ((!bis || json_is_null(bis)) && dim && !json_is_null(dim) && !json_object_get(c, "input_shape")) {
        json_t *shape = json_pack("[OO]", len ? (json_t *)len : json_null(), (json_t *)dim);
        if (!shape || json_object_set_new(copy, "input_shape", shape) != 0) {
            json_decref(copy);
            return ck_oom("a recurrent layer config");
        }
    }
    *out = copy;
    return CK_OK;
}

ck_status ck_rnn_from_config(const ck_layer_class *cls, const ck_rnn_cell *cell, const json_t *c, ck_layer **out)
{
    const char *name = cls->class_name;
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", name);
    const json_t *nc = json_object_get(c, "num_constants");
    if (nc && !json_is_null(nc) && !(json_is_integer(nc) && json_integer_value(nc) == 0))
        return ck_error(CK_NOT_IMPLEMENTED, "%s with constants (num_constants) is not supported", name);
    const char *keys[N_COMMON + 6];
    size_t k = 0;
    for (; k < N_COMMON; k++) keys[k] = common_keys[k];
    if (cell->has_recurrent_activation) keys[k++] = "recurrent_activation", keys[k++] = "inner_activation";
    if (cell->has_unit_forget_bias) keys[k++] = "unit_forget_bias", keys[k++] = "forget_bias_init";
    if (cell->has_reset_after) keys[k++] = "reset_after";
    keys[k] = NULL;

    ck_rnn_args a = {.implementation = 2, .use_bias = true, .unit_forget_bias = true, .reset_after = true};
    json_t *fixed = NULL;
    ck_layer *layer = NULL;
    ck_status st = parse_config(name, cell, c, &a);
    if (st == CK_OK) st = keras1_input_shape(c, &fixed);
    if (st == CK_OK) st = ck_layer_create_from_config(cls, fixed ? fixed : c, keys, &layer);
    json_decref(fixed);
    if (st != CK_OK) {
        args_free(&a);
        return st;
    }
    return finish(cls, cell, &a, layer, out);
}

/* ---- get_config ------------------------------------------------------------------- */

ck_status ck_rnn_get_config(const ck_layer *layer, json_t *j)
{
    const ck_rnn_layer *r = (const ck_rnn_layer *)layer;
    const ck_rnn_args *a = &r->a;
    const ck_rnn_cell *cell = r->cell;
    ck_status st = CK_OK;
    /* RNN.get_config, then the class' keys, in tf.keras 2.15's order. */
    static const char *const flags[] = {"return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                                        "time_major"};
    const bool vals[] = {a->return_sequences, a->return_state, a->go_backwards, a->stateful, a->unroll,
                         a->time_major};
    for (int i = 0; i < 6 && st == CK_OK; i++) st = ck_json_set(j, flags[i], json_boolean(vals[i]));
    if (st == CK_OK && a->zero_output_for_mask) st = ck_json_set(j, "zero_output_for_mask", json_true());
    if (st == CK_OK) st = ck_json_set(j, "units", json_integer(a->units));
    if (st == CK_OK) st = ck_json_set(j, "activation", ck_activation_to_json(a->activation));
    if (st == CK_OK && cell->has_recurrent_activation)
        st = ck_json_set(j, "recurrent_activation", ck_activation_to_json(a->recurrent_activation));
    if (st == CK_OK) st = ck_json_set(j, "use_bias", json_boolean(a->use_bias));
    if (st == CK_OK) st = ck_json_set(j, "kernel_initializer", ck_initializer_to_json(a->kernel_init));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_initializer", ck_initializer_to_json(a->recurrent_init));
    if (st == CK_OK) st = ck_json_set(j, "bias_initializer", ck_initializer_to_json(a->bias_init));
    if (st == CK_OK && cell->has_unit_forget_bias)
        st = ck_json_set(j, "unit_forget_bias", json_boolean(a->unit_forget_bias));
    if (st == CK_OK) st = ck_json_set(j, "kernel_regularizer", ck_regularizer_to_json(a->kernel_reg));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_regularizer", ck_regularizer_to_json(a->recurrent_reg));
    if (st == CK_OK) st = ck_json_set(j, "bias_regularizer", ck_regularizer_to_json(a->bias_reg));
    if (st == CK_OK) st = ck_json_set(j, "activity_regularizer", ck_regularizer_to_json(layer->activity_regularizer));
    if (st == CK_OK) st = ck_json_set(j, "kernel_constraint", ck_constraint_to_json(a->kernel_con));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_constraint", ck_constraint_to_json(a->recurrent_con));
    if (st == CK_OK) st = ck_json_set(j, "bias_constraint", ck_constraint_to_json(a->bias_con));
    if (st == CK_OK) st = ck_json_set(j, "dropout", json_real(a->dropout));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_dropout", json_real(a->recurrent_dropout));
    if (st == CK_OK && cell->has_implementation) st = ck_json_set(j, "implementation", json_integer(a->implementation));
    if (st == CK_OK && cell->has_reset_after) st = ck_json_set(j, "reset_after", json_boolean(a->reset_after));
    return st;
}
