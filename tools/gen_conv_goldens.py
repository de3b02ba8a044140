#!/usr/bin/python3
"""Writes the golden fixtures of tests/layers/test_conv2d.c and
test_max_pooling2d.c into tests/data/conv/.

Run with Debian's python3 (it has numpy):

    /usr/bin/python3 tools/gen_conv_goldens.py

The reference is numpy only (never ckeras), following tf.keras 2.x:

- Conv2D: the input is padded the way TF pads "same" (total
  max((out - 1) * stride + dilated_kernel - in, 0), the smaller half at the
  top / left), then for every kernel tap (i, j) the strided, dilated slice
  of the padded input is contracted with kernel[i, j] by np.einsum and
  summed, in float64; bias and activation follow (softmax over the last
  axis, like keras.activations.softmax).  channels_first inputs are
  transposed to channels_last and the result back.  Output sizes are
  conv_utils.conv_output_length.
- MaxPooling2D: the input is padded with -inf ("same"), and each window's
  np.max is taken.

Per Conv2D case <c>: conv_<c>_x.npy (input), conv_<c>_k.npy (kernel,
(kh, kw, in, filters)), conv_<c>_b.npy (bias, when used), conv_<c>_y.npy
(output).  Per pooling case <p>: pool_<p>_x.npy and pool_<p>_y.npy.  The
"big" cases (several im2col chunks) use inputs and kernels from an integer
formula that the test recomputes, so only their outputs are stored.
Outputs are rounded to the case dtype.  manifest.txt lists every file.

The case parameters are repeated in the test's tables: keep both in sync.
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "conv")

rng = np.random.default_rng(20240917)
manifest = []


def save(name, arr):
    arr = np.ascontiguousarray(arr)
    np.save(os.path.join(OUT, name + ".npy"), arr)
    manifest.append("%s %s %s" % (name, arr.dtype, "x".join(str(d) for d in arr.shape)))


def out_len(n, k, pad, s, d=1):
    keff = k + (k - 1) * (d - 1)
    ln = n if pad == "same" else n - keff + 1
    return (ln + s - 1) // s


def pads(n, k, pad, s, d=1):
    o = out_len(n, k, pad, s, d)
    if pad != "same":
        return o, 0, 0
    keff = (k - 1) * d + 1
    total = max((o - 1) * s + keff - n, 0)
    return o, total // 2, total - total // 2


def activate(y, act):
    if act == "linear":
        return y
    if act == "relu":
        return np.maximum(y, 0)
    if act == "tanh":
        return np.tanh(y)
    if act == "sigmoid":
        return 1 / (1 + np.exp(-y))
    if act == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(act)


def conv_ref(x, k, b, strides, padding, dil, cf, act):
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    lead = x.shape[:-3]
    x = x.reshape((-1,) + x.shape[-3:])
    if cf:
        x = x.transpose(0, 2, 3, 1)
    n, h, w, c = x.shape
    kh, kw, _, f = k.shape
    oh, top, bottom = pads(h, kh, padding, strides[0], dil[0])
    ow, left, right = pads(w, kw, padding, strides[1], dil[1])
    assert oh >= 0 and ow >= 0
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    y = np.zeros((n, oh, ow, f))
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dil[0], j * dil[1]
            patch = xp[:, r0:r0 + (oh - 1) * strides[0] + 1:strides[0], c0:c0 + (ow - 1) * strides[1] + 1:strides[1], :]
            y += np.einsum("nhwc,cf->nhwf", patch, k[i, j])
    if b is not None:
        y += b
    if cf:
        y = y.transpose(0, 3, 1, 2)
    y = activate(y, act)  # over the last axis of the real output layout
    return y.reshape(lead + y.shape[1:])


def pool_ref(x, pool, strides, padding, cf):
    xf = x.astype(np.float64)
    if cf:
        xf = xf.transpose(0, 2, 3, 1)
    n, h, w, c = xf.shape
    oh, top, bottom = pads(h, pool[0], padding, strides[0])
    ow, left, right = pads(w, pool[1], padding, strides[1])
    xp = np.pad(xf, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    y = np.empty((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * strides[0]:i * strides[0] + pool[0], j * strides[1]:j * strides[1] + pool[1], :]
            y[:, i, j, :] = win.max(axis=(1, 2))
    if cf:
        y = y.transpose(0, 3, 1, 2)
    return y.astype(x.dtype)


# name, input shape, filters, kernel, strides, padding, dilation, channels_first, bias, activation, dtype
CONV = [
    ("valid_relu", (2, 7, 6, 3), 4, (3, 3), (1, 1), "valid", (1, 1), 0, 1, "relu", "float32"),
    ("same_even_nobias", (2, 6, 6, 3), 5, (2, 2), (1, 1), "same", (1, 1), 0, 0, "linear", "float32"),
    ("same_s2", (1, 7, 8, 2), 3, (3, 2), (2, 2), "same", (1, 1), 0, 1, "linear", "float32"),
    ("valid_s2_tanh", (2, 9, 7, 3), 2, (3, 3), (2, 2), "valid", (1, 1), 0, 1, "tanh", "float32"),
    ("same_d2", (1, 8, 8, 2), 3, (3, 3), (1, 1), "same", (2, 2), 0, 1, "linear", "float32"),
    ("valid_d21_nobias", (2, 9, 8, 2), 4, (2, 3), (1, 1), "valid", (2, 1), 0, 0, "relu", "float32"),
    ("cf_same_s2", (2, 3, 7, 6), 4, (3, 3), (2, 2), "same", (1, 1), 1, 1, "relu", "float32"),
    ("cf_valid_d2_nobias", (1, 2, 9, 8), 3, (2, 2), (1, 1), "valid", (2, 2), 1, 0, "linear", "float32"),
    ("pointwise", (2, 5, 4, 3), 6, (1, 1), (1, 1), "valid", (1, 1), 0, 1, "linear", "float32"),
    ("cf_pointwise", (2, 3, 5, 4), 2, (1, 1), (1, 1), "same", (1, 1), 1, 1, "sigmoid", "float32"),
    ("pointwise_s2", (1, 5, 5, 2), 3, (1, 1), (2, 2), "valid", (1, 1), 0, 1, "linear", "float32"),
    ("same_f64", (2, 6, 5, 3), 4, (3, 3), (1, 1), "same", (1, 1), 0, 1, "relu", "float64"),
    ("cf_softmax", (1, 2, 4, 5), 3, (2, 2), (1, 1), "same", (1, 1), 1, 1, "softmax", "float32"),
    ("rank5", (2, 2, 5, 5, 2), 3, (3, 3), (1, 1), "valid", (1, 1), 0, 1, "linear", "float32"),
    ("kernel_too_big_s3", (1, 1, 4, 2), 2, (3, 3), (3, 1), "valid", (1, 1), 0, 1, "linear", "float32"),
]

# Cases whose input / kernel come from formula(): name, shape, filters, kernel,
# padding, channels_first.  11x11x32 kernels make the im2col rows 3872 long,
# so the 1 << 20-element scratch holds 270 positions: several chunks, one
# crossing an image boundary (channels_last) or splitting a plane
# (channels_first).
BIG = [
    ("big_last", (2, 16, 16, 32), 2, (11, 11), "same", 0),
    ("big_first", (2, 32, 18, 18), 2, (11, 11), "same", 1),
]


def formula(n, mul, mod, div):
    """((i * mul) % mod - mod // 2) / div for i = 0..n-1 (exact in float32)."""
    i = np.arange(n, dtype=np.int64)
    return (((i * mul) % mod) - mod // 2).astype(np.float64) / div


# name, input shape, pool, strides, padding, channels_first, dtype, negative only
POOL = [
    ("default", (2, 6, 7, 3), (2, 2), (2, 2), "valid", 0, "float32", 0),
    ("same_3s2", (1, 7, 7, 2), (3, 3), (2, 2), "same", 0, "float32", 0),
    ("same_23_s12", (2, 5, 6, 3), (2, 3), (1, 2), "same", 0, "float32", 0),
    ("cf_valid_s1", (2, 3, 6, 5), (2, 2), (1, 1), "valid", 1, "float32", 0),
    ("cf_same_3s2", (1, 2, 5, 5), (3, 3), (2, 2), "same", 1, "float32", 0),
    ("int32_same", (1, 4, 5, 2), (2, 2), (2, 2), "same", 0, "int32", 0),
    ("big_pool_negative", (1, 2, 3, 1), (4, 4), (1, 1), "same", 0, "float32", 1),
    ("f64_valid", (2, 5, 5, 2), (3, 2), (1, 2), "valid", 0, "float64", 0),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, shape, f, ks, st, pad, dil, cf, bias, act, dt in CONV:
        x = rng.standard_normal(shape).astype(dt)
        c = shape[-3] if cf else shape[-1]
        k = (rng.standard_normal(ks + (c, f)) * 0.5).astype(dt)
        b = (rng.standard_normal(f) * 0.5).astype(dt) if bias else None
        y = conv_ref(x, k, b, st, pad, dil, cf, act).astype(dt)
        save("conv_%s_x" % name, x)
        save("conv_%s_k" % name, k)
        if bias:
            save("conv_%s_b" % name, b)
        save("conv_%s_y" % name, y)
    for name, shape, f, ks, pad, cf in BIG:
        x = formula(int(np.prod(shape)), 7919, 201, 64.0).reshape(shape).astype(np.float32)
        c = shape[1] if cf else shape[-1]
        k = formula(ks[0] * ks[1] * c * f, 104729, 61, 256.0).reshape(ks + (c, f)).astype(np.float32)
        y = conv_ref(x, k, None, (1, 1), pad, (1, 1), cf, "linear").astype(np.float32)
        save("conv_%s_y" % name, y)
    for name, shape, pool, st, pad, cf, dt, neg in POOL:
        if dt == "int32":
            x = rng.integers(-50, 50, shape).astype(np.int32)
        else:
            x = rng.standard_normal(shape)
            if neg:
                x = -np.abs(x) - 1
            x = x.astype(dt)
        save("pool_%s_x" % name, x)
        save("pool_%s_y" % name, pool_ref(x, pool, st, pad, cf))
    with open(os.path.join(OUT, "manifest.txt"), "w") as fh:
        fh.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
