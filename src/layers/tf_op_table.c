/* The TensorFlow functions TFOpLambda runs: one table row per function
 * name as tf.keras 2.15 writes it in configs (its canonical TF API name:
 * tf.nn.sigmoid is "math.sigmoid", x * 2 is "math.multiply", squeeze is
 * "compat.v1.squeeze"), with the elementwise maths and derivatives as
 * function pointers so every elementwise op shares one loop. */
#include <math.h>
#include <string.h>

#include "layers/tf_op.h"

#define TF_2_OVER_SQRT_PI 1.1283791670955125739 /* 2 / sqrt(pi) */
#define TF_SQRT_2_OVER_PI 0.7978845608028654    /* sqrt(2 / pi) */
#define TF_SQRT_2PI 2.5066282746310005024       /* sqrt(2 pi) */

/* ---- unary ------------------------------------------------------------------ */

static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

static double f_exp(double x, double p) { (void)p; return exp(x); }
static double g_exp(double x, double y, double p) { (void)x, (void)p; return y; }
static double f_log(double x, double p) { (void)p; return log(x); }
static double g_log(double x, double y, double p) { (void)y, (void)p; return 1 / x; }
static double f_log1p(double x, double p) { (void)p; return log1p(x); }
static double g_log1p(double x, double y, double p) { (void)y, (void)p; return 1 / (1 + x); }
static double f_expm1(double x, double p) { (void)p; return expm1(x); }
static double g_expm1(double x, double y, double p) { (void)y, (void)p; return exp(x); }
static double f_sqrt(double x, double p) { (void)p; return sqrt(x); }
static double g_sqrt(double x, double y, double p) { (void)x, (void)p; return 0.5 / y; }
static double f_rsqrt(double x, double p) { (void)p; return 1 / sqrt(x); }
static double g_rsqrt(double x, double y, double p) { (void)p; return -0.5 * y / x; }
static double f_square(double x, double p) { (void)p; return x * x; }
static double g_square(double x, double y, double p) { (void)y, (void)p; return 2 * x; }
static double f_abs(double x, double p) { (void)p; return fabs(x); }
static double g_abs(double x, double y, double p) { (void)y, (void)p; return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double f_neg(double x, double p) { (void)p; return -x; }
static double g_neg(double x, double y, double p) { (void)x, (void)y, (void)p; return -1; }
static double f_recip(double x, double p) { (void)p; return 1 / x; }
static double g_recip(double x, double y, double p) { (void)x, (void)p; return -y * y; }
static double f_sigmoid(double x, double p) { (void)p; return sigmoid(x); }
static double g_sigmoid(double x, double y, double p) { (void)x, (void)p; return y * (1 - y); }
static double f_log_sigmoid(double x, double p) { (void)p; return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }
static double g_log_sigmoid(double x, double y, double p) { (void)y, (void)p; return sigmoid(-x); }
static double f_tanh(double x, double p) { (void)p; return tanh(x); }
static double g_tanh(double x, double y, double p) { (void)x, (void)p; return 1 - y * y; }
static double f_sin(double x, double p) { (void)p; return sin(x); }
static double g_sin(double x, double y, double p) { (void)y, (void)p; return cos(x); }
static double f_cos(double x, double p) { (void)p; return cos(x); }
static double g_cos(double x, double y, double p) { (void)y, (void)p; return -sin(x); }
static double f_erf(double x, double p) { (void)p; return erf(x); }
static double g_erf(double x, double y, double p) { (void)y, (void)p; return TF_2_OVER_SQRT_PI * exp(-x * x); }
static double f_sign(double x, double p) { (void)p; return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double f_floor(double x, double p) { (void)p; return floor(x); }
static double f_ceil(double x, double p) { (void)p; return ceil(x); }
static double f_round(double x, double p) { (void)p; return nearbyint(x); } /* half to even, as TF */
static double f_erfc(double x, double p) { (void)p; return erfc(x); }
static double g_erfc(double x, double y, double p) { (void)y, (void)p; return -TF_2_OVER_SQRT_PI * exp(-x * x); }
static double f_ident(double x, double p) { (void)p; return x; }
static double g_ident(double x, double y, double p) { (void)x, (void)y, (void)p; return 1; }
static double f_relu(double x, double p) { (void)p; return x > 0 ? x : 0; }
static double g_relu(double x, double y, double p) { (void)x, (void)p; return y > 0 ? 1 : 0; }
static double f_relu6(double x, double p) { (void)p; return x < 0 ? 0 : x > 6 ? 6 : x; }
static double g_relu6(double x, double y, double p) { (void)y, (void)p; return x > 0 && x < 6 ? 1 : 0; }
static double f_leaky(double x, double p) { return x > 0 ? x : p * x; }
static double g_leaky(double x, double y, double p) { (void)y; return x > 0 ? 1 : p; }
static double f_elu(double x, double p) { (void)p; return x > 0 ? x : expm1(x); }
static double g_elu(double x, double y, double p) { (void)p; return x > 0 ? 1 : y + 1; }
#define SELU_A 1.6732632423543772848170429916717
#define SELU_S 1.0507009873554804934193349852946
static double f_selu(double x, double p) { (void)p; return x > 0 ? SELU_S * x : SELU_S * SELU_A * expm1(x); }
static double g_selu(double x, double y, double p) { (void)p; return x > 0 ? SELU_S : y + SELU_S * SELU_A; }
static double f_softplus(double x, double p) { (void)p; return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double g_softplus(double x, double y, double p) { (void)y, (void)p; return sigmoid(x); }
static double f_softsign(double x, double p) { (void)p; return x / (1 + fabs(x)); }
static double g_softsign(double x, double y, double p) { (void)y, (void)p; return 1 / ((1 + fabs(x)) * (1 + fabs(x))); }
static double f_silu(double x, double p) { return x * sigmoid(p * x); }
static double g_silu(double x, double y, double p) { (void)y; double s = sigmoid(p * x); return s + p * x * s * (1 - s); }
/* gelu: p != 0 is the tanh approximation. */
static double f_gelu(double x, double p)
{
    if (p != 0) return 0.5 * x * (1 + tanh(TF_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1 + erf(x / sqrt(2.0)));
}
static double g_gelu(double x, double y, double p)
{
    (void)y;
    if (p != 0) {
        double c = TF_SQRT_2_OVER_PI, u = c * (x + 0.044715 * x * x * x), t = tanh(u);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x);
    }
    return 0.5 * (1 + erf(x / sqrt(2.0))) + x * exp(-x * x / 2) / TF_SQRT_2PI;
}

/* ---- binary ----------------------------------------------------------------- */

static double b_add(double a, double b) { return a + b; }
static double b_sub(double a, double b) { return a - b; }
static double b_mul(double a, double b) { return a * b; }
static double b_div(double a, double b) { return a / b; }
static double b_div_nan(double a, double b) { return b == 0 ? 0 : a / b; }
static double b_pow(double a, double b) { return pow(a, b); }
static double b_max(double a, double b) { return a >= b ? a : b; }
static double b_min(double a, double b) { return a <= b ? a : b; }
static double b_sqdiff(double a, double b) { return (a - b) * (a - b); }
static double b_floordiv(double a, double b) { return floor(a / b); }
static double b_floormod(double a, double b) { double r = fmod(a, b); return r != 0 && (r < 0) != (b < 0) ? r + b : r; }

/* comparisons and logical ops: bool results as 0 / 1 */
static double b_greater(double a, double b) { return a > b; }
static double b_greater_equal(double a, double b) { return a >= b; }
static double b_less(double a, double b) { return a < b; }
static double b_less_equal(double a, double b) { return a <= b; }
static double b_equal(double a, double b) { return a == b; }
static double b_not_equal(double a, double b) { return a != b; }
static double b_and(double a, double b) { return a != 0 && b != 0; }
static double b_or(double a, double b) { return a != 0 || b != 0; }
static double b_xor(double a, double b) { return (a != 0) != (b != 0); }
static double f_not(double x, double p) { (void)p; return x == 0; }

static double d_one(double a, double b, double y) { (void)a, (void)b, (void)y; return 1; }
static double d_minus_one(double a, double b, double y) { (void)a, (void)b, (void)y; return -1; }
static double d_mul_a(double a, double b, double y) { (void)a, (void)y; return b; }
static double d_mul_b(double a, double b, double y) { (void)b, (void)y; return a; }
static double d_div_a(double a, double b, double y) { (void)a, (void)y; return 1 / b; }
static double d_div_b(double a, double b, double y) { (void)y; return -a / (b * b); }
static double d_div_nan_a(double a, double b, double y) { (void)a, (void)y; return b == 0 ? 0 : 1 / b; }
static double d_div_nan_b(double a, double b, double y) { (void)y; return b == 0 ? 0 : -a / (b * b); }
static double d_pow_a(double a, double b, double y) { (void)y; return b * pow(a, b - 1); }
/* TF: the exponent's gradient is 0 where the base is not positive. */
static double d_pow_b(double a, double b, double y) { (void)b; return a > 0 ? y * log(a) : 0; }
/* TF's maximum / minimum gradient goes to x where x >= y (<= y). */
static double d_max_a(double a, double b, double y) { (void)y; return a >= b ? 1 : 0; }
static double d_max_b(double a, double b, double y) { (void)y; return a >= b ? 0 : 1; }
static double d_min_a(double a, double b, double y) { (void)y; return a <= b ? 1 : 0; }
static double d_min_b(double a, double b, double y) { (void)y; return a <= b ? 0 : 1; }
static double d_sqdiff_a(double a, double b, double y) { (void)y; return 2 * (a - b); }
static double d_sqdiff_b(double a, double b, double y) { (void)y; return 2 * (b - a); }

/* ---- the table --------------------------------------------------------------- */

static const char *const P_X[] = {"x", NULL};
static const char *const P_FEATURES[] = {"features", NULL};
static const char *const P_INPUT[] = {"input", NULL};
static const char *const P_XY[] = {"x", "y", NULL};
static const char *const P_LEAKY[] = {"features", "alpha", NULL};
static const char *const P_GELU[] = {"features", "approximate", NULL};
static const char *const P_SILU[] = {"features", "beta", NULL};
static const char *const P_REDUCE[] = {"input_tensor", "axis", "keepdims", NULL};
static const char *const P_RESHAPE[] = {"tensor", "shape", NULL};
static const char *const P_EXPAND[] = {"input", "axis", NULL};
static const char *const P_SQUEEZE[] = {"input", "axis", "squeeze_dims", NULL};
static const char *const P_CONCAT[] = {"values", "axis", NULL};
static const char *const P_TRANSPOSE[] = {"a", "perm", "conjugate", NULL};
static const char *const P_MATMUL[] = {"a", "b", "transpose_a", "transpose_b", "adjoint_a", "adjoint_b",
                                       "a_is_sparse", "b_is_sparse", "output_type", NULL};
static const char *const P_SOFTMAX[] = {"logits", "axis", NULL};
static const char *const P_CAST[] = {"x", "dtype", NULL};
static const char *const P_GETITEM[] = {"tensor", "slice_spec", "var", NULL};
static const char *const P_ARG[] = {"input", "axis", "output_type", "dimension", NULL};
static const char *const P_L2[] = {"x", "axis", "epsilon", "dim", NULL};
static const char *const P_CLIP[] = {"t", "clip_value_min", "clip_value_max", NULL};
static const char *const P_TILE[] = {"input", "multiples", NULL};
static const char *const P_LIKE[] = {"input", "dtype", NULL};
static const char *const P_WHERE[] = {"condition", "x", "y", NULL};
static const char *const P_CUMSUM[] = {"x", "axis", "exclusive", "reverse", NULL};
static const char *const P_GATHER[] = {"params", "indices", "validate_indices", "axis", "batch_dims", NULL};
static const char *const P_ONE_HOT[] = {"indices", "depth", "on_value", "off_value", "axis", "dtype", NULL};
static const char *const P_SPLIT[] = {"value", "num_or_size_splits", "axis", "num", NULL};

#define UNARY(name, params, f, g) {name, TF_UNARY, params, f, g, NULL, NULL, NULL, NULL, 0, 0, 0}
#define UNARY_P(name, params, f, g, pname, pdef) {name, TF_UNARY, params, f, g, NULL, NULL, NULL, pname, pdef, 0, 0}
#define BINARY(name, f, ga, gb) {name, TF_BINARY, P_XY, NULL, NULL, f, ga, gb, NULL, 0, 0, 0}
#define BOOL_BINARY(name, f) {name, TF_BINARY, P_XY, NULL, NULL, f, NULL, NULL, NULL, 0, 0, 1}
#define OTHER(name, kind, params, which) {name, kind, params, NULL, NULL, NULL, NULL, NULL, NULL, 0, which, 0}

static const tf_op_def ops[] = {
    UNARY("math.exp", P_X, f_exp, g_exp),
    UNARY("math.log", P_X, f_log, g_log),
    UNARY("math.log1p", P_X, f_log1p, g_log1p),
    UNARY("math.expm1", P_X, f_expm1, g_expm1),
    UNARY("math.sqrt", P_X, f_sqrt, g_sqrt),
    UNARY("math.rsqrt", P_X, f_rsqrt, g_rsqrt),
    UNARY("math.square", P_X, f_square, g_square),
    UNARY("math.abs", P_X, f_abs, g_abs),
    UNARY("math.negative", P_X, f_neg, g_neg),
    UNARY("math.reciprocal", P_X, f_recip, g_recip),
    UNARY("math.sigmoid", P_X, f_sigmoid, g_sigmoid),
    UNARY("math.log_sigmoid", P_X, f_log_sigmoid, g_log_sigmoid),
    UNARY("math.tanh", P_X, f_tanh, g_tanh),
    UNARY("math.sin", P_X, f_sin, g_sin),
    UNARY("math.cos", P_X, f_cos, g_cos),
    UNARY("math.erf", P_X, f_erf, g_erf),
    UNARY("math.erfc", P_X, f_erfc, g_erfc),
    UNARY("math.sign", P_X, f_sign, NULL),
    UNARY("math.floor", P_X, f_floor, NULL),
    UNARY("math.ceil", P_X, f_ceil, NULL),
    UNARY("math.round", P_X, f_round, NULL),
    UNARY("math.softplus", P_FEATURES, f_softplus, g_softplus),
    UNARY("nn.softplus", P_FEATURES, f_softplus, g_softplus),
    UNARY("nn.softsign", P_FEATURES, f_softsign, g_softsign),
    UNARY("math.softsign", P_FEATURES, f_softsign, g_softsign),
    UNARY("nn.relu", P_FEATURES, f_relu, g_relu),
    UNARY("nn.relu6", P_FEATURES, f_relu6, g_relu6),
    UNARY("nn.elu", P_FEATURES, f_elu, g_elu),
    UNARY("nn.selu", P_FEATURES, f_selu, g_selu),
    UNARY_P("nn.leaky_relu", P_LEAKY, f_leaky, g_leaky, "alpha", 0.2),
    UNARY_P("nn.silu", P_SILU, f_silu, g_silu, "beta", 1.0),
    UNARY_P("nn.gelu", P_GELU, f_gelu, g_gelu, "approximate", 0),
    UNARY("identity", P_INPUT, f_ident, g_ident),
    BINARY("math.add", b_add, d_one, d_one),
    BINARY("__operators__.add", b_add, d_one, d_one),
    BINARY("math.subtract", b_sub, d_one, d_minus_one),
    BINARY("math.multiply", b_mul, d_mul_a, d_mul_b),
    BINARY("math.truediv", b_div, d_div_a, d_div_b),
    BINARY("math.divide", b_div, d_div_a, d_div_b),
    BINARY("math.divide_no_nan", b_div_nan, d_div_nan_a, d_div_nan_b),
    BINARY("math.pow", b_pow, d_pow_a, d_pow_b),
    BINARY("math.maximum", b_max, d_max_a, d_max_b),
    BINARY("math.minimum", b_min, d_min_a, d_min_b),
    BINARY("math.squared_difference", b_sqdiff, d_sqdiff_a, d_sqdiff_b),
    BINARY("math.floordiv", b_floordiv, NULL, NULL),
    BINARY("compat.v1.floor_div", b_floordiv, NULL, NULL),
    BINARY("math.floormod", b_floormod, NULL, NULL),
    BOOL_BINARY("math.greater", b_greater),
    BOOL_BINARY("math.greater_equal", b_greater_equal),
    BOOL_BINARY("math.less", b_less),
    BOOL_BINARY("math.less_equal", b_less_equal),
    BOOL_BINARY("math.equal", b_equal),
    BOOL_BINARY("math.not_equal", b_not_equal),
    BOOL_BINARY("math.logical_and", b_and),
    BOOL_BINARY("math.logical_or", b_or),
    BOOL_BINARY("math.logical_xor", b_xor),
    {"math.logical_not", TF_UNARY, P_X, f_not, NULL, NULL, NULL, NULL, NULL, 0, 0, 1},
    /* on 0 / 1 tensors any is max and all is min */
    {"math.reduce_any", TF_REDUCE, P_REDUCE, NULL, NULL, NULL, NULL, NULL, NULL, 0, TF_MAX, 1},
    {"math.reduce_all", TF_REDUCE, P_REDUCE, NULL, NULL, NULL, NULL, NULL, NULL, 0, TF_MIN, 1},
    OTHER("where", TF_WHERE, P_WHERE, 0),
    OTHER("math.cumsum", TF_CUMSUM, P_CUMSUM, 0),
    OTHER("compat.v1.gather", TF_GATHER, P_GATHER, 0),
    OTHER("gather", TF_GATHER, P_GATHER, 0),
    OTHER("one_hot", TF_ONE_HOT, P_ONE_HOT, 0),
    OTHER("split", TF_SPLIT, P_SPLIT, 0),
    OTHER("math.reduce_sum", TF_REDUCE, P_REDUCE, TF_SUM),
    OTHER("math.reduce_mean", TF_REDUCE, P_REDUCE, TF_MEAN),
    OTHER("math.reduce_max", TF_REDUCE, P_REDUCE, TF_MAX),
    OTHER("math.reduce_min", TF_REDUCE, P_REDUCE, TF_MIN),
    OTHER("math.reduce_prod", TF_REDUCE, P_REDUCE, TF_PROD),
    OTHER("math.reduce_logsumexp", TF_REDUCE, P_REDUCE, TF_LOGSUMEXP),
    OTHER("math.reduce_variance", TF_REDUCE, P_REDUCE, TF_VARIANCE),
    OTHER("math.reduce_std", TF_REDUCE, P_REDUCE, TF_STD),
    OTHER("math.reduce_euclidean_norm", TF_REDUCE, P_REDUCE, TF_NORM),
    OTHER("math.argmax", TF_REDUCE, P_ARG, TF_ARGMAX),
    OTHER("math.argmin", TF_REDUCE, P_ARG, TF_ARGMIN),
    OTHER("math.l2_normalize", TF_NORMALIZE, P_L2, TF_L2_NORMALIZE),
    OTHER("nn.l2_normalize", TF_NORMALIZE, P_L2, TF_L2_NORMALIZE),
    OTHER("clip_by_value", TF_CLIP, P_CLIP, 0),
    OTHER("tile", TF_TILE, P_TILE, 0),
    OTHER("zeros_like", TF_FILL, P_LIKE, 0),
    OTHER("ones_like", TF_FILL, P_LIKE, 1),
    OTHER("reshape", TF_RESHAPE, P_RESHAPE, 0),
    OTHER("expand_dims", TF_EXPAND_DIMS, P_EXPAND, 0),
    OTHER("squeeze", TF_SQUEEZE, P_SQUEEZE, 0),
    OTHER("compat.v1.squeeze", TF_SQUEEZE, P_SQUEEZE, 0),
    OTHER("concat", TF_CONCAT, P_CONCAT, 0),
    OTHER("stack", TF_STACK, P_CONCAT, 0),
    OTHER("transpose", TF_TRANSPOSE, P_TRANSPOSE, 0),
    OTHER("compat.v1.transpose", TF_TRANSPOSE, P_TRANSPOSE, 0),
    OTHER("linalg.matmul", TF_MATMUL, P_MATMUL, 0),
    OTHER("matmul", TF_MATMUL, P_MATMUL, 0),
    OTHER("nn.softmax", TF_SOFTMAX, P_SOFTMAX, 0),
    OTHER("nn.log_softmax", TF_SOFTMAX, P_SOFTMAX, 1),
    OTHER("cast", TF_CAST, P_CAST, 0),
    OTHER("__operators__.getitem", TF_SLICE, P_GETITEM, 0),
};

const tf_op_def *tf_op_find(const char *function)
{
    for (size_t i = 0; function && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].function, function) == 0) return &ops[i];
    return NULL;
}
