/* What the files of keras.layers.Bidirectional share: the layer's
 * struct, its merge modes, the construction and config
 * (bidirectional_config.c) and the merging of the two directions'
 * outputs and of their gradients (bidirectional_merge.c); the layer
 * class itself is bidirectional.c.  Internal. */
#ifndef CK_BIDIRECTIONAL_H
#define CK_BIDIRECTIONAL_H

#include "model/wrapper_util.h"

/* Most outputs of one inner layer call (its output, then its states). */
#define BIDI_MAX_INNER 16

enum merge_mode { MERGE_CONCAT, MERGE_SUM, MERGE_MUL, MERGE_AVE, MERGE_NONE };

/* Keras' names of the merge modes but None, by enum merge_mode. */
extern const char *const ck_bidi_merge_names[4];

typedef struct bidi_layer {
    ck_layer base;
    ck_layer *fwd, *bwd;
    enum merge_mode mode;
    int return_sequences, time_major;
    json_t *layer_config;    /* the wrapped layer's {"class_name", "config"} */
    json_t *backward_config; /* a given backward_layer's, else NULL */
} bidi_layer;

extern const ck_layer_class ck_bidirectional_class;

/* The inference call with each direction's recurrent input cache
 * (caches[0] forward, caches[1] backward; NULL: none), for a plan whose
 * Bidirectional over recurrent layers reads an Embedding (model/fuse.c):
 * one float32 input, as the plan checked. */
struct ck_rnn_input_cache;
ck_status ck_bidi_call_cached(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                              ck_tensor *const *out, void *scratch, struct ck_rnn_input_cache *const *caches);

/* The class' from_config and get_config. */
ck_status ck_bidi_from_config(const json_t *c, ck_layer **out);
ck_status ck_bidi_get_config(const ck_layer *layer, json_t *j);

/* out[0] = the merge of the two directions' first outputs y1 and y2
 * (merge_mode None: out[0] = y1 and out[1] = y2 in time order). */
void ck_bidi_merge(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2, ck_tensor *const *out);

/* d y1 and d y2 from the gradients of the merged outputs (dout[0], and
 * dout[1] with merge_mode None). */
void ck_bidi_merge_grad(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2, const ck_tensor *dout,
                        ck_tensor *d1, ck_tensor *d2);

#endif
