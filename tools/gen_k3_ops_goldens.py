"""Goldens for Keras 3 operation layers (keras.ops on symbolic tensors).

Run with Keras 3.15 (/opt/k3/bin/python tools/gen_k3_ops_goldens.py .):
writes tests/data/k3_ops/ops.keras (a functional model whose nodes are
the keras.src.ops.* classes Keras 3 serializes), its inputs x0, x1 and
Keras 3's predictions y0..yN; and masking_lstm.keras (Masking into an
LSTM: Keras 3 writes the mask as any(not_equal(x, 0.0), axis=-1)
operations and the LSTM's explicit `mask` argument), with mx.npy, my.npy.
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
    x = keras.Input((4, 3), name="x")
    h = keras.layers.Masking(0.0)(x)
    o = keras.layers.LSTM(2, return_sequences=True)(h)
    mm = keras.Model(x, o, name="masking_lstm")
    mm.save(os.path.join(out, "masking_lstm.keras"))
    mx = rng.uniform(-1, 1, (2, 4, 3)).astype("float32")
    mx[0, 1:3] = 0.0
    mx[1, 3] = 0.0
    np.save(os.path.join(out, "mx.npy"), mx)
    np.save(os.path.join(out, "my.npy"), mm.predict(mx, verbose=0))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
