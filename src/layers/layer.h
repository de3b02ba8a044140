/* The Layer contract: the base struct every concrete layer embeds as its
 * first member, the class table, and the helpers layer files share.
 * Internal (not installed); the public side is the LAYERS section of
 * include/ckeras.h. */
#ifndef CK_LAYER_H
#define CK_LAYER_H

#include <jansson.h>

#include "ckeras.h"
#include "core/core.h"
#include "params/params.h"

/* Keras' InputSpec: what the base checks before build and before every
 * call.  0 / -1 fields are unset. */
typedef struct ck_input_spec {
    int ndim;          /* exact rank, 0 = any (rank-0 specs are not used) */
    int min_ndim;      /* 0 = none */
    int max_ndim;      /* 0 = none */
    int has_last_dim;  /* axes={-1: last_dim} after a Dense build */
    int64_t last_dim;
} ck_input_spec;

struct ck_weight {
    char *name;                 /* "dense/kernel:0" */
    ck_tensor *value;
    int trainable;
    ck_regularizer *regularizer;
    ck_constraint *constraint;
    /* Training: where backward passes add d(loss)/d(value) (same dtype and
     * shape), set by the trainer for the weights it updates; NULL means
     * "no gradient wanted" (frozen, non-trainable, or not training). */
    ck_tensor *grad;
};

typedef struct ck_extra_loss {
    ck_loss_fn fn;
    void *user;
    double value;
} ck_extra_loss;

/* Most inputs one layer call takes (a merge of many branches). */
#define CK_MAX_LAYER_INPUTS 64

/* How many inputs a class takes: exactly one tensor, or a list. */
typedef enum ck_arity { CK_ONE_INPUT = 0, CK_LIST_OF_INPUTS = 1 } ck_arity;

/* What a training-mode call needs beyond the inputs (owned by the caller,
 * the trainer).  `training` 0 runs the inference behaviour with the
 * backward bookkeeping (Keras' training=False inside a GradientTape). */
typedef struct ck_train_ctx {
    int training;   /* Dropout drops, BatchNormalization uses batch statistics
                       and updates its moving statistics */
    ck_rng *rng;    /* random stream for Dropout, AlphaDropout, noise layers */
    const ck_tensor *mask; /* the mask of input 0 of this call, or NULL (set
                              per step by the graph for the classes with
                              call_masked) */
    const ck_tensor *const *masks; /* every input's mask (NULL entries:
                              none), or NULL when no input has one (set per
                              step by the graph for the classes with
                              call_masks) */
} ck_train_ctx;

struct ck_node; /* one call of a layer on symbolic tensors (below) */

typedef struct ck_layer_class {
    const char *class_name;
    size_t size;                 /* sizeof the concrete struct */
    ck_arity arity;
    int min_inputs, max_inputs;  /* for lists; Dot: 2..2 */
    int cast_all_inputs;         /* Dense: integer inputs are cast too */
    int no_autocast;             /* Embedding: inputs are indices, never cast */
    int supports_masking;
    /* The input spec describes input 0 only; further inputs are the
     * class' own business (a recurrent layer's initial states). */
    int spec_first_input_only;
    /* .keras archives: the sub-path below the layer's own where its weights
     * live ("cell" for SimpleRNN / LSTM / GRU, whose variables Keras 3 and
     * tf.keras 2.13+ store as the cell's); NULL: the layer's own vars. */
    const char *archive_vars_path;
    /* Output shapes come from user code (a custom layer's callback), which
     * may read state that changes between calls: ck_layer_call_into checks
     * every call in full rather than trusting its memo. */
    int shapes_from_user_code;

    /* Creates the weights for these input shapes (may be NULL: no weights). */
    ck_status (*build)(ck_layer *layer, int n, const ck_shape *shapes);
    /* Computes outputs[0] (already shaped and typed) from the inputs. */
    ck_status (*call)(ck_layer *layer, int n, const ck_tensor *const *in,
                      ck_tensor *const *out);
    ck_status (*compute_output_shape)(const ck_layer *layer, int n,
                                      const ck_shape *in, ck_shape *out);
    /* dtype of the output for these input dtypes; NULL gives the default:
     * the layer dtype if the inputs are cast (floating ones always, all of
     * them with cast_all_inputs), else the first input's dtype. */
    ck_dtype (*output_dtype)(const ck_layer *layer, int n, const ck_dtype *in);
    /* NULL: the default (pass the first mask through if supports_masking). */
    ck_status (*compute_mask)(const ck_layer *layer, int n,
                              const ck_tensor *const *in,
                              const ck_tensor *const *masks, ck_tensor **out);
    /* Adds the class' keys to `config` (the base keys are already there). */
    ck_status (*get_config)(const ck_layer *layer, json_t *config);
    /* Creates the layer from a config object (the inner "config"). */
    ck_status (*from_config)(const json_t *config, ck_layer **out);
    /* Sublayers whose weights count as this layer's (a nested model);
     * NULL: none. */
    int (*sublayer_count)(const ck_layer *layer);
    ck_layer *(*sublayer)(const ck_layer *layer, int i);
    /* Frees what the concrete layer owns (not the base, not the struct). */
    void (*destroy)(ck_layer *layer);

    /* ---- training (see layer_train.c for the contract) ---------------- */
    /* Bytes of state one training call keeps for its backward (a
     * pre-activation, a dropout mask, batch statistics, argmax indices,
     * scratch that backward needs), for these input and output shapes.
     * NULL: none. */
    size_t (*saved_bytes)(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
    /* Forward pass of a training step into out[0] (already shaped), filling
     * `saved` (saved_bytes bytes, 64-byte aligned, uninitialised).  Does
     * the layer's updates when ctx->training (BatchNormalization's moving
     * statistics).  NULL: `call` is used. */
    ck_status (*train_call)(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            ck_tensor *const *out, void *saved);
    /* Backward pass of that call: from the inputs, the output, the
     * output's gradient `dout` and `saved` (which it may overwrite: it is
     * not read again), WRITES din[i] (in[i]'s shape and dtype; NULL entries:
     * not wanted, e.g. integer inputs or model inputs) and ADDS each
     * weight's gradient into weight->grad where that is not NULL (a shared
     * layer's several calls sum there).  NULL: the class cannot be trained
     * (fit gives CK_NOT_IMPLEMENTED naming it). */
    ck_status (*backward)(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

    /* ---- inference scratch (the inference analogue of saved_bytes) ----
     * A class whose inference call needs working memory (Conv2D's im2col
     * rows, BatchNormalization's coefficients, Dot's normalised copies, a
     * nested model's values) declares it here instead of allocating it or
     * keeping it in the layer: a model plans it with its predict buffers,
     * one region per ck_predictor, so calls allocate nothing and several
     * predictors can run one model's layers at once (the layer itself is
     * only read).  `call_scratch_bytes` (NULL: none) for these shapes;
     * `call_scratch` computes like `call` with `scratch` of that size,
     * 64-byte aligned, uninitialised.  Such a class sets `.call =
     * ck_layer_call_own_scratch`, which allocates the scratch for eager
     * calls. */
    size_t (*call_scratch_bytes)(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
    ck_status (*call_scratch)(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                              void *scratch);

    /* ---- functional configs: keyword arguments of a call --------------
     * Layers whose Keras call takes tensors or options by keyword
     * (MultiHeadAttention's value / key / attention_mask, TFOpLambda's
     * function arguments) find them in the inbound node's kwargs (tf.keras
     * 2.x: the 4th item of a node entry; Keras 3: the node's "kwargs").
     * `node_kwargs` (NULL: kwargs are ignored) is called with a node's
     * whole kwargs object (tensor references included, as JSON) before
     * the layer is applied to that node, so the layer can record what the
     * call asked for.  `kwarg_inputs` (NULL-terminated names; NULL: none)
     * are the keyword arguments that hold tensors: the loader resolves
     * those present and appends them, in this order, after the
     * positional inputs. */
    ck_status (*node_kwargs)(ck_layer *layer, const json_t *kwargs);
    const char *const *kwarg_inputs;

    /* ---- .keras archives: weights in several groups --------------------
     * For classes whose weights sit in different groups below the layer's
     * own path (the wrappers: "forward_layer/cell", "layer",
     * "cell/cells/lstm_cell"; MultiHeadAttention's "_query_dense", ...,
     * which Keras 3 writes without the leading underscore, a spelling
     * loading also tries): writes the group of weight i (in
     * ck_layer_weight order) into `group` ("" for the layer's own vars)
     * and returns its index in that group's "vars", or -1 with an error
     * recorded.  NULL: every weight in archive_vars_path, in order. */
    int (*archive_var)(const ck_layer *layer, int i, char *group, size_t n);

    /* `node_call` (NULL: not called), for classes whose call arguments
     * are more than tensors (TFOpLambda): called after node_kwargs with
     * the call in one normalised form for every dialect: `args` the first
     * positional argument's structure and `kwargs` the keyword arguments
     * (an object, never NULL), both with each tensor replaced by
     * {"__ck_input__": k} (the layer's k-th input in the node) and each
     * constant positional leaf by {"__ck_constant__": value}.  The loader
     * keeps this form on the node (ck_node.call_args / call_kwargs) and
     * writes it back in tf.keras 2.x form when the model is saved, so a
     * class needs no hook to save its calls. */
    ck_status (*node_call)(ck_layer *layer, const json_t *args, const json_t *kwargs);

    /* ---- several outputs per call ----------------------------------------
     * `output_count` (NULL: 1) is how many tensors one call returns (an RNN
     * with return_state: its output, then its states; a nested model: its
     * outputs).  A class with several outputs fills out[0 .. count-1] in
     * compute_output_shape, call, call_scratch and train_call;
     * call_scratch_bytes and saved_bytes receive the count output shapes;
     * its backward receives `out` and `dout` as arrays of count tensors
     * (out[k], dout[k]), every dout filled (zeros where no gradient
     * reached that output).  `output_dtypes` (NULL: every output has
     * ck_layer_output_dtype) gives each output's dtype. */
    int (*output_count)(const ck_layer *layer);
    void (*output_dtypes)(const ck_layer *layer, int n, const ck_dtype *in, ck_dtype *out);

    /* ---- masks in graphs (Keras' _keras_mask; masks.c) ----------------
     * A mask is an int32 0/1 tensor over the leading (batch, time) dims
     * of a value.  In a graph each value may carry one, decided when the
     * layer is applied by the class' rule (mask_rule; NULL: the rule
     * follows from the other fields, see ck_layer_mask_rule).  A class
     * that makes masks (Embedding with mask_zero, Masking) gives their
     * shape (made_mask_shape) and writes them into a planned buffer
     * (make_mask).  A class that reads the mask of its input 0 (the
     * recurrent layers skip masked steps) has `call_masked` (inference,
     * with the call scratch of call_scratch_bytes) and reads ctx->mask in
     * train_call and backward. */
    int (*mask_rule)(const ck_layer *layer);
    ck_shape (*made_mask_shape)(const ck_layer *layer, const ck_shape *in0);
    ck_status (*make_mask)(const ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *mask);
    ck_status (*call_masked)(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                             ck_tensor *const *out, void *scratch);
    /* A class that reads the masks of several inputs (the attention
     * layers: the query's and the value's) has `call_masks` instead:
     * inference with every input's mask (`masks[i]` NULL: none), called
     * when at least one input has a mask; its train_call and backward read
     * ctx->masks. */
    ck_status (*call_masks)(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                            ck_tensor *const *out, void *scratch);

    /* `record_call` (NULL: none): for a node just made by ck_layer_apply,
     * records the call's keyword arguments on the node
     * (ck_node_record_kwarg_inputs) so that saving writes the call as
     * tf.keras does (MultiHeadAttention's value / key / attention_mask by
     * keyword, the attention layers' use_causal_mask and
     * return_attention_scores).  The config loader replaces the record
     * with the file's own call. */
    ck_status (*record_call)(const ck_layer *layer, struct ck_node *node);

    /* A class that combines the masks of its inputs (CK_MASK_COMBINE:
     * Concatenate) gives the shape of the result for inputs of shapes
     * `in` whose masks have shapes `masks` (rank -1: no mask), or an error
     * when they cannot be combined, and writes it into a planned buffer
     * (`masks` entries NULL: none). */
    ck_status (*combined_mask_shape)(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *masks,
                                     ck_shape *out);
    ck_status (*combine_masks)(const ck_layer *layer, int n, const ck_tensor *const *in,
                               const ck_tensor *const *masks, ck_tensor *out);
    /* CK_MASK_PASS: how many leading outputs carry input 0's mask (NULL:
     * 1; Bidirectional with merge_mode None returns two sequences). */
    int (*passed_mask_outputs)(const ck_layer *layer);
} ck_layer_class;

/* How a call's output mask comes about (ck_layer_class.mask_rule). */
enum {
    CK_MASK_NONE = 0,     /* no output mask (the incoming ones are dropped) */
    CK_MASK_PASS,         /* output 0 carries input 0's mask unchanged */
    CK_MASK_MAKE,         /* the class makes one (made_mask_shape, make_mask) */
    CK_MASK_AND,          /* the elementwise merges: AND of the masks given */
    CK_MASK_COMBINE       /* the class combines the masks given (combined_mask_shape, combine_masks) */
};

/* The rule of a layer: the class hook, else AND for the elementwise
 * merges, NONE for other classes with their own compute_mask (Dot,
 * Concatenate, the global poolings), PASS when supports_masking, else
 * NONE (tf.keras 2.15 drops a mask reaching a layer without support in
 * a functional graph). */
int ck_layer_mask_rule(const ck_layer *layer);

/* The mask a symbolic tensor carries (Keras' _keras_mask), or NULL. */
ck_tensor *ck_tensor_mask(const ck_tensor *t);

/* Sets node->masks for a node just made by a symbolic call (the class'
 * rule over its inputs' masks); frees them. */
struct ck_node;
ck_status ck_node_set_masks(struct ck_node *node);
void ck_node_free_masks(struct ck_node *node);

/* The shape of the mask a call makes by its rule (CK_MASK_MAKE, AND or
 * COMBINE) from its inputs' shapes and their masks' shapes (rank -1: no
 * mask); rank -1 in *out when the rule makes none (AND, COMBINE with no
 * mask given); an error when the masks cannot be combined. */
ck_status ck_rule_mask_shape(const ck_layer *layer, int rule, int n, const ck_shape *in, const ck_shape *masks,
                             ck_shape *out);

/* How many leading outputs carry input 0's mask under CK_MASK_PASS. */
int ck_layer_passed_mask_outputs(const ck_layer *layer);

/* out = AND of the masks given (NULL entries skipped), int32 0/1, all of
 * out's shape. */
void ck_mask_and_into(int n, const ck_tensor *const *masks, ck_tensor *out);

/* Most outputs one layer call returns. */
#define CK_MAX_LAYER_OUTPUTS 64

/* The signature of the last ck_layer_call_into that passed every check
 * with one input, used as given (no cast), and one output.  A built
 * layer's input spec, dtype and output rule never change, so a call with
 * the same dtypes and shapes would pass the same checks and skips them:
 * what is left of a small Dense call is the product itself. */
typedef struct ck_call_memo {
    int valid;
    ck_dtype in_dtype, out_dtype;
    ck_shape in, out;
} ck_call_memo;

struct ck_layer {
    const ck_layer_class *cls;
    char *name;
    int trainable;
    ck_dtype dtype;
    int built;
    ck_input_spec spec;
    int has_batch_input_shape;
    ck_shape batch_input_shape;
    int n_build_shapes;
    ck_shape *build_shapes;     /* recorded by the base build (owned) */
    ck_weight **weights;        /* creation order */
    int n_weights;
    ck_regularizer *activity_regularizer;
    double activity_loss;       /* of the last call (one output) */
    int n_activity_losses;      /* 0 or 1 */
    ck_extra_loss *extra_losses;
    int n_extra_losses;
    ck_tensor **initial_weights; /* Keras' weights= kwarg: set after build */
    int n_initial_weights;
    _Atomic int refs;           /* owners: the creator, models, consumer nodes,
                                   predictors (atomic: threads make and drop
                                   predictors of one model at once) */
    int fixed_inputs;           /* > 0: exact input count (a nested model) */
    struct ck_node **inbound;   /* node history: one node per symbolic call */
    int n_inbound;
    int n_outbound;             /* nodes of other calls that consume our outputs */
    ck_call_memo last_call;     /* layer_call.c */
};

/* Where a symbolic tensor comes from (Keras' _keras_history). */
typedef struct ck_keras_history {
    ck_layer *layer;
    int node_index;
    int tensor_index;
} ck_keras_history;

/* One call of a layer on symbolic tensors (Keras' Node).  The node owns its
 * output tensors; its input tensors belong to the producing layers' nodes,
 * which the node keeps alive with a reference on each producer. */
typedef struct ck_node {
    ck_layer *layer;
    int index;                  /* position in layer->inbound */
    int n_inputs;
    ck_tensor **inputs;         /* borrowed */
    ck_layer **producers;       /* one per input; NULL for none or self */
    int n_outputs;
    ck_tensor **outputs;        /* owned symbolic tensors */
    int is_input;               /* the InputLayer's own node */
    /* The call as a functional config described it (model/node_call.c),
     * for writing it back: both NULL for a plain call on `inputs`.
     * call_kwargs: the keyword arguments (tensors as {"__ck_input__": k});
     * call_args: the first argument's structure when it is not a plain
     * list of the first n_args inputs (a bare tensor, a nested list,
     * constants as {"__ck_constant__": v}), else NULL.  The first n_args
     * inputs come from the positional argument, the rest from kwargs. */
    json_t *call_args;
    json_t *call_kwargs;
    int n_args;

    /* The outputs' masks (n_outputs entries, NULL: none): int32 symbolic
     * tensors, owned where mask_owned[k] (made or combined by this call),
     * else borrowed from the input they pass through from.  NULL arrays
     * when no output has a mask. */
    ck_tensor **masks;
    unsigned char *mask_owned;
} ck_node;

/* A new symbolic tensor (data NULL, dims -1 allowed) produced by `layer` at
 * `node_index`, output `tensor_index`. */
ck_status ck_symbolic_new(ck_tensor **out, ck_dtype dtype, const ck_shape *shape, ck_layer *layer,
                          int node_index, int tensor_index);
/* Frees a symbolic tensor and its history. */
void ck_symbolic_free(ck_tensor *t);
/* The history of a symbolic tensor, or NULL for a concrete one. */
const ck_keras_history *ck_tensor_history(const ck_tensor *t);

/* Appends a node to layer->inbound (inputs borrowed, outputs owned by the
 * node from now on, also on failure); takes references on producers. */
ck_status ck_layer_add_node(ck_layer *layer, int n_in, ck_tensor *const *inputs, int n_out,
                            ck_tensor **outputs, int is_input, ck_node **out);

/* Records that a node's inputs after the first n_args came by keyword
 * (names[i] for input n_args + i; `extra` (may be NULL) the other keyword
 * arguments, copied), so that saving writes e.g. MultiHeadAttention's
 * [q, v, k] node as mha(q, value=v, key=k), as tf.keras does.  For nodes
 * made from C; the config loader records its nodes itself. */
ck_status ck_node_record_kwarg_inputs(ck_node *node, int n_args, const char *const *names, const json_t *extra);

/* Frees the node history of a layer (releasing producer references). */
void ck_layer_free_nodes(ck_layer *layer);

/* Takes one more reference on a layer (ck_layer_free drops one). */
void ck_layer_retain(ck_layer *layer);

/* Next uid for a prefix (1, 2, ...), tf.keras backend.get_uid; 0 on
 * failure.  Shared with the automatic layer names. */
long ck_name_uid(const char *prefix);

/* The scratch a call needs for these shapes (the class hook, rounded up
 * to 64; 0 for none). */
size_t ck_layer_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);

/* `.call` of the classes with call_scratch: allocates the scratch, runs
 * call_scratch, frees it (eager calls and training). */
ck_status ck_layer_call_own_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out);

/* Bytes a planned call takes from the front of its scratch to cast inputs
 * of these dtypes and shapes to the layer's dtype (integer inputs of
 * cast_all_inputs classes, floating inputs of another precision). */
size_t ck_layer_cast_scratch_bytes(const ck_layer *layer, int n, const ck_dtype *dtypes, const ck_shape *in);

/* The planned inference call of a model step: the input casts of
 * ck_layer_call_into made into the front of `scratch`, then the class'
 * call with the rest (ck_layer_cast_scratch_bytes plus
 * ck_layer_call_scratch_bytes bytes for these inputs; NULL when that is
 * 0).  It reads the layer and writes only `outputs` and `scratch` (no
 * activity loss is recorded: predict does not report losses), so
 * predictors of one model may run it in parallel. */
ck_status ck_layer_call_planned(ck_layer *layer, int n, const ck_tensor *const *inputs,
                                ck_tensor *const *outputs, void *scratch);

/* The same with the mask of input 0, for the classes with call_masked. */
ck_status ck_layer_call_planned_masked(ck_layer *layer, int n, const ck_tensor *const *inputs,
                                       const ck_tensor *mask, ck_tensor *const *outputs, void *scratch);

/* The same with every input's mask (NULL entries), for the classes with
 * call_masks. */
ck_status ck_layer_call_planned_masks(ck_layer *layer, int n, const ck_tensor *const *inputs,
                                      const ck_tensor *const *masks, ck_tensor *const *outputs, void *scratch);

/* The arity and input-spec checks of a call, without building. */
ck_status ck_layer_check_inputs(const ck_layer *layer, int n, const ck_shape *shapes);

/* The output dtype for these input dtypes (the class hook or the default). */
ck_dtype ck_layer_output_dtype(const ck_layer *layer, int n, const ck_dtype *in);

/* How many tensors a call of the layer returns (the class hook, or 1). */
int ck_layer_outputs_of(const ck_layer *layer);

/* The dtypes of every output (ck_layer_outputs_of of them). */
void ck_layer_output_dtypes_of(const ck_layer *layer, int n, const ck_dtype *in, ck_dtype *out);

/* The class' compute_output_shape: every output's shape into out[0 ..
 * ck_layer_outputs_of - 1]. */
ck_status ck_layer_output_shapes_of(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out);

/* ---- training calls (layer_train.c) ------------------------------------ */

/* Bytes the class keeps per training call (0 when it keeps nothing),
 * rounded up to 64; SIZE_MAX when the class could not tell (an error is
 * recorded). */
size_t ck_layer_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);

/* A training-mode call: the checks of ck_layer_call_into (arity, input
 * spec, build on first call, output shape and dtype), inputs used as they
 * are (they must already have the layer dtype, except integer inputs of
 * classes that take them), the activity regularizer loss recorded, and the
 * class' train_call (or call). */
ck_status ck_layer_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                              ck_tensor *const *out, void *saved);

/* The backward pass of a ck_layer_train_call with the same arguments: adds
 * the activity regularizer's gradient to `dout` (which is therefore
 * writable), then runs the class' backward.  CK_NOT_IMPLEMENTED when the
 * class has none. */
ck_status ck_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            const ck_tensor *out, ck_tensor *dout, void *saved, ck_tensor *const *din);

/* Records the activity regularizer loss of a call's output (tf.keras 2.x:
 * divided by the batch size). */
ck_status ck_layer_record_activity_loss(ck_layer *layer, const ck_tensor *output);

/* 1 when the class (and for a model, every layer in it) has a backward. */
int ck_layer_can_train(const ck_layer *layer);

/* ---- construction (used by concrete layers) ----------------------------- */

/* Allocates cls->size zeroed bytes and fills the base from the common
 * options (name, trainable (false: frozen), dtype, input shape, activity
 * regularizer).
 * `prefix_default` NULL derives the auto-name prefix from the class name. */
ck_status ck_layer_create(const ck_layer_class *cls, const char *name,
                          bool trainable, ck_dtype dtype,
                          const ck_shape *input_shape, int64_t batch_size,
                          const char *activity_regularizer, ck_layer **out);

/* Parses the base keys of a config (name, trainable, dtype in string or
 * DTypePolicy form, batch_input_shape / batch_shape, input_dim, Keras 1
 * input_dtype, activity_regularizer) and creates the layer through
 * ck_layer_create.  `known` lists the class' own keys (NULL-terminated);
 * any other key is a CK_TYPE_ERROR ("Keyword argument not understood"). */
ck_status ck_layer_create_from_config(const ck_layer_class *cls,
                                      const json_t *config,
                                      const char *const *known,
                                      ck_layer **out);

/* add_weight with parsed objects (borrowed: the weight keeps copies of the
 * regularizer and constraint).  init NULL: glorot_uniform / zeros.  dtype 0:
 * the layer dtype.  trainable false makes a non-trainable weight. */
ck_status ck_layer_add_weight_with(ck_layer *layer, const char *name, const ck_shape *shape,
                                   ck_dtype dtype, const ck_initializer *init,
                                   const ck_regularizer *reg, const ck_constraint *con,
                                   bool trainable, ck_weight **out);

/* Frees a weight and what it owns (NULL is fine). */
void ck_weight_free(ck_weight *w);

/* Removes the weights added after the first `keep` (undoes a failed build). */
void ck_layer_drop_weights_from(ck_layer *layer, int keep);

/* Keras' to_snake_case(class_name) into buf. */
void ck_snake_case(const char *class_name, char *buf, size_t n);

/* Next automatic name for a prefix: "dense", "dense_1", ... (ck_malloc'ed). */
char *ck_unique_name(const char *prefix);

/* ---- the classes of this floor (the registry is in model/registry.c) --- */

extern const ck_layer_class ck_dense_class;
extern const ck_layer_class ck_dot_class;
/* core, merging, normalization and activation layers (one file each) */
extern const ck_layer_class ck_flatten_class;
extern const ck_layer_class ck_reshape_class;
extern const ck_layer_class ck_dropout_class;
extern const ck_layer_class ck_alpha_dropout_class;
extern const ck_layer_class ck_activation_layer_class;
extern const ck_layer_class ck_embedding_class;
extern const ck_layer_class ck_concatenate_class;
extern const ck_layer_class ck_add_class;
extern const ck_layer_class ck_subtract_class;
extern const ck_layer_class ck_multiply_class;
extern const ck_layer_class ck_average_class;
extern const ck_layer_class ck_maximum_class;
extern const ck_layer_class ck_minimum_class;
extern const ck_layer_class ck_batch_normalization_class;
extern const ck_layer_class ck_normalization_class;
extern const ck_layer_class ck_relu_class;
extern const ck_layer_class ck_leaky_relu_class;
extern const ck_layer_class ck_elu_class;
extern const ck_layer_class ck_thresholded_relu_class;
extern const ck_layer_class ck_softmax_class;
extern const ck_layer_class ck_merge_legacy_class; /* Keras 1 "Merge", read as the modern layer */
extern const ck_layer_class ck_input_layer_class;
extern const ck_layer_class ck_conv2d_class;
extern const ck_layer_class ck_convolution2d_legacy_class; /* Keras 1 "Convolution2D", read as Conv2D */
extern const ck_layer_class ck_max_pooling2d_class;
/* pooling and reshaping layers (pooling.c, global_pooling.c, upsampling.c,
 * padding_cropping.c, repeat_permute.c, layer_normalization.c) */
extern const ck_layer_class ck_max_pooling1d_class;
extern const ck_layer_class ck_average_pooling1d_class;
extern const ck_layer_class ck_average_pooling2d_class;
extern const ck_layer_class ck_max_pooling3d_class;
extern const ck_layer_class ck_average_pooling3d_class;
extern const ck_layer_class ck_global_average_pooling1d_class;
extern const ck_layer_class ck_global_average_pooling2d_class;
extern const ck_layer_class ck_global_average_pooling3d_class;
extern const ck_layer_class ck_global_max_pooling1d_class;
extern const ck_layer_class ck_global_max_pooling2d_class;
extern const ck_layer_class ck_global_max_pooling3d_class;
extern const ck_layer_class ck_up_sampling1d_class;
extern const ck_layer_class ck_up_sampling2d_class;
extern const ck_layer_class ck_up_sampling3d_class;
extern const ck_layer_class ck_zero_padding1d_class;
extern const ck_layer_class ck_zero_padding2d_class;
extern const ck_layer_class ck_zero_padding3d_class;
extern const ck_layer_class ck_cropping1d_class;
extern const ck_layer_class ck_cropping2d_class;
extern const ck_layer_class ck_cropping3d_class;
extern const ck_layer_class ck_repeat_vector_class;
extern const ck_layer_class ck_permute_class;
extern const ck_layer_class ck_layer_normalization_class;
extern const ck_layer_class ck_masking_class;

/* get_config as a new {"class_name", "config"} JSON object. */
ck_status ck_layer_config_json(const ck_layer *layer, json_t **out);

/* ---- JSON helpers for configs ------------------------------------------ */

/* Reads a Keras shape (list of ints / nulls) into *out; CK_VALUE_ERROR. */
ck_status ck_json_to_shape(const json_t *j, const char *what, ck_shape *out);
/* A JSON list with nulls for unknown dims (new reference; NULL on OOM). */
json_t *ck_shape_to_json(const ck_shape *s);
/* Formats a ck_shape like Python. */
char *ck_shape_fmt(char *buf, size_t n, const ck_shape *s);
/* Sets obj[key] = value, stealing the reference; CK_OUT_OF_MEMORY. */
ck_status ck_json_set(json_t *obj, const char *key, json_t *value);

/* ck_shape of a tensor (inline: every layer call takes its inputs' and
 * outputs' shapes, and a call across files cost a Dense 64->64 call at
 * batch 1 a tenth of its time). */
static inline ck_shape ck_tensor_shape(const ck_tensor *t)
{
    ck_shape s;
    s.rank = t->rank;
    for (int i = 0; i < CK_MAX_RANK; i++) s.dims[i] = i < t->rank ? t->shape[i] : 0;
    return s;
}

#endif
