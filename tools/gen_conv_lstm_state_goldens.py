#!/opt/kref/bin/python
"""Golden values of ConvLSTM with return_state=True, for
tests/layers/test_conv_lstm_state.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_conv_lstm_state_goldens.py

Writes tests/data/layers/conv_lstm_state/:
- goldens.json "cases": layers (config as tf.keras 2.15 serializes it),
  weights, an input, the three outputs [output, h, c] in float64 and, for
  loss = sum_k sum(y_k * dy_k), d loss / d x and the weights' gradients
  (tf.GradientTape), so the states' gradients are checked too;
- model.h5 / model.keras: a functional model whose ConvLSTM2D returns its
  states, h + c fed to a Conv2D (outputs: that and the sequence), with
  goldens.json "model": its input and tf.keras' predictions.

Every number comes from TensorFlow; none from ckeras.
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, gradient_record, legacy, random_weights, tape_gradients, tensor, write_json

OUT = data_dir("layers", "conv_lstm_state")
L = tf.keras.layers


# name, ConvLSTM class, input shape, keyword arguments (all return_state=True)
CASES = [
    ("c2d_same_last", L.ConvLSTM2D, (2, 3, 4, 5, 2), dict(filters=3, kernel_size=3, padding="same")),
    ("c2d_valid_seq_backwards", L.ConvLSTM2D, (1, 4, 5, 4, 2),
     dict(filters=2, kernel_size=(3, 2), strides=(2, 1), return_sequences=True, go_backwards=True)),
    ("c1d_seq", L.ConvLSTM1D, (2, 3, 6, 2), dict(filters=2, kernel_size=2, return_sequences=True)),
    ("c3d_last_backwards", L.ConvLSTM3D, (1, 2, 3, 3, 3, 1), dict(filters=2, kernel_size=2, go_backwards=True)),
]


def layer_cases(rng):
    out = []
    for name, cls, shape, kw in CASES:
        tf.keras.backend.clear_session()
        x = rng.uniform(-1, 1, size=shape)
        layer = cls(dtype="float64", return_state=True, **kw)
        xv = tf.constant(x, dtype=tf.float64)
        layer(xv)
        weights = random_weights(layer, rng, 0.5)
        config = legacy(tf.keras.layers.serialize(layer))
        config["config"]["dtype"] = "float32"
        ys, dys, grads = tape_gradients(layer, xv, rng, as_list=True)
        out.append({
            "name": name, "layer": config, "x": tensor(x), "weights": [tensor(w) for w in weights],
            "dy": [tensor(d) for d in dys], "f64": gradient_record(ys, grads),
        })
    return out


def model_case(rng):
    tf.keras.backend.clear_session()
    inp = tf.keras.Input(shape=(3, 4, 5, 2))
    seq, h, c = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True,
                             name="clstm")(inp)
    y = L.Conv2D(2, 1, name="head")(L.Add()([h, c]))
    model = tf.keras.Model(inp, [y, seq])
    for w in model.weights:
        w.assign(rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32))
    x = rng.uniform(-1, 1, size=(2, 3, 4, 5, 2)).astype(np.float32)
    ys = model.predict(x, verbose=0)
    model.save(os.path.join(OUT, "model.h5"))
    model.save(os.path.join(OUT, "model.keras"))
    return {"x": tensor(x), "y": [tensor(v) for v in ys]}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261208)
    data = {"cases": layer_cases(rng), "model": model_case(rng)}
    write_json(os.path.join(OUT, "goldens.json"), data)
    print("wrote %d cases and the model" % len(data["cases"]))


if __name__ == "__main__":
    main()
