#!/opt/kref/bin/python
"""Golden values of TFOpLambda / SlicingOpLambda for tests/layers/test_tf_op.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_tfop_goldens.py

Writes tests/data/layers/tfop/:

  goldens.json   a list of cases, each a small functional model made by
                 calling TensorFlow functions on Keras tensors (tf.keras
                 inserts a TFOpLambda or SlicingOpLambda layer per call):
                   name, config      model.to_json() of the float32 model
                   config64          the same model with float64 inputs
                                     (TFOpLambda does not autocast, so the
                                     whole graph computes in float64)
                   x                 the inputs (list of tensors)
                   y                 float32 model output
                   y64, dy, dx       float64 output, an upstream gradient
                                     and d sum(y * dy) / d x_i (GradientTape)
  model.h5, model.keras, model_{x,y}.npy
                 a model mixing Dense layers and TF ops saved by tf.keras
                 2.15, its inputs and predictions
  fit.json       that model after one epoch of SGD (lr 0.05, mse,
                 batch 4, no shuffle) on model_x / fit_t: the loss and the
                 weights, from the h5 file's initial weights

With --verify DIR, reads the configs ckeras wrote in DIR (test_tf_op
leaves them in build/tmp) back with tf.keras instead and compares their
predictions with the goldens.

Keras 3 has no TFOpLambda (TF functions are not applied to Keras 3
tensors), so there is nothing to record for it.  Every number comes from
TensorFlow; none from ckeras.  Tensors are {"shape", "data"} (C order).
"""
import json
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, tensor

OUT = data_dir("layers", "tfop")
B = 2
S = (3, 4)


# name, number of inputs (each (B, 3, 4)), the expression
CASES = [
    ("add_tensor", 2, lambda x, y: tf.math.add(x, y)),
    ("add_operator_broadcast", 2, lambda x, y: x + y[:, :1, :]),
    ("radd_constant", 1, lambda x: 2.0 + x),
    ("rsub_constant", 1, lambda x: 3.0 - x),
    ("mul_constant_list", 1, lambda x: x * np.array([1.0, 2.0, -3.0, 0.5], dtype=x.dtype.as_numpy_dtype)),
    ("mul_int_constant", 1, lambda x: x * 2),
    ("div_tensor", 2, lambda x, y: x / (tf.abs(y) + 1.0)),
    ("neg_pow", 1, lambda x: -(x ** 2)),
    ("pow_tensor", 2, lambda x, y: tf.math.pow(tf.abs(x) + 0.5, y)),
    ("max_min", 2, lambda x, y: tf.math.maximum(x, 0.2) + tf.math.minimum(x, y)),
    ("squared_difference", 2, lambda x, y: tf.math.squared_difference(x, y)),
    ("sub_mul_tensors", 2, lambda x, y: (x - y) * y),
    ("math_unary", 1, lambda x: tf.math.exp(x) + tf.math.log(tf.abs(x) + 1.0) + tf.math.sqrt(tf.abs(x) + 1.0)
        + tf.math.square(x) + tf.math.rsqrt(tf.abs(x) + 1.0) + tf.math.reciprocal(tf.abs(x) + 1.0)
        + tf.math.sigmoid(x) + tf.math.tanh(x) + tf.math.negative(x) + tf.math.abs(x)),
    ("nn_activations", 1, lambda x: tf.nn.relu(x) + tf.nn.relu6(x * 8.0) + tf.nn.elu(x) + tf.nn.selu(x)
        + tf.nn.softplus(x) + tf.nn.leaky_relu(x, alpha=0.1) + tf.nn.gelu(x) + tf.nn.gelu(x, approximate=True)
        + tf.nn.silu(x) + tf.nn.softsign(x)),
    ("softmax_axis1", 1, lambda x: tf.nn.softmax(x, axis=1)),
    ("softmax_log", 1, lambda x: tf.nn.softmax(x) + tf.nn.log_softmax(x)),
    ("reduce_sum_keepdims", 1, lambda x: tf.math.reduce_sum(x, axis=1, keepdims=True)),
    ("reduce_mean_axes", 1, lambda x: tf.math.reduce_mean(x, axis=[1, 2])),
    ("reduce_max_last", 1, lambda x: tf.math.reduce_max(x, axis=-1)),
    ("reduce_min", 1, lambda x: tf.math.reduce_min(x, axis=1)),
    ("reduce_prod", 1, lambda x: tf.math.reduce_prod(x, axis=2, keepdims=True)),
    ("reshape", 1, lambda x: tf.reshape(x, (-1, 2, 6))),
    ("expand_squeeze", 1, lambda x: tf.squeeze(tf.expand_dims(x, 1), axis=1) * tf.expand_dims(x[:, 0, :], 1)),
    ("expand_last", 1, lambda x: tf.expand_dims(x, -1)),
    ("concat", 2, lambda x, y: tf.concat([x, y], axis=1)),
    ("concat_last", 2, lambda x, y: tf.concat([x, y * 2.0, x], axis=-1)),
    ("stack", 2, lambda x, y: tf.stack([x, y], axis=1)),
    ("transpose", 1, lambda x: tf.transpose(x, perm=[0, 2, 1])),
    ("matmul_transpose_b", 2, lambda x, y: tf.matmul(x, y, transpose_b=True)),
    ("matmul_transpose_a", 2, lambda x, y: tf.linalg.matmul(x, y, transpose_a=True)),
    ("cast_round_trip", 1, lambda x: tf.cast(tf.cast(x * 3.0, tf.int32), x.dtype) + x),
    ("slice_ranges", 1, lambda x: x[:, 1:, ::2]),
    ("slice_newaxis_index", 1, lambda x: x[..., tf.newaxis, 0]),
    ("slice_negative", 1, lambda x: x[:, -1]),
    ("slice_reverse", 1, lambda x: x[:, ::-1, 1:3]),
    ("slice_middle_only", 1, lambda x: x[:, 1]),
    ("identity_concat", 1, lambda x: tf.concat([x], 1) * 1.5),
    ("reduce_logsumexp", 1, lambda x: tf.math.reduce_logsumexp(x, axis=1)),
    ("reduce_variance_std", 1, lambda x: tf.math.reduce_variance(x, axis=-1) + tf.math.reduce_std(x, axis=-1)),
    ("reduce_std_axes", 1, lambda x: tf.math.reduce_std(x, axis=[1, 2], keepdims=True)),
    ("euclidean_norm", 1, lambda x: tf.math.reduce_euclidean_norm(x, axis=1)),
    ("l2_normalize", 1, lambda x: tf.math.l2_normalize(x, axis=-1) + tf.nn.l2_normalize(x, axis=[1, 2])),
    ("argmax_argmin", 1, lambda x: tf.cast(tf.math.argmax(x, axis=-1) * 4 + tf.math.argmin(x, axis=-1), x.dtype)),
    ("argmin_axis1", 1, lambda x: tf.cast(tf.math.argmin(x, axis=1), x.dtype) + x[:, 0, :]),
    ("clip_by_value", 1, lambda x: tf.clip_by_value(x, -0.5, 0.75)),
    ("tile", 1, lambda x: tf.tile(x, [1, 2, 3])),
    ("ones_zeros_like", 1, lambda x: x * tf.ones_like(x) + tf.zeros_like(x) + 1.0),
    ("erfc", 1, lambda x: tf.math.erfc(x)),
]


def build(fn, n, dtype):
    tf.keras.backend.clear_session()
    ins = [tf.keras.Input(S, dtype=dtype, name=f"in{i}") for i in range(n)]
    out = fn(*ins)
    return tf.keras.Model(ins, out, name="case")


def cases(rng):
    result = []
    for name, n, fn in CASES:
        xs = [rng.uniform(-1.5, 1.5, size=(B,) + S) for _ in range(n)]
        m32 = build(fn, n, "float32")
        config = json.loads(m32.to_json())
        y = m32([tf.constant(x.astype(np.float32)) for x in xs]).numpy()
        m64 = build(fn, n, "float64")
        config64 = json.loads(m64.to_json())
        xv = [tf.constant(x) for x in xs]
        with tf.GradientTape() as tape:
            for v in xv:
                tape.watch(v)
            y64 = m64(xv)
            dy = rng.uniform(-1, 1, size=y64.shape)
            loss = tf.reduce_sum(y64 * tf.constant(dy))
        dx = tape.gradient(loss, xv)
        dx = [np.zeros_like(x) if g is None else g.numpy() for x, g in zip(xs, dx)]
        result.append({"name": name, "config": config, "config64": config64,
                       "x": [tensor(x) for x in xs], "y": tensor(y), "y64": tensor(y64.numpy()),
                       "dy": tensor(dy), "dx": [tensor(g) for g in dx]})
    return result


def file_model():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(7)
    x = tf.keras.Input((6,), name="x")
    h = tf.keras.layers.Dense(8, activation="relu", name="dense")(x)
    r = tf.reshape(h, (-1, 2, 4))
    t = tf.transpose(r, perm=[0, 2, 1])
    m = tf.math.reduce_mean(t, axis=2)
    c = tf.concat([m, h[:, :2], tf.nn.sigmoid(x[:, ::3])], axis=1)
    s = c * 2.0 + 1.0
    out = tf.keras.layers.Dense(1, name="head")(s)
    return tf.keras.Model(x, out, name="tfop_model")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20250801)
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(cases(rng), f)

    model = file_model()
    x = rng.uniform(-1, 1, size=(8, 6)).astype(np.float32)
    np.save(os.path.join(OUT, "model_x.npy"), x)
    np.save(os.path.join(OUT, "model_y.npy"), model.predict(x, verbose=0))
    model.save(os.path.join(OUT, "model.h5"))
    model.save(os.path.join(OUT, "model.keras"))

    target = rng.uniform(-1, 1, size=(8, 1)).astype(np.float32)
    np.save(os.path.join(OUT, "fit_t.npy"), target)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.05), loss="mse")
    hist = model.fit(x, target, batch_size=4, epochs=1, shuffle=False, verbose=0)
    with open(os.path.join(OUT, "fit.json"), "w") as f:
        json.dump({"loss": float(hist.history["loss"][0]),
                   "weights": [tensor(w) for w in model.get_weights()]}, f)


def verify(tmp):
    """Reads the configs ckeras wrote (test_tf_op leaves them in
    build/tmp as tfop_config_<case>.json) with tf.keras and checks their
    predictions against the goldens."""
    import glob
    import sys
    cases_by_name = {c["name"]: c for c in json.load(open(os.path.join(OUT, "goldens.json")))}
    bad = 0
    for path in sorted(glob.glob(os.path.join(tmp, "*tfop_config_*.json"))):
        name = path.rsplit("tfop_config_", 1)[1][:-5]
        c = cases_by_name[name]
        m = tf.keras.models.model_from_json(open(path).read())
        xs = [np.array(x["data"], dtype=np.float32).reshape(x["shape"]) for x in c["x"]]
        y = np.asarray(m(xs))
        want = np.array(c["y"]["data"]).reshape(c["y"]["shape"])
        err = float(np.max(np.abs(y - want))) if y.size else 0.0
        bad += err > 1e-5
        print(f"{name}: max |tf(ckeras config) - golden| = {err:.3g}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        verify(sys.argv[2])
    else:
        main()
