/* What the fused inference plans need of MaxPooling2D (max_pooling2d.c).
 * Internal. */
#ifndef CK_MAX_POOLING2D_H
#define CK_MAX_POOLING2D_H

#include "layers/layer.h"
#include "ops/pool_kernels.h"

/* The geometry of a channels_last float32 MaxPooling2D over an input of
 * shape `in` (rank 4, known dims); 0 when the layer is not one. */
int ck_max_pooling2d_nhwc(const ck_layer *layer, const ck_shape *in, ck_pool_nhwc *g);

#endif
