/* Freeing a model whose layers reference each other in a cycle.
 *
 * A node holds a reference on each layer that produced one of its inputs
 * (node history, as Keras keeps it).  Keras lets a layer be called on a
 * tensor computed from its own output (a shared sub-model applied again to
 * the model's later output: a real Keras 3 file does it), and then the
 * references form a cycle that plain counting never frees; Python's
 * collector frees it in Keras.  When a model is destroyed, this finds the
 * layers of the model that nothing outside it still references, by trial
 * deletion (as CPython's collector does) restricted to the model's own
 * layers, and drops the producer references their nodes hold, so that
 * releasing the model's layers frees them.  Layers still referenced from
 * outside (by the caller, another model, a predictor, a wrapper) and
 * everything they reach keep their history. */
#include <stdatomic.h>
#include <stdlib.h>

#include "model/model.h"

typedef struct layer_index {
    const ck_layer *layer;
    int index;
} layer_index;

static int by_layer(const void *a, const void *b)
{
    const ck_layer *x = ((const layer_index *)a)->layer, *y = ((const layer_index *)b)->layer;
    return x < y ? -1 : x > y;
}

/* Position of `l` among the model's layers, or -1. */
static int find(const layer_index *sorted, int n, const ck_layer *l)
{
    layer_index key = {l, 0};
    const layer_index *hit = l ? bsearch(&key, sorted, (size_t)n, sizeof key, by_layer) : NULL;
    return hit ? hit->index : -1;
}

size_t ck_model_cycle_scratch_bytes(int n)
{
    return (size_t)(n > 0 ? n : 1) * (sizeof(layer_index) + 2 * sizeof(int));
}

void ck_model_break_cycles(ck_model *m)
{
    int n = m->n_layers;
    if (n <= 0 || !m->layers || !m->cycle_scratch) return;
    layer_index *sorted = m->cycle_scratch;
    int *outside = (int *)(sorted + n), *stack = outside + n;
    for (int i = 0; i < n; i++) {
        sorted[i] = (layer_index){m->layers[i], i};
        /* the model's own reference is going away */
        outside[i] = atomic_load(&m->layers[i]->refs) - 1;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, by_layer);
    /* References held by the nodes of the model's layers are internal. */
    for (int i = 0; i < n; i++) {
        const ck_layer *l = m->layers[i];
        for (int k = 0; k < l->n_inbound; k++) {
            const ck_node *node = l->inbound[k];
            for (int j = 0; node->producers && j < node->n_inputs; j++) {
                int p = find(sorted, n, node->producers[j]);
                if (p >= 0) outside[p]--;
            }
        }
    }
    /* Alive: referenced from outside, or reached from an alive layer's
     * nodes (outside[i] > 0 marks alive from here on). */
    int top = 0;
    for (int i = 0; i < n; i++)
        if (outside[i] > 0) stack[top++] = i;
    while (top > 0) {
        const ck_layer *l = m->layers[stack[--top]];
        for (int k = 0; k < l->n_inbound; k++) {
            const ck_node *node = l->inbound[k];
            for (int j = 0; node->producers && j < node->n_inputs; j++) {
                int p = find(sorted, n, node->producers[j]);
                if (p >= 0 && outside[p] <= 0) {
                    outside[p] = 1;
                    stack[top++] = p;
                }
            }
        }
    }
    /* The rest is only reachable from itself: its nodes let go of their
     * producers (each drop may free a producer that nothing else holds,
     * never one still alive or still in this loop: every garbage layer
     * keeps the model's reference until ck_model_destroy releases it). */
    for (int i = 0; i < n; i++) {
        if (outside[i] > 0) continue;
        ck_layer *l = m->layers[i];
        for (int k = 0; k < l->n_inbound; k++) {
            ck_node *node = l->inbound[k];
            for (int j = 0; node->producers && j < node->n_inputs; j++) {
                ck_layer *p = node->producers[j];
                if (!p) continue;
                node->producers[j] = NULL;
                p->n_outbound--;
                ck_layer_free(p);
            }
        }
    }
}
