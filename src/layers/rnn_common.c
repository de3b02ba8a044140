/* The recurrent driver shared by SimpleRNN, LSTM and GRU (rnn_common.h):
 * the walk over time and backpropagation through time (the shapes and
 * weights are rnn_build.c's, the cells' shared arithmetic rnn_cell_math.c's).
 *
 * A call projects the inputs of every step at once, XP = X . kernel + bias
 * as one (batch*time, features) x (features, G*units) product (inference
 * with a larger batch: a few steps at a time, see chunk_steps), and then
 * runs the steps, each one (batch, units) x (units, G*units) product with
 * the recurrent kernel plus the cell's elementwise work.  Inference takes
 * one buffer per call; training keeps every step's states and gate values
 * in the caller's `saved` block (laid out by rnn_layout below) so that
 * backward allocates nothing.  Backward walks the steps in reverse, writes
 * each step's d XP over XP (no longer needed by then), and ends with the
 * products for the kernel and the inputs, again over all steps at once. */
#include <string.h>

#include "layers/rnn_common.h"
#include "layers/rnn_input_cache.h"
#include "ops/ops.h"

/* ---- the plan of one call ------------------------------------------------------ */

typedef struct rnn_dims {
    int64_t B, T, F, U, GU;
    size_t es;
} rnn_dims;

/* Element offsets of the regions of a call's block.  Inference keeps two
 * state blocks (previous and new) and one record; training keeps all of
 * them, the dropout masks and the backward scratch. */
typedef struct rnn_layout {
    int64_t xp, xg, xd, imask, rmask, h, c, rec, init, hin, seen, xrows, dh, dhp, dhin, dc, dx, work, keep, total;
} rnn_layout;

static rnn_dims dims_of(const ck_rnn_layer *r, const ck_shape *in, ck_dtype dt)
{
    int tm = r->a.time_major;
    return (rnn_dims){.B = in->dims[tm ? 1 : 0], .T = in->dims[tm ? 0 : 1], .F = in->dims[2], .U = r->a.units,
                      .GU = r->cell->gates * r->a.units, .es = ck_dtype_size(dt)};
}

static int rate_active(double rate) { return rate > 0 && rate < 1; }

/* Steps whose projected inputs are made at once.  Training keeps them all
 * (backward writes d XP over them).  Inference with a larger batch makes
 * them a chunk at a time, each chunk about a quarter of L2, so that each
 * step's cell reads its XP from cache rather than from a (batch*time,
 * G*units) buffer that the product left in memory (LSTM(128) over 80
 * steps, batch 32: 5.2 MB of XP); the steps' input rows are gathered
 * first, so that a chunk is one product. */
#define XP_CHUNK_BYTES (256 * 1024)

static int64_t chunk_steps(const rnn_dims *d, int training)
{
    const int64_t step = d->B * d->GU * (int64_t)d->es;
    if (training || step <= 0 || d->T <= 1 || step > XP_CHUNK_BYTES * d->T) return d->T;
    const int64_t n = XP_CHUNK_BYTES / step;
    return n < 1 ? 1 : n >= d->T ? d->T : n;
}

/* Appends a region of a*b*c elements (rounded up to 64 bytes); 0 on
 * overflow. */
static int region(rnn_layout *L, int64_t *off, int64_t a, int64_t b, int64_t c)
{
    int64_t n, m;
    if (ck_mul_overflow_i64(a, b, &n) || ck_mul_overflow_i64(n, c, &m) || m > INT64_MAX / 16 - L->total) return 0;
    *off = L->total;
    L->total += (m + 15) / 16 * 16;
    return 1;
}

static int layout_make(const ck_rnn_layer *r, const rnn_dims *d, int training, rnn_layout *L)
{
    const ck_rnn_cell *cell = r->cell;
    int64_t bu = d->B * d->U, keep = training ? d->T : 2, carry = cell->has_carry ? 1 : 0;
    memset(L, 0, sizeof *L);
    const int64_t chunk = chunk_steps(d, training);
    int ok = region(L, &L->xp, d->B, chunk, d->GU) && region(L, &L->xg, chunk < d->T ? d->B : 0, chunk, d->F) &&
             region(L, &L->h, keep, bu, 1) &&
             region(L, &L->c, keep * carry, bu, 1) && region(L, &L->rec, training ? d->T : 1, bu, cell->record) &&
             region(L, &L->init, bu, 1 + carry, 1) && region(L, &L->hin, bu, 1, 1) && region(L, &L->seen, d->B, 2, 1) &&
             region(L, &L->xrows, training ? 0 : d->B, 2, 1); /* a pointer a row */
    if (ok && training) {
        int in_drop = rate_active(r->a.dropout), rec_drop = rate_active(r->a.recurrent_dropout);
        ok = region(L, &L->xd, in_drop ? d->B : 0, d->T, d->F) && region(L, &L->imask, in_drop ? d->B : 0, d->F, 1) &&
             region(L, &L->rmask, rec_drop ? bu : 0, 1, 1) && region(L, &L->dh, bu, 1, 1) &&
             region(L, &L->dhp, bu, 1, 1) && region(L, &L->dhin, bu, 1, 1) && region(L, &L->dc, bu, 1, 1) &&
             region(L, &L->dx, d->B, d->GU, 1) && region(L, &L->work, bu, cell->work, 1) &&
             region(L, &L->keep, bu, 2, 1);
    }
    return ok;
}

typedef struct rnn_run {
    const ck_rnn_layer *r;
    rnn_dims d;
    rnn_layout L;
    char *base;
    int training;          /* keeps every step */
    int in_drop, rec_drop; /* dropout masks drawn for this call */
    const int32_t *mask;   /* (batch, time) 0/1 over the input times, or NULL */
    ck_rnn_input_cache *cache; /* a plan's projections of an Embedding's rows */
} rnn_run;

/* 1 if row b of input time t is not masked. */
static int valid_at(const rnn_run *run, int64_t b, int64_t t)
{
    return !run->mask || run->mask[b * run->d.T + t] != 0;
}

/* Takes the mask of a call (Keras' RNN mask: one value per batch row and
 * time step). */
static ck_status set_mask(rnn_run *run, const ck_tensor *mask)
{
    run->mask = NULL;
    if (!mask) return CK_OK;
    if (mask->dtype != CK_INT32 || mask->size != run->d.B * run->d.T)
        return ck_error(CK_VALUE_ERROR, "recurrent layer \"%s\": the mask must be int32 (batch, time) = (%lld, %lld)",
                        run->r->base.name, (long long)run->d.B, (long long)run->d.T);
    run->mask = mask->data;
    return CK_OK;
}

static void *at(const rnn_run *run, int64_t off) { return run->base + (size_t)off * run->d.es; }

static void *h_at(const rnn_run *run, int64_t s)
{
    return at(run, run->L.h + (run->training ? s : (s & 1)) * run->d.B * run->d.U);
}

static void *c_at(const rnn_run *run, int64_t s)
{
    return run->r->cell->has_carry ? at(run, run->L.c + (run->training ? s : (s & 1)) * run->d.B * run->d.U) : NULL;
}

static void *rec_at(const rnn_run *run, int64_t s)
{
    return at(run, run->L.rec + (run->training ? s : 0) * run->d.B * run->d.U * run->r->cell->record);
}

/* Row of (batch b, time t) in the (batch*time, ...) views of the inputs,
 * XP and sequence outputs. */
static int64_t row_of(const rnn_run *run, int64_t b, int64_t t)
{
    return run->r->a.time_major ? t * run->d.B + b : b * run->d.T + t;
}

/* The input time a processing step reads. */
static int64_t time_of(const rnn_run *run, int64_t s)
{
    return run->r->a.go_backwards ? run->d.T - 1 - s : s;
}

static ck_status plan(rnn_run *run, const ck_rnn_layer *r, const ck_tensor *x, int training)
{
    ck_shape s = ck_tensor_shape(x);
    run->r = r;
    run->d = dims_of(r, &s, x->dtype);
    run->training = training;
    if (!layout_make(r, &run->d, training, &run->L))
        return ck_error(CK_VALUE_ERROR, "recurrent layer \"%s\": the buffers for inputs %s overflow", r->base.name,
                        ck_shape_fmt((char[128]){0}, 128, &s));
    if (run->d.T > INT32_MAX || run->d.B * run->d.T > INT32_MAX || run->d.GU > INT32_MAX || run->d.F > INT32_MAX)
        return ck_error(CK_VALUE_ERROR, "recurrent layer \"%s\": dims exceed the BLAS int range", r->base.name);
    return CK_OK;
}

/* Dropout masks of Keras' DropoutRNNCellMixin: one per sequence, 0 or
 * 1 / (1 - rate), drawn from the training stream. */
static void draw_mask(ck_dtype dt, ck_rng *rng, double rate, void *mask, int64_t n)
{
    double keep = 1.0 / (1.0 - rate);
    CK_RNN_TYPED(dt, {
        real *m = mask;
        for (int64_t i = 0; i < n; i++) m[i] = (real)(ck_rng_uniform(rng) >= rate ? keep : 0.0);
    });
}

/* ---- forward -------------------------------------------------------------------- */

static void *init_h(const rnn_run *run) { return at(run, run->L.init); }
static void *init_c(const rnn_run *run) { return at(run, run->L.init + run->d.B * run->d.U); }

/* The states before the first step: the initial_state inputs when given
 * (in[1], and in[2] for an LSTM's c), else zeros, or a stateful layer's
 * states left by the previous call (Keras keeps them in variables; they
 * get no gradient). */
static ck_status initial_states(rnn_run *run, int n, const ck_tensor *const *in)
{
    const ck_rnn_layer *r = run->r;
    size_t bytes = (size_t)(run->d.B * run->d.U) * run->d.es * (r->cell->has_carry ? 2 : 1);
    if (n > 1) {
        size_t one = (size_t)(run->d.B * run->d.U) * run->d.es;
        memcpy(init_h(run), in[1]->data, one);
        if (r->cell->has_carry) memcpy(init_c(run), in[2]->data, one);
        return CK_OK;
    }
    if (!r->state) {
        memset(init_h(run), 0, bytes);
        return CK_OK;
    }
    if (run->d.B != r->state_batch)
        return ck_error(CK_VALUE_ERROR, "stateful layer \"%s\" keeps states for a batch of %lld; it was called on a "
                        "batch of %lld", r->base.name, (long long)r->state_batch, (long long)run->d.B);
    memcpy(init_h(run), r->state, bytes);
    return CK_OK;
}

/* XP (its first `rows` rows) = src . kernel + input bias. */
static void project_rows(const rnn_run *run, ck_dtype dt, int64_t rows, const void *src)
{
    const ck_rnn_layer *r = run->r;
    const rnn_dims *d = &run->d;
    void *xp = at(run, run->L.xp);
    if (rows == 0 || d->GU == 0) return;
    if (dt == CK_FLOAT32 && d->F > 0) { /* the cache's arithmetic too */
        ck_rnn_project_f32(rows, d->F, d->GU, src, r->kernel->value->data,
                           r->bias ? r->bias->value->data : NULL, xp);
        return;
    }
    if (d->F == 0) memset(xp, 0, (size_t)(rows * d->GU) * d->es); /* no features: BLAS wants K >= 1 */
    else if (dt == CK_FLOAT32) ck_matmul_f32(rows, d->GU, d->F, src, r->kernel->value->data, xp);
    else ck_matmul_f64(rows, d->GU, d->F, src, r->kernel->value->data, xp);
    if (!r->bias) return;
    CK_RNN_TYPED(dt, {
        const real *bias = r->bias->value->data; /* a GRU's input bias is row 0 */
        real *o = xp;
        for (int64_t i = 0; i < rows; i++, o += d->GU)
            for (int64_t j = 0; j < d->GU; j++) o[j] += bias[j];
    });
}

/* How a call's XP rows were made: projected here, copied from the plan's
 * cache, or left in the cache with their indices in XP (for a cell that
 * reads rows by pointer, see step_rows). */
enum { XP_PROJECTED = 0, XP_COPIED, XP_INDEXED };

/* XP's first `rows` rows from the plan's cache of projected rows; 0 when
 * there is none or it cannot take them.  src_row maps an XP row to its
 * input row (NULL: the same). */
static int project_cached(const rnn_run *run, int64_t rows, const ck_tensor *x, ck_rnn_src_row src_row,
                          const void *ctx)
{
    const ck_rnn_layer *r = run->r;
    if (!run->cache || run->in_drop || x->dtype != CK_FLOAT32) return XP_PROJECTED;
    const float *kernel = r->kernel->value->data, *bias = r->bias ? r->bias->value->data : NULL;
    float *xp = at(run, run->L.xp);
    if (r->cell->takes_xp_rows && r->cell->takes_xp_rows(r, x->dtype))
        return ck_rnn_input_cache_index(run->cache, rows, x->data, src_row, ctx, kernel, bias, xp) ? XP_INDEXED
                                                                                                   : XP_PROJECTED;
    return ck_rnn_input_cache_project(run->cache, rows, x->data, src_row, ctx, kernel, bias, xp) ? XP_COPIED
                                                                                                 : XP_PROJECTED;
}

/* The rows of a step whose XP rows hold cache indices: row b's index at
 * the start of xp + b * ldx, its projection's address into the call's
 * pointer array. */
static const void *const *step_rows(const rnn_run *run, const char *xp, int64_t ldx)
{
    const float **rows = at(run, run->L.xrows);
    for (int64_t b = 0; b < run->d.B; b++) {
        uint32_t e;
        memcpy(&e, xp + (size_t)(b * ldx) * run->d.es, sizeof e);
        rows[b] = ck_rnn_input_cache_row(run->cache, e);
    }
    return (const void *const *)rows;
}

/* XP = X . kernel + input bias, X first multiplied by the input mask. */
static int project(const rnn_run *run, const ck_tensor *x)
{
    const rnn_dims *d = &run->d;
    int64_t rows = d->B * d->T;
    const void *src = x->data;
    const int how = project_cached(run, rows, x, NULL, NULL);
    if (how != XP_PROJECTED) return how;
    if (run->in_drop) {
        const char *mask = at(run, run->L.imask);
        CK_RNN_TYPED(x->dtype, {
            const real *xs = x->data, *m = (const real *)mask;
            real *o = at(run, run->L.xd);
            for (int64_t b = 0; b < d->B; b++)
                for (int64_t t = 0; t < d->T; t++) {
                    int64_t q = row_of(run, b, t) * d->F;
                    for (int64_t f = 0; f < d->F; f++) o[q + f] = xs[q + f] * m[b * d->F + f];
                }
        });
        src = at(run, run->L.xd);
    }
    project_rows(run, x->dtype, rows, src);
    return XP_PROJECTED;
}

/* The XP of processing steps [s0, s0 + n) (inference, a chunk at a time):
 * their input rows gathered step-major into xg, then one product; step s0
 * + i's row b lands at XP row i * batch + b. */
typedef struct chunk_rows {
    const rnn_run *run;
    int64_t s0;
} chunk_rows;

static int64_t chunk_src_row(const void *ctx, int64_t q)
{
    const chunk_rows *c = ctx;
    const int64_t B = c->run->d.B;
    return row_of(c->run, q % B, time_of(c->run, c->s0 + q / B));
}

static int project_chunk(const rnn_run *run, const ck_tensor *x, int64_t s0, int64_t n)
{
    const rnn_dims *d = &run->d;
    const size_t row = (size_t)d->F * d->es;
    char *xg = at(run, run->L.xg);
    const int how = project_cached(run, n * d->B, x, chunk_src_row, &(chunk_rows){run, s0});
    if (how != XP_PROJECTED) return how;
    for (int64_t i = 0; row > 0 && i < n; i++) { /* no features: nothing to gather (x may hold no data) */
        const int64_t t = time_of(run, s0 + i);
        for (int64_t b = 0; b < d->B; b++)
            memcpy(xg + (size_t)(i * d->B + b) * row, (const char *)x->data + (size_t)row_of(run, b, t) * row, row);
    }
    project_rows(run, x->dtype, n * d->B, xg);
    return XP_PROJECTED;
}

/* h_in = h_prev * recurrent mask, or h_prev itself. */
static const void *recurrent_input(const rnn_run *run, const void *h_prev)
{
    if (!run->rec_drop) return h_prev;
    void *hin = at(run, run->L.hin);
    int64_t n = run->d.B * run->d.U;
    CK_RNN_TYPED(run->r->base.dtype, {
        const real *h = h_prev, *m = at(run, run->L.rmask);
        real *o = hin;
        for (int64_t i = 0; i < n; i++) o[i] = h[i] * m[i];
    });
    return hin;
}

static ck_status forward(rnn_run *run, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_rnn_layer *r = run->r;
    const rnn_dims *d = &run->d;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    size_t ubytes = (size_t)d->U * d->es;
    char *seen = at(run, run->L.seen); /* a valid step was seen, per row (the
                                          region has 8 bytes a row) */
    memset(seen, 0, (size_t)d->B);
    CK_TRY(initial_states(run, n, in));
    if (run->cache && x->dtype == CK_FLOAT32)
        ck_rnn_input_cache_check(run->cache, r->kernel->value->data, r->bias ? r->bias->value->data : NULL);
    const int64_t chunk = chunk_steps(d, run->training);
    int how = chunk == d->T ? project(run, x) : XP_PROJECTED;
    for (int64_t s = 0; s < d->T; s++) {
        int64_t t = time_of(run, s);
        const void *h_prev = s > 0 ? h_at(run, s - 1) : init_h(run);
        const void *c_prev = r->cell->has_carry ? (s > 0 ? c_at(run, s - 1) : init_c(run)) : NULL;
        /* this step's XP rows: all steps' in input order, or the chunk's */
        int64_t xrow = row_of(run, 0, t), ldx = (r->a.time_major ? 1 : d->T) * d->GU;
        if (chunk < d->T) {
            if (s % chunk == 0) how = project_chunk(run, x, s, d->T - s < chunk ? d->T - s : chunk);
            xrow = s % chunk * d->B, ldx = d->GU;
        }
        const char *xp = (char *)at(run, run->L.xp) + (size_t)(xrow * d->GU) * d->es;
        ck_rnn_fwd f = {.dt = x->dtype, .batch = d->B, .units = d->U, .xp = xp,
                        .xp_rows = how == XP_INDEXED ? step_rows(run, xp, ldx) : NULL,
                        .ldx = ldx, .h_prev = h_prev, .c_prev = c_prev,
                        .h_in = recurrent_input(run, h_prev), .h = h_at(run, s), .c = c_at(run, s),
                        .rec = rec_at(run, s), .training = run->training};
        CK_TRY(r->cell->forward(r, &f));
        /* A masked row keeps its states; its output is the previous
         * output (zeros before any valid step, or always with
         * zero_output_for_mask), as Keras' backend.rnn. */
        for (int64_t b = 0; run->mask && b < d->B; b++) {
            if (valid_at(run, b, t)) {
                seen[b] = 1;
                continue;
            }
            memcpy((char *)f.h + (size_t)b * ubytes, (const char *)h_prev + (size_t)b * ubytes, ubytes);
            if (c_prev) memcpy((char *)f.c + (size_t)b * ubytes, (const char *)c_prev + (size_t)b * ubytes, ubytes);
        }
        if (r->a.return_sequences)
            for (int64_t b = 0; b < d->B; b++) {
                char *dst = (char *)out->data + (size_t)(row_of(run, b, s) * d->U) * d->es;
                if (!run->mask || valid_at(run, b, t) || (seen[b] && !r->a.zero_output_for_mask))
                    memcpy(dst, (const char *)f.h + (size_t)b * ubytes, ubytes);
                else memset(dst, 0, ubytes);
            }
    }
    const void *last_h = d->T > 0 ? h_at(run, d->T - 1) : init_h(run);
    if (!r->a.return_sequences) {
        memcpy(out->data, last_h, (size_t)d->B * ubytes);
        for (int64_t b = 0; run->mask && d->T > 0 && b < d->B; b++)
            if (!seen[b] || (!valid_at(run, b, time_of(run, d->T - 1)) && r->a.zero_output_for_mask))
                memset((char *)out->data + (size_t)b * ubytes, 0, ubytes);
    }
    if (r->a.return_state) {
        memcpy(outs[1]->data, last_h, (size_t)d->B * ubytes);
        if (r->cell->has_carry)
            memcpy(outs[2]->data, d->T > 0 ? c_at(run, d->T - 1) : init_c(run), (size_t)d->B * ubytes);
    }
    /* stateful: the last states start the next call. */
    if (r->state && d->T > 0) {
        memcpy(r->state, h_at(run, d->T - 1), (size_t)d->B * ubytes);
        if (r->cell->has_carry)
            memcpy((char *)r->state + (size_t)d->B * ubytes, c_at(run, d->T - 1), (size_t)d->B * ubytes);
    }
    return CK_OK;
}

size_t ck_rnn_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_rnn_layer *r = (const ck_rnn_layer *)layer;
    rnn_layout L;
    (void)n, (void)out;
    rnn_dims d = dims_of(r, &in[0], layer->dtype);
    if (d.B <= 0 || d.T < 0 || !layout_make(r, &d, 0, &L) || (uint64_t)L.total > SIZE_MAX / d.es) return 0;
    return (size_t)L.total * d.es;
}

ck_status ck_rnn_call_cached(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                             ck_tensor *const *outs, void *scratch, ck_rnn_input_cache *cache)
{
    ck_rnn_layer *r = (ck_rnn_layer *)layer;
    rnn_run run = {0};
    CK_TRY(plan(&run, r, in[0], 0));
    if (run.d.B == 0) return CK_OK;
    if (!scratch) return ck_oom("the buffers of a recurrent layer call");
    CK_TRY(set_mask(&run, mask));
    run.base = scratch;
    /* a cache made for other shapes than this call's is not used, nor for
     * a call of few rows (see ck_rnn_input_cache_worth) */
    run.cache = cache && ck_rnn_input_cache_fits(cache, run.d.F, run.d.GU) &&
                        ck_rnn_input_cache_worth(run.d.B * run.d.T)
                    ? cache
                    : NULL;
    return forward(&run, n, in, outs);
}

ck_status ck_rnn_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                             ck_tensor *const *outs, void *scratch)
{
    return ck_rnn_call_cached(layer, n, in, mask, outs, scratch, NULL);
}

ck_status ck_rnn_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs,
                              void *scratch)
{
    return ck_rnn_call_masked(layer, n, in, NULL, outs, scratch);
}

/* ---- training ------------------------------------------------------------------- */

size_t ck_rnn_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_rnn_layer *r = (const ck_rnn_layer *)layer;
    rnn_layout L;
    (void)n, (void)out;
    rnn_dims d = dims_of(r, &in[0], layer->dtype);
    if (d.B < 0 || d.T < 0 || !layout_make(r, &d, 1, &L)) {
        ck_error(CK_VALUE_ERROR, "recurrent layer \"%s\": cannot plan the training buffers", layer->name);
        return SIZE_MAX;
    }
    if ((uint64_t)L.total > SIZE_MAX / d.es) return SIZE_MAX;
    return (size_t)L.total * d.es;
}

/* Sets up a training run on `saved`; the masks are drawn by train_call
 * and found again by backward. */
static ck_status train_plan(rnn_run *run, const ck_rnn_layer *r, const ck_train_ctx *ctx, const ck_tensor *x,
                            void *saved)
{
    CK_TRY(plan(run, r, x, 1));
    run->base = saved;
    int drop = ctx && ctx->training && ctx->rng;
    run->in_drop = drop && rate_active(r->a.dropout);
    run->rec_drop = drop && rate_active(r->a.recurrent_dropout);
    return CK_OK;
}

ck_status ck_rnn_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            ck_tensor *const *out, void *saved)
{
    ck_rnn_layer *r = (ck_rnn_layer *)layer;
    rnn_run run = {0};
    CK_TRY(train_plan(&run, r, ctx, in[0], saved));
    if (run.d.B == 0) return CK_OK;
    CK_TRY(set_mask(&run, ctx ? ctx->mask : NULL));
    if (run.in_drop) draw_mask(layer->dtype, ctx->rng, r->a.dropout, at(&run, run.L.imask), run.d.B * run.d.F);
    if (run.rec_drop)
        draw_mask(layer->dtype, ctx->rng, r->a.recurrent_dropout, at(&run, run.L.rmask), run.d.B * run.d.U);
    return forward(&run, n, in, out);
}

/* dh = carry (+ this step's output gradient). */
static void step_output_grad(const rnn_run *run, int64_t s, const ck_tensor *dout, void *dh, const int64_t *first)
{
    const rnn_dims *d = &run->d;
    int seq = run->r->a.return_sequences, zo = run->r->a.zero_output_for_mask;
    if (!seq && s != d->T - 1) return;
    CK_RNN_TYPED(dout->dtype, {
        real *g = dh;
        const real *o = dout->data;
        for (int64_t b = 0; b < d->B; b++) {
            /* A masked step's output is the last valid one's h, which is
             * this step's h too (masked steps keep it), or a constant 0. */
            if (run->mask && s >= 0 && !valid_at(run, b, time_of(run, s)) && (zo || first[b] > s)) continue;
            const real *src = o + (seq ? row_of(run, b, s) : b) * d->U;
            for (int64_t u = 0; u < d->U; u++) g[b * d->U + u] += src[u];
        }
    });
}

ck_status ck_rnn_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_rnn_layer *r = (ck_rnn_layer *)layer;
    rnn_run run = {0};
    (void)out;
    CK_TRY(train_plan(&run, r, ctx, in[0], saved));
    CK_TRY(set_mask(&run, ctx ? ctx->mask : NULL));
    const rnn_dims *d = &run.d;
    ck_dtype dt = layer->dtype;
    int64_t bu = d->B * d->U;
    size_t bub = (size_t)bu * d->es, gbytes = (size_t)d->GU * d->es;
    ck_tensor *dx_t = din ? din[0] : NULL;
    if (d->B == 0) return CK_OK;
    void *dh = at(&run, run.L.dh), *dc = at(&run, run.L.dc), *dxs = at(&run, run.L.dx);
    char *xp = at(&run, run.L.xp);
    memset(dh, 0, bub);
    memset(dc, 0, bub);
    /* return_state: the last states' gradients (dout[1], dout[2]) start
     * the walk back; a sequence output's last step adds to them below. */
    if (r->a.return_state) {
        memcpy(dh, dout[1].data, bub);
        if (r->cell->has_carry) memcpy(dc, dout[2].data, bub);
    }
    /* Per row, the first valid processing step (T: none), in `seen`. */
    int64_t *first = at(&run, run.L.seen); /* 2 elements of >= 4 bytes a row */
    for (int64_t b = 0; run.mask && b < d->B; b++) {
        first[b] = d->T;
        for (int64_t s = 0; s < d->T && first[b] == d->T; s++)
            if (valid_at(&run, b, time_of(&run, s))) first[b] = s;
    }
    if (d->T == 0 && !r->a.return_sequences) step_output_grad(&run, -1, dout, dh, NULL);
    for (int64_t s = d->T - 1; s >= 0; s--) {
        int64_t t = time_of(&run, s);
        step_output_grad(&run, s, dout, dh, first);
        const void *h_prev = s > 0 ? h_at(&run, s - 1) : init_h(&run);
        const void *c_prev = r->cell->has_carry ? (s > 0 ? c_at(&run, s - 1) : init_c(&run)) : NULL;
        ck_rnn_bwd b = {.dt = dt, .batch = d->B, .units = d->U, .h_prev = h_prev, .c_prev = c_prev,
                        .h_in = recurrent_input(&run, h_prev), .h = h_at(&run, s), .c = c_at(&run, s),
                        .rec = rec_at(&run, s), .dh = dh, .dc = dc, .dx = dxs, .dh_prev = at(&run, run.L.dhp),
                        .dh_in = at(&run, run.L.dhin), .work = at(&run, run.L.work)};
        /* A masked row copied its states forward: its gradients pass
         * to the step before unchanged and the cell sees none (the cell's
         * backward is linear in dh, dc: zero rows give zero rows). */
        char *keep_h = at(&run, run.L.keep), *keep_c = keep_h + bub;
        size_t ub = (size_t)d->U * d->es;
        for (int64_t i = 0; run.mask && i < d->B; i++) {
            if (valid_at(&run, i, t)) continue;
            memcpy(keep_h + i * ub, (char *)dh + i * ub, ub);
            memcpy(keep_c + i * ub, (char *)dc + i * ub, ub);
            memset((char *)dh + i * ub, 0, ub);
            memset((char *)dc + i * ub, 0, ub);
        }
        CK_TRY(r->cell->backward(r, &b));
        for (int64_t i = 0; i < d->B; i++)
            memcpy(xp + (size_t)(row_of(&run, i, t)) * gbytes, (const char *)dxs + (size_t)i * gbytes, gbytes);
        /* The state's gradient for the step before: the direct paths plus
         * the recurrent product's, through the recurrent mask. */
        CK_RNN_TYPED(dt, {
            real *g = dh;
            const real *p = b.dh_prev, *q = b.dh_in, *m = run.rec_drop ? at(&run, run.L.rmask) : NULL;
            for (int64_t i = 0; i < bu; i++) g[i] = p[i] + (m ? q[i] * m[i] : q[i]);
        });
        for (int64_t i = 0; run.mask && i < d->B; i++) {
            if (valid_at(&run, i, t)) continue;
            memcpy((char *)dh + i * ub, keep_h + i * ub, ub);
            if (r->cell->has_carry) memcpy((char *)dc + i * ub, keep_c + i * ub, ub);
        }
    }
    /* What reached the states before step 0 is the initial states'
     * gradient. */
    if (n > 1 && din && din[1]) memcpy(din[1]->data, dh, bub);
    if (n > 2 && din && din[2]) memcpy(din[2]->data, dc, bub);
    /* All steps at once: kernel += X'^T dXP, input bias += sums of dXP,
     * dX = dXP kernel^T (times the input mask). */
    int64_t rows = d->B * d->T;
    const void *src = run.in_drop ? at(&run, run.L.xd) : in[0]->data;
    ck_tensor *kg = r->kernel->grad, *bg = r->bias ? r->bias->grad : NULL;
    if (rows == 0) return CK_OK;
    if (kg) ck_rnn_gemm(dt, 1, 0, d->F, d->GU, rows, src, d->F, xp, d->GU, 1.0, kg->data, d->GU);
    if (bg) ck_rnn_add_colsum(dt, xp, rows, d->GU, bg->data);
    if (dx_t) {
        ck_rnn_gemm(dt, 0, 1, rows, d->F, d->GU, xp, d->GU, r->kernel->value->data, d->GU, 0.0, dx_t->data, d->F);
        if (run.in_drop)
            CK_RNN_TYPED(dt, {
                real *g = dx_t->data;
                const real *m = at(&run, run.L.imask);
                for (int64_t i = 0; i < d->B; i++)
                    for (int64_t t = 0; t < d->T; t++) {
                        real *row = g + row_of(&run, i, t) * d->F;
                        for (int64_t f = 0; f < d->F; f++) row[f] *= m[i * d->F + f];
                    }
            });
    }
    return CK_OK;
}
