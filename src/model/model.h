/* The model floor: functional graphs of layers (tf.keras Functional and
 * Sequential).  A model is itself a layer (class "Functional" or
 * "Sequential"), so it can be nested in another model. */
#ifndef CK_MODEL_H
#define CK_MODEL_H

#include "layers/layer.h"

/* One step of the planned execution: a node and the value slots of its
 * inputs and outputs.  A node's outputs take consecutive slots (out_slot,
 * out_slot + 1, ...), so a plan's tensors for them form the array a
 * layer call fills. */
typedef struct ck_step {
    ck_node *node;
    int n_in;
    int *in_slots;
    int out_slot;               /* the first output's */
    int n_out;
    /* Masks (masks.c): the slot of each input's and output's mask, -1 for
     * none; mask_rule is the layer's rule; made_mask: this step writes
     * out_masks[0] (CK_MASK_MAKE or CK_MASK_AND), else that mask is an
     * input's passing through (the same slot). */
    int *in_masks, *out_masks;
    int mask_rule;
    int made_mask;
    /* The mask slots of the inputs when a mask is fed to input 0 of the
     * model used as a layer (tf.keras runs a nested model's graph on the
     * masks it is called with): slot m->n_slots is the fed mask. */
    int *fed_in_masks;
} ck_step;

/* Concrete buffers for one input-shape signature (full batches, and the
 * last, shorter batch of a predict). */
typedef struct ck_plan {
    int valid;
    ck_shape *input_shapes;     /* n_inputs, the signature */
    ck_tensor **buffers;        /* one per value slot, views into blocks;
                                   the model inputs' slots are set at run */
    void **blocks;              /* memory shared by values whose lifetimes
                                   do not overlap */
    int n_blocks;
    void *scratch;              /* the widest step's call scratch (steps run
                                   one after another), or NULL */
    /* Fusion (fuse.c); all NULL when fusion is off: every step a call. */
    unsigned char *step_kind;   /* per step: ck_step_kind */
    ck_layer **step_bn;         /* per CK_STEP_DENSE: the BatchNormalization folded in, or the MaxPooling2D fused after a Conv2D; NULL: none */
    void **step_coef;           /* per folded BN: its inv then off, in fuse_mem */
    void *fuse_mem;
    /* two per step (step s at 2 s): the input caches of a recurrent layer
     * fed by an Embedding (layers/rnn_input_cache.h), at 2 s, or of a
     * Bidirectional's forward and backward layers; NULL: none.
     * 2 n_cache_steps entries */
    struct ck_rnn_input_cache **step_cache;
    int n_cache_steps;
    ck_tensor **loss_w;         /* per masked model output: evaluate's loss
                                   weights (ck_model_plan_output_loss_weights) */
} ck_plan;

/* How a planned step runs (fuse.c). */
typedef enum ck_step_kind {
    CK_STEP_CALL = 0,           /* the layer's planned call */
    CK_STEP_ALIAS,              /* the output is the input's buffer, renamed */
    CK_STEP_DENSE               /* Dense with its epilogue (and a BN) fused */
} ck_step_kind;

/* -1: fusion follows CK_FUSE (on unless "0"); 0 / 1 force it (tests). */
extern _Atomic int ck_fuse_override;

/* Decides the fusion of a plan being made (slot shapes concrete); fills
 * the plan's step_kind, step_bn, step_coef, fuse_mem. */
ck_status ck_fuse_plan(const ck_model *m, const ck_shape *slot_shapes, ck_plan *plan);

/* Frees what ck_fuse_plan allocated. */
void ck_fuse_free(ck_plan *plan);

/* Runs CK_STEP_DENSE step s of a plan (allocates nothing). */
ck_status ck_fuse_dense_step(ck_plan *plan, int s, const ck_layer *layer, const ck_tensor *x, ck_tensor *out);

/* Fusion inside a nested model's call (model.c), decided per call: the
 * bytes of memory it needs, and step s run fused when it can be (*done
 * set; a Dense writes its BatchNormalization's value directly and that
 * step is then skipped, renames point their view at the input's data).
 * `mem` is the call's ck_fuse_nested_bytes region, kept for the whole
 * call; steps must be visited in order from 0. */
size_t ck_fuse_nested_bytes(const ck_model *m);
ck_status ck_fuse_nested_step(const ck_model *m, int s, const ck_shape *slot_shapes, ck_tensor *views, void *mem,
                              int *done);

/* Per-caller run state of a model: its own planned buffers, the model's
 * weights shared read-only (predictor.c).  A model keeps a default one for
 * ck_model_predict and for training's evaluation. */
struct ck_predictor {
    ck_model *m;                /* referenced, except by the model's own
                                   default predictor (no cycle) */
    int owns_ref;
    ck_plan plans[2];           /* [0]: full batches, [1]: the remainder */
    _Atomic int busy;           /* a predict is running (misuse detection) */
};

/* The memory map of a training step for one input-shape signature.  The
 * forward block (fwd_bytes, handed in by the caller: the trainer for the
 * top model, the outer step's `saved` for a nested one) holds every value
 * the backward pass reads and each step's saved state; the gradient block,
 * owned here, holds one gradient per value plus scratch for values whose
 * gradient arrives from several consumers. */
typedef struct ck_train_layout {
    int valid;
    unsigned stamp;             /* last use, to pick the entry to replace */
    ck_shape *input_shapes;     /* the signature (n_inputs) */
    size_t fwd_bytes;
    size_t *value_off;          /* per slot, in the forward block */
    size_t *saved_off;          /* per step, in the forward block */
    ck_tensor *values;          /* per slot: views, bound to a block per call */
    ck_tensor *grads;           /* per slot: views into grad_block */
    void *grad_block;
    size_t scratch_off;         /* in grad_block: one input gradient per
                                   input of the widest step */
    unsigned char *written;     /* per slot: gradient holds a contribution */
    ck_tensor **loss_w;         /* per model output with a mask: its loss
                                   weights (float64, the mask's shape) */
} ck_train_layout;

struct ck_model {
    ck_layer base;
    int sequential;             /* built as a Sequential */
    int n_inputs, n_outputs;
    ck_tensor **inputs;         /* symbolic, borrowed (InputLayer nodes) */
    ck_tensor **outputs;        /* symbolic, borrowed */
    int n_layers;
    void *cycle_scratch;        /* ck_model_break_cycles' working memory, made with
                                   the graph so that freeing allocates nothing */
    ck_layer **layers;          /* referenced, Keras' model.layers order */
    int n_steps;
    ck_step *steps;             /* topological order, input nodes excluded */
    int n_slots;
    ck_tensor **slot_tensors;   /* the symbolic tensor of each value slot */
    int *input_slots, *output_slots;
    int *output_mask_slots;     /* per model output: its mask's slot or -1 */
    /* A mask fed to input 0 (graph.c): fed_mask_ok when every step of the
     * fed flow has the slots it needs (a merge that would make a mask only
     * because of the fed one has none: then a fed mask is ignored);
     * fed_out_mask0: output 0's mask slot in that flow (-1: none). */
    int fed_mask_ok, fed_out_mask0;
    ck_predictor *predictor;    /* the default run state, made on first use */
    _Atomic int busy;           /* ck_model_predict running: a second thread
                                   gets CK_RUNTIME_ERROR, not corruption */
    ck_train_layout train[2];   /* training layouts, reused by signature */
    unsigned train_clock;
    /* The compile state, owned by the train/ floor (which the model floor
     * does not know): freed through trainer_free with the model. */
    void *trainer;
    void (*trainer_free)(void *trainer);
    int stop_training;          /* Keras' model.stop_training */
    /* The training config text of the file the model was loaded from
     * (owned; NULL if none), kept whether or not compiling from it worked,
     * so that a tool can say why (ck_model_saved_training_config). */
    char *saved_training_config;
};

/* ---- training over the graph (train_graph.c) ----------------------------- */

/* The training layout for these input shapes (made once per signature; two
 * are kept, like predict's plans). */
ck_status ck_model_train_layout(ck_model *m, int n, const ck_shape *shapes, ck_train_layout **out);

/* Frees the training layouts (model destroy, graph changes). */
void ck_model_drop_train_layouts(ck_model *m);

/* The forward pass of a training step in `block` (fwd_bytes, 64-byte
 * aligned): every layer's ck_layer_train_call in graph order.  The outputs
 * are L->values[m->output_slots[o]] afterwards.  Allocates nothing. */
ck_status ck_model_train_forward(ck_model *m, ck_train_layout *L, const ck_train_ctx *ctx,
                                 const ck_tensor *const *inputs, void *block);

/* The backward pass of that step: douts[o] is the gradient of output o (NULL:
 * no gradient flows from it), dins[i] receives the gradient of input i
 * (NULL entries or dins NULL: not wanted).  Runs the layers' backward in
 * reverse graph order, summing gradients where a value fans out; weight
 * gradients accumulate into weight->grad.  Allocates nothing. */
ck_status ck_model_train_backward(ck_model *m, ck_train_layout *L, const ck_train_ctx *ctx,
                                  const ck_tensor *const *inputs, void *block, const ck_tensor *const *douts,
                                  ck_tensor *const *dins);

/* The loss weights of output o after a ck_model_train_forward, when the
 * output carries a mask (NULL otherwise: use sample_weight as it is):
 * sample_weight[b] (NULL: 1) * mask * size / sum(mask), so that a
 * SUM_OVER_BATCH_SIZE loss is the mean over the valid positions, as
 * tf.keras 2.15 applies an output's mask to its loss (compile_utils
 * apply_mask, then losses_utils.apply_valid_mask). */
const ck_tensor *ck_model_output_loss_weights(ck_model *m, ck_train_layout *L, int o,
                                              const ck_tensor *sample_weight);

/* The same after a ck_model_run of `plan` (evaluate). */
const ck_tensor *ck_model_plan_output_loss_weights(ck_model *m, ck_plan *plan, int o, const ck_tensor *sample_weight);

/* w = sample_weight[row] (NULL: 1) * mask * size / sum(mask) (0 where no
 * position is valid). */
void ck_mask_loss_weights(const ck_tensor *mask, const ck_tensor *sample_weight, ck_tensor *w);

/* The Functional / Sequential class' training hooks (a nested model). */
size_t ck_model_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_model_layer_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                    ck_tensor *const *out, void *saved);
ck_status ck_model_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

/* ---- the registry (registry.c) ----------------------------------------- */

/* The class registered under `class_name` (aliases such as Keras 1's
 * "Model" included), or NULL. */
const ck_layer_class *ck_layer_class_find(const char *class_name);

/* The i-th class of the registry (every built-in class, then Functional
 * and Sequential), NULL past the last: for sweeps over every class
 * (tests/model/test_zero_alloc_sweep.c). */
const ck_layer_class *ck_layer_class_at(int i);

/* Makes a layer from a parsed {"class_name", "config"[, "build_config"]}
 * wrapper through the registry (the jansson side of ck_layer_from_config). */
ck_status ck_layer_from_json(const json_t *wrapper, ck_layer **out);

extern const ck_layer_class ck_functional_class;
extern const ck_layer_class ck_sequential_class;

/* Builds the graph of a model from its symbolic inputs and outputs
 * (Keras _map_graph_network: layer order by depth, then discovery). */
ck_status ck_model_init_graph(ck_model *m, int n_in, ck_tensor *const *inputs, int n_out,
                              ck_tensor *const *outputs);

/* Frees the graph, plans and layer references of a model (class destroy). */
void ck_model_destroy(ck_layer *layer);

/* Runs the graph on concrete inputs whose shapes match `plan`, writing the
 * outputs into the plan's buffers.  Allocates nothing once planned. */
ck_status ck_model_run(ck_model *m, ck_plan *plan, const ck_tensor *const *inputs);

/* Makes (or reuses) the plan for these concrete input shapes, in the
 * model's default predictor (training's evaluation: one thread). */
ck_status ck_model_plan(ck_model *m, int which, int n, const ck_shape *shapes, ck_plan **out);

/* The same in a given pair of plans (a predictor's). */
ck_status ck_plans_get(ck_model *m, ck_plan plans[2], int which, int n, const ck_shape *shapes, ck_plan **out);

/* The default predictor, made on first use (NULL and an error on OOM). */
ck_predictor *ck_model_default_predictor(ck_model *m);

/* predict / predict_into through a pair of plans (run.c). */
ck_status ck_model_predict_with(ck_model *m, ck_plan plans[2], int n, const ck_tensor *const *inputs,
                                ck_tensor **outputs, int64_t batch_size);
ck_status ck_model_predict_into_with(ck_model *m, ck_plan plans[2], int n, const ck_tensor *const *inputs,
                                     ck_tensor *const *outputs, int64_t batch_size);

/* A nested model's call scratch: its values and its steps' scratch laid out
 * in the caller's plan (model.c). */
size_t ck_model_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_model_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                                void *scratch);

/* Frees one plan's buffers and blocks and zeroes it. */
void ck_model_plan_free(const ck_model *m, ck_plan *plan);

/* Drops the plans (after the graph or weights' shapes change). */
void ck_model_drop_plans(ck_model *m);

/* The mask slot a step reads for its input 0 (-1: none, or the class
 * does not read masks). */
int ck_step_mask_in(const ck_step *step);

/* 1 when a step's class reads every input's mask (call_masks) and at
 * least one input has a mask. */
/* Lets the nodes of the model's layers that nothing outside the model
 * references drop their producer references (model_cycles.c), so that a
 * cycle of layers called on each other's outputs is freed with the model.
 * Called by ck_model_destroy. */
void ck_model_break_cycles(ck_model *m);

/* Bytes of m->cycle_scratch for a model of n layers. */
size_t ck_model_cycle_scratch_bytes(int n);

int ck_step_reads_masks(const ck_step *step);

/* The same and the input mask slots of a step in the static flow or
 * (fed) the fed flow, whose slot m->n_slots is the fed mask. */
int ck_step_mask_in_flow(const ck_step *step, int fed);
const int *ck_step_in_masks(const ck_step *step, int fed);

/* 1 when a call of a nested model with this input-0 mask runs the fed
 * flow. */
int ck_model_feeds_mask(const ck_model *m, const ck_tensor *mask);

/* The nested model's masked call (class hook call_masked). */
ck_status ck_model_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                               ck_tensor *const *out, void *scratch);

/* Writes the mask a step makes (step->made_mask) into `out` from the
 * step's inputs and their masks (NULL entries: none). */
ck_status ck_step_make_mask(const ck_step *step, const ck_tensor *const *in, const ck_tensor *const *in_masks,
                            ck_tensor *out);

/* Output shapes of the graph for these input shapes (-1 allowed). */
ck_status ck_model_infer_shapes(const ck_model *m, int n, const ck_shape *in, ck_shape *slot_shapes);

/* The model config {"name", ["trainable"], "layers", "input_layers",
 * "output_layers"} (a new object) and the model from one. */
ck_status ck_model_config_json(const ck_model *m, json_t **out);
/* The .keras path of layer k of model `m` below `prefix` (which ends in
 * '/' or is empty): prefix + "layers/<snake_case class>[_j]", j counting
 * the earlier layers of the same class, as Keras' saving_lib names them
 * (a Sequential's InputLayer is not one of its layers).  0 when the layer
 * has no group (that InputLayer), -1 when the path does not fit.
 * (wrapper_util.c; model_save.c writes the same paths.) */
int ck_model_archive_layer_path(const ck_model *m, int k, const char *prefix, char *path, size_t n);

/* The model a wrapper layer holds (TimeDistributed over a Sequential or
 * Functional) and, in *group, the .keras group below the wrapper that
 * holds the model's own tree ("layer"); NULL for other layers.
 * (time_distributed.c; model_save.c writes that tree as tf.keras does,
 * with the empty vars groups of its weightless layers.) */
ck_model *ck_model_archive_wrapped(const ck_layer *layer, const char **group);

ck_status ck_model_from_config_json(const json_t *config, int sequential, ck_model **out);

/* {"class_name", "config"[, "keras_version", "backend"]} of a model. */
ck_status ck_model_wrapper_json(const ck_model *m, int with_versions, json_t **out);

/* A model from a parsed model JSON (any dialect, TF.js model.json too). */
ck_status ck_model_from_json_value(const json_t *root, ck_model **out);

/* Creates a model of class `cls` (functional or Sequential) from symbolic
 * tensors; takes references on its layers.  trainable false: frozen. */
ck_status ck_model_create(const ck_layer_class *cls, int n_in, ck_tensor *const *inputs, int n_out,
                          ck_tensor *const *outputs, const char *name, bool trainable, ck_model **out);

/* Keras' model class name for the JSON wrapper ("Functional" / "Sequential"). */
const char *ck_model_class_name(const ck_model *m);

#endif
