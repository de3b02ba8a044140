#!/opt/kref/bin/python
"""Golden float32 layer gradients from tf.keras 2.15 (tf.GradientTape), to
show that ckeras' backward passes agree with Keras and not only with
themselves.

    /opt/kref/bin/python tools/gen_layer_grad_goldens.py

Writes tests/data/train/layer_grads/goldens.json: per case the layer config
(get_config wrapper), input shapes and values, weights, a random dout, and
the gradients of sum(layer(inputs) * dout) w.r.t. every float input and
every weight (in layer.weights order)."""
import json
import os

import numpy as np
import tensorflow as tf
from tensorflow import keras

from golden_common import data_dir

OUT = data_dir("train", "layer_grads")
rng = np.random.default_rng(11)


def case(name, layer, inputs):
    ts = [tf.constant(x) for x in inputs]
    out = layer(ts if len(ts) > 1 else ts[0])
    dout = rng.uniform(-1, 1, out.shape).astype(np.float32)
    with tf.GradientTape() as tape:
        for t in ts:
            if t.dtype.is_floating:
                tape.watch(t)
        y = layer(ts if len(ts) > 1 else ts[0])
        loss = tf.reduce_sum(y * dout)
    fl = [t for t in ts if t.dtype.is_floating]
    grads = tape.gradient(loss, fl + list(layer.trainable_weights))
    dense = [tf.convert_to_tensor(g).numpy() for g in grads]
    return {"name": name,
            "config": {"class_name": layer.__class__.__name__, "config": layer.get_config()},
            "inputs": [{"dtype": str(x.dtype), "shape": list(x.shape), "values": x.ravel().tolist()} for x in inputs],
            "weights": [w.numpy().ravel().tolist() for w in layer.weights],
            "dout": dout.ravel().tolist(),
            "input_grads": [g.ravel().tolist() for g in dense[:len(fl)]],
            "weight_grads": [g.ravel().tolist() for g in dense[len(fl):]]}


def f32(*shape):
    return rng.uniform(-2, 2, shape).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [
        case("dense_relu", keras.layers.Dense(3, activation="relu", bias_initializer="glorot_uniform"), [f32(4, 5)]),
        case("dense_softmax_rank3", keras.layers.Dense(4, activation="softmax"), [f32(2, 3, 5)]),
        case("dot_normalize", keras.layers.Dot(axes=(2, 2), normalize=True), [f32(2, 3, 4), f32(2, 5, 4)]),
        case("dot_axes_1_2", keras.layers.Dot(axes=(1, 2)), [f32(2, 3, 4), f32(2, 5, 3)]),
        case("concatenate_axis1", keras.layers.Concatenate(axis=1), [f32(2, 3, 4), f32(2, 2, 4)]),
        case("embedding", keras.layers.Embedding(6, 3),
             [np.array([[0, 5, 2, 2], [3, 0, 2, 1]], dtype=np.int32)]),
        case("add_broadcast", keras.layers.Add(), [f32(2, 3, 4), f32(2, 4), f32(2, 1, 4)]),
        case("maximum_ties", keras.layers.Maximum(),
             [np.array([[1, 2, 0]], np.float32), np.array([[1, 2, 3]], np.float32)]),
    ]
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump({"tf": tf.__version__, "cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
