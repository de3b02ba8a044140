/* What Conv2D and MaxPooling2D share: tf.keras' conv_utils (output length,
 * padding and data_format normalisation, int-or-tuple arguments) and TF's
 * SAME padding split.  Internal. */
#ifndef CK_CONV_UTILS_H
#define CK_CONV_UTILS_H

#include "layers/layer_args.h"

/* conv_utils.conv_output_length with Python's floor division: in < 0
 * (None) gives -1 (None); a negative result is returned as it is (the
 * caller raises Keras' error).  same: padding "same", else "valid". */
int64_t ck_conv_output_length(int64_t in, int64_t k, int same, int64_t stride, int64_t dilation);

/* TF's padding before the first element (top / left) for an output of
 * `out` positions: max((out - 1) * stride + k_eff - in, 0) / 2 for "same",
 * 0 for "valid". */
int64_t ck_conv_pad_before(int64_t in, int64_t out, int64_t k, int same, int64_t stride, int64_t dilation);

/* conv_utils.normalize_padding (case-insensitive): *same = 1 for "same", 0
 * for "valid".  "causal" is CK_VALUE_ERROR (2D layers), Keras 1's "full"
 * CK_NOT_IMPLEMENTED, anything else Keras' CK_VALUE_ERROR.  NULL is
 * "valid". */
ck_status ck_conv_parse_padding(const char *s, const char *cls, int *same);

/* conv_utils.normalize_data_format (case-insensitive); NULL is
 * channels_last.  Also Keras 1's dim_ordering when `keras1`: "tf" /
 * "default" -> channels_last, "th" -> channels_first. */
ck_status ck_conv_parse_data_format(const char *s, int keras1, int *channels_first);

/* A JSON padding / data_format string (null keeps the default). */
ck_status ck_conv_padding_json(const json_t *v, const char *cls, const char *key, int *same);
ck_status ck_conv_data_format_json(const json_t *v, const char *cls, const char *key, int keras1,
                                   int *channels_first);

/* conv_utils.normalize_tuple(value, 2, key, allow_zero) for a JSON int or a
 * list of 2 ints; null / absent keeps *out.  CK_VALUE_ERROR with Keras'
 * message ("The `strides` argument must be a tuple of 2 integers"). */
ck_status ck_conv_pair_json(const json_t *v, const char *cls, const char *key, int allow_zero, int64_t out[2]);

/* The C-option form: {0, 0} gives `dflt` (both), {k, 0} gives (k, k) like
 * Keras' int form, else the pair; values are checked as normalize_tuple
 * does. */
ck_status ck_conv_pair_opts(const int64_t in[2], const int64_t dflt[2], const char *cls, const char *key,
                            int allow_zero, int64_t out[2]);

/* [a, b] as a JSON list (new reference; NULL on OOM). */
json_t *ck_conv_pair_to_json(const int64_t v[2]);

#endif
