/* The elementwise merge layers (Add, Subtract, Multiply, Average, Maximum,
 * Minimum): tf.keras' _Merge base, shared by one small file per class.
 * Internal. */
#ifndef CK_MERGE_H
#define CK_MERGE_H

#include "layers/layer_args.h"

typedef enum ck_merge_op {
    CK_MERGE_ADD,
    CK_MERGE_SUBTRACT,
    CK_MERGE_MULTIPLY,
    CK_MERGE_AVERAGE,
    CK_MERGE_MAXIMUM,
    CK_MERGE_MINIMUM
} ck_merge_op;

typedef struct ck_merge_layer {
    ck_layer base;
    ck_merge_op op;
} ck_merge_layer;

/* Constructors for a class and its operation. */
ck_status ck_merge_new(const ck_layer_class *cls, ck_merge_op op, const ck_merge_opts *o, ck_layer **out);
ck_status ck_merge_from_config(const ck_layer_class *cls, ck_merge_op op, const json_t *c, ck_layer **out);

/* _Merge.build: batch sizes agree and the shapes broadcast. */
ck_status ck_merge_build(ck_layer *layer, int n, const ck_shape *shapes);
/* _Merge.compute_output_shape (None batch when the known sizes differ). */
ck_status ck_merge_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out);
/* Applies the layer's operation with broadcasting. */
ck_status ck_merge_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs);
/* _Merge.compute_mask: AND of the masks given (all of one shape). */
ck_status ck_merge_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                const ck_tensor *const *masks, ck_tensor **out);
/* Average of integers is float64 (TF's true division); else the default. */
ck_dtype ck_merge_output_dtype(const ck_layer *layer, int n, const ck_dtype *in);

/* How the inputs of one call map onto the output (merge.c): a broadcast
 * dim has stride 0, so walking the output visits every input element once
 * per output position it feeds. */
typedef struct ck_merge_plan {
    int n, rank, same;                           /* same: no broadcasting at all */
    int64_t shape[CK_MAX_RANK];
    int64_t strides[CK_MAX_LAYER_INPUTS][CK_MAX_RANK];
    const void *src[CK_MAX_LAYER_INPUTS];
    int64_t size;
} ck_merge_plan;

void ck_merge_make_plan(int n, const ck_tensor *const *in, const ck_tensor *out, ck_merge_plan *p);

/* Training (merge_grad.c): the gradient of each floating input, summed
 * over the dims it was broadcast along; Maximum / Minimum give a tie to the
 * earlier input as TF's maximum / minimum gradients do.  Keeps nothing. */
ck_status ck_merge_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

/* The class table entries every elementwise merge class shares. */
#define CK_MERGE_CLASS(name, minn, maxn)                                     \
    .class_name = (name), .size = sizeof(ck_merge_layer), .arity = CK_LIST_OF_INPUTS, \
    .min_inputs = (minn), .max_inputs = (maxn), .supports_masking = 1,      \
    .build = ck_merge_build, .call = ck_merge_call,                         \
    .compute_output_shape = ck_merge_output_shape,                          \
    .output_dtype = ck_merge_output_dtype,                                  \
    .compute_mask = ck_merge_compute_mask, .backward = ck_merge_backward

/* Shape texts for messages: "[(None, 3), (None, 4)]". */
char *ck_merge_shapes_fmt(char *buf, size_t n, int count, const ck_shape *s);

#endif
