/* keras.layers.ConvLSTM1D / ConvLSTM2D / ConvLSTM3D (tf.keras 2.15's
 * ConvLSTMCell inside ConvRNN): an LSTM whose products are convolutions.
 * Per step t, with gates in Keras' order i, f, c, o:
 *   z = conv(x_t, kernel; strides, padding, dilation) + bias
 *     + conv(h_prev, recurrent_kernel; stride 1, padding "same"),
 *   i = ra(z_i), f = ra(z_f), g = act(z_c), o = ra(z_o),
 *   c = f * c_prev + i * g,  h = o * act(c).
 * The recurrent convolution has stride 1, "same" padding and no dilation
 * in tf.keras (so h keeps the output's spatial shape).  The states start
 * at zero, or for a stateful layer where the previous call left them.
 * Inputs are (batch, time, spatial..., channels), or (batch, time,
 * channels, spatial...) in channels_first.  Weights: kernel (k..., in,
 * 4F), recurrent_kernel (k..., F, 4F), bias (4F) in either format, named
 * as tf.keras names them ("conv_lstm2d/kernel:0").  The convolutions run
 * on the N-d engine (conv_lstm_step.c); training, dropout masks included,
 * is conv_lstm_grad.c. */
#include <string.h>

#include "layers/conv_lstm.h"
#include "layers/conv_utils.h"
#include "layers/spatial_args.h"



static void conv_lstm_destroy(ck_layer *layer)
{
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    ck_activation_free(c->activation);
    ck_activation_free(c->recurrent_activation);
    ck_initializer_free(c->kernel_init);
    ck_initializer_free(c->recurrent_init);
    ck_initializer_free(c->bias_init);
    ck_regularizer_free(c->kernel_reg);
    ck_regularizer_free(c->recurrent_reg);
    ck_regularizer_free(c->bias_reg);
    ck_constraint_free(c->kernel_con);
    ck_constraint_free(c->recurrent_con);
    ck_constraint_free(c->bias_con);
    ck_free(c->state);
}

/* ---- stateful ----------------------------------------------------------------- */

/* A stateful layer's states (zeros), for the batch size it is built with. */
static ck_status allocate_states(conv_lstm_layer *c, const ck_shape *in)
{
    char buf[128];
    if (in->dims[0] < 0)
        return ck_error(CK_VALUE_ERROR, "If a RNN is stateful, it needs to know its batch size. Specify the batch "
                        "size of your input tensors: \n- If using a Sequential model, specify the batch size by "
                        "passing a `batch_input_shape` argument to your first layer.\n- If using the functional "
                        "API, specify the batch size by passing a `batch_shape` argument to your Input layer. "
                        "(layer \"%s\", input shape %s)", c->base.name, ck_shape_fmt(buf, sizeof buf, in));
    conv_lstm_geom g;
    ck_conv_lstm_geometry(c, in, &g);
    void *state = ck_calloc(g.S ? (size_t)(2 * g.S) : 1, ck_dtype_size(c->base.dtype));
    if (!state) return ck_oom("the states of a stateful ConvLSTM layer");
    ck_free(c->state);
    c->state = state;
    c->state_batch = g.batch;
    c->state_elems = g.S;
    return CK_OK;
}

ck_status ck_conv_lstm_load_states(const conv_lstm_layer *c, const conv_lstm_geom *g, void *h0, void *c0)
{
    size_t bytes = (size_t)g->S * ck_dtype_size(c->base.dtype);
    if (!c->state) {
        memset(h0, 0, bytes);
        memset(c0, 0, bytes);
        return CK_OK;
    }
    if (g->batch != c->state_batch)
        return ck_error(CK_VALUE_ERROR, "stateful layer \"%s\" keeps states for a batch of %lld; it was called on a "
                        "batch of %lld", c->base.name, (long long)c->state_batch, (long long)g->batch);
    memcpy(h0, c->state, bytes);
    memcpy(c0, (const char *)c->state + bytes, bytes);
    return CK_OK;
}

void ck_conv_lstm_keep_states(conv_lstm_layer *c, const conv_lstm_geom *g, const void *h, const void *cs)
{
    if (!c->state || g->T == 0) return;
    size_t bytes = (size_t)g->S * ck_dtype_size(c->base.dtype);
    memcpy(c->state, h, bytes);
    memcpy((char *)c->state + bytes, cs, bytes);
}

void ck_conv_lstm_put_states(const conv_lstm_layer *c, const conv_lstm_geom *g, ck_tensor *const *out,
                             const void *h, const void *cs)
{
    if (!c->return_state) return;
    size_t bytes = (size_t)g->S * ck_dtype_size(c->base.dtype);
    memcpy(out[1]->data, h, bytes);
    memcpy(out[2]->data, cs, bytes);
}

/* ---- shapes ---------------------------------------------------------------- */

/* The output's spatial dims (padded with 1 to three) for an input shape. */
static ck_status spatial_out(const conv_lstm_layer *c, const ck_shape *in, int64_t out[3])
{
    char buf[96];
    for (int i = 0; i < 3; i++) out[i] = 1;
    for (int i = 0; i < c->nd; i++) {
        int64_t d = in->dims[(c->channels_first ? 3 : 2) + i];
        out[i] = ck_conv_output_length(d, c->ksize[i], c->same, c->strides[i], c->dilation[i]);
        if (d >= 0 && out[i] <= 0)
            return ck_error(CK_VALUE_ERROR, "%s \"%s\": the input's spatial dims %s are too small for kernel_size "
                            "%lld (padding \"valid\", dilation %lld): the output would be empty",
                            c->base.cls->class_name, c->base.name, ck_shape_fmt(buf, sizeof buf, in),
                            (long long)c->ksize[i], (long long)c->dilation[i]);
    }
    return CK_OK;
}

/* The shape of one step's output, h and c: (batch, out..., filters), or
 * (batch, filters, out...) in channels_first. */
static ck_status step_shape(const conv_lstm_layer *c, const ck_shape *in, ck_shape *s)
{
    CK_TRY(ck_sp_check_rank(&c->base, in, c->nd + 3));
    int64_t sp[3];
    CK_TRY(spatial_out(c, in, sp));
    *s = (ck_shape){0, {0}};
    s->dims[s->rank++] = in->dims[0];
    if (c->channels_first) s->dims[s->rank++] = c->filters;
    for (int i = 0; i < c->nd; i++) s->dims[s->rank++] = sp[i];
    if (!c->channels_first) s->dims[s->rank++] = c->filters;
    return CK_OK;
}

static ck_status conv_lstm_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)n;
    const conv_lstm_layer *c = (const conv_lstm_layer *)layer;
    ck_shape s;
    CK_TRY(step_shape(c, &in[0], &s));
    /* return_state: h and c have the shape of one step's output. */
    if (c->return_state) out[1] = out[2] = s;
    if (c->return_sequences) {
        memmove(&s.dims[2], &s.dims[1], (size_t)(s.rank - 1) * sizeof s.dims[0]);
        s.dims[1] = in[0].dims[1];
        s.rank++;
    }
    out[0] = s;
    return CK_OK;
}

static int conv_lstm_output_count(const ck_layer *layer)
{
    return ((const conv_lstm_layer *)layer)->return_state ? 3 : 1;
}

static ck_status conv_lstm_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    ck_shape ignored[3];
    char buf[96];
    CK_TRY(conv_lstm_output_shape(layer, n, shapes, ignored));
    int64_t in_ch = shapes[0].dims[c->channels_first ? 2 : c->nd + 2], g4 = 4 * c->filters;
    if (in_ch < 0)
        return ck_error(CK_VALUE_ERROR, "The channel dimension of the inputs to %s \"%s\" should be defined. Found "
                        "None. Full input shape received: %s", layer->cls->class_name, layer->name,
                        ck_shape_fmt(buf, sizeof buf, &shapes[0]));
    if (c->stateful) CK_TRY(allocate_states(c, &shapes[0]));
    ck_shape ks = {c->nd + 2, {0}}, rs = {c->nd + 2, {0}}, bs = {1, {g4}};
    for (int i = 0; i < c->nd; i++) ks.dims[i] = rs.dims[i] = c->ksize[i];
    ks.dims[c->nd] = in_ch, ks.dims[c->nd + 1] = g4;
    rs.dims[c->nd] = c->filters, rs.dims[c->nd + 1] = g4;
    ck_status st = ck_layer_add_weight_with(layer, "kernel", &ks, layer->dtype, c->kernel_init, c->kernel_reg,
                                            c->kernel_con, true, &c->kernel);
    if (st == CK_OK)
        st = ck_layer_add_weight_with(layer, "recurrent_kernel", &rs, layer->dtype, c->recurrent_init,
                                      c->recurrent_reg, c->recurrent_con, true, &c->recurrent_kernel);
    if (st == CK_OK && c->use_bias)
        st = ck_layer_add_weight_with(layer, "bias", &bs, layer->dtype, c->bias_init, c->bias_reg, c->bias_con, true,
                                      &c->bias);
    if (st != CK_OK) {
        c->kernel = c->recurrent_kernel = c->bias = NULL; /* the base drops them */
        ck_free(c->state);
        c->state = NULL;
        return st;
    }
    /* unit_forget_bias: [init(F), ones(F), init(2F)], as Keras builds it. */
    if (c->bias && c->unit_forget_bias) {
        ck_tensor *b = c->bias->value;
        CK_RNN_TYPED(b->dtype, {
            real *p = b->data;
            for (int64_t u = 0; u < c->filters; u++) p[c->filters + u] = 1;
        });
    }
    layer->spec = c->channels_first ? (ck_input_spec){.ndim = c->nd + 3}
                                    : (ck_input_spec){.ndim = c->nd + 3, .has_last_dim = 1, .last_dim = in_ch};
    return CK_OK;
}

/* ---- reset_states ---------------------------------------------------------------- */

int ck_conv_lstm_is(const ck_layer *layer) { return layer->cls->build == conv_lstm_build; }

int ck_conv_lstm_is_stateful(const ck_layer *layer)
{
    return ck_conv_lstm_is(layer) && ((const conv_lstm_layer *)layer)->stateful;
}

ck_status ck_conv_lstm_reset_states(ck_layer *layer)
{
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    if (!c->stateful) return ck_error(CK_ATTRIBUTE_ERROR, "Layer must be stateful.");
    if (c->state) memset(c->state, 0, (size_t)(2 * c->state_elems) * ck_dtype_size(layer->dtype));
    return CK_OK;
}

/* ---- inference ------------------------------------------------------------------- */

/* Scratch: h, c, act(c) (one state block each), z (four), the step's
 * work, then for masked calls the states before the step and the output
 * (one block each). */
static size_t conv_lstm_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n, (void)out;
    conv_lstm_geom g;
    ck_conv_lstm_geometry((const conv_lstm_layer *)layer, &in[0], &g);
    return (size_t)(10 * g.S + ck_conv_lstm_work_elems(&g)) * ck_dtype_size(layer->dtype);
}

static ck_status conv_lstm_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                                       ck_tensor *const *out, void *scratch)
{
    (void)n;
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    size_t es = ck_dtype_size(layer->dtype);
    ck_shape is = ck_tensor_shape(in[0]);
    conv_lstm_geom g;
    ck_conv_lstm_geometry(c, &is, &g);
    const int64_t S = g.S, T = g.T, per_b = g.per_b, xe = g.x_elems;
    int64_t inner = 1;
    if (mask) {
        ck_shape step;
        CK_TRY(step_shape(c, &is, &step));
        CK_TRY(ck_conv_lstm_mask_inner(c, &g, &step, mask, &inner));
    }
    char *h = scratch, *cs = h + (size_t)S * es, *actc = cs + (size_t)S * es, *z = actc + (size_t)S * es;
    char *work = z + (size_t)(4 * S) * es;
    char *h_old = work + (size_t)ck_conv_lstm_work_elems(&g) * es, *c_old = h_old + (size_t)S * es;
    char *out_prev = c_old + (size_t)S * es;
    CK_TRY(ck_conv_lstm_load_states(c, &g, h, cs));
    /* Masked: the output is its own block (zeros before the first step). */
    const char *o = mask ? out_prev : h;
    if (mask) memset(out_prev, 0, (size_t)S * es);
    for (int64_t s = 0; s < T; s++) {
        int64_t t = c->go_backwards ? T - 1 - s : s;
        const char *xt = (const char *)in[0]->data + (size_t)(t * xe) * es;
        if (mask) {
            memcpy(h_old, h, (size_t)S * es);
            memcpy(c_old, cs, (size_t)S * es);
        }
        CK_TRY(ck_conv_lstm_step(c, &g, xt, T * xe, NULL, NULL, h, cs, z, z, cs, actc, h, work));
        if (mask) ck_conv_lstm_mask_select(layer->dtype, &g, mask, t, inner, h, cs, h_old, c_old, out_prev);
        /* The output in iteration order (reversed for go_backwards). */
        if (c->return_sequences)
            for (int64_t b = 0; b < g.batch; b++)
                memcpy((char *)out[0]->data + (size_t)((b * T + s) * per_b) * es, o + (size_t)(b * per_b) * es,
                       (size_t)per_b * es);
    }
    if (!c->return_sequences) memcpy(out[0]->data, o, (size_t)S * es);
    ck_conv_lstm_put_states(c, &g, out, h, cs);
    ck_conv_lstm_keep_states(c, &g, h, cs);
    return CK_OK;
}

static ck_status conv_lstm_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                                        void *scratch)
{
    return conv_lstm_call_masked(layer, n, in, NULL, out, scratch);
}

/* RNN.compute_mask: the input's mask survives only in the sequences. */
static int conv_lstm_mask_rule(const ck_layer *layer)
{
    return ((const conv_lstm_layer *)layer)->return_sequences ? CK_MASK_PASS : CK_MASK_NONE;
}

static ck_status conv_lstm_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                        const ck_tensor *const *masks, ck_tensor **out)
{
    (void)n, (void)in;
    *out = NULL;
    if (!masks || !masks[0] || !((const conv_lstm_layer *)layer)->return_sequences) return CK_OK;
    return ck_tensor_copy(out, masks[0]);
}

/* ---- configs ------------------------------------------------------------------- */

static const char *const conv_lstm_keys[] = {
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
    "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "return_sequences", "return_state",
    "go_backwards", "stateful", "unroll", "time_major", "zero_output_for_mask", "seed", NULL};

static ck_status get_flag(const json_t *cfg, const char *cls, const char *key, bool *out)
{
    int v = *out;
    CK_TRY(ck_arg_bool(json_object_get(cfg, key), cls, key, &v));
    *out = v;
    return CK_OK;
}

static ck_status get_init(const json_t *cfg, const char *key, const char *dflt, ck_initializer **out)
{
    const json_t *v = json_object_get(cfg, key);
    if (!v) return ck_initializer_new(out, dflt);
    return ck_initializer_from_json(v, out);
}

static double clip_rate(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static ck_status parse(conv_lstm_layer *c, const char *cls, const json_t *cfg)
{
    int has = 0;
    CK_TRY(ck_arg_int(json_object_get(cfg, "filters"), cls, "filters", &c->filters, &has));
    if (!has || c->filters <= 0)
        return ck_error(CK_VALUE_ERROR, "Invalid value for argument `filters`. Expected a strictly positive value. "
                        "Received filters=%lld (%s config).", (long long)c->filters, cls);
    const json_t *ks = json_object_get(cfg, "kernel_size");
    if (!ks || json_is_null(ks)) return ck_error(CK_VALUE_ERROR, "%s config: `kernel_size` is required", cls);
    CK_TRY(ck_sp_tuple_json(ks, c->nd, cls, "kernel_size", 0, c->ksize));
    CK_TRY(ck_sp_tuple_json(json_object_get(cfg, "strides"), c->nd, cls, "strides", 0, c->strides));
    CK_TRY(ck_sp_tuple_json(json_object_get(cfg, "dilation_rate"), c->nd, cls, "dilation_rate", 0, c->dilation));
    CK_TRY(ck_conv_padding_json(json_object_get(cfg, "padding"), cls, "padding", &c->same));
    int cf = 0;
    CK_TRY(ck_conv_data_format_json(json_object_get(cfg, "data_format"), cls, "data_format", 0, &cf));
    c->channels_first = cf;
    const json_t *act = json_object_get(cfg, "activation");
    if (act) CK_TRY(ck_activation_from_json(act, &c->activation));
    else CK_TRY(ck_activation_new(&c->activation, "tanh", NULL));
    /* tf.keras 2.x's default; Keras 3 always writes the key. */
    const json_t *ract = json_object_get(cfg, "recurrent_activation");
    if (ract) CK_TRY(ck_activation_from_json(ract, &c->recurrent_activation));
    else CK_TRY(ck_activation_new(&c->recurrent_activation, "hard_sigmoid", NULL));
    CK_TRY(get_flag(cfg, cls, "use_bias", &c->use_bias));
    CK_TRY(get_flag(cfg, cls, "unit_forget_bias", &c->unit_forget_bias));
    CK_TRY(get_init(cfg, "kernel_initializer", "glorot_uniform", &c->kernel_init));
    CK_TRY(get_init(cfg, "recurrent_initializer", "orthogonal", &c->recurrent_init));
    CK_TRY(get_init(cfg, "bias_initializer", "zeros", &c->bias_init));
    CK_TRY(ck_regularizer_from_json(json_object_get(cfg, "kernel_regularizer"), &c->kernel_reg));
    CK_TRY(ck_regularizer_from_json(json_object_get(cfg, "recurrent_regularizer"), &c->recurrent_reg));
    CK_TRY(ck_regularizer_from_json(json_object_get(cfg, "bias_regularizer"), &c->bias_reg));
    CK_TRY(ck_constraint_from_json(json_object_get(cfg, "kernel_constraint"), &c->kernel_con));
    CK_TRY(ck_constraint_from_json(json_object_get(cfg, "recurrent_constraint"), &c->recurrent_con));
    CK_TRY(ck_constraint_from_json(json_object_get(cfg, "bias_constraint"), &c->bias_con));
    CK_TRY(ck_arg_number(json_object_get(cfg, "dropout"), cls, "dropout", &c->dropout, NULL));
    CK_TRY(ck_arg_number(json_object_get(cfg, "recurrent_dropout"), cls, "recurrent_dropout", &c->recurrent_dropout,
                         NULL));
    c->dropout = clip_rate(c->dropout);
    c->recurrent_dropout = clip_rate(c->recurrent_dropout);
    CK_TRY(get_flag(cfg, cls, "return_sequences", &c->return_sequences));
    CK_TRY(get_flag(cfg, cls, "go_backwards", &c->go_backwards));
    CK_TRY(get_flag(cfg, cls, "time_major", &c->time_major));
    bool unroll = false;
    CK_TRY(get_flag(cfg, cls, "return_state", &c->return_state));
    CK_TRY(get_flag(cfg, cls, "stateful", &c->stateful));
    CK_TRY(get_flag(cfg, cls, "unroll", &unroll));
    if (unroll) return ck_error(CK_VALUE_ERROR, "Unrolling is not possible with convolutional RNNs.");
    if (c->time_major) return ck_error(CK_NOT_IMPLEMENTED, "%s with time_major=True is not supported", cls);
    return CK_OK;
}

static ck_status from_config_nd(const ck_layer_class *cls, int nd, const json_t *cfg, ck_layer **out)
{
    const char *name = cls->class_name;
    if (!json_is_object(cfg)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", name);
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, cfg, conv_lstm_keys, &layer));
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    c->nd = nd;
    c->use_bias = c->unit_forget_bias = true;
    for (int i = 0; i < 3; i++) c->ksize[i] = c->strides[i] = c->dilation[i] = 1;
    ck_status st = parse(c, name, cfg);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    layer->spec = (ck_input_spec){.ndim = nd + 3};
    *out = layer;
    return CK_OK;
}

/* ---- from C options ------------------------------------------------------------- */

static ck_status parse_opts(conv_lstm_layer *c, const char *cls, const ck_conv_lstm_opts *o)
{
    static const int64_t ones[3] = {1, 1, 1};
    c->filters = o->filters;
    if (c->filters <= 0)
        return ck_error(CK_VALUE_ERROR, "Invalid value for argument `filters`. Expected a strictly positive value. "
                        "Received filters=%lld (%s).", (long long)c->filters, cls);
    if (!o->kernel_size[0]) return ck_error(CK_VALUE_ERROR, "%s: `kernel_size` is required", cls);
    CK_TRY(ck_sp_tuple_opts(o->kernel_size, c->nd, ones, cls, "kernel_size", 0, c->ksize));
    CK_TRY(ck_sp_tuple_opts(o->strides, c->nd, ones, cls, "strides", 0, c->strides));
    CK_TRY(ck_sp_tuple_opts(o->dilation_rate, c->nd, ones, cls, "dilation_rate", 0, c->dilation));
    CK_TRY(ck_conv_parse_padding(o->padding, cls, &c->same));
    int cf = 0;
    CK_TRY(ck_conv_parse_data_format(o->data_format, 0, &cf));
    c->channels_first = cf;
    CK_TRY(ck_activation_new(&c->activation, o->activation ? o->activation : "tanh", NULL));
    CK_TRY(ck_activation_new(&c->recurrent_activation,
                             o->recurrent_activation ? o->recurrent_activation : "hard_sigmoid", NULL));
    c->use_bias = !o->no_bias;
    c->unit_forget_bias = !o->no_unit_forget_bias;
    CK_TRY(ck_initializer_new(&c->kernel_init, o->kernel_initializer ? o->kernel_initializer : "glorot_uniform"));
    CK_TRY(ck_initializer_new(&c->recurrent_init,
                              o->recurrent_initializer ? o->recurrent_initializer : "orthogonal"));
    CK_TRY(ck_initializer_new(&c->bias_init, o->bias_initializer ? o->bias_initializer : "zeros"));
    const char *regs[3] = {o->kernel_regularizer, o->recurrent_regularizer, o->bias_regularizer};
    ck_regularizer **rd[3] = {&c->kernel_reg, &c->recurrent_reg, &c->bias_reg};
    const char *cons[3] = {o->kernel_constraint, o->recurrent_constraint, o->bias_constraint};
    ck_constraint **cd[3] = {&c->kernel_con, &c->recurrent_con, &c->bias_con};
    for (int i = 0; i < 3; i++) {
        if (regs[i]) CK_TRY(ck_regularizer_new(rd[i], regs[i]));
        if (cons[i]) CK_TRY(ck_constraint_new(cd[i], cons[i]));
    }
    c->dropout = clip_rate(o->dropout);
    c->recurrent_dropout = clip_rate(o->recurrent_dropout);
    c->return_sequences = o->return_sequences;
    c->go_backwards = o->go_backwards;
    c->stateful = o->stateful;
    c->return_state = o->return_state;
    return CK_OK;
}

static ck_status new_nd(const ck_layer_class *cls, int nd, const ck_conv_lstm_opts *o, ck_layer **out)
{
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (filters, kernel_size)", cls->class_name);
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, o, &layer));
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    c->nd = nd;
    for (int i = 0; i < 3; i++) c->ksize[i] = c->strides[i] = c->dilation[i] = 1;
    ck_status st = parse_opts(c, cls->class_name, o);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    layer->spec = (ck_input_spec){.ndim = nd + 3};
    *out = layer;
    return CK_OK;
}

static ck_status conv_lstm_get_config(const ck_layer *layer, json_t *j)
{
    const conv_lstm_layer *c = (const conv_lstm_layer *)layer;
    ck_status st = CK_OK;
    /* ConvRNN.get_config, then ConvLSTM's keys, in tf.keras 2.15's order. */
    static const char *const flags[] = {"return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                                        "time_major"};
    const bool vals[] = {c->return_sequences, c->return_state, c->go_backwards, c->stateful, false, c->time_major};
    for (int i = 0; i < 6 && st == CK_OK; i++) st = ck_json_set(j, flags[i], json_boolean(vals[i]));
    if (st == CK_OK) st = ck_json_set(j, "filters", json_integer(c->filters));
    if (st == CK_OK) st = ck_json_set(j, "kernel_size", ck_sp_tuple_to_json(c->ksize, c->nd));
    if (st == CK_OK) st = ck_json_set(j, "strides", ck_sp_tuple_to_json(c->strides, c->nd));
    if (st == CK_OK) st = ck_json_set(j, "padding", json_string(c->same ? "same" : "valid"));
    if (st == CK_OK) st = ck_json_set(j, "data_format", json_string(c->channels_first ? "channels_first" : "channels_last"));
    if (st == CK_OK) st = ck_json_set(j, "dilation_rate", ck_sp_tuple_to_json(c->dilation, c->nd));
    if (st == CK_OK) st = ck_json_set(j, "activation", ck_activation_to_json(c->activation));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_activation", ck_activation_to_json(c->recurrent_activation));
    if (st == CK_OK) st = ck_json_set(j, "use_bias", json_boolean(c->use_bias));
    if (st == CK_OK) st = ck_json_set(j, "kernel_initializer", ck_initializer_to_json(c->kernel_init));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_initializer", ck_initializer_to_json(c->recurrent_init));
    if (st == CK_OK) st = ck_json_set(j, "bias_initializer", ck_initializer_to_json(c->bias_init));
    if (st == CK_OK) st = ck_json_set(j, "unit_forget_bias", json_boolean(c->unit_forget_bias));
    if (st == CK_OK) st = ck_json_set(j, "kernel_regularizer", ck_regularizer_to_json(c->kernel_reg));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_regularizer", ck_regularizer_to_json(c->recurrent_reg));
    if (st == CK_OK) st = ck_json_set(j, "bias_regularizer", ck_regularizer_to_json(c->bias_reg));
    if (st == CK_OK) st = ck_json_set(j, "activity_regularizer", ck_regularizer_to_json(layer->activity_regularizer));
    if (st == CK_OK) st = ck_json_set(j, "kernel_constraint", ck_constraint_to_json(c->kernel_con));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_constraint", ck_constraint_to_json(c->recurrent_con));
    if (st == CK_OK) st = ck_json_set(j, "bias_constraint", ck_constraint_to_json(c->bias_con));
    if (st == CK_OK) st = ck_json_set(j, "dropout", json_real(c->dropout));
    if (st == CK_OK) st = ck_json_set(j, "recurrent_dropout", json_real(c->recurrent_dropout));
    return st;
}

static ck_status from_config_1d(const json_t *cfg, ck_layer **out);
static ck_status from_config_2d(const json_t *cfg, ck_layer **out);
static ck_status from_config_3d(const json_t *cfg, ck_layer **out);

#define CONV_LSTM_CLASS(NAME, FROM_CONFIG)                       \
    {                                                            \
        .class_name = NAME,                                      \
        .size = sizeof(conv_lstm_layer),                         \
        .arity = CK_ONE_INPUT,                                   \
        .cast_all_inputs = 1,                                    \
        .archive_vars_path = "cell",                             \
        .build = conv_lstm_build,                                \
        .call = ck_layer_call_own_scratch,                       \
        .compute_output_shape = conv_lstm_output_shape,          \
        .get_config = conv_lstm_get_config,                      \
        .from_config = FROM_CONFIG,                              \
        .destroy = conv_lstm_destroy,                            \
        .call_scratch_bytes = conv_lstm_scratch_bytes,           \
        .call_scratch = conv_lstm_call_scratch,                  \
        .call_masked = conv_lstm_call_masked,                    \
        .mask_rule = conv_lstm_mask_rule,                        \
        .compute_mask = conv_lstm_compute_mask,                  \
        .supports_masking = 1,                                   \
        .saved_bytes = ck_conv_lstm_saved_bytes,                 \
        .train_call = ck_conv_lstm_train_call,                   \
        .backward = ck_conv_lstm_backward,                       \
        .output_count = conv_lstm_output_count,                  \
    }

const ck_layer_class ck_conv_lstm1d_class = CONV_LSTM_CLASS("ConvLSTM1D", from_config_1d);
const ck_layer_class ck_conv_lstm2d_class = CONV_LSTM_CLASS("ConvLSTM2D", from_config_2d);
const ck_layer_class ck_conv_lstm3d_class = CONV_LSTM_CLASS("ConvLSTM3D", from_config_3d);

static ck_status from_config_1d(const json_t *cfg, ck_layer **out)
{
    return from_config_nd(&ck_conv_lstm1d_class, 1, cfg, out);
}
static ck_status from_config_2d(const json_t *cfg, ck_layer **out)
{
    return from_config_nd(&ck_conv_lstm2d_class, 2, cfg, out);
}
static ck_status from_config_3d(const json_t *cfg, ck_layer **out)
{
    return from_config_nd(&ck_conv_lstm3d_class, 3, cfg, out);
}

ck_status ck_conv_lstm1d(ck_layer **out, const ck_conv_lstm_opts *opts)
{
    CK_NEED(out);
    return new_nd(&ck_conv_lstm1d_class, 1, opts, out);
}
ck_status ck_conv_lstm2d(ck_layer **out, const ck_conv_lstm_opts *opts)
{
    CK_NEED(out);
    return new_nd(&ck_conv_lstm2d_class, 2, opts, out);
}
ck_status ck_conv_lstm3d(ck_layer **out, const ck_conv_lstm_opts *opts)
{
    CK_NEED(out);
    return new_nd(&ck_conv_lstm3d_class, 3, opts, out);
}
