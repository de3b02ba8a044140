/* Shape rules shared by the metrics: Keras' squeeze_or_expand_dimensions and
 * broadcast_weights, on shapes only (squeezing a dim of 1 never moves data). */
#include <stdio.h>

#include "train/metrics/metric_impl.h"

ck_shape ck_metric_shape_of(const ck_tensor *t)
{
    ck_shape s = {0};
    s.rank = t->rank;
    for (int i = 0; i < t->rank; i++) s.dims[i] = t->shape[i];
    return s;
}

void ck_metric_squeeze_pair(ck_shape *y_pred, ck_shape *y_true)
{
    int diff = y_pred->rank - y_true->rank;
    int pred_last_1 = y_pred->rank > 0 && y_pred->dims[y_pred->rank - 1] == 1;
    if (diff != 1 || pred_last_1) {
        if (diff == 1 && pred_last_1)
            y_pred->rank--;
        else if (diff == -1 && y_true->rank > 0 && y_true->dims[y_true->rank - 1] == 1)
            y_true->rank--;
    }
}

const char *ck_metric_shape_str(const ck_shape *s, int which)
{
    static _Thread_local char buf[2][160];
    return ck_shape_str(buf[which & 1], sizeof buf[0], s->rank, s->dims);
}

ck_status ck_metric_adjust_weights(const ck_metric *m, ck_shape *w, int rank)
{
    if (w->rank == 0) return CK_OK;
    if (w->rank - rank == 1) {
        int64_t last = w->dims[w->rank - 1];
        if (last != 1)
            return ck_error(CK_VALUE_ERROR, "%s: Can not squeeze dim[%d], expected a dimension "
                            "of 1, got %lld (sample_weight of shape %s for values of rank %d)",
                            m->name, w->rank - 1, (long long)last, ck_metric_shape_str(w, 0),
                            rank);
        w->rank--;
    } else if (rank - w->rank == 1) {
        if (w->rank >= CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "%s: sample_weight has too many dims", m->name);
        w->dims[w->rank++] = 1;
    }
    return CK_OK;
}

int ck_metric_weights_broadcast(const ck_shape *w, const ck_shape *v)
{
    if (w->rank == 0) return 1;
    if (w->rank != v->rank) return 0;
    for (int i = 0; i < w->rank; i++)
        if (w->dims[i] != 1 && w->dims[i] != v->dims[i]) return 0;
    return 1;
}

int64_t ck_metric_bcast_index(const ck_shape *w, const ck_shape *v, int64_t j)
{
    if (w->rank == 0) return 0;
    /* the multi-index of j over v's first w->rank dims */
    int64_t inner = 1;
    for (int i = w->rank; i < v->rank; i++) inner *= v->dims[i];
    j /= inner;
    int64_t idx = 0, stride = 1;
    for (int i = w->rank - 1; i >= 0; i--) {
        int64_t c = j % v->dims[i];
        j /= v->dims[i];
        if (w->dims[i] != 1) idx += c * stride;
        stride *= w->dims[i];
    }
    return idx;
}
