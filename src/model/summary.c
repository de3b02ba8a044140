/* model.summary(): the table tf.keras 2.13-2.15 prints (print_summary),
 * column wrapping included, returned as text. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"

typedef struct text_buf {
    char *data;
    size_t len, cap;
    int failed;
} text_buf;

static void put(text_buf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = ck_realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void putf(text_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_repeat(text_buf *b, char c, int n)
{
    for (int i = 0; i < n; i++) put(b, &c, 1);
}

/* One row, wrapped the way Keras' print_row wraps long fields: each column
 * gets its width less a 2-space gutter, and breaks after "),", "},", "],"
 * or "'," when one of them falls inside the width. */
static void print_row(text_buf *b, char **fields, int n, const int *pos)
{
    const char *left[4];
    for (int i = 0; i < n; i++) left[i] = fields[i];
    static const char *const breaks[] = {"),", "},", "],", "',"};
    for (;;) {
        int any = 0;
        for (int i = 0; i < n; i++) any |= left[i][0] != '\0';
        if (!any) break;
        char line[512];
        int len = 0;
        for (int col = 0; col < n; col++) {
            int start = col > 0 ? pos[col - 1] : 0, end = pos[col];
            int space = col != n - 1 ? 2 : 0;
            int cutoff = end - start - space;
            if (col != n - 1) cutoff--;
            int avail = (int)strlen(left[col]);
            int fit = avail < cutoff ? avail : (cutoff > 0 ? cutoff : 0);
            int best = -1;
            for (int k = 0; k < 4; k++) {
                for (int p = 0; p + 1 < fit; p++) {
                    if (left[col][p] == breaks[k][0] && left[col][p + 1] == breaks[k][1]) {
                        if (best < 0 || p + 2 < best) best = p + 2;
                        break;
                    }
                }
            }
            int take = fit, consumed = cutoff > 0 ? cutoff : 0;
            if (best >= 0) take = consumed = best;
            if (col == 0 && len < (int)sizeof line - 1) line[len++] = ' ';
            for (int i = 0; i < take && len < (int)sizeof line - 1; i++) line[len++] = left[col][i];
            for (int i = 0; i < space && len < (int)sizeof line - 1; i++) line[len++] = ' ';
            left[col] += consumed < avail ? consumed : avail;
            while (len < pos[col] && len < (int)sizeof line - 1) line[len++] = ' ';
        }
        put(b, line, (size_t)len);
        put(b, "\n", 1);
    }
}

/* Python's str() of a shape tuple, or of a list of them. */
static void shape_text(char *buf, size_t n, const ck_shape *shapes, int count, int as_list)
{
    size_t used = 0;
    buf[0] = '\0';
    if (as_list) used += (size_t)snprintf(buf + used, n - used, "[");
    for (int i = 0; i < count && used < n; i++) {
        char s[256];
        ck_shape_fmt(s, sizeof s, &shapes[i]);
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", s);
    }
    if (as_list && used < n) snprintf(buf + used, n - used, "]");
}

static void output_shape_text(const ck_layer *layer, char *buf, size_t n)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    int count = 0;
    if (ck_layer_output_shape(layer, shapes, CK_MAX_LAYER_INPUTS, &count) != CK_OK) {
        snprintf(buf, n, "multiple");
        ck_clear_error();
        return;
    }
    /* InputLayer's output_shape is a list in tf.keras 2.x. */
    shape_text(buf, n, shapes, count, count > 1 || layer->cls == &ck_input_layer_class);
}

static int is_relevant(const ck_model *m, const ck_node *node)
{
    if (node->is_input) return 1;
    for (int s = 0; s < m->n_steps; s++)
        if (m->steps[s].node == node) return 1;
    return 0;
}

/* Keras' sequential_like test: one node per depth, one input per node and
 * no layer used twice. */
static int sequential_like(const ck_model *m)
{
    if (m->sequential) return 1;
    if (m->n_inputs != 1) return 0;
    for (int s = 0; s < m->n_steps; s++) {
        if (m->steps[s].n_in > 1) return 0;
        for (int t = 0; t < s; t++)
            if (m->steps[t].node->layer == m->steps[s].node->layer) return 0;
        /* A chain: each step consumes the previous one's output. */
        int prev_slot = s == 0 ? m->input_slots[0] : m->steps[s - 1].out_slot;
        if (m->steps[s].in_slots[0] != prev_slot) return 0;
    }
    return 1;
}

static void memory_text(char *buf, size_t n, double bytes)
{
    static const char *const units[] = {"Byte", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (u < 5 && bytes / 1024.0 >= 1) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, n, "%.2f %s", bytes, units[u]);
}

ck_status ck_model_summary(const ck_model *m, char **out)
{
    CK_NEED(m);
    CK_NEED(out);
    text_buf b = {NULL, 0, 0, 0};
    int seq = sequential_like(m);
    int line = seq ? 65 : 98;
    int pos[4];
    if (seq) {
        pos[0] = (int)(65 * 0.45), pos[1] = (int)(65 * 0.85), pos[2] = 65;
    } else {
        pos[0] = (int)(98 * 0.3), pos[1] = (int)(98 * 0.6), pos[2] = (int)(98 * 0.70), pos[3] = 98;
    }
    int ncol = seq ? 3 : 4;
    putf(&b, "Model: \"%s\"\n", m->base.name);
    put_repeat(&b, '_', line);
    put(&b, "\n", 1);
    char *header[] = {"Layer (type)", "Output Shape", "Param #", "Connected to"};
    print_row(&b, header, ncol, pos);
    put_repeat(&b, '=', line);
    put(&b, "\n", 1);
    for (int i = 0; i < m->n_layers; i++) {
        const ck_layer *l = m->layers[i];
        if (m->sequential && l->cls == &ck_input_layer_class) continue; /* Sequential.layers hides it */
        char name[300], shape[1024], params[32], conn[4096];
        snprintf(name, sizeof name, "%s (%s)", l->name, l->cls->class_name);
        output_shape_text(l, shape, sizeof shape);
        int64_t count = 0;
        if (ck_layer_count_params(l, &count) != CK_OK) ck_clear_error();
        snprintf(params, sizeof params, "%lld", (long long)count);
        size_t used = (size_t)snprintf(conn, sizeof conn, "[");
        int first = 1;
        for (int k = 0; k < l->n_inbound; k++) {
            const ck_node *node = l->inbound[k];
            if (node->is_input || !is_relevant(m, node)) continue;
            for (int t = 0; t < node->n_inputs && used < sizeof conn; t++) {
                const ck_keras_history *h = ck_tensor_history(node->inputs[t]);
                used += (size_t)snprintf(conn + used, sizeof conn - used, "%s'%s[%d][%d]'", first ? "" : ", ",
                                         h->layer->name, h->node_index, h->tensor_index);
                first = 0;
            }
        }
        if (used < sizeof conn) snprintf(conn + used, sizeof conn - used, "]");
        char *fields[] = {name, shape, params, conn};
        print_row(&b, fields, ncol, pos);
        put_repeat(&b, ' ', line);
        put(&b, "\n", 1);
    }
    put_repeat(&b, '=', line);
    put(&b, "\n", 1);
    int64_t total = 0, trainable = 0, frozen = 0;
    ck_model_count_params(m, &total, &trainable, &frozen);
    /* Every ckeras weight is 4 or 8 bytes; count them as Keras does. */
    double tbytes = 0, nbytes = 0;
    int nt = ck_layer_trainable_weight_count(&m->base), nn = ck_layer_non_trainable_weight_count(&m->base);
    for (int i = 0; i < nt; i++) {
        const ck_tensor *v = ck_weight_value(ck_layer_trainable_weight(&m->base, i));
        tbytes += (double)v->size * (double)ck_dtype_size(v->dtype);
    }
    for (int i = 0; i < nn; i++) {
        const ck_tensor *v = ck_weight_value(ck_layer_non_trainable_weight(&m->base, i));
        nbytes += (double)v->size * (double)ck_dtype_size(v->dtype);
    }
    char mem[64];
    memory_text(mem, sizeof mem, tbytes + nbytes);
    putf(&b, "Total params: %lld (%s)\n", (long long)total, mem);
    memory_text(mem, sizeof mem, tbytes);
    putf(&b, "Trainable params: %lld (%s)\n", (long long)trainable, mem);
    memory_text(mem, sizeof mem, nbytes);
    putf(&b, "Non-trainable params: %lld (%s)\n", (long long)frozen, mem);
    put_repeat(&b, '_', line);
    put(&b, "\n", 1);
    if (b.failed) {
        ck_free(b.data);
        return ck_oom("the summary");
    }
    *out = b.data;
    return CK_OK;
}
