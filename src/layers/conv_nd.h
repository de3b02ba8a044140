/* The convolution engine shared by Conv1D, grouped Conv2D, Conv3D, the
 * transposed convolutions, DepthwiseConv1D / 2D and SeparableConv1D / 2D:
 * one N-d (N = 1..3) cross-correlation with groups, strides, dilation and
 * an explicit padding before each spatial dim, in channels_last or
 * channels_first, as im2col + GEMM.  Its three primitives are the forward
 * pass and the two gradients of the same convolution; a transposed
 * convolution's forward pass is this engine's input gradient and its input
 * gradient is this engine's forward pass.  Internal. */
#ifndef CK_CONV_ND_H
#define CK_CONV_ND_H

#include "layers/layer.h"

/* One convolution "input (batch, in..., c) -> output (batch, out..., f)"
 * (channels_first: (batch, c, in...) -> (batch, f, out...)), spatial
 * rank padded to 3 with size-1 dims.  The kernel is (k..., c / groups, f):
 * output channel j of group g = j / (f / groups) reads input channels
 * g * (c / groups) ... */
typedef struct ck_convnd_geom {
    int channels_first;
    int64_t batch, c, f, groups;
    int64_t in[3], out[3], k[3], s[3], d[3], pad[3];
    size_t es;
} ck_convnd_geom;

/* Output positions per image. */
static inline int64_t ck_convnd_out_plane(const ck_convnd_geom *g) { return g->out[0] * g->out[1] * g->out[2]; }
static inline int64_t ck_convnd_in_plane(const ck_convnd_geom *g) { return g->in[0] * g->in[1] * g->in[2]; }

/* Elements of the im2col buffer the primitives need (0: none, a 1x1
 * convolution with stride 1 and one group reads the input directly). */
int64_t ck_convnd_cols_elems(const ck_convnd_geom *g);

/* CK_VALUE_ERROR naming `who` when a GEMM dimension of this convolution
 * would not fit the BLAS int. */
ck_status ck_convnd_check_size(const ck_convnd_geom *g, const char *who);

/* out = conv(x, kernel) + beta * out (beta 0 or 1). */
void ck_convnd_forward(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *kern, void *out,
                       double beta, void *cols);

/* dx = d(sum(out * dz)) / dx: WRITES dx (the patches' gradients added back
 * onto the input positions they were read from; padding is dropped). */
void ck_convnd_input_grad(const ck_convnd_geom *g, ck_dtype dt, const void *dz, const void *kern, void *dx,
                          void *cols);

/* kg += d(sum(out * dz)) / dkernel. */
void ck_convnd_kernel_grad(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *dz, void *kg,
                           void *cols);

/* out += bias over the channel axis of a (batch, positions, f) or
 * (batch, f, positions) tensor. */
void ck_convnd_bias_add(ck_dtype dt, int channels_first, int64_t batch, int64_t plane, int64_t f, const void *bias,
                        void *out);

/* bg += dz summed over batch and positions. */
void ck_convnd_bias_grad(ck_dtype dt, int channels_first, int64_t batch, int64_t plane, int64_t f, const void *dz,
                         void *bg);

/* Depthwise geometry (groups == c > 1) and its direct loops
 * (conv_depthwise.c), which the primitives above dispatch to. */
int ck_convnd_is_depthwise(const ck_convnd_geom *g);
void ck_convnd_depthwise_forward(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *kern, void *out,
                                 double beta);
void ck_convnd_depthwise_input_grad(const ck_convnd_geom *g, ck_dtype dt, const void *dz, const void *kern,
                                    void *dx);
void ck_convnd_depthwise_kernel_grad(const ck_convnd_geom *g, ck_dtype dt, const void *x, const void *dz, void *kg);

#endif
