/* Helpers shared by the layer files other than Dense / Dot: reading class
 * keys of a config with Keras' checks, writing them back the way tf.keras
 * does, and small tensor loops every shape-only layer needs.  Internal. */
#ifndef CK_LAYER_ARGS_H
#define CK_LAYER_ARGS_H

#include "layers/layer.h"

/* ---- reading configs ------------------------------------------------------ */

/* config[k2] if present, else config[k1] (a Keras 1 alias; k1 may be NULL). */
const json_t *ck_arg_get2(const json_t *c, const char *k2, const char *k1);

/* A boolean; absent or null keeps *out.  CK_TYPE_ERROR naming cls and key
 * for any other JSON type. */
ck_status ck_arg_bool(const json_t *v, const char *cls, const char *key, int *out);

/* A number; absent or null keeps *out (and *is_int).  *is_int (may be
 * NULL) tells whether JSON wrote an integer, so that get_config can write
 * it back the same way.  CK_TYPE_ERROR for a non-number. */
ck_status ck_arg_number(const json_t *v, const char *cls, const char *key, double *out, int *is_int);

/* An optional number: absent or null gives *has = 0. */
ck_status ck_arg_opt_number(const json_t *v, const char *cls, const char *key, double *out, int *has);

/* An integer; absent or null keeps *out (*has, may be NULL, tells whether
 * one was given).  A float with an integral value is accepted (Keras
 * configs written by hand do that); anything else is CK_TYPE_ERROR. */
ck_status ck_arg_int(const json_t *v, const char *cls, const char *key, int64_t *out, int *has);

/* An int or a list of ints (Keras' `axis` arguments).  *is_list tells
 * which form was given; at most CK_MAX_RANK entries.  Absent or null keeps
 * the outputs. */
ck_status ck_arg_axes(const json_t *v, const char *cls, const char *key, int axes[CK_MAX_RANK], int *naxes,
                      int *is_list);

/* A shape list (ints and nulls; -1 is also read as null), or null / absent
 * (*has = 0). */
ck_status ck_arg_shape(const json_t *v, const char *cls, const char *key, ck_shape *out, int *has);

/* ---- writing configs --------------------------------------------------------- */

/* A JSON number the way Python wrote the value: an int when is_int. */
json_t *ck_arg_num_json(double v, int is_int);
/* An int, or a list when is_list. */
json_t *ck_arg_axes_json(const int *axes, int naxes, int is_list);
/* A list of ints / nulls (the -1 dims). */
json_t *ck_arg_dims_json(const ck_shape *s);

/* ---- construction ------------------------------------------------------------ */

/* Creates the base of a layer from the CK_LAYER_COMMON_OPTS members of an
 * option struct `o` (which must not be NULL). */
#define CK_ARG_CREATE(cls, o, out)                                                                 \
    ck_layer_create((cls), (o)->name, !(o)->frozen, (o)->dtype, &(o)->input_shape, (o)->batch_size, \
                    (o)->activity_regularizer, (out))

/* tf.keras' backend.cast_to_floatx: the value as a float32, widened back. */
static inline double ck_arg_f32(double v) { return (double)(float)v; }

/* ---- tensors ------------------------------------------------------------------- */

/* Copies the bytes of `in` into `out` (same element count and dtype). */
void ck_arg_copy_data(const ck_tensor *in, ck_tensor *out);

/* Python-style shape text of a shape without its batch dim, as Keras
 * prints `input_shape[1:]` lists: "[2, 3]". */
char *ck_arg_list_fmt(char *buf, size_t n, const int64_t *dims, int rank);

#endif
