/* The shapes, weights and states of SimpleRNN, LSTM and GRU
 * (rnn_common.h): output shapes and initial-state checks, building the
 * kernels (unit_forget_bias included), a stateful layer's states and
 * reset_states, and the mask a recurrent layer passes on. */
#include <string.h>

#include "layers/conv_lstm.h"
#include "layers/rnn_common.h"

/* ---- shapes and weights ------------------------------------------------------ */

ck_status ck_rnn_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_rnn_layer *r = (const ck_rnn_layer *)layer;
    char buf[128];
    (void)n;
    if (in[0].rank != 3)
        return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected ndim=3, "
                        "found ndim=%d. Full shape received: %s", layer->name, in[0].rank,
                        ck_shape_fmt(buf, sizeof buf, &in[0]));
    int bi = r->a.time_major ? 1 : 0, ti = 1 - bi;
    if (r->a.unroll && in[0].dims[ti] < 0)
        return ck_error(CK_VALUE_ERROR, "Cannot unroll a RNN if the time dimension is undefined. \n- If using a "
                        "Sequential model, specify the time dimension by passing an `input_shape` or "
                        "`batch_input_shape` argument to your first layer. If your first layer is an Embedding, "
                        "you can also use the `input_length` argument.\n- If using the functional API, specify "
                        "the time dimension by passing a `shape` or `batch_shape` argument to your Input layer.");
    /* Initial states: one (batch, units) tensor per state, as
     * cell.state_size. */
    int states = r->cell->has_carry ? 2 : 1;
    if (n != 1 && n != 1 + states)
        return ck_error(CK_VALUE_ERROR, "Layer \"%s\" (%s) expects %d initial state(s), but it received %d initial "
                        "state tensor(s)", layer->name, layer->cls->class_name, states, n - 1);
    for (int i = 1; i < n; i++) {
        int64_t b = in[i].rank == 2 ? in[i].dims[0] : -1, ib = in[0].dims[bi];
        if (in[i].rank != 2 || in[i].dims[1] != r->a.units || (b >= 0 && ib >= 0 && b != ib))
            return ck_error(CK_VALUE_ERROR, "An `initial_state` was passed that is not compatible with "
                            "`cell.state_size`. Layer \"%s\": state %d has shape %s; expected (%lld, %lld)",
                            layer->name, i - 1, ck_shape_fmt(buf, sizeof buf, &in[i]), (long long)ib,
                            (long long)r->a.units);
    }
    if (r->a.return_sequences) {
        out[0] = in[0];
        out[0].dims[2] = r->a.units;
    } else {
        out[0] = (ck_shape){2, {in[0].dims[bi], r->a.units}};
    }
    /* return_state: the last states follow the output. */
    for (int k = 1; k < ck_rnn_output_count(layer); k++) out[k] = (ck_shape){2, {in[0].dims[bi], r->a.units}};
    return CK_OK;
}

int ck_rnn_output_count(const ck_layer *layer)
{
    const ck_rnn_layer *r = (const ck_rnn_layer *)layer;
    return r->a.return_state ? 1 + (r->cell->has_carry ? 2 : 1) : 1;
}

const char *const ck_rnn_kwarg_inputs[] = {"initial_state", NULL};

int ck_rnn_mask_rule(const ck_layer *layer)
{
    return ((const ck_rnn_layer *)layer)->a.return_sequences ? CK_MASK_PASS : CK_MASK_NONE;
}

/* A stateful layer's states (zeros), for the batch size it was built with. */
static ck_status allocate_states(ck_rnn_layer *r, const ck_shape *in)
{
    int64_t batch = in->dims[r->a.time_major ? 1 : 0];
    char buf[128];
    if (batch < 0)
        return ck_error(CK_VALUE_ERROR, "If a RNN is stateful, it needs to know its batch size. Specify the batch "
                        "size of your input tensors: \n- If using a Sequential model, specify the batch size by "
                        "passing a `batch_input_shape` argument to your first layer.\n- If using the functional "
                        "API, specify the batch size by passing a `batch_shape` argument to your Input layer. "
                        "(layer \"%s\", input shape %s)", r->base.name, ck_shape_fmt(buf, sizeof buf, in));
    size_t n = (size_t)(batch * r->a.units) * (r->cell->has_carry ? 2 : 1);
    r->state = ck_calloc(n ? n : 1, ck_dtype_size(r->base.dtype));
    if (!r->state) return ck_oom("the states of a stateful recurrent layer");
    r->state_batch = batch;
    return CK_OK;
}

ck_status ck_rnn_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_rnn_layer *r = (ck_rnn_layer *)layer;
    const ck_rnn_args *a = &r->a;
    char buf[128];
    ck_shape ignored[3];
    CK_TRY(ck_rnn_output_shape(layer, n, shapes, ignored));
    int64_t f = shapes[0].dims[2], gu = r->cell->gates * a->units;
    if (f < 0)
        return ck_error(CK_VALUE_ERROR, "The last dimension of the inputs to the recurrent layer \"%s\" should be "
                        "defined. Found None. Full input shape received: %s", layer->name,
                        ck_shape_fmt(buf, sizeof buf, &shapes[0]));
    /* Keras checks the batch size of a stateful layer first. */
    if (a->stateful) CK_TRY(allocate_states(r, &shapes[0]));
    char name[64];
    ck_shape ks = {2, {f, gu}}, rs = {2, {a->units, gu}};
    ck_shape bs = a->reset_after ? (ck_shape){2, {2, gu}} : (ck_shape){1, {gu}};
    snprintf(name, sizeof name, "%s/kernel", r->cell->cell_name);
    ck_status st = ck_layer_add_weight_with(layer, name, &ks, layer->dtype, a->kernel_init, a->kernel_reg,
                                            a->kernel_con, true, &r->kernel);
    snprintf(name, sizeof name, "%s/recurrent_kernel", r->cell->cell_name);
    if (st == CK_OK)
        st = ck_layer_add_weight_with(layer, name, &rs, layer->dtype, a->recurrent_init, a->recurrent_reg,
                                      a->recurrent_con, true, &r->recurrent_kernel);
    snprintf(name, sizeof name, "%s/bias", r->cell->cell_name);
    if (st == CK_OK && a->use_bias)
        st = ck_layer_add_weight_with(layer, name, &bs, layer->dtype, a->bias_init, a->bias_reg, a->bias_con, true,
                                      &r->bias);
    if (st != CK_OK) {
        /* The base drops the weights added so far. */
        r->kernel = r->recurrent_kernel = r->bias = NULL;
        ck_free(r->state);
        r->state = NULL;
        return st;
    }
    /* unit_forget_bias: Keras builds the bias as [init(units), ones(units),
     * init(2 * units)]; the forget gate is the second. */
    if (r->bias && a->unit_forget_bias) {
        ck_tensor *b = r->bias->value;
        CK_RNN_TYPED(b->dtype, {
            real *p = b->data;
            for (int64_t u = 0; u < a->units; u++) p[a->units + u] = 1;
        });
    }
    r->input_dim = f;
    layer->spec = (ck_input_spec){.ndim = 3, .has_last_dim = 1, .last_dim = f};
    return CK_OK;
}

ck_status ck_layer_reset_states(ck_layer *layer)
{
    CK_NEED(layer);
    if (!layer) return ck_error(CK_VALUE_ERROR, "ck_layer_reset_states: layer is NULL");
    if (ck_conv_lstm_is(layer)) return ck_conv_lstm_reset_states(layer);
    if (layer->cls->build == ck_rnn_build) {
        ck_rnn_layer *r = (ck_rnn_layer *)layer;
        if (!r->a.stateful) return ck_error(CK_ATTRIBUTE_ERROR, "Layer must be stateful.");
        if (r->state)
            memset(r->state, 0, (size_t)(r->state_batch * r->a.units) * ck_dtype_size(layer->dtype) *
                                    (r->cell->has_carry ? 2 : 1));
        return CK_OK;
    }
    /* A model: every stateful layer inside, as Model.reset_states. */
    int n = layer->cls->sublayer_count ? layer->cls->sublayer_count(layer) : 0;
    for (int i = 0; i < n; i++) {
        ck_layer *sub = layer->cls->sublayer(layer, i);
        int rnn = sub->cls->build == ck_rnn_build;
        if ((rnn && ((ck_rnn_layer *)sub)->a.stateful) || ck_conv_lstm_is_stateful(sub) ||
            (!rnn && sub->cls->sublayer_count))
            CK_TRY(ck_layer_reset_states(sub));
    }
    return CK_OK;
}

ck_status ck_rnn_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                              const ck_tensor *const *masks, ck_tensor **out)
{
    const ck_rnn_layer *r = (const ck_rnn_layer *)layer;
    (void)n, (void)in;
    *out = NULL;
    /* RNN.compute_mask: the sequence mask survives only in the sequences. */
    if (!masks || !masks[0] || !r->a.return_sequences) return CK_OK;
    return ck_tensor_copy(out, masks[0]);
}
