/* Merging the two directions of a Bidirectional (bidirectional.h): the
 * backward sequence put back in time order, then concat, sum, mul or ave,
 * and the gradients of that merge. */
#include <string.h>

#include "layers/rnn_common.h"
#include "model/bidirectional.h"

/* The shape of the two halves and how their rows pair: output row r takes
 * forward row r and backward row rev(r) (the backward sequence is in
 * reverse time order). */
typedef struct pairing {
    int64_t rows, a0, a1, u1, u2;
    int reverse, time_axis;
} pairing;

static pairing pairing_of(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2)
{
    pairing p = {.u1 = y1->shape[y1->rank - 1], .u2 = y2->shape[y2->rank - 1], .reverse = b->return_sequences,
                 .time_axis = b->time_major ? 0 : 1};
    p.a0 = y1->shape[0];
    p.a1 = y1->rank == 3 ? y1->shape[1] : 1;
    p.rows = p.a0 * p.a1;
    return p;
}

static int64_t rev_row(const pairing *p, int64_t r)
{
    if (!p->reverse) return r;
    int64_t i0 = r / p->a1, i1 = r % p->a1;
    return p->time_axis == 1 ? i0 * p->a1 + (p->a1 - 1 - i1) : (p->a0 - 1 - i0) * p->a1 + i1;
}

/* out[0] = the merge of y1 and y2 (merge_mode None: out[0] = y1 and out[1]
 * = y2 with its rows in time order). */
void ck_bidi_merge(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2, ck_tensor *const *out)
{
    pairing p = pairing_of(b, y1, y2);
    CK_RNN_TYPED(out[0]->dtype, {
        const real *f = y1->data, *g = y2->data;
        real *o = out[0]->data;
        for (int64_t r = 0; r < p.rows; r++) {
            const real *fr = f + r * p.u1, *gr = g + rev_row(&p, r) * p.u2;
            if (b->mode == MERGE_NONE) {
                memcpy(o + r * p.u1, fr, (size_t)p.u1 * sizeof(real));
                memcpy((real *)out[1]->data + r * p.u2, gr, (size_t)p.u2 * sizeof(real));
                continue;
            }
            if (b->mode == MERGE_CONCAT) {
                real *orow = o + r * (p.u1 + p.u2);
                memcpy(orow, fr, (size_t)p.u1 * sizeof(real));
                memcpy(orow + p.u1, gr, (size_t)p.u2 * sizeof(real));
                continue;
            }
            real *orow = o + r * p.u1;
            for (int64_t u = 0; u < p.u1; u++)
                orow[u] = b->mode == MERGE_SUM ? fr[u] + gr[u]
                          : b->mode == MERGE_MUL ? fr[u] * gr[u]
                                                 : (fr[u] + gr[u]) / 2;
        }
    });
}

/* d y1 and d y2 (the backward rows in their own order) from the merged
 * outputs' gradients dout[0] (and dout[1] with merge_mode None). */
void ck_bidi_merge_grad(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2, const ck_tensor *dout,
                        ck_tensor *d1, ck_tensor *d2)
{
    pairing p = pairing_of(b, y1, y2);
    CK_RNN_TYPED(dout[0].dtype, {
        const real *f = y1->data, *g = y2->data, *d = dout[0].data;
        real *df = d1->data, *dg = d2->data;
        for (int64_t r = 0; r < p.rows; r++) {
            int64_t q = rev_row(&p, r);
            real *dfr = df + r * p.u1, *dgr = dg + q * p.u2;
            if (b->mode == MERGE_NONE) {
                memcpy(dfr, d + r * p.u1, (size_t)p.u1 * sizeof(real));
                memcpy(dgr, (const real *)dout[1].data + r * p.u2, (size_t)p.u2 * sizeof(real));
                continue;
            }
            if (b->mode == MERGE_CONCAT) {
                const real *drow = d + r * (p.u1 + p.u2);
                memcpy(dfr, drow, (size_t)p.u1 * sizeof(real));
                memcpy(dgr, drow + p.u1, (size_t)p.u2 * sizeof(real));
                continue;
            }
            const real *drow = d + r * p.u1, *fr = f + r * p.u1, *gr = g + q * p.u2;
            for (int64_t u = 0; u < p.u1; u++) {
                if (b->mode == MERGE_SUM) dfr[u] = dgr[u] = drow[u];
                else if (b->mode == MERGE_AVE) dfr[u] = dgr[u] = drow[u] / 2;
                else dfr[u] = drow[u] * gr[u], dgr[u] = drow[u] * fr[u];
            }
        }
    });
}
