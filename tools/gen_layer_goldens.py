#!/usr/bin/python3
"""Writes the golden fixtures of tests/layers/test_{core,merge,norm,activation}_layers.c
into tests/data/layers/.

Run with Debian's python3 (it has numpy and h5py):

    /usr/bin/python3 tools/gen_layer_goldens.py [SHARED_KERAS_DIR]

SHARED_KERAS_DIR defaults to ../shared/testdata/keras next to the repo.

Two kinds of fixtures, all small .npy files written with numpy.save:

1. numpy references (never ckeras): inputs drawn from a fixed-seed
   generator, outputs computed with numpy from the tf.keras 2.x formulas:
   - Flatten: x.reshape(batch, -1), after x.transpose(0, 2, ..., 1) for
     channels_first;  Reshape: x.reshape((batch,) + target_shape);
   - Embedding: table[indices] (float indices truncated toward zero like
     tf.cast);
   - Add / Subtract / Multiply / Average / Maximum / Minimum: numpy
     broadcasting of the non-batch dims (what tf.keras' expand_dims at axis 1
     amounts to), folded left to right in the input dtype as tf.keras' Python
     loops do; Average of int32 gives float64 (TF's true division);
   - Concatenate: np.concatenate;
   - BatchNormalization: (x - mean) / sqrt(var + eps) * gamma + beta in
     float64, rounded to float32;
   - Normalization: (x - mean) / max(sqrt(var), 1e-7) and the inverse
     mean + x * max(sqrt(var), 1e-7), float64 rounded to float32;
   - Softmax layer: exp(x - max) / sum over one axis, exp(x - logsumexp) over
     several, float64 rounded to float32.
2. Real Keras outputs: the activation-layer models of
   dl4j-dense-activations-io (Keras 2.3.1, Apache-2.0, see its
   PROVENANCE.md): for each case the input of the activation layer
   (activations/dense) and its output (outputs/<layer>) are copied as
   keras_<case>_in.npy / keras_<case>_out.npy.  BatchNormalization weights
   of siamese-cosine-dot-keras2_4 (tf.keras 2.4 file; its PROVENANCE.md
   gives the licence) are copied as real_bn_w<i>.npy with a numpy output.
   Skipped (with a message) when the shared directory is absent; the
   committed copies are what the tests read.

manifest.txt lists every file with its dtype and shape.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "layers")
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "testdata", "keras")

rng = np.random.default_rng(20240611)
manifest = []


def save(name, arr):
    arr = np.ascontiguousarray(arr)
    np.save(os.path.join(OUT, name + ".npy"), arr)
    manifest.append("%s %s %s" % (name, arr.dtype, "x".join(str(d) for d in arr.shape) or "scalar"))


def f32(*shape):
    return rng.uniform(-2.0, 2.0, size=shape).astype(np.float32)


def core():
    x = f32(2, 3, 2, 2)
    save("flatten_x", x)
    save("flatten_last_out", x.reshape(2, -1))
    save("flatten_first_out", x.transpose(0, 2, 3, 1).reshape(2, -1))
    r = f32(2, 12)
    save("reshape_x", r)
    save("reshape_out", r.reshape(2, 3, -1))
    table = f32(10, 4)
    idx = rng.integers(0, 10, size=(2, 3)).astype(np.int32)
    fidx = (idx.astype(np.float32) + rng.uniform(0.0, 0.9, size=idx.shape).astype(np.float32)).astype(np.float32)
    save("embedding_table", table)
    save("embedding_idx", idx)
    save("embedding_fidx", fidx)
    save("embedding_out", table[idx])
    save("embedding_fout", table[fidx.astype(np.int32)])


def merges():
    a, b, c = f32(2, 3, 4), f32(2, 4), f32(2, 1, 4)
    save("merge_a", a)
    save("merge_b", b)
    save("merge_c", c)
    # Batch dims align; the other dims right-align (numpy broadcasting).
    bb, cc = b[:, None, :], c
    save("add_out", (a + bb) + cc)
    save("subtract_out", a - bb)
    save("multiply_out", (a * bb) * cc)
    save("average_out", ((a + bb) + cc) / np.float32(3))
    save("maximum_out", np.maximum(np.maximum(a, bb), cc))
    save("minimum_out", np.minimum(np.minimum(a, bb), cc))
    ia = rng.integers(-1000, 1000, size=(2, 3)).astype(np.int32)
    ib = rng.integers(-1000, 1000, size=(2, 3)).astype(np.int32)
    save("int_a", ia)
    save("int_b", ib)
    save("int_add_out", ia + ib)
    save("int_average_out", (ia + ib) / 2)  # float64, as TF's truediv
    d, e, g = f32(2, 2, 4), f32(2, 3, 1), f32(1, 3, 4)
    save("concat_d", d)
    save("concat_e", e)
    save("concat_g", g)
    save("concat_axis1_out", np.concatenate([a, d], axis=1))
    save("concat_last_out", np.concatenate([a, e, a], axis=-1))
    save("concat_axis0_out", np.concatenate([a, g], axis=0))


def bn(x, axes, gamma, beta, mean, var, eps):
    shape = [1] * x.ndim
    for ax in axes:
        shape[ax] = x.shape[ax]
    r = lambda p: np.asarray(p, np.float64).reshape(shape)
    y = (x.astype(np.float64) - r(mean)) / np.sqrt(r(var) + eps)
    if gamma is not None:
        y = y * r(gamma)
    if beta is not None:
        y = y + r(beta)
    return y.astype(np.float32)


def norms():
    # axis -1 on (4, 3)
    x = f32(4, 3)
    g, b, m = f32(3), f32(3), f32(3)
    v = rng.uniform(0.1, 2.0, size=3).astype(np.float32)
    for name, arr in (("bn_last_x", x), ("bn_last_gamma", g), ("bn_last_beta", b), ("bn_last_mean", m),
                      ("bn_last_var", v)):
        save(name, arr)
    save("bn_last_out", bn(x, [1], g, b, m, v, 1e-3))
    # axis 1 on (2, 3, 4, 5), epsilon 0.01
    x = f32(2, 3, 4, 5)
    g, b, m = f32(3), f32(3), f32(3)
    v = rng.uniform(0.1, 2.0, size=3).astype(np.float32)
    for name, arr in (("bn_ch1_x", x), ("bn_ch1_gamma", g), ("bn_ch1_beta", b), ("bn_ch1_mean", m),
                      ("bn_ch1_var", v)):
        save(name, arr)
    save("bn_ch1_out", bn(x, [1], g, b, m, v, 0.01))
    # axes [1, 2] on (2, 3, 4): parameters of shape (1, 3, 4)
    x = f32(2, 3, 4)
    g, b, m = f32(1, 3, 4), f32(1, 3, 4), f32(1, 3, 4)
    v = rng.uniform(0.1, 2.0, size=(1, 3, 4)).astype(np.float32)
    for name, arr in (("bn_multi_x", x), ("bn_multi_gamma", g), ("bn_multi_beta", b), ("bn_multi_mean", m),
                      ("bn_multi_var", v)):
        save(name, arr)
    save("bn_multi_out", bn(x, [1, 2], g, b, m, v, 1e-3))
    # center=False, scale=False on (3, 5)
    x = f32(3, 5)
    m = f32(5)
    v = rng.uniform(0.1, 2.0, size=5).astype(np.float32)
    save("bn_plain_x", x)
    save("bn_plain_mean", m)
    save("bn_plain_var", v)
    save("bn_plain_out", bn(x, [1], None, None, m, v, 1e-3))

    # Normalization with given mean / variance on (4, 5); one variance tiny
    # so that the 1e-7 floor of the standard deviation matters.
    x = f32(4, 5)
    m = f32(5)
    v = rng.uniform(0.1, 2.0, size=5)
    v[2] = 1e-20
    save("norm_x", x)
    save("norm_mean", m.astype(np.float64))
    save("norm_var", v.astype(np.float64))
    sd = np.maximum(np.sqrt(v.astype(np.float32)).astype(np.float64), 1e-7)
    save("norm_out", ((x - m.astype(np.float64)) / sd).astype(np.float32))
    save("norm_invert_out", (m.astype(np.float64) + x * sd).astype(np.float32))
    # axis (1, 2) on (2, 3, 4) with adapted weights of shape (3, 4)
    x = f32(2, 3, 4)
    m = f32(3, 4)
    v = rng.uniform(0.1, 2.0, size=(3, 4)).astype(np.float32)
    save("norm_multi_x", x)
    save("norm_multi_mean", m)
    save("norm_multi_var", v)
    save("norm_multi_out", ((x - m.astype(np.float64)) / np.sqrt(v.astype(np.float64))).astype(np.float32))


def softmax(x, axes):
    x = x.astype(np.float64)
    mx = np.max(x, axis=tuple(axes), keepdims=True)
    e = np.exp(x - mx)
    return (e / np.sum(e, axis=tuple(axes), keepdims=True)).astype(np.float32)


def activations():
    x = f32(2, 3, 4) * 3
    save("softmax_x", x)
    save("softmax_axis1_out", softmax(x, [1]))
    save("softmax_axes12_out", softmax(x, [1, 2]))
    v = f32(5) * 3
    save("softmax_1d_x", v)
    save("softmax_1d_out", softmax(v, [0]))


def real_files():
    import h5py
    base = os.path.join(SHARED, "dl4j-dense-activations-io")
    cases = {"ELU_0": "elu_1", "LeakyReLU_0": "leaky_re_lu_1", "ReLU_0": "re_lu_1", "ReLU_1": "re_lu_1",
             "ReLU_2": "re_lu_1", "ReLU_3": "re_lu_1", "Softmax_0": "softmax_1", "ThresholdReLU_0": "thresholded_re_lu_1",
             "simple_sparse_xent_mlp_keras_2": "activation_1"}
    for case, layer in cases.items():
        with h5py.File(os.path.join(base, case + "_inputs_and_outputs.h5"), "r") as f:
            src = "activations/dense_1" if "activations/dense_1" in f else "activations/dense"
            save("keras_%s_in" % case, np.asarray(f[src], np.float32))
            save("keras_%s_out" % case, np.asarray(f["outputs/" + layer], np.float32))
    with h5py.File(os.path.join(SHARED, "siamese-cosine-dot-keras2_4", "testmodel.hdf5"), "r") as f:
        g = f["model_weights/base/normalization1"]
        names = ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"]
        w = [np.asarray(g[n], np.float32) for n in names]
    # Only the first 6 channels are kept: enough values, small files.
    w = [a[:6] for a in w]
    for i, a in enumerate(w):
        save("real_bn_w%d" % i, a)
    x = f32(3, 6) * 5
    save("real_bn_x", x)
    save("real_bn_out", bn(x, [1], w[0], w[1], w[2], w[3], 1e-3))


def main():
    os.makedirs(OUT, exist_ok=True)
    core()
    merges()
    norms()
    activations()
    if os.path.isdir(SHARED):
        real_files()
    else:
        print("note: %s not found; the real-Keras fixtures were not rewritten" % SHARED)
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print("wrote %d files to %s" % (len(manifest), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
