/* What the pooling, up-sampling, padding and cropping layers share:
 * conv_utils.normalize_tuple for 1 to 3 spatial dims (Keras' messages),
 * the (before, after) pairs of ZeroPadding / Cropping, the data_format /
 * dim_ordering keys of every dialect, and the input-rank check.  Kept apart
 * from conv_utils.h (Conv2D's pairs) so that both families can change
 * independently.  Internal. */
#ifndef CK_SPATIAL_ARGS_H
#define CK_SPATIAL_ARGS_H

#include "layers/layer_args.h"

/* normalize_tuple(value, n, key, allow_zero) for a JSON int or list of n
 * ints; absent or null keeps out.  CK_VALUE_ERROR with Keras' message "The
 * `pool_size` argument must be a tuple of 1 integers. Received: ...". */
ck_status ck_sp_tuple_json(const json_t *v, int n, const char *cls, const char *key, int allow_zero,
                           int64_t *out);

/* The option-struct form: all zero gives `dflt`, {k, 0, ...} gives k for
 * every dim (Keras' int form), else the n values, checked as above. */
ck_status ck_sp_tuple_opts(const int64_t *in, int n, const int64_t *dflt, const char *cls, const char *key,
                           int allow_zero, int64_t *out);

/* A list of n ints (new reference; NULL on OOM). */
json_t *ck_sp_tuple_to_json(const int64_t *v, int n);

/* ZeroPadding / Cropping amounts for n dims: an int (all sides), a list
 * of n ints (symmetric per dim) or of n [before, after] pairs; Keras 1's
 * ZeroPadding2D 4-list (top, bottom, left, right) when n == 2.  out holds
 * before/after per dim.  Keras' messages ("`padding` should have two
 * elements"). */
ck_status ck_sp_pairs_json(const json_t *v, int n, const char *cls, const char *key, int64_t out[][2]);

/* [[b, a], ...] for n dims, or [b, a] when n == 1 (as tf.keras writes
 * 1D amounts). */
json_t *ck_sp_pairs_to_json(const int64_t p[][2], int n);

/* data_format (tf.keras 2.x, Keras 3) or Keras 1's dim_ordering ("tf" /
 * "th") of a config; absent or null: channels_last. */
ck_status ck_sp_data_format_json(const json_t *c, const char *cls, int *channels_first);

/* The opts form: NULL is channels_last. */
ck_status ck_sp_data_format(const char *s, int *channels_first);

/* "channels_first" / "channels_last" as a new JSON string. */
json_t *ck_sp_data_format_to_json(int channels_first);

/* Keras' InputSpec(ndim=...) message for a wrong rank. */
ck_status ck_sp_check_rank(const ck_layer *layer, const ck_shape *s, int ndim);

/* Python's text of a tuple: "(2,)", "(1, 2)". */
char *ck_sp_tuple_fmt(char *buf, size_t n, const int64_t *v, int count);

#endif
