#!/opt/kref/bin/python
"""Golden values of the TFOpLambda functions added for issue 8
(comparisons and logical ops, where, cumsum, gather, one_hot, split) for
tests/layers/test_tf_op_more.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_tf_op_more_goldens.py

Writes tests/data/layers/tfop_more/:

  goldens.json   a list of cases, each a small functional model made by
                 calling TensorFlow functions on Keras tensors:
                   name, config      model.to_json() (float inputs float32)
                   x                 the inputs ({"dtype": "float32" or "int32"})
                   y                 the model's outputs (a list; bool
                                     outputs as 0 / 1 numbers)
                   grad              only for models whose outputs are all
                                     float: config64 (float inputs float64),
                                     y64, dy (one per output) and dx, the
                                     gradient of sum_k sum(y_k * dy_k) with
                                     respect to each float input
                                     (GradientTape; zeros where None)
  model.h5, model.keras, model_x.npy, model_i.npy, model_y<k>.npy
                 a model mixing Dense layers with these functions (several
                 outputs, one from split's second part) saved by tf.keras
                 2.15, its inputs and predictions
  fit_t<k>.npy, fit.json
                 targets, and the loss and weights after one epoch of SGD
                 (lr 0.05, mse per output, batch 2, no shuffle) from the
                 saved weights

Keras 3 has no TFOpLambda, so there is nothing to record for it.  Every
number comes from TensorFlow; none from ckeras.
"""
import json
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir

OUT = data_dir("layers", "tfop_more")
B = 2


def tensor(a):
    a = np.asarray(a)
    kind = "int32" if a.dtype.kind in "biu" else "float64"
    return {"shape": list(a.shape), "dtype": kind,
            "data": [int(v) if kind == "int32" else float(v) for v in a.reshape(-1)]}


F = ("f", (3, 4))        # a float input (B, 3, 4)
I3 = ("i", (2,), 0, 3)    # int indices (B, 2) in [0, 3)
I5 = ("i", (3,), -1, 5)   # int indices (B, 3) in [-1, 5): some out of range for depth 4

# name, inputs, the expression (returns a tensor or a list)
CASES = [
    ("compare_operators", [F, F], lambda x, y: [x > y, x >= 0.25, x < y, x <= y]),
    ("compare_functions", [F, F], lambda x, y: [tf.math.greater(x, y), tf.math.less_equal(x, 0.0),
                                                tf.math.equal(tf.round(x), tf.round(y)),
                                                tf.math.not_equal(tf.round(x), 0.0)]),
    ("compare_cast_multiply", [F, F], lambda x, y: tf.cast(x > y, x.dtype) * x + tf.cast(x <= 0.5, x.dtype) * y),
    ("logical_ops", [F, F], lambda x, y: [tf.math.logical_and(x > 0, y > 0), tf.math.logical_or(x > 0, y > 0),
                                          tf.math.logical_not(x > y), tf.math.logical_xor(x > 0, y > 0)]),
    ("reduce_any_all", [F, F], lambda x, y: [tf.math.reduce_any(x > y, axis=1), tf.math.reduce_all(x > -1.0, axis=-1),
                                             tf.reduce_any(tf.math.logical_and(x > 0, y > 0), axis=[1, 2], keepdims=True)]),
    ("where_tensors", [F, F], lambda x, y: tf.where(x > y, x, y * 2.0)),
    ("where_constant", [F], lambda x: tf.where(x > 0, x, 0.0) + tf.where(x < 0.5, x * x, 1.5)),
    ("where_broadcast", [F, F], lambda x, y: tf.where(y[:, :1, :] > 0, x, y[:, :, :1])),
    ("where_logical_condition", [F, F], lambda x, y: tf.where(tf.math.logical_and(x > -0.5, y < 0.5), x * y, -x)),
    ("cumsum_default", [F], lambda x: tf.math.cumsum(x, axis=1)),
    ("cumsum_exclusive_reverse", [F], lambda x: tf.math.cumsum(x, axis=1, exclusive=True, reverse=True)),
    ("cumsum_last_reverse", [F], lambda x: tf.cumsum(x, -1, reverse=True) * x),
    ("cumsum_exclusive", [F], lambda x: tf.math.cumsum(x, axis=2, exclusive=True)),
    ("gather_constant_indices", [F], lambda x: tf.gather(x, [2, 0, 0], axis=2)),
    ("gather_matrix_indices", [F], lambda x: tf.gather(x, [[0, 2], [1, 1]], axis=1)),
    ("gather_negative_axis", [F], lambda x: tf.gather(x, [1, 0, 1], axis=-1) * 2.0),
    ("gather_tensor_indices", [F, I3], lambda x, i: tf.gather(x, i, axis=1)),
    ("gather_tensor_indices_last", [F, I3], lambda x, i: tf.gather(x, i, axis=-1)),
    ("gather_constant_params", [I3], lambda i: tf.gather(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), i)),
    ("one_hot_default", [I5], lambda i: tf.one_hot(i, 4)),
    ("one_hot_values_axis", [I5], lambda i: tf.one_hot(i, 4, on_value=2.0, off_value=-1.0, axis=1)),
    ("one_hot_int_values", [I5], lambda i: tf.one_hot(i, 3, on_value=3, off_value=1, axis=-1)),
    ("one_hot_times_input", [F, I5], lambda x, i: tf.matmul(tf.one_hot(i, 4, dtype=x.dtype), x, transpose_b=True)),
    ("split_equal", [F], lambda x: tf.split(x, 2, axis=2)),
    ("split_sizes", [F], lambda x: tf.split(x, [1, 2], axis=1)),
    ("split_inferred_size", [F], lambda x: [p * (k + 1.0) for k, p in enumerate(tf.split(x, [1, -1, 1], axis=-1))]),
    ("split_second_part_only", [F], lambda x: tf.split(x, 3, axis=1)[1] * 3.0),
]


def make_inputs(spec, dtype):
    ins = []
    for k, s in enumerate(spec):
        if s[0] == "f":
            ins.append(tf.keras.Input(s[1], dtype=dtype, name=f"in{k}"))
        else:
            ins.append(tf.keras.Input(s[1], dtype="int32", name=f"in{k}"))
    return ins


def build(fn, spec, dtype):
    tf.keras.backend.clear_session()
    ins = make_inputs(spec, dtype)
    out = fn(*ins)
    outs = out if isinstance(out, (list, tuple)) else [out]
    return tf.keras.Model(ins, list(outs), name="case"), len(outs)


def values(rng, spec):
    xs = []
    for s in spec:
        if s[0] == "f":
            xs.append(rng.uniform(-1.5, 1.5, size=(B,) + s[1]))
        else:
            xs.append(rng.integers(s[2], s[3], size=(B,) + s[1]).astype(np.int32))
    return xs


def as_input(x, dtype):
    return tf.constant(x if x.dtype == np.int32 else x.astype(dtype))


def number_output(y):
    y = y.numpy()
    return y.astype(np.int32) if y.dtype == bool else y


def cases(rng):
    result = []
    for name, spec, fn in CASES:
        xs = values(rng, spec)
        m32, n_out = build(fn, spec, "float32")
        ys = m32([as_input(x, np.float32) for x in xs])
        ys = ys if isinstance(ys, (list, tuple)) else [ys]
        case = {"name": name, "config": json.loads(m32.to_json()), "x": [tensor(x) for x in xs],
                "y": [tensor(number_output(y)) for y in ys]}
        if all(y.dtype.is_floating for y in ys) and any(s[0] == "f" for s in spec):
            m64, _ = build(fn, spec, "float64")
            xv = [as_input(x, np.float64) for x in xs]
            with tf.GradientTape() as tape:
                for v, s in zip(xv, spec):
                    if s[0] == "f":
                        tape.watch(v)
                y64 = m64(xv)
                y64 = y64 if isinstance(y64, (list, tuple)) else [y64]
                dy = [rng.uniform(-1, 1, size=y.shape) for y in y64]
                loss = tf.add_n([tf.reduce_sum(y * tf.constant(d, dtype=y.dtype)) for y, d in zip(y64, dy)])
            fv = [v for v, s in zip(xv, spec) if s[0] == "f"]
            grads = tape.gradient(loss, fv)
            dx = [np.zeros(v.shape) if g is None else tf.convert_to_tensor(g).numpy() for v, g in zip(fv, grads)]
            case["grad"] = {"config64": json.loads(m64.to_json()), "y64": [tensor(y.numpy()) for y in y64],
                            "dy": [tensor(d) for d in dy], "dx": [tensor(g) for g in dx]}
        result.append(case)
    return result


def file_model():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(11)
    x = tf.keras.Input((6,), name="x")
    i = tf.keras.Input((2,), dtype="int32", name="i")
    h = tf.keras.layers.Dense(8, activation="tanh", name="dense")(x)
    a, b = tf.split(h, 2, axis=1)
    w = tf.where(a > b, a, tf.math.cumsum(b, axis=1, reverse=True))
    # an embedding-style lookup: constant params, tensor indices
    table = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
    g = tf.gather(table, i) * h[:, None, :2]
    oh = tf.reduce_sum(tf.one_hot(i, 6) * x[:, None, :], axis=1)
    out1 = tf.keras.layers.Dense(3, name="head")(tf.concat([w, oh], axis=1))
    model = tf.keras.Model([x, i], [out1, b * 2.0, g, tf.cast(x > 0, tf.float32)], name="tfop_more")
    rng = np.random.default_rng(5)
    xv = rng.uniform(-1, 1, size=(4, 6)).astype(np.float32)
    iv = rng.integers(0, 8, size=(4, 2)).astype(np.int32)
    ys = model.predict([xv, iv], verbose=0)
    model.save(os.path.join(OUT, "model.h5"))
    model.save(os.path.join(OUT, "model.keras"))
    np.save(os.path.join(OUT, "model_x.npy"), xv)
    np.save(os.path.join(OUT, "model_i.npy"), iv)
    for k, y in enumerate(ys):
        np.save(os.path.join(OUT, f"model_y{k}.npy"), y)
    # one epoch of SGD on the four outputs (mse each, summed), from the
    # saved weights
    ts = [rng.uniform(-1, 1, size=y.shape).astype(np.float32) for y in ys]
    for k, t in enumerate(ts):
        np.save(os.path.join(OUT, f"fit_t{k}.npy"), t)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.05), loss=["mse"] * 4)
    hist = model.fit([xv, iv], ts, batch_size=2, epochs=1, shuffle=False, verbose=0)
    with open(os.path.join(OUT, "fit.json"), "w") as f:
        json.dump({"loss": hist.history["loss"][0],
                   "weights": [tensor(w) for w in model.get_weights()]}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2026)
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(cases(rng), f, separators=(",", ":"))
    file_model()


if __name__ == "__main__":
    main()
