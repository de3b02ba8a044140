/* The gradient check every layer's test calls (not part of the library). */
#ifndef CK_TEST_GRADCHECK_H
#define CK_TEST_GRADCHECK_H

#include "layers/layer.h"

/* Checks a layer's backward pass against float64 central differences of
 * f = sum(output * dout) for a fixed random dout.  The layer should compute
 * in float64 (create it with .dtype = CK_FLOAT64); floating inputs must be
 * float64, integer inputs (Embedding's indices) get no gradient.  The layer
 * is built on the inputs if it is not built yet.  `training` selects the
 * training-mode forward; the random stream is re-seeded before every
 * forward, so Dropout masks repeat.  Every floating input and every
 * trainable weight is checked (all elements up to 48, else 48 spread
 * ones); each analytic value must be within tol * max(1, |numeric|) of the
 * numeric one (Criterion assertion naming the layer, the tensor and the
 * element).  Returns the number of values compared. */
long ck_test_gradcheck(ck_layer *layer, int n, ck_tensor *const *inputs, int training, double tol);

#endif
