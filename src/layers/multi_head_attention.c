/* keras.layers.MultiHeadAttention: options, configs (tf.keras 2.x with its
 * query_shape / key_shape / value_shape, Keras 3), build, output shape and
 * the keyword arguments of functional calls.  The arithmetic is in
 * multi_head_attention_run.c.
 *
 * Inputs are [query, value], [query, value, key] or [query, value, key,
 * attention_mask].  A functional node of tf.keras 2.x passes value, key and
 * attention_mask by keyword: the loader appends those present in that
 * order, and node_kwargs records which ones came, so that [query, value,
 * mask] (a mask without a key) is read right. */
#include <string.h>

#include "layers/kernel_params.h"
#include "layers/multi_head_attention.h"
#include "layers/normattn_classes.h"

static const char *const CLS = "MultiHeadAttention";

typedef struct mha_args {
    ck_mha_layer l;
    ck_kernel_params kp;
} mha_args;

static void mha_destroy(ck_layer *layer)
{
    ck_mha_layer *l = (ck_mha_layer *)layer;
    ck_kernel_params p = {NULL, l->kernel_init, l->bias_init, l->kernel_reg, l->bias_reg, l->kernel_con,
                          l->bias_con};
    ck_kernel_params_free(&p);
}

ck_status ck_mha_input_layout(const ck_mha_layer *l, int n, ck_mha_inputs *io)
{
    if (n < 2 || n > 4)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\" takes [query, value(, key)(, "
                        "attention_mask)], got %d inputs", l->base.name, n);
    io->key = -1, io->mask = -1;
    if (n == 4) io->key = 2, io->mask = 3;
    else if (n == 3 && l->kw_seen && l->kw_mask && !l->kw_key) io->mask = 2;
    else if (n == 3) io->key = 2;
    return CK_OK;
}

/* tf.keras' default attention axes for a query of this rank: every axis
 * of the projected (batch, positions..., heads, dim) tensor between the
 * batch and the heads. */
static int default_axes(int rank, int axes[CK_MAX_RANK])
{
    int n = 0;
    for (int a = 1; a < rank - 1; a++) axes[n++] = a;
    return n;
}

ck_status ck_mha_axes_of(const ck_mha_layer *l, int rank, int *a0, int *na)
{
    if (l->n_attention_axes < 0) {
        *a0 = 1, *na = rank - 2;
        return CK_OK;
    }
    int ok = l->n_attention_axes > 0;
    for (int i = 0; ok && i < l->n_attention_axes; i++) {
        const int a = l->attention_axes[i] < 0 ? l->attention_axes[i] + rank + 1 : l->attention_axes[i];
        const int first = l->attention_axes[0] < 0 ? l->attention_axes[0] + rank + 1 : l->attention_axes[0];
        ok = a >= 1 && a <= rank - 2 && a == first + i;
    }
    if (!ok)
        return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention layer \"%s\": attention_axes must be consecutive "
                        "axes between the batch and the features of the rank-%d query, in ascending order",
                        l->base.name, rank);
    *a0 = l->attention_axes[0] < 0 ? l->attention_axes[0] + rank + 1 : l->attention_axes[0];
    *na = l->n_attention_axes;
    return CK_OK;
}

static ck_status add(ck_layer *layer, const char *name, ck_shape s, const ck_initializer *init,
                     const ck_regularizer *reg, const ck_constraint *con, ck_weight **w)
{
    return ck_layer_add_weight_with(layer, name, &s, layer->dtype, init, reg, con, true, w);
}

static ck_status mha_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_mha_layer *l = (ck_mha_layer *)layer;
    ck_mha_dims d;
    ck_mha_inputs io = {-1, -1};
    char a[128];
    CK_TRY(ck_mha_dims_of(l, n, shapes, &d));
    CK_TRY(ck_mha_input_layout(l, n, &io));

    const int64_t last[3] = {d.Dq, d.Dv, d.Dk};
    for (int i = 0; i < 3; i++)
        if (last[i] < 0)
            return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": the last dim of query, value and key "
                            "must be known to build (query %s)", layer->name, ck_shape_fmt(a, sizeof a, &shapes[0]));
    const int64_t H = l->num_heads, K = l->key_dim, V = l->value_dim, O = d.O;
    const ck_initializer *ki = l->kernel_init, *bi = l->bias_init;
    const ck_regularizer *kr = l->kernel_reg, *br = l->bias_reg;
    const ck_constraint *kc = l->kernel_con, *bc = l->bias_con;
    ck_weight *w[8] = {NULL};
    const int b = l->use_bias;
    ck_status st = add(layer, "query/kernel", (ck_shape){3, {d.Dq, H, K}}, ki, kr, kc, &w[0]);
    if (st == CK_OK && b) st = add(layer, "query/bias", (ck_shape){2, {H, K}}, bi, br, bc, &w[1]);
    if (st == CK_OK) st = add(layer, "key/kernel", (ck_shape){3, {d.Dk, H, K}}, ki, kr, kc, &w[2]);
    if (st == CK_OK && b) st = add(layer, "key/bias", (ck_shape){2, {H, K}}, bi, br, bc, &w[3]);
    if (st == CK_OK) st = add(layer, "value/kernel", (ck_shape){3, {d.Dv, H, V}}, ki, kr, kc, &w[4]);
    if (st == CK_OK && b) st = add(layer, "value/bias", (ck_shape){2, {H, V}}, bi, br, bc, &w[5]);
    if (st == CK_OK) st = add(layer, "attention_output/kernel", (ck_shape){3, {H, V, O}}, ki, kr, kc, &w[6]);
    if (st == CK_OK && b) st = add(layer, "attention_output/bias", (ck_shape){1, {O}}, bi, br, bc, &w[7]);
    if (st != CK_OK) return st; /* the base drops the weights added so far */
    l->wq = w[0], l->bq = w[1], l->wk = w[2], l->bk = w[3], l->wv = w[4], l->bv = w[5], l->wo = w[6], l->bo = w[7];
    l->dq = d.Dq, l->dv = d.Dv, l->dk = d.Dk, l->od = O;
    l->has_shapes = 1;
    l->query_shape = shapes[0];
    l->value_shape = shapes[1];
    l->key_shape = io.key >= 0 ? shapes[io.key] : shapes[1];
    if (l->n_attention_axes < 0) l->n_attention_axes = default_axes(shapes[0].rank, l->attention_axes);
    return CK_OK;
}

static ck_status mha_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    ck_mha_dims d;
    CK_TRY(ck_mha_dims_of(l, n, in, &d));
    out[0] = in[0];
    out[0].dims[in[0].rank - 1] = d.O;
    if (l->return_scores) {
        /* (batch, other positional axes..., heads, query attention axes...,
         * key attention axes...) */
        const int m = in[0].rank - 2, rank = 1 + (m - d.na) + 1 + 2 * d.na;
        if (rank > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": attention scores of rank %d exceed "
                            "ckeras' maximum rank %d", layer->name, rank, CK_MAX_RANK);
        out[1] = (ck_shape){rank, {in[0].dims[0]}};
        int at = 1;
        for (int a = 1; a <= m; a++)
            if (a < d.a0 || a >= d.a0 + d.na) out[1].dims[at++] = in[0].dims[a];
        out[1].dims[at++] = l->num_heads;
        for (int i = 0; i < d.na; i++) out[1].dims[at++] = in[0].dims[d.a0 + i];
        for (int i = 0; i < d.na; i++) out[1].dims[at++] = in[1].dims[d.a0 + i];
    }
    return CK_OK;
}

int ck_mha_output_count(const ck_layer *layer) { return 1 + ((const ck_mha_layer *)layer)->return_scores; }

/* ---- configs -------------------------------------------------------------------- */

static json_t *shape_or_null(int has, const ck_shape *s) { return has ? ck_shape_to_json(s) : json_null(); }

static ck_status mha_get_config(const ck_layer *layer, json_t *c)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    json_t *os = json_null();
    if (l->output_shape_form == 1) os = json_integer(l->out_dim);
    else if (l->output_shape_form == 2) os = json_pack("[I]", (json_int_t)l->out_dim);
    ck_status st = ck_json_set(c, "num_heads", json_integer(l->num_heads));
    if (st == CK_OK) st = ck_json_set(c, "key_dim", json_integer(l->key_dim));
    if (st == CK_OK) st = ck_json_set(c, "value_dim", json_integer(l->value_dim));
    if (st == CK_OK) st = ck_json_set(c, "dropout", ck_arg_num_json(l->dropout, l->dropout_is_int));
    if (st == CK_OK) st = ck_json_set(c, "use_bias", json_boolean(l->use_bias));
    if (st == CK_OK) st = ck_json_set(c, "output_shape", os);
    else json_decref(os);
    if (st == CK_OK)
        st = ck_json_set(c, "attention_axes", l->n_attention_axes < 0
                                                  ? json_null()
                                                  : ck_arg_axes_json(l->attention_axes, l->n_attention_axes, 1));
    if (st == CK_OK) st = ck_json_set(c, "kernel_initializer", ck_initializer_to_json(l->kernel_init));
    if (st == CK_OK) st = ck_json_set(c, "bias_initializer", ck_initializer_to_json(l->bias_init));
    if (st == CK_OK) st = ck_json_set(c, "kernel_regularizer", ck_regularizer_to_json(l->kernel_reg));
    if (st == CK_OK) st = ck_json_set(c, "bias_regularizer", ck_regularizer_to_json(l->bias_reg));
    if (st == CK_OK) st = ck_json_set(c, "activity_regularizer", json_null());
    if (st == CK_OK) st = ck_json_set(c, "kernel_constraint", ck_constraint_to_json(l->kernel_con));
    if (st == CK_OK) st = ck_json_set(c, "bias_constraint", ck_constraint_to_json(l->bias_con));
    if (st == CK_OK) st = ck_json_set(c, "query_shape", shape_or_null(l->has_shapes, &l->query_shape));
    if (st == CK_OK) st = ck_json_set(c, "key_shape", shape_or_null(l->has_shapes, &l->key_shape));
    if (st == CK_OK) st = ck_json_set(c, "value_shape", shape_or_null(l->has_shapes, &l->value_shape));
    return st;
}

/* Hands the parsed arguments (owned by `a`) to the layer. */
static void finish(ck_layer *layer, mha_args *a)
{
    ck_mha_layer *l = (ck_mha_layer *)layer;
    ck_layer keep = *layer;
    *l = a->l;
    l->base = keep;
    l->kernel_init = a->kp.kernel_initializer, l->bias_init = a->kp.bias_initializer;
    l->kernel_reg = a->kp.kernel_regularizer, l->bias_reg = a->kp.bias_regularizer;
    l->kernel_con = a->kp.kernel_constraint, l->bias_con = a->kp.bias_constraint;
    ck_activation_free(a->kp.activation); /* the defaults' linear: unused */
    memset(&a->kp, 0, sizeof a->kp);
}

static ck_status check_args(const mha_args *a)
{
    const ck_mha_layer *l = &a->l;
    if (l->num_heads <= 0)
        return ck_error(CK_VALUE_ERROR, "Received an invalid value for argument `num_heads`, expected a positive "
                        "integer. Received: num_heads=%lld", (long long)l->num_heads);
    if (l->key_dim <= 0)
        return ck_error(CK_VALUE_ERROR, "Received an invalid value for argument `key_dim`, expected a positive "
                        "integer. Received: key_dim=%lld", (long long)l->key_dim);
    if (l->value_dim < 0)
        return ck_error(CK_VALUE_ERROR, "Received an invalid value for argument `value_dim`, expected a positive "
                        "integer or `None`. Received: value_dim=%lld", (long long)l->value_dim);
    if (!(l->dropout >= 0 && l->dropout <= 1))
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention: dropout must be in [0, 1], got %g", l->dropout);
    if (l->out_dim < 0)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention: output_shape must be positive, got %lld",
                        (long long)l->out_dim);
    return CK_OK;
}

/* Completes the layer from parsed arguments: on success *out owns them,
 * on failure `a` keeps them and `layer` is freed. */
static ck_status make(mha_args *a, ck_layer *layer, ck_layer **out)
{
    if (!a->l.value_dim) a->l.value_dim = a->l.key_dim;
    ck_status st = ck_kernel_params_defaults(&a->kp);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    if (layer->activity_regularizer) {
        ck_layer_free(layer);
        return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention with an activity_regularizer (which Keras applies to "
                        "each projection) is not supported");
    }
    finish(layer, a);
    *out = layer;
    return CK_OK;
}

ck_status ck_multi_head_attention(ck_layer **out, const ck_multi_head_attention_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "MultiHeadAttention: options are required (num_heads, key_dim)");
    if (o->n_attention_axes < 0 || o->n_attention_axes > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention: n_attention_axes must be 0 to %d", CK_MAX_RANK);
    mha_args a = {.l = {.num_heads = o->num_heads, .key_dim = o->key_dim, .value_dim = o->value_dim,
                        .value_dim_given = o->value_dim != 0, .dropout = o->dropout, .use_bias = !o->no_bias,
                        .out_dim = o->output_dim, .output_shape_form = o->output_dim ? 1 : 0,
                        .n_attention_axes = o->n_attention_axes ? o->n_attention_axes : -1}};
    memcpy(a.l.attention_axes, o->attention_axes, sizeof a.l.attention_axes);
    ck_status st = check_args(&a);
    if (st == CK_OK)
        st = ck_kernel_params_from_opts(&a.kp, NULL, o->kernel_initializer, o->bias_initializer,
                                        o->kernel_regularizer, o->bias_regularizer, o->kernel_constraint,
                                        o->bias_constraint);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(&ck_multi_head_attention_class, o, &layer);
    if (st == CK_OK) st = make(&a, layer, out);
    ck_kernel_params_free(&a.kp);
    return st;
}

/* output_shape: null, an int, or a one-element list (tf.keras keeps the
 * given form; Keras 3 writes a list). */
static ck_status read_output_shape(const json_t *v, ck_mha_layer *l)
{
    if (!v || json_is_null(v)) return CK_OK;
    if (json_is_integer(v)) {
        l->out_dim = json_integer_value(v), l->output_shape_form = 1;
        return CK_OK;
    }
    if (json_is_array(v) && json_array_size(v) == 1 && json_is_integer(json_array_get(v, 0))) {
        l->out_dim = json_integer_value(json_array_get(v, 0)), l->output_shape_form = 2;
        return CK_OK;
    }
    return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention: only an int (or one-element list) output_shape is "
                    "supported");
}

static ck_status read_shape3(const json_t *c, ck_shape s[3], int *all)
{
    static const char *const keys[3] = {"query_shape", "value_shape", "key_shape"};
    *all = 1;
    for (int i = 0; i < 3; i++) {
        int has = 0;
        CK_TRY(ck_arg_shape(json_object_get(c, keys[i]), CLS, keys[i], &s[i], &has));
        *all = *all && has;
    }
    return CK_OK;
}

static ck_status mha_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape",
                                       "attention_axes", "kernel_initializer", "bias_initializer",
                                       "kernel_regularizer", "bias_regularizer", "kernel_constraint",
                                       "bias_constraint", "query_shape", "key_shape", "value_shape", "seed",
                                       "use_gate", "sliding_window", "flash_attention", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "MultiHeadAttention config must be a JSON object");
    mha_args a = {.l = {.use_bias = 1, .n_attention_axes = -1}};
    int has = 0, is_list = 0, gate = 0;
    ck_shape shapes[3];
    CK_TRY(ck_arg_int(json_object_get(c, "num_heads"), CLS, "num_heads", &a.l.num_heads, NULL));
    CK_TRY(ck_arg_int(json_object_get(c, "key_dim"), CLS, "key_dim", &a.l.key_dim, NULL));
    CK_TRY(ck_arg_int(json_object_get(c, "value_dim"), CLS, "value_dim", &a.l.value_dim, &a.l.value_dim_given));
    CK_TRY(ck_arg_number(json_object_get(c, "dropout"), CLS, "dropout", &a.l.dropout, &a.l.dropout_is_int));
    CK_TRY(ck_arg_bool(json_object_get(c, "use_bias"), CLS, "use_bias", &a.l.use_bias));
    CK_TRY(ck_arg_bool(json_object_get(c, "use_gate"), CLS, "use_gate", &gate));
    if (gate) return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention with use_gate=True (Keras 3) is not supported");
    const json_t *sw = json_object_get(c, "sliding_window");
    if (sw && !json_is_null(sw))
        return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention with a sliding_window (Keras 3) is not supported");
    CK_TRY(read_output_shape(json_object_get(c, "output_shape"), &a.l));
    const json_t *ax = json_object_get(c, "attention_axes");
    if (ax && !json_is_null(ax)) {
        CK_TRY(ck_arg_axes(ax, CLS, "attention_axes", a.l.attention_axes, &a.l.n_attention_axes, &is_list));
        (void)has;
    }
    CK_TRY(read_shape3(c, shapes, &has));
    CK_TRY(check_args(&a));
    ck_status st = ck_kernel_params_from_json(&a.kp, c);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_multi_head_attention_class, c, keys, &layer);
    if (st == CK_OK) st = make(&a, layer, &layer);
    ck_kernel_params_free(&a.kp);
    if (st != CK_OK) return st;
    /* tf.keras 2.x builds from the recorded shapes (_build_from_signature). */
    if (has) {
        st = ck_layer_build(layer, 3, shapes);
        if (st != CK_OK) {
            ck_layer_free(layer);
            return st;
        }
    }
    *out = layer;
    return CK_OK;
}

/* ---- keyword arguments of a functional call --------------------------------------- */

static int given(const json_t *kw, const char *key)
{
    const json_t *v = json_object_get(kw, key);
    return v && !json_is_null(v);
}

static ck_status mha_node_kwargs(ck_layer *layer, const json_t *kwargs)
{
    ck_mha_layer *l = (ck_mha_layer *)layer;
    int causal = 0, scores = 0;
    if (!json_is_object(kwargs)) return CK_OK;
    CK_TRY(ck_arg_bool(json_object_get(kwargs, "use_causal_mask"), CLS, "use_causal_mask", &causal));
    CK_TRY(ck_arg_bool(json_object_get(kwargs, "return_attention_scores"), CLS, "return_attention_scores", &scores));
    static const char *const masks[] = {"query_mask", "value_mask", "key_mask"};
    for (int i = 0; i < 3; i++)
        if (given(kwargs, masks[i]))
            return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention layer \"%s\": the %s call argument is not "
                            "supported (pass an attention_mask)", layer->name, masks[i]);
    l->kw_seen = 1;
    l->kw_key = given(kwargs, "key");
    l->kw_mask = given(kwargs, "attention_mask");
    l->causal = causal;
    l->return_scores = scores;
    return CK_OK;
}

static ck_status set_input(json_t *kw, const char *name, int input)
{
    return ck_json_set(kw, name, json_pack("{si}", "__ck_input__", input));
}

/* A node made from C: tf.keras 2.15 takes only the query positionally
 * (and refuses to load a value passed so), the other tensors by keyword.
 * A key that is the value itself (how C callers give a mask alone) is
 * left out, as Keras' default key is the value. */
static ck_status mha_record_call(const ck_layer *layer, ck_node *node)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    ck_mha_inputs io = {-1, -1};
    CK_TRY(ck_mha_input_layout(l, node->n_inputs, &io));
    json_t *kw = json_object();
    ck_status st = kw ? set_input(kw, "value", 1) : ck_oom("a node's kwargs");
    if (st == CK_OK && io.key >= 0 && node->inputs[io.key] != node->inputs[1]) st = set_input(kw, "key", io.key);
    if (st == CK_OK && io.mask >= 0) st = set_input(kw, "attention_mask", io.mask);
    if (st == CK_OK && l->return_scores) st = ck_json_set(kw, "return_attention_scores", json_true());
    if (st == CK_OK && l->causal) st = ck_json_set(kw, "use_causal_mask", json_true());
    if (st != CK_OK) {
        json_decref(kw);
        return st;
    }
    json_decref(node->call_kwargs);
    node->call_kwargs = kw;
    node->n_args = 1;
    return CK_OK;
}

/* The four projections' groups as tf.keras 2.13+ names them (the
 * attributes "_query_dense", ...), which is what ckeras writes with its
 * keras_version 2.15.0; loading also tries Keras 3's "query_dense".
 * Kernel then bias in each. */
static int mha_archive_var(const ck_layer *layer, int i, char *group, size_t n)
{
    static const char *const groups[4] = {"_query_dense", "_key_dense", "_value_dense", "_output_dense"};
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    const int per = l->use_bias ? 2 : 1;
    snprintf(group, n, "%s", groups[(i / per) & 3]);
    return i % per;
}

static const char *const mha_kwarg_inputs[] = {"value", "key", "attention_mask", NULL};

const ck_layer_class ck_multi_head_attention_class = {
    .class_name = "MultiHeadAttention",
    .size = sizeof(ck_mha_layer),
    .arity = CK_LIST_OF_INPUTS,
    .min_inputs = 2,
    .max_inputs = 4,
    .build = mha_build,
    .compute_output_shape = mha_output_shape,
    .call = ck_layer_call_own_scratch,
    .get_config = mha_get_config,
    .from_config = mha_from_config,
    .destroy = mha_destroy,
    .saved_bytes = ck_mha_saved_bytes,
    .train_call = ck_mha_train_call,
    .backward = ck_mha_backward,
    .call_scratch_bytes = ck_mha_call_scratch_bytes,
    .call_scratch = ck_mha_call_scratch,
    .call_masks = ck_mha_call_masks,
    .record_call = mha_record_call,
    .supports_masking = 1, /* the output carries the query's mask, as tf.keras */
    .node_kwargs = mha_node_kwargs,
    .kwarg_inputs = mha_kwarg_inputs,
    .archive_var = mha_archive_var,
    .output_count = ck_mha_output_count,
};
