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
};

typedef struct ck_extra_loss {
    ck_loss_fn fn;
    void *user;
    double value;
} ck_extra_loss;

/* How many inputs a class takes: exactly one tensor, or a list. */
typedef enum ck_arity { CK_ONE_INPUT = 0, CK_LIST_OF_INPUTS = 1 } ck_arity;

typedef struct ck_layer_class {
    const char *class_name;
    size_t size;                 /* sizeof the concrete struct */
    ck_arity arity;
    int min_inputs, max_inputs;  /* for lists; Dot: 2..2 */
    int cast_all_inputs;         /* Dense: integer inputs are cast too */
    int supports_masking;

    /* Creates the weights for these input shapes (may be NULL: no weights). */
    ck_status (*build)(ck_layer *layer, int n, const ck_shape *shapes);
    /* Computes outputs[0] (already shaped and typed) from the inputs. */
    ck_status (*call)(ck_layer *layer, int n, const ck_tensor *const *in,
                      ck_tensor *const *out);
    ck_status (*compute_output_shape)(const ck_layer *layer, int n,
                                      const ck_shape *in, ck_shape *out);
    /* NULL: the default (pass the first mask through if supports_masking). */
    ck_status (*compute_mask)(const ck_layer *layer, int n,
                              const ck_tensor *const *in,
                              const ck_tensor *const *masks, ck_tensor **out);
    /* Adds the class' keys to `config` (the base keys are already there). */
    ck_status (*get_config)(const ck_layer *layer, json_t *config);
    /* Creates the layer from a config object (the inner "config"). */
    ck_status (*from_config)(const json_t *config, ck_layer **out);
    /* Frees what the concrete layer owns (not the base, not the struct). */
    void (*destroy)(ck_layer *layer);
} ck_layer_class;

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
    ck_shape build_shapes[2];   /* recorded by the base build */
    ck_weight **weights;        /* creation order */
    int n_weights;
    ck_regularizer *activity_regularizer;
    double activity_loss;       /* of the last call (one output) */
    int n_activity_losses;      /* 0 or 1 */
    ck_extra_loss *extra_losses;
    int n_extra_losses;
    void *nodes;                /* node history, owned by model/ */
};

/* ---- construction (used by concrete layers) ----------------------------- */

/* Allocates cls->size zeroed bytes and fills the base from the common
 * options (name, trainable, dtype, input shape, activity regularizer).
 * `prefix_default` NULL derives the auto-name prefix from the class name. */
ck_status ck_layer_create(const ck_layer_class *cls, const char *name,
                          int trainable, ck_dtype dtype,
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
 * the layer dtype.  trainable 0/CK_TRUE or CK_FALSE. */
ck_status ck_layer_add_weight_with(ck_layer *layer, const char *name, const ck_shape *shape,
                                   ck_dtype dtype, const ck_initializer *init,
                                   const ck_regularizer *reg, const ck_constraint *con,
                                   int trainable, ck_weight **out);

/* Frees a weight and what it owns (NULL is fine). */
void ck_weight_free(ck_weight *w);

/* Removes the weights added after the first `keep` (undoes a failed build). */
void ck_layer_drop_weights_from(ck_layer *layer, int keep);

/* Keras' to_snake_case(class_name) into buf. */
void ck_snake_case(const char *class_name, char *buf, size_t n);

/* Next automatic name for a prefix: "dense", "dense_1", ... (ck_malloc'ed). */
char *ck_unique_name(const char *prefix);

/* ---- registry ---------------------------------------------------------- */

extern const ck_layer_class ck_dense_class;
extern const ck_layer_class ck_dot_class;

/* Makes a layer from a parsed {"class_name", "config"[, "build_config"]}
 * wrapper through the registry (the jansson side of ck_layer_from_config). */
ck_status ck_layer_from_json(const json_t *wrapper, ck_layer **out);

/* The class registered under `class_name` (Keras 1 aliases included), or
 * NULL. */
const ck_layer_class *ck_layer_class_find(const char *class_name);

/* ---- JSON helpers for configs ------------------------------------------ */

/* Reads a Keras shape (list of ints / nulls) into *out; CK_VALUE_ERROR. */
ck_status ck_json_to_shape(const json_t *j, const char *what, ck_shape *out);
/* A JSON list with nulls for unknown dims (new reference; NULL on OOM). */
json_t *ck_shape_to_json(const ck_shape *s);
/* Formats a ck_shape like Python. */
char *ck_shape_fmt(char *buf, size_t n, const ck_shape *s);
/* Sets obj[key] = value, stealing the reference; CK_OUT_OF_MEMORY. */
ck_status ck_json_set(json_t *obj, const char *key, json_t *value);

/* ck_shape of a tensor. */
ck_shape ck_tensor_shape(const ck_tensor *t);

#endif
