/* Weights saved in a layout other than the layer's, converted on load as
 * Keras' legacy HDF5 loader does (preprocess_weights_for_loading):
 *   - Keras 1 LSTM / GRU: one array per gate (W_i, U_i, b_i, W_c, U_c, b_c,
 *     W_f, U_f, b_f, W_o, U_o, b_o for an LSTM; z, r, h for a GRU), joined
 *     into kernel, recurrent_kernel and bias in tf.keras' gate order
 *     (LSTM i, f, c, o; GRU z, r, h);
 *   - CuDNNLSTM / CuDNNGRU weights (bias of 8*units / 6*units: the input
 *     biases then the recurrent ones): each gate's input kernel read back
 *     from cuDNN's column-major layout, each gate's recurrent kernel
 *     transposed; an LSTM's two biases summed, a GRU's reshaped to
 *     (2, 3*units) (only a GRU with reset_after=True computes like
 *     CuDNNGRU: Keras' "GRU(reset_after=False) is not compatible");
 *   - Bidirectional: each half for its layer; TimeDistributed: the inner
 *     layer's.
 * Dispatch is by what the layer computes (the recurrent driver's cell), as
 * Keras dispatches by class name. */
#include <string.h>

#include "layers/rnn_common.h"
#include "model/wrapper_util.h"

/* A new tensor of `dt` with the given dims (a list of up to 2). */
static ck_status new2(ck_tensor **out, ck_dtype dt, int rank, int64_t d0, int64_t d1)
{
    int64_t dims[2] = {d0, d1};
    return ck_tensor_new(out, dt, rank, dims);
}

static int is_float(const ck_tensor *t) { return t->dtype == CK_FLOAT32 || t->dtype == CK_FLOAT64; }

/* Joins the per-gate arrays in[idx[g]] (all (rows, units) or (units,))
 * along the last axis, in the order of idx. */
static ck_status join_gates(const ck_tensor *const *in, const int *idx, int gates, ck_tensor **out)
{
    const ck_tensor *first = in[idx[0]];
    if (first->rank != 1 && first->rank != 2)
        return ck_error(CK_VALUE_ERROR, "Keras 1 recurrent weights: a gate's array has rank %d, expected 1 or 2",
                        first->rank);
    int64_t rows = first->rank == 2 ? first->shape[0] : 1, u = first->shape[first->rank - 1];
    for (int g = 0; g < gates; g++) {
        const ck_tensor *t = in[idx[g]];
        int same = t->rank == first->rank && t->dtype == first->dtype && is_float(t);
        for (int i = 0; same && i < t->rank; i++) same = t->shape[i] == first->shape[i];
        if (!same)
            return ck_error(CK_VALUE_ERROR, "Keras 1 recurrent weights: the gates' arrays differ in shape or type");
    }
    CK_TRY(new2(out, first->dtype, first->rank, first->rank == 2 ? rows : gates * u, gates * u));
    size_t es = ck_dtype_size(first->dtype), ub = (size_t)u * es;
    for (int64_t r = 0; r < rows; r++)
        for (int g = 0; g < gates; g++)
            memcpy((char *)(*out)->data + ((size_t)r * gates + g) * ub, (const char *)in[idx[g]]->data + r * ub, ub);
    return CK_OK;
}

static ck_status keras1(const ck_rnn_layer *r, const ck_tensor *const *in, ck_tensor **out)
{
    static const int lstm[3][4] = {{0, 6, 3, 9}, {1, 7, 4, 10}, {2, 8, 5, 11}};
    static const int gru[3][3] = {{0, 3, 6}, {1, 4, 7}, {2, 5, 8}};
    int gates = r->cell->gates;
    for (int k = 0; k < 3; k++) {
        ck_status st = join_gates(in, gates == 4 ? lstm[k] : gru[k], gates, &out[k]);
        if (st != CK_OK) {
            /* the caller frees its whole array on failure: no dangling slot */
            for (int j = 0; j < k; j++) ck_tensor_free(out[j]), out[j] = NULL;
            return st;
        }
    }
    return CK_OK;
}

/* cuDNN's layouts to tf.keras': per gate, the input kernel (F, u) is the
 * C-order data of the block read in column-major order, the recurrent
 * kernel (u, u) is transposed. */
static ck_status from_cudnn(const ck_rnn_layer *r, const ck_tensor *const *in, ck_tensor **out)
{
    int G = r->cell->gates;
    const ck_tensor *k = in[0], *rk = in[1], *b = in[2];
    int64_t F = k->shape[0], U = rk->shape[0], GU = G * U;
    if (k->rank != 2 || rk->rank != 2 || k->shape[1] != GU || rk->shape[1] != GU || !is_float(k) ||
        rk->dtype != k->dtype || b->dtype != k->dtype)
        return ck_error(CK_VALUE_ERROR, "CuDNN weights: kernel %lldx%lld and recurrent kernel %lldx%lld do not fit %d "
                        "gates of %lld units", (long long)k->shape[0], (long long)k->shape[1],
                        (long long)rk->shape[0], (long long)rk->shape[1], G, (long long)U);
    ck_dtype dt = k->dtype;
    ck_status st = new2(&out[0], dt, 2, F, GU);
    if (st == CK_OK) st = new2(&out[1], dt, 2, U, GU);
    if (st == CK_OK) st = G == 4 ? new2(&out[2], dt, 1, GU, 0) : new2(&out[2], dt, 2, 2, GU);
    if (st != CK_OK) {
        for (int i = 0; i < 3; i++) ck_tensor_free(out[i]), out[i] = NULL;
        return st;
    }
    CK_RNN_TYPED(dt, {
        const real *ks = k->data, *rs = rk->data, *bs = b->data;
        real *ko = out[0]->data, *ro = out[1]->data, *bo = out[2]->data;
        for (int g = 0; g < G; g++) {
            /* the gate's block in C order: flat[p], p = f * U + u */
            for (int64_t f = 0; f < F; f++)
                for (int64_t u = 0; u < U; u++) {
                    int64_t q = u * F + f; /* column-major position of (f, u) */
                    ko[f * GU + g * U + u] = ks[(q / U) * GU + g * U + q % U];
                }
            for (int64_t i = 0; i < U; i++)
                for (int64_t j = 0; j < U; j++) ro[i * GU + g * U + j] = rs[j * GU + g * U + i];
        }
        for (int64_t i = 0; i < GU; i++)
            if (G == 4) bo[i] = bs[i] + bs[GU + i];
            else bo[i] = bs[i], bo[GU + i] = bs[GU + i];
    });
    return CK_OK;
}

/* One recurrent layer's file weights: *n_out = 0 when they need nothing. */
static ck_status convert_rnn(const ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor **out, int *n_out)
{
    const ck_rnn_layer *r = (const ck_rnn_layer *)layer;
    int G = r->cell->gates;
    *n_out = 0;
    if (G == 1) return CK_OK;
    if (n == 3 * G) {
        CK_TRY(keras1(r, in, out));
        *n_out = 3;
        return CK_OK;
    }
    if (n != 3 || in[1]->rank != 2 || in[2]->rank != 1 || in[2]->size != 2 * G * in[1]->shape[0]) return CK_OK;
    if (G == 3 && !r->a.reset_after)
        return ck_error(CK_VALUE_ERROR, "CuDNNGRU is not compatible with GRU(reset_after=False) (layer \"%s\")",
                        layer->name);
    CK_TRY(from_cudnn(r, in, out));
    *n_out = 3;
    return CK_OK;
}

ck_status ck_convert_file_weights(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor ***out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    ck_layer *parts[2] = {NULL, NULL};
    int np = 0;
    if (layer->cls->destroy == ck_rnn_destroy) parts[np++] = layer;
    else if (layer->cls == &ck_bidirectional_class || layer->cls == &ck_time_distributed_class)
        for (int i = 0; i < layer->cls->sublayer_count(layer); i++) parts[np++] = layer->cls->sublayer(layer, i);
    if (np == 0 || n % np != 0) return CK_OK;
    for (int i = 0; i < np; i++)
        if (parts[i]->cls->destroy != ck_rnn_destroy) return CK_OK;
    int per = n / np, total = 0, changed = 0;
    ck_tensor **res = ck_calloc((size_t)n + 1, sizeof *res);
    if (!res) return ck_oom("converting weights");
    ck_status st = CK_OK;
    for (int i = 0; i < np && st == CK_OK; i++) {
        int got = 0;
        st = convert_rnn(parts[i], per, in + i * per, res + total, &got);
        changed |= got > 0;
        for (int k = 0; st == CK_OK && got == 0 && k < per; k++) st = ck_tensor_copy(&res[total + k], in[i * per + k]);
        total += got > 0 ? got : per;
    }
    if (st != CK_OK || !changed) {
        ck_tensors_free(res, total);
        return st;
    }
    *out = res;
    *n_out = total;
    return CK_OK;
}
