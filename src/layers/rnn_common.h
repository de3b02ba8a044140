/* The recurrent layers SimpleRNN, LSTM and GRU share everything but their
 * cell: the arguments and configs, the weights, the walk over time
 * (go_backwards, time_major, return_sequences), dropout masks, the input
 * projection of every step in one matrix product, and backpropagation
 * through time.  rnn_common.c is that driver (rnn_build.c its shapes,
 * weights and states, rnn_cell_math.c the arithmetic the cells share);
 * simple_rnn.c, lstm.c and gru.c each give one step forward and one step
 * backward.  Internal. */
#ifndef CK_RNN_COMMON_H
#define CK_RNN_COMMON_H

#include "layers/layer_args.h"

typedef struct ck_rnn_layer ck_rnn_layer;

/* One forward step.  Blocks are (batch, units) and contiguous unless
 * noted; elements have the layer dtype. */
typedef struct ck_rnn_fwd {
    ck_dtype dt;
    int64_t batch, units;
    const void *xp;      /* this step's projected inputs (bias included):
                            row b at xp + b * ldx elements, G*units each */
    const void *const *xp_rows; /* or row b at xp_rows[b] (only for a cell
                                   whose takes_xp_rows says so); NULL: xp */
    int64_t ldx;
    const void *h_prev;  /* the previous states (c_prev: LSTM only) */
    const void *c_prev;
    const void *h_in;    /* h_prev times the recurrent dropout mask
                            (h_prev itself without one): what the
                            recurrent products read */
    void *h, *c;         /* the new states */
    void *rec;           /* the step's record (cell->record blocks), which
                            backward reads again in training */
    int training;        /* 0: nothing reads the record after the step */
} ck_rnn_fwd;

/* One backward step, from the forward step's values. */
typedef struct ck_rnn_bwd {
    ck_dtype dt;
    int64_t batch, units;
    const void *h_prev, *c_prev, *h_in, *h, *c, *rec;
    void *dh;       /* in: d loss / d h (the cell may overwrite it) */
    void *dc;       /* LSTM: in d loss / d c, out d loss / d c_prev */
    void *dx;       /* out: d loss / d xp, (batch, G*units) contiguous */
    void *dh_prev;  /* out: d loss / d h_prev by the direct paths */
    void *dh_in;    /* out: d loss / d h_in (through the recurrent kernel) */
    void *work;     /* cell->work blocks of scratch */
} ck_rnn_bwd;

/* What distinguishes SimpleRNN, LSTM and GRU. */
typedef struct ck_rnn_cell {
    const char *cell_name;        /* "lstm_cell": the weights' middle name */
    int gates;                    /* G: the kernels have G*units columns */
    int has_carry;                /* LSTM's second state c */
    int has_recurrent_activation; /* LSTM, GRU */
    int has_implementation;       /* LSTM, GRU write "implementation" */
    int has_unit_forget_bias;     /* LSTM */
    int has_reset_after;          /* GRU */
    /* Blocks of batch*units elements a step keeps (record) and needs as
     * backward scratch (work). */
    int record, work;
    ck_status (*forward)(const ck_rnn_layer *r, const ck_rnn_fwd *s);
    /* 1 when forward reads xp_rows (inference of dtype dt); NULL: never. */
    int (*takes_xp_rows)(const ck_rnn_layer *r, ck_dtype dt);
    /* Also ADDS the recurrent kernel's (and a GRU's recurrent bias')
     * gradients where their grad tensors are set. */
    ck_status (*backward)(const ck_rnn_layer *r, const ck_rnn_bwd *s);
} ck_rnn_cell;

/* The parsed arguments (defaults filled in once the layer is made). */
typedef struct ck_rnn_args {
    int64_t units, implementation;
    bool use_bias, unit_forget_bias, reset_after;
    bool return_sequences, return_state, go_backwards, stateful, unroll, time_major, zero_output_for_mask;
    double dropout, recurrent_dropout;
    ck_activation *activation, *recurrent_activation;
    ck_initializer *kernel_init, *recurrent_init, *bias_init;
    ck_regularizer *kernel_reg, *recurrent_reg, *bias_reg;
    ck_constraint *kernel_con, *recurrent_con, *bias_con;
} ck_rnn_args;

struct ck_rnn_layer {
    ck_layer base;
    const ck_rnn_cell *cell;
    ck_rnn_args a;
    int64_t input_dim;  /* known once built */
    ck_weight *kernel, *recurrent_kernel, *bias;
    void *state;          /* stateful: h then c of the last call (batch,
                             units) each; allocated by build */
    int64_t state_batch;
};

/* ---- the class hooks every recurrent class uses (rnn_common.c) ---------- */

ck_status ck_rnn_build(ck_layer *layer, int n, const ck_shape *shapes);
size_t ck_rnn_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_rnn_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                              void *scratch);
/* The call with the mask of the sequence (int32 (batch, time) 0/1, NULL:
 * none): masked steps keep the states and repeat the previous output. */
ck_status ck_rnn_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                             ck_tensor *const *out, void *scratch);
/* The same taking the input projections from a plan's cache (may be NULL;
 * layers/rnn_input_cache.h). */
struct ck_rnn_input_cache;
ck_status ck_rnn_call_cached(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                             ck_tensor *const *out, void *scratch, struct ck_rnn_input_cache *cache);
/* PASS with return_sequences (output 0 only), else NONE (tf.keras 2.15). */
int ck_rnn_mask_rule(const ck_layer *layer);
ck_status ck_rnn_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out);
/* 1, or with return_state 1 + the number of states (LSTM 2, else 1). */
int ck_rnn_output_count(const ck_layer *layer);
/* The call keyword holding tensors: Keras 3 configs pass the initial
 * states as kwargs["initial_state"] (tf.keras 2.x: extra inbound refs). */
extern const char *const ck_rnn_kwarg_inputs[];
ck_status ck_rnn_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                              const ck_tensor *const *masks, ck_tensor **out);
ck_status ck_rnn_get_config(const ck_layer *layer, json_t *config);
void ck_rnn_destroy(ck_layer *layer);
size_t ck_rnn_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_rnn_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            ck_tensor *const *out, void *saved);
ck_status ck_rnn_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

/* The constructor and from_config of the class `cls` with cell `cell`. */
ck_status ck_rnn_new(const ck_layer_class *cls, const ck_rnn_cell *cell, const ck_rnn_opts *o, ck_layer **out);
ck_status ck_rnn_from_config(const ck_layer_class *cls, const ck_rnn_cell *cell, const json_t *config,
                             ck_layer **out);

/* ---- helpers for the cells ------------------------------------------------ */

/* Runs the statements with `real` as float or double, by dtype: the one
 * place where the two element types part. */
#define CK_RNN_TYPED(dt, ...)                  \
    do {                                       \
        if ((dt) == CK_FLOAT32) {              \
            typedef float real;                \
            __VA_ARGS__                        \
        } else {                               \
            typedef double real;               \
            __VA_ARGS__                        \
        }                                      \
    } while (0)

/* C = op(A) . op(B) + beta C, row-major, with leading dimensions (so that
 * column blocks of a kernel and strided rows need no copy). */
void ck_rnn_gemm(ck_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc);

/* The activation in place on `rows` segments of `cols` elements, segment i
 * at data + i * stride elements (a gate's columns of a (batch, G*units)
 * block); each segment is one row for softmax.  Linear does nothing. */
ck_status ck_rnn_activate(const ck_activation *act, ck_dtype dt, void *data, int64_t rows, int64_t cols,
                          int64_t stride);

/* dz = dy * act'(z) on segments laid out as for ck_rnn_activate, all four
 * blocks with that stride (z is the pre-activation, y = act(z)). */
ck_status ck_rnn_activate_grad(const ck_activation *act, ck_dtype dt, const void *z, const void *y,
                               const void *dy, void *dz, int64_t rows, int64_t cols, int64_t stride);

/* Whether a float32 step can take the fused kernels of ops/
 * rnn_cell_kernels.c (the usual gates: tanh, and sigmoid (1) or Keras 2's
 * hard_sigmoid (2)); 0 otherwise. */
int ck_rnn_fused_gates(const ck_rnn_layer *r, ck_dtype dt);

/* Adds the column sums of a (rows, cols) block to g (a bias gradient). */
void ck_rnn_add_colsum(ck_dtype dt, const void *block, int64_t rows, int64_t cols, void *g);

/* The classes (simple_rnn.c, lstm.c, gru.c), for the registry. */
extern const ck_layer_class ck_simple_rnn_class;
extern const ck_layer_class ck_lstm_class;
extern const ck_layer_class ck_gru_class;

/* The class table every recurrent layer shares: only the Keras name, the
 * constructor-from-config and the cell differ (the cell is bound by
 * FROM_CONFIG and the public constructor). */
/* The inference and training hooks of every class that runs the recurrence
 * (the three layers here, and the CuDNN classes of Keras 2 files): one
 * list, so that a class cannot miss one (the planned predict calls
 * call_scratch, masked graphs call_masked). */
#define CK_RNN_CALL_HOOKS                                                    \
        .call = ck_layer_call_own_scratch,                                   \
        .call_scratch_bytes = ck_rnn_call_scratch_bytes,                     \
        .call_scratch = ck_rnn_call_scratch,                                 \
        .call_masked = ck_rnn_call_masked,                                   \
        .mask_rule = ck_rnn_mask_rule,                                       \
        .saved_bytes = ck_rnn_saved_bytes,                                   \
        .train_call = ck_rnn_train_call,                                     \
        .backward = ck_rnn_backward

#define CK_RNN_CLASS(NAME, FROM_CONFIG)                                      \
    {                                                                        \
        .class_name = NAME,                                                  \
        .size = sizeof(ck_rnn_layer),                                        \
        .arity = CK_LIST_OF_INPUTS,                                          \
        .min_inputs = 1,                                                     \
        .max_inputs = 3,                                                     \
        .spec_first_input_only = 1,                                          \
        .cast_all_inputs = 1,                                                \
        .supports_masking = 1,                                               \
        .archive_vars_path = "cell",                                         \
        .build = ck_rnn_build,                                               \
        CK_RNN_CALL_HOOKS,                                                   \
        .compute_output_shape = ck_rnn_output_shape,                         \
        .compute_mask = ck_rnn_compute_mask,                                 \
        .get_config = ck_rnn_get_config,                                     \
        .from_config = FROM_CONFIG,                                          \
        .destroy = ck_rnn_destroy,                                           \
        .output_count = ck_rnn_output_count,                                 \
        .kwarg_inputs = ck_rnn_kwarg_inputs,                                 \
    }

#endif
