"""Goldens for Keras 3 operation layers (keras.ops on symbolic tensors).

Run with Keras 3.15 (/opt/k3/bin/python tools/gen_k3_ops_goldens.py .):
writes tests/data/k3_ops/ops.keras (a functional model whose nodes are
the keras.src.ops.* classes Keras 3 serializes), its inputs x0, x1 and
Keras 3's predictions y0..yN.
"""
import os
import sys

import numpy as np
import keras
from keras import ops


def build():
    x = keras.Input((3, 4), name="x")
    y = keras.Input((3, 4), name="y")
    outs = [
        ops.add(x, y), ops.subtract(x, 2.0), ops.multiply(x, y), ops.divide(x, y),
        ops.matmul(x, ops.transpose(y, (0, 2, 1))), ops.reshape(x, (-1, 12)), ops.expand_dims(x, 1),
        ops.squeeze(ops.expand_dims(x, 1), axis=1), ops.concatenate([x, y], axis=-1), ops.stack([x, y], axis=1),
        ops.mean(x, axis=-1, keepdims=True), ops.sum(x, axis=1), ops.max(x, axis=-1),
        ops.cast(ops.greater(x, 0.5), "float32"), ops.where(ops.less(x, y), x, y), ops.sqrt(ops.abs(x)),
        ops.exp(x), ops.log(ops.abs(x) + 1), ops.square(x), ops.tanh(x), ops.sigmoid(x), ops.relu(x),
        ops.softmax(x, axis=-1), ops.cast(ops.equal(x, y), "int32"), x * 2.0, -x, ops.power(x, 3),
        ops.maximum(x, y), ops.minimum(x, 0.0), ops.cast(ops.not_equal(x, y), "float32"),
    ]
    return keras.Model([x, y], outs, name="k3_ops")


def main(root):
    out = os.path.join(root, "tests", "data", "k3_ops")
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(0)
    m = build()
    m.save(os.path.join(out, "ops.keras"))
    rng = np.random.default_rng(0)
    xs = [rng.uniform(-2, 2, (2, 3, 4)).astype("float32") for _ in range(2)]
    for i, x in enumerate(xs):
        np.save(os.path.join(out, f"x{i}.npy"), x)
    for k, y in enumerate(m.predict(xs, verbose=0)):
        np.save(os.path.join(out, f"y{k}.npy"), np.asarray(y))
    print("outputs", len(m.outputs))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
