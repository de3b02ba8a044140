/* TFOpLambda and SlicingOpLambda: the layers tf.keras 2.x inserts when a
 * TensorFlow function is called on Keras tensors (tf.math.add(x, y),
 * x + 2.0, tf.concat, x[:, 1:], ...).  The function's name is the layer
 * config; its arguments are in the inbound node (tensors and constants),
 * bound by the node_call hook.  Internal to the tf_op*.c files. */
#ifndef CK_TF_OP_H
#define CK_TF_OP_H

#include "layers/layer.h"

typedef enum tf_op_kind {
    TF_UNARY,       /* elementwise f(x[, parameter]) */
    TF_BINARY,      /* elementwise f(x, y), numpy broadcasting */
    TF_REDUCE,      /* reduce_* over axis, keepdims */
    TF_RESHAPE,
    TF_EXPAND_DIMS,
    TF_SQUEEZE,
    TF_IDENTITY,
    TF_CONCAT,
    TF_STACK,
    TF_TRANSPOSE,
    TF_MATMUL,
    TF_SOFTMAX,     /* softmax / log_softmax along an axis */
    TF_CAST,
    TF_SLICE,       /* __operators__.getitem */
    TF_NORMALIZE,   /* l2_normalize over axis (shape kept) */
    TF_CLIP,        /* clip_by_value with constant bounds */
    TF_TILE,
    TF_FILL,        /* zeros_like / ones_like (reduce: the value) */
    /* tf_op_index.c */
    TF_WHERE,       /* where(condition, x, y): operands x, y, z */
    TF_CUMSUM,
    TF_GATHER,      /* gather(params, indices): operands x, y */
    TF_ONE_HOT,
    TF_SPLIT        /* several outputs */
} tf_op_kind;

/* Elementwise functions and their derivatives, computed in double.  `p`
 * is the op's scalar parameter (leaky_relu's alpha, gelu's approximate). */
typedef double (*tf_unary_fn)(double x, double p);
typedef double (*tf_unary_grad_fn)(double x, double y, double p); /* dy/dx */
typedef double (*tf_binary_fn)(double a, double b);
typedef double (*tf_binary_grad_fn)(double a, double b, double y); /* dy/da or dy/db */

/* One TensorFlow function ckeras implements. */
typedef struct tf_op_def {
    const char *function;               /* as the config names it */
    tf_op_kind kind;
    const char *const *params;          /* the function's parameter names,
                                           the first one positional */
    tf_unary_fn unary;
    tf_unary_grad_fn unary_grad;        /* NULL: not differentiable (zero) */
    tf_binary_fn binary;
    tf_binary_grad_fn grad_a, grad_b;   /* NULL: zero gradient */
    const char *param_name;             /* the unary parameter's keyword */
    double param_default;
    int reduce;                         /* TF_REDUCE: which (tf_reduce_kind);
                                           TF_SOFTMAX: 1 for log_softmax */
    int boolean;                        /* returns bool (comparisons,
                                           logical_*): ckeras has no bool
                                           dtype, so int32 0 / 1, as its
                                           masks and .npy bools */
} tf_op_def;

typedef enum tf_reduce_kind {
    TF_SUM, TF_MEAN, TF_MAX, TF_MIN, TF_PROD,
    /* computed per group (tf_op_reduce.c) */
    TF_LOGSUMEXP, TF_VARIANCE, TF_STD, TF_NORM, TF_ARGMAX, TF_ARGMIN, TF_L2_NORMALIZE
} tf_reduce_kind;

/* The op named `function` ("math.add", "nn.relu", ...), or NULL. */
const tf_op_def *tf_op_find(const char *function);

/* An argument of the call: a layer input or a constant (numbers, nested
 * lists of numbers, kept as float64 with its shape). */
typedef struct tf_operand {
    int input;                  /* index of the layer input, -1: constant */
    ck_shape shape;             /* constant's shape */
    double *values;             /* constant's values (owned) */
} tf_operand;

/* One entry of a slice spec. */
typedef enum tf_slice_kind { TF_SL_RANGE, TF_SL_INDEX, TF_SL_NEWAXIS, TF_SL_ELLIPSIS } tf_slice_kind;

typedef struct tf_slice {
    tf_slice_kind kind;
    int has_start, has_stop;
    int64_t start, stop, step;  /* TF_SL_INDEX: start */
} tf_slice;

typedef struct tf_op_layer {
    ck_layer base;
    char *function;
    const tf_op_def *op;
    json_t *call_args, *call_kwargs; /* of the bound call (owned), NULL before */
    /* the bound call */
    tf_operand x, y;            /* unary / binary operands; x of the others;
                                   gather: params, indices */
    tf_operand z;               /* where: condition x, values y and z */
    int n_values;               /* concat / stack: inputs 0..n-1 in order */
    double param;               /* unary parameter; l2_normalize's epsilon;
                                   clip's lower bound */
    double param2;              /* clip's upper bound */
    int n_multiples;            /* tile */
    int64_t multiples[CK_MAX_RANK];
    int has_axis;               /* axis given (reduce: else all axes) */
    int n_axis;
    int axis[CK_MAX_RANK];      /* as given (may be negative) */
    int keepdims;
    int shape_rank;             /* reshape */
    int64_t shape[CK_MAX_RANK];
    int n_perm;                 /* transpose: 0 = reverse */
    int perm[CK_MAX_RANK];
    int transpose_a, transpose_b;
    ck_dtype cast_to;
    int n_slices;               /* getitem */
    tf_slice slices[CK_MAX_RANK * 2];
    int exclusive, reverse;     /* cumsum */
    int64_t depth;              /* one_hot (on / off: param, param2) */
    int n_splits;               /* split: the outputs; sizes given (one may
                                   be -1) or 0 for equal parts */
    int given_sizes;
    int64_t split_sizes[CK_MAX_LAYER_OUTPUTS];
} tf_op_layer;

extern const ck_layer_class ck_tf_op_lambda_class;
extern const ck_layer_class ck_slicing_op_lambda_class;

/* ---- tf_op_bind.c: the call's arguments into the layer -------------------- */
ck_status tf_op_bind(tf_op_layer *t, const json_t *args, const json_t *kwargs);
void tf_op_unbind(tf_op_layer *t);

/* ---- tf_op_elementwise.c --------------------------------------------------- */
/* Shape of an operand for the input shapes `in`. */
ck_shape tf_operand_shape(const tf_operand *o, const ck_shape *in);
/* numpy broadcasting of two shapes (-1 unknown); CK_VALUE_ERROR naming
 * the layer when they are incompatible. */
ck_status tf_broadcast_shape(const ck_layer *layer, const ck_shape *a, const ck_shape *b, ck_shape *out);
ck_status tf_elementwise_call(const tf_op_layer *t, const ck_tensor *const *in, ck_tensor *out);
/* clip_by_value and zeros_like / ones_like: the forward (dout NULL) or
 * the backward into dx. */
ck_status tf_clip_fill_run(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                           ck_tensor *dx);
ck_status tf_elementwise_backward(const tf_op_layer *t, const ck_tensor *const *in, const ck_tensor *out,
                                  const ck_tensor *dout, ck_tensor *const *din);

/* ---- tf_op_shape.c: everything that moves or reduces elements ------------ */
ck_status tf_shape_output(const tf_op_layer *t, int n, const ck_shape *in, ck_shape *out);
ck_status tf_shape_call(const tf_op_layer *t, int n, const ck_tensor *const *in, ck_tensor *out);
ck_status tf_shape_backward(const tf_op_layer *t, int n, const ck_tensor *const *in, const ck_tensor *out,
                            const ck_tensor *dout, ck_tensor *const *din);

/* ---- tf_op_reduce.c: reductions, l2_normalize, argmax --------------------- */
ck_status tf_group_call(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out);
/* reduce_*: forward (dout NULL) or backward into dx. */
ck_status tf_reduce_run(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                        ck_tensor *dx);
/* Which axes of a rank-`rank` input the layer's axis reduces. */
ck_status tf_reduce_mask(const tf_op_layer *t, int rank, int *mask);
ck_status tf_group_backward(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                            ck_tensor *dx);

/* ---- tf_op_slice.c --------------------------------------------------------- */
ck_status tf_slice_output(const tf_op_layer *t, const ck_shape *in, ck_shape *out);
ck_status tf_slice_call(const tf_op_layer *t, const ck_tensor *x, ck_tensor *out);
ck_status tf_slice_backward(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *dout, ck_tensor *dx);

/* ---- tf_op_index.c: where, cumsum, gather, one_hot, split ----------------- */
static inline int tf_index_kind(tf_op_kind k) { return k >= TF_WHERE && k <= TF_SPLIT; }
ck_status tf_index_bind(tf_op_layer *t, const json_t *args, const json_t *kwargs);
int tf_index_output_count(const tf_op_layer *t);
ck_dtype tf_index_output_dtype(const tf_op_layer *t, const ck_dtype *in);
ck_status tf_index_output(const tf_op_layer *t, const ck_shape *in, ck_shape *out);
ck_status tf_index_call(const tf_op_layer *t, const ck_tensor *const *in, ck_tensor *const *out);
/* `out` and `dout`: arrays of the layer's output tensors (split: several). */
ck_status tf_index_backward(const tf_op_layer *t, const ck_tensor *const *in, const ck_tensor *out,
                            const ck_tensor *dout, ck_tensor *const *din);

/* Operands given in bind (tf_op_bind.c), shared with tf_op_index.c. */
ck_status tf_bind_operand(tf_op_layer *t, const json_t *j, const char *param, tf_operand *o);
ck_status tf_bind_tensor(tf_op_layer *t, const json_t *j, const char *param, tf_operand *o);
ck_status tf_unsupported(const tf_op_layer *t, const char *what);
const json_t *tf_constant_of(const json_t *j);

/* ---- shared element access (tf_op_elementwise.c) --------------------------- */
double tf_load(const void *data, ck_dtype dt, int64_t i);
void tf_store(void *data, ck_dtype dt, int64_t i, double v);

/* Walks the elements of a shape in row-major order, carrying up to three
 * offsets with their own strides (0 on broadcast or reduced axes). */
typedef struct tf_walk {
    int rank, k;
    int64_t shape[CK_MAX_RANK], idx[CK_MAX_RANK];
    int64_t stride[3][CK_MAX_RANK];
    int64_t off[3];
} tf_walk;
void tf_walk_next(tf_walk *w);
/* Strides of a row-major array of `shape` placed right-aligned in the
 * walk's rank, 0 where its dim is 1 (broadcast) or absent. */
void tf_walk_strides(tf_walk *w, int j, int rank, const int64_t *shape);

/* Normalises a possibly negative axis for `rank` dims; CK_VALUE_ERROR
 * naming the layer when out of range. */
ck_status tf_axis(const ck_layer *layer, int axis, int rank, int *out);

#endif
