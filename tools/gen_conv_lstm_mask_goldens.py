#!/opt/kref/bin/python
"""Golden values of ConvLSTM on masked inputs, for
tests/layers/test_conv_lstm_mask.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_conv_lstm_mask_goldens.py

tf.keras' ConvRNN passes the mask to backend.rnn, which broadcasts each
step's mask over the trailing dims of the step's output and selects the
new states / output where it is true, the previous ones elsewhere (the
previous output starts at zeros).  A (batch, time) mask skips steps; a
Masking layer over a 5-d input makes a (batch, time, rows, cols) mask
that skips single positions (TensorFlow fails unless the output keeps the
input's spatial dims).

Writes tests/data/layers/conv_lstm_mask/:
- goldens.json "cases": a layer (config as tf.keras 2.15 serializes it),
  weights, an input, an explicit mask and the float64 output;
- model.h5 / model.keras: Masking -> ConvLSTM2D(return_sequences) ->
  ConvLSTM2D(return_state, go_backwards), and Masking -> ConvLSTM1D, with
  goldens.json "model": the inputs and tf.keras' predictions.

Every number comes from TensorFlow; none from ckeras.
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, legacy, random_weights, tensor, write_json

OUT = data_dir("layers", "conv_lstm_mask")
L = tf.keras.layers


# name, class, input shape, mask, keyword arguments
CASES = [
    ("c2d_time_mask_seq", L.ConvLSTM2D, (2, 4, 4, 3, 2), [[1, 0, 1, 1], [0, 1, 1, 0]],
     dict(filters=2, kernel_size=3, padding="same", return_sequences=True)),
    ("c2d_time_mask_valid_strides_backwards", L.ConvLSTM2D, (2, 4, 5, 4, 2), [[1, 1, 0, 1], [1, 0, 0, 0]],
     dict(filters=2, kernel_size=(3, 2), strides=(2, 1), go_backwards=True)),
    ("c1d_time_mask_last", L.ConvLSTM1D, (2, 3, 6, 2), [[1, 0, 0], [1, 1, 1]],
     dict(filters=3, kernel_size=2, dilation_rate=2)),
    ("c2d_position_mask_seq_backwards", L.ConvLSTM2D, (2, 3, 3, 4, 2), "positions",
     dict(filters=2, kernel_size=2, padding="same", return_sequences=True, go_backwards=True)),
]


def layer_cases(rng):
    out = []
    for name, cls, shape, mask, kw in CASES:
        tf.keras.backend.clear_session()
        x = rng.uniform(-1, 1, size=shape)
        if mask == "positions":
            mask = (rng.uniform(size=shape[:-1]) > 0.3).astype(np.int32)
        mask = np.asarray(mask, dtype=np.int32)
        layer = cls(dtype="float64", **kw)
        xv = tf.constant(x, dtype=tf.float64)
        layer(xv)
        weights = random_weights(layer, rng, 0.5)
        y = layer(xv, mask=tf.constant(mask.astype(bool)))
        config = legacy(tf.keras.layers.serialize(layer))
        config["config"]["dtype"] = "float32"
        out.append({"name": name, "layer": config, "x": tensor(x), "mask": tensor(mask),
                    "weights": [tensor(w) for w in weights], "y": tensor(y.numpy())})
    return out


def model_case(rng):
    tf.keras.backend.clear_session()
    a = tf.keras.Input(shape=(4, 3, 3, 2), name="frames")
    seq = L.ConvLSTM2D(2, 2, padding="same", return_sequences=True, name="first")(L.Masking(0.0)(a))
    last, h, c = L.ConvLSTM2D(2, 3, padding="same", go_backwards=True, return_state=True, name="second")(seq)
    b = tf.keras.Input(shape=(3, 5, 2), name="rows")
    row = L.ConvLSTM1D(2, 2, padding="same", return_sequences=True, name="third")(L.Masking(0.0)(b))
    model = tf.keras.Model([a, b], [seq, L.Add()([last, c]), row])
    for w in model.weights:
        w.assign(rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32))
    xa = rng.uniform(-1, 1, size=(2, 4, 3, 3, 2)).astype(np.float32)
    xa[0, 2] = 0          # a whole step
    xa[1, 1, 0, 0] = 0    # one position
    xa[1, 3, 2, :] = 0    # a row of positions
    xb = rng.uniform(-1, 1, size=(2, 3, 5, 2)).astype(np.float32)
    xb[0, 1] = 0
    xb[1, 0, 3] = 0
    ys = model.predict([xa, xb], verbose=0)
    model.save(os.path.join(OUT, "model.h5"))
    model.save(os.path.join(OUT, "model.keras"))
    return {"x": [tensor(xa), tensor(xb)], "y": [tensor(v) for v in ys]}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261209)
    data = {"cases": layer_cases(rng), "model": model_case(rng)}
    write_json(os.path.join(OUT, "goldens.json"), data)
    print("wrote %d cases and the model" % len(data["cases"]))


if __name__ == "__main__":
    main()
