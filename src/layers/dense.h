/* What a model's fused inference plan (model/fuse.c) needs of Dense.
 * Internal. */
#ifndef CK_DENSE_H
#define CK_DENSE_H

#include "layers/layer.h"

/* 1 when `layer` is a built floating Dense the fused call can run (and,
 * with need_linear, whose activation is linear). */
int ck_dense_fusable(const ck_layer *layer, int need_linear);

/* The layer's units. */
int64_t ck_dense_units(const ck_layer *layer);

/* The inference call with its epilogue fused per block of rows: bias,
 * the activation, then y = a * inv[u] + off[u] when inv is not NULL (a
 * folded BatchNormalization after the Dense, layer dtype).  x has the
 * layer dtype; allocates nothing. */
ck_status ck_dense_call_fused(const ck_layer *layer, const ck_tensor *x, ck_tensor *out, const void *inv,
                              const void *off);

#endif
