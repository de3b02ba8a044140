/* keras.layers.RNN over SimpleRNNCell / LSTMCell / GRUCell, or over
 * StackedRNNCells (a list of them).  One RNN layer over a cell computes
 * exactly the recurrent layer of that cell (SimpleRNN / LSTM / GRU), so
 * each cell becomes one such layer, made from the cell's config plus the
 * RNN's flags, and the shared recurrent driver does the work.  A stack of
 * cells, where cell k at time t reads cell k-1's output at time t, is the
 * chain of those layers with full sequences between them: the first one
 * walks backwards when go_backwards (its outputs are then in processing
 * order, which is the order the next cells see), and only the last one
 * uses the RNN's return_sequences.  Weights are named as tf.keras does:
 * "rnn/lstm_cell/kernel:0", "rnn/stacked_rnn_cells/lstm_cell/kernel:0". */
#include <stdio.h>
#include <string.h>

#include "layers/rnn_common.h"
#include "model/wrapper_util.h"
#include "model/tf2_dtypes.h"

#define MAX_CELLS 64

typedef struct rnn_cells_layer {
    ck_layer base;
    int n;
    ck_layer *steps[MAX_CELLS];
    char *cell_names[MAX_CELLS];
    char *stack_name;     /* StackedRNNCells' name, NULL for one cell */
    json_t *cell_config;  /* the "cell" entry of the config, as given */
    bool return_sequences, go_backwards, stateful, unroll, time_major;
} rnn_cells_layer;

/* The recurrent layer class computing a cell class. */
static const char *layer_of_cell(const char *cell)
{
    static const char *const map[][2] = {{"SimpleRNNCell", "SimpleRNN"}, {"LSTMCell", "LSTM"}, {"GRUCell", "GRU"}};
    for (int i = 0; cell && i < 3; i++)
        if (strcmp(cell, map[i][0]) == 0) return map[i][1];
    return NULL;
}

/* Makes step k of n from the cell config `cell` ({"class_name", "config"}). */
static ck_status make_step(rnn_cells_layer *r, const json_t *cell, int k, int n)
{
    const char *cname = json_string_value(json_object_get(cell, "class_name"));
    const char *lname = layer_of_cell(cname);
    const json_t *cc = json_object_get(cell, "config");
    if (!lname)
        return ck_error(CK_NOT_IMPLEMENTED, "RNN \"%s\": cell class '%s' is not supported (SimpleRNNCell, LSTMCell, "
                        "GRUCell and StackedRNNCells are)", r->base.name, cname ? cname : "?");
    if (!json_is_object(cc)) return ck_error(CK_VALUE_ERROR, "RNN \"%s\": the %s has no config", r->base.name, cname);
    const char *name = json_string_value(json_object_get(cc, "name"));
    char auto_name[64];
    if (!name) {
        ck_snake_case(cname, auto_name, sizeof auto_name);
        name = auto_name;
    }
    r->cell_names[k] = ck_malloc(strlen(name) + 1);
    if (!r->cell_names[k]) return ck_oom("a cell name");
    strcpy(r->cell_names[k], name);
    json_t *cfg = json_deep_copy(cc);
    json_t *wrap = cfg ? json_pack("{s:s,s:o}", "class_name", lname, "config", cfg) : NULL;
    if (!wrap) return ck_oom("a cell config");
    int ok = json_object_set_new(cfg, "return_sequences", json_boolean(k < n - 1 || r->return_sequences)) == 0 &&
             json_object_set_new(cfg, "go_backwards", json_boolean(k == 0 && r->go_backwards)) == 0 &&
             json_object_set_new(cfg, "stateful", json_boolean(r->stateful)) == 0 &&
             json_object_set_new(cfg, "unroll", json_boolean(r->unroll)) == 0 &&
             json_object_set_new(cfg, "time_major", json_boolean(r->time_major)) == 0;
    ck_status st = ok ? ck_layer_from_json(wrap, &r->steps[k]) : ck_oom("a cell config");
    json_decref(wrap);
    return st;
}

static ck_status get_flag(const json_t *c, const char *key, bool *out)
{
    const json_t *v = json_object_get(c, key);
    int b = *out;
    CK_TRY(ck_arg_bool(v, "RNN", key, &b));
    *out = b;
    return CK_OK;
}

static ck_status make_steps(rnn_cells_layer *r, const json_t *c)
{
    const json_t *cell = json_object_get(c, "cell"), *cells = NULL;
    const char *stack = NULL;
    if (json_is_array(cell)) {
        cells = cell, stack = "stacked_rnn_cells";
    } else if (json_is_object(cell) &&
               json_is_string(json_object_get(cell, "class_name")) &&
               !strcmp(json_string_value(json_object_get(cell, "class_name")), "StackedRNNCells")) {
        const json_t *sc = json_object_get(cell, "config");
        cells = json_object_get(sc, "cells");
        stack = json_string_value(json_object_get(sc, "name"));
        if (!stack) stack = "stacked_rnn_cells";
    } else if (!json_is_object(cell)) {
        return ck_error(CK_VALUE_ERROR, "RNN config: `cell` must be a cell config or a list of them");
    }
    int n = cells ? (int)json_array_size(cells) : 1;
    if (cells && n == 0) return ck_error(CK_VALUE_ERROR, "RNN \"%s\": StackedRNNCells has no cells", r->base.name);
    if (n > MAX_CELLS) return ck_error(CK_NOT_IMPLEMENTED, "RNN \"%s\": more than %d cells", r->base.name, MAX_CELLS);
    if (stack) {
        r->stack_name = ck_malloc(strlen(stack) + 1);
        if (!r->stack_name) return ck_oom("a cell name");
        strcpy(r->stack_name, stack);
    }
    for (int k = 0; k < n; k++) {
        CK_TRY(make_step(r, cells ? json_array_get(cells, (size_t)k) : cell, k, n));
        r->n = k + 1;
    }
    r->cell_config = json_deep_copy(cell);
    if (!r->cell_config) return ck_oom("an RNN config");
    return CK_OK;
}

static ck_status rnn_cells_from_config(const json_t *c, ck_layer **out)
{
    static const char *const known[] = {"cell", "return_sequences", "return_state", "go_backwards", "stateful",
                                        "unroll", "time_major", "zero_output_for_mask", "num_constants", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "RNN config must be a JSON object");
    const json_t *nc = json_object_get(c, "num_constants");
    if (nc && !json_is_null(nc) && !(json_is_integer(nc) && json_integer_value(nc) == 0))
        return ck_error(CK_NOT_IMPLEMENTED, "RNN with constants (num_constants) is not supported");
    bool rs = false;
    CK_TRY(get_flag(c, "return_state", &rs));
    if (rs) return ck_error(CK_NOT_IMPLEMENTED, "RNN with return_state=True is not supported: a ckeras layer has one "
                            "output");
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_rnn_cells_class, c, known, &layer));
    rnn_cells_layer *r = (rnn_cells_layer *)layer;
    ck_status st = get_flag(c, "return_sequences", &r->return_sequences);
    if (st == CK_OK) st = get_flag(c, "go_backwards", &r->go_backwards);
    if (st == CK_OK) st = get_flag(c, "stateful", &r->stateful);
    if (st == CK_OK) st = get_flag(c, "unroll", &r->unroll);
    if (st == CK_OK) st = get_flag(c, "time_major", &r->time_major);
    if (st == CK_OK) st = make_steps(r, c);
    if (st == CK_OK)
        for (int k = 0; k < r->n; k++)
            if (r->steps[k]->dtype != layer->dtype)
                st = ck_error(CK_NOT_IMPLEMENTED, "RNN \"%s\": cell \"%s\" computes in %s, the layer in %s",
                              layer->name, r->cell_names[k], ck_dtype_name(r->steps[k]->dtype),
                              ck_dtype_name(layer->dtype));
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    layer->spec = (ck_input_spec){.ndim = 3};
    *out = layer;
    return CK_OK;
}

/* ---- shapes, weights, config ---------------------------------------------------- */

/* shapes[k] is step k's input, shapes[n] the output. */
static ck_status chain_shapes(const rnn_cells_layer *r, const ck_shape *in, ck_shape *shapes)
{
    shapes[0] = *in;
    for (int k = 0; k < r->n; k++) CK_TRY(ck_layer_compute_output_shape(r->steps[k], 1, &shapes[k], &shapes[k + 1]));
    return CK_OK;
}

static ck_status rnn_cells_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const rnn_cells_layer *r = (const rnn_cells_layer *)layer;
    ck_shape shapes[MAX_CELLS + 1];
    (void)n;
    CK_TRY(chain_shapes(r, in, shapes));
    *out = shapes[r->n];
    return CK_OK;
}

/* "<rnn>[/<stack>]/<cell name>/<variable>" for each weight of step k. */
static ck_status rename_step(rnn_cells_layer *r, int k)
{
    ck_layer *s = r->steps[k];
    for (int i = 0; i < s->n_weights; i++) {
        ck_weight *w = s->weights[i];
        const char *base = strrchr(w->name, '/');
        base = base ? base + 1 : w->name;
        size_t n = strlen(r->base.name) + (r->stack_name ? strlen(r->stack_name) + 1 : 0) +
                   strlen(r->cell_names[k]) + strlen(base) + 3;
        char *name = ck_malloc(n);
        if (!name) return ck_oom("a weight name");
        snprintf(name, n, "%s/%s%s%s/%s", r->base.name, r->stack_name ? r->stack_name : "", r->stack_name ? "/" : "",
                 r->cell_names[k], base);
        ck_free(w->name);
        w->name = name;
    }
    return CK_OK;
}

static ck_status rnn_cells_build(ck_layer *layer, int n, const ck_shape *in)
{
    rnn_cells_layer *r = (rnn_cells_layer *)layer;
    ck_shape shapes[MAX_CELLS + 1];
    (void)n;
    shapes[0] = in[0];
    for (int k = 0; k < r->n; k++) {
        CK_TRY(ck_layer_build(r->steps[k], 1, &shapes[k]));
        CK_TRY(ck_layer_compute_output_shape(r->steps[k], 1, &shapes[k], &shapes[k + 1]));
    }
    for (int k = 0; k < r->n; k++) CK_TRY(rename_step(r, k));
    return CK_OK;
}

static int rnn_cells_sublayer_count(const ck_layer *layer) { return ((const rnn_cells_layer *)layer)->n; }
static ck_layer *rnn_cells_sublayer(const ck_layer *layer, int i) { return ((const rnn_cells_layer *)layer)->steps[i]; }

static void rnn_cells_destroy(ck_layer *layer)
{
    rnn_cells_layer *r = (rnn_cells_layer *)layer;
    for (int k = 0; k < MAX_CELLS; k++) {
        if (r->steps[k]) ck_layer_free(r->steps[k]);
        ck_free(r->cell_names[k]);
    }
    ck_free(r->stack_name);
    json_decref(r->cell_config);
}

static ck_status rnn_cells_get_config(const ck_layer *layer, json_t *j)
{
    const rnn_cells_layer *r = (const rnn_cells_layer *)layer;
    static const char *const flags[] = {"return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                                        "time_major"};
    const bool vals[] = {r->return_sequences, false, r->go_backwards, r->stateful, r->unroll, r->time_major};
    ck_status st = CK_OK;
    for (int i = 0; i < 6 && st == CK_OK; i++) st = ck_json_set(j, flags[i], json_boolean(vals[i]));
    if (st == CK_OK) st = ck_json_set(j, "cell", ck_tf2_dtypes_copy(r->cell_config));
    return st;
}

static ck_status rnn_cells_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                        const ck_tensor *const *masks, ck_tensor **out)
{
    (void)n, (void)in;
    *out = NULL;
    if (!masks || !masks[0] || !((const rnn_cells_layer *)layer)->return_sequences) return CK_OK;
    return ck_tensor_copy(out, masks[0]);
}

/* One cell: its layer's group ("cell").  A stack: "cell/cells/<cell>",
 * the cell's snake_case class name numbered among the cells of its class
 * before it ("lstm_cell", "lstm_cell_1"), as Keras names the stack's
 * children in archives. */
static int rnn_cells_archive_var(const ck_layer *layer, int i, char *group, size_t n)
{
    const rnn_cells_layer *r = (const rnn_cells_layer *)layer;
    if (!r->stack_name) return ck_wrap_archive_var(r->steps[0], i, "", group, n);
    int k = 0;
    while (k < r->n - 1 && i >= ck_layer_weight_count(r->steps[k])) i -= ck_layer_weight_count(r->steps[k++]);
    int same = 0;
    for (int j = 0; j < k; j++) same += r->steps[j]->cls == r->steps[k]->cls;
    char snake[64], cell[80];
    snprintf(cell, sizeof cell, "%sCell", r->steps[k]->cls->class_name);
    ck_snake_case(cell, snake, sizeof snake);
    if (same) snprintf(group, n, "cell/cells/%s_%d", snake, same);
    else snprintf(group, n, "cell/cells/%s", snake);
    return i;
}

/* ---- calls ---------------------------------------------------------------------
 * Blocks: the n-1 sequences between steps; inference adds one region for
 * the steps' scratch, training each step's saved block and two gradient
 * blocks as wide as the widest sequence between steps (or the input). */
typedef struct chain_plan {
    ck_shape shapes[MAX_CELLS + 1];
    size_t mid[MAX_CELLS], saved[MAX_CELLS], scratch, grad, total;
} chain_plan;

static ck_status chain_plan_make(const rnn_cells_layer *r, const ck_shape *in, int training, chain_plan *p)
{
    ck_dtype dt = r->base.dtype;
    CK_TRY(chain_shapes(r, in, p->shapes));
    p->total = p->scratch = p->grad = 0;
    for (int k = 0; k + 1 < r->n; k++) {
        p->mid[k] = ck_wrap_block_bytes(dt, &p->shapes[k + 1]);
        ck_wrap_add_bytes(&p->total, p->mid[k]);
        if (p->mid[k] > p->grad) p->grad = p->mid[k];
    }
    for (int k = 0; k < r->n; k++) {
        if (training) {
            p->saved[k] = ck_layer_saved_bytes(r->steps[k], 1, &p->shapes[k], &p->shapes[k + 1]);
            if (p->saved[k] == SIZE_MAX) return ck_last_status();
            ck_wrap_add_bytes(&p->total, p->saved[k]);
        } else {
            size_t s = ck_layer_call_scratch_bytes(r->steps[k], 1, &p->shapes[k], &p->shapes[k + 1]);
            if (s > p->scratch) p->scratch = s;
        }
    }
    if (training) {
        ck_wrap_add_bytes(&p->total, p->grad);
        ck_wrap_add_bytes(&p->total, p->grad);
    } else {
        ck_wrap_add_bytes(&p->total, p->scratch);
    }
    if (p->total == SIZE_MAX)
        return ck_error(CK_VALUE_ERROR, "RNN \"%s\": cannot plan the buffers of a call", r->base.name);
    return CK_OK;
}

static size_t plan_bytes(const ck_layer *layer, const ck_shape *in, int training)
{
    chain_plan p;
    if (chain_plan_make((const rnn_cells_layer *)layer, in, training, &p) != CK_OK) return SIZE_MAX;
    return p.total;
}

static size_t rnn_cells_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n, (void)out;
    return plan_bytes(layer, in, 0);
}

static size_t rnn_cells_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n, (void)out;
    return plan_bytes(layer, in, 1);
}

/* Views of the step inputs / outputs: x, the blocks between steps, out. */
static void chain_views(const rnn_cells_layer *r, const chain_plan *p, const ck_tensor *x, ck_tensor *out,
                        char **cursor, ck_tensor *v)
{
    v[0] = *x;
    for (int k = 0; k + 1 < r->n; k++) {
        v[k + 1] = ck_wrap_view(r->base.dtype, &p->shapes[k + 1], *cursor);
        *cursor += p->mid[k];
    }
    v[r->n] = *out;
}

static ck_status rnn_cells_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                                        void *scratch)
{
    rnn_cells_layer *r = (rnn_cells_layer *)layer;
    ck_shape s = ck_tensor_shape(in[0]);
    chain_plan p;
    ck_tensor v[MAX_CELLS + 1];
    (void)n;
    CK_TRY(chain_plan_make(r, &s, 0, &p));
    char *cursor = scratch;
    chain_views(r, &p, in[0], out[0], &cursor, v);
    for (int k = 0; k < r->n; k++) CK_TRY(ck_wrap_call(r->steps[k], &v[k], &v[k + 1], p.scratch ? cursor : NULL));
    return CK_OK;
}

typedef struct chain_saved {
    chain_plan p;
    ck_tensor v[MAX_CELLS + 1];
    char *saved[MAX_CELLS], *g[2];
} chain_saved;

static ck_status saved_views(const rnn_cells_layer *r, const ck_tensor *x, const ck_tensor *out, void *saved,
                             chain_saved *c)
{
    ck_shape s = ck_tensor_shape(x);
    CK_TRY(chain_plan_make(r, &s, 1, &c->p));
    char *cursor = saved;
    chain_views(r, &c->p, x, (ck_tensor *)out, &cursor, c->v);
    for (int k = 0; k < r->n; k++) c->saved[k] = cursor, cursor += c->p.saved[k];
    c->g[0] = cursor;
    c->g[1] = cursor + c->p.grad;
    return CK_OK;
}

static ck_status rnn_cells_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                      ck_tensor *const *out, void *saved)
{
    rnn_cells_layer *r = (rnn_cells_layer *)layer;
    chain_saved c;
    (void)n;
    CK_TRY(saved_views(r, in[0], out[0], saved, &c));
    for (int k = 0; k < r->n; k++) CK_TRY(ck_wrap_train_call(r->steps[k], ctx, &c.v[k], &c.v[k + 1], c.saved[k]));
    return CK_OK;
}

static ck_status rnn_cells_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                    const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    rnn_cells_layer *r = (rnn_cells_layer *)layer;
    chain_saved c;
    (void)n;
    CK_TRY(saved_views(r, in[0], out, saved, &c));
    ck_tensor dy = *dout, dx;
    for (int k = r->n - 1; k >= 0; k--) {
        ck_tensor *dxp = NULL;
        if (k > 0) {
            dx = ck_wrap_view(layer->dtype, &c.p.shapes[k], c.g[k & 1]);
            dxp = &dx;
        } else if (din && din[0]) {
            dxp = din[0];
        }
        CK_TRY(ck_wrap_backward(r->steps[k], ctx, &c.v[k], &c.v[k + 1], &dy, c.saved[k], dxp));
        if (k > 0) dy = dx;
    }
    return CK_OK;
}

const ck_layer_class ck_rnn_cells_class = {
    .class_name = "RNN",
    .size = sizeof(rnn_cells_layer),
    .arity = CK_ONE_INPUT,
    .cast_all_inputs = 1,
    .supports_masking = 1,
    .build = rnn_cells_build,
    .call = ck_layer_call_own_scratch,
    .compute_output_shape = rnn_cells_output_shape,
    .compute_mask = rnn_cells_compute_mask,
    .get_config = rnn_cells_get_config,
    .from_config = rnn_cells_from_config,
    .sublayer_count = rnn_cells_sublayer_count,
    .sublayer = rnn_cells_sublayer,
    .destroy = rnn_cells_destroy,
    .saved_bytes = rnn_cells_saved_bytes,
    .train_call = rnn_cells_train_call,
    .backward = rnn_cells_backward,
    .call_scratch_bytes = rnn_cells_scratch_bytes,
    .call_scratch = rnn_cells_call_scratch,
    .archive_var = rnn_cells_archive_var,
};
