/* ConvLSTM with a mask on its input, as tf.keras 2.15's ConvRNN hands it
 * to backend.rnn: the mask of a step, (batch, m...) after dropping the
 * time axis, is broadcast over the trailing dims of the step's output
 * (batch, out...) and selects, element by element,
 *   h, c   = mask ? the new states : the previous ones,
 *   output = mask ? the new h      : the previous output (zeros at first).
 * A (batch, time) mask (an explicit one, or a sequence mask) skips whole
 * steps as in LSTM; Masking over the 5-d input of a ConvLSTM2D gives a
 * (batch, time, rows, cols) mask that skips single positions, which only
 * fits when the output keeps the input's spatial dims (padding "same",
 * strides 1), as in TensorFlow, which fails otherwise. */
#include <string.h>

#include "layers/conv_lstm.h"

ck_status ck_conv_lstm_mask_inner(const conv_lstm_layer *c, const conv_lstm_geom *g, const ck_shape *step,
                                  const ck_tensor *mask, int64_t *inner)
{
    char mbuf[96], sbuf[96];
    ck_shape ms = ck_tensor_shape(mask);
    int fits = mask->dtype == CK_INT32 && ms.rank >= 2 && ms.rank - 1 <= step->rank && ms.dims[0] == g->batch &&
               ms.dims[1] == g->T;
    int64_t prod = 1;
    for (int i = 2; fits && i < ms.rank; i++) {
        fits = ms.dims[i] == step->dims[i - 1];
        prod *= ms.dims[i];
    }
    if (!fits)
        return ck_error(CK_VALUE_ERROR, "%s \"%s\": a mask of shape %s does not fit the output %s of one step: the "
                        "mask must be int32 (batch, time) = (%lld, %lld), optionally followed by the leading dims of "
                        "the step's output (a Masking over the input needs padding \"same\" and strides 1)",
                        c->base.cls->class_name, c->base.name, ck_shape_fmt(mbuf, sizeof mbuf, &ms),
                        ck_shape_fmt(sbuf, sizeof sbuf, step), (long long)g->batch, (long long)g->T);
    *inner = g->per_b / (prod ? prod : 1);
    return CK_OK;
}

void ck_conv_lstm_mask_select(ck_dtype dt, const conv_lstm_geom *g, const ck_tensor *mask, int64_t t, int64_t inner,
                              void *h, void *cs, const void *h_old, const void *c_old, void *out_prev)
{
    const int32_t *m = mask->data;
    const int64_t per_b = g->per_b, mper = inner ? per_b / inner : 0;
    CK_RNN_TYPED(dt, {
        real *hh = h, *cc = cs, *po = out_prev;
        const real *ho = h_old, *co = c_old;
        for (int64_t b = 0; b < g->batch; b++) {
            const int32_t *mb = m + (b * g->T + t) * mper;
            for (int64_t k = 0; k < per_b; k++) {
                int64_t i = b * per_b + k;
                if (mb[k / inner]) po[i] = hh[i];
                else hh[i] = ho[i], cc[i] = co[i];
            }
        }
    });
}
