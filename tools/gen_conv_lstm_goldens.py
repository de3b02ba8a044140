#!/opt/kref/bin/python
"""Golden values of ConvLSTM1D / ConvLSTM2D / ConvLSTM3D for
tests/layers/test_conv_lstm.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_conv_lstm_goldens.py

Writes tests/data/layers/conv_lstm/goldens.json, a list of cases in the
format of tools/gen_rnn_wrapper_goldens.py (name, layer config as tf.keras
2.15 serializes it, x, weights, weight_names, dy, f32.y, f64.{y, dx,
dweights}), and conv_lstm_model.{h5,keras} with conv_lstm_model_{x,y}.npy:
a model of two ConvLSTM2D layers (valid and same padding, hard_sigmoid)
around MaxPooling3D and TimeDistributed(Dropout), like the real file
10raw+Exergame__model.h5, saved by tf.keras 2.15, and its predictions.

Every number comes from TensorFlow; none from ckeras.
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, dtype_pair_case, random_weights, write_json

OUT = data_dir("layers", "conv_lstm")
L = tf.keras.layers


CASES = [
    ("c2d_valid_last", (2, 3, 5, 4, 2), lambda d: L.ConvLSTM2D(3, 3, dtype=d)),
    ("c2d_same_seq", (2, 3, 4, 5, 2),
     lambda d: L.ConvLSTM2D(2, (3, 2), padding="same", return_sequences=True, dtype=d)),
    ("c2d_strides_backwards_seq", (1, 4, 7, 6, 3),
     lambda d: L.ConvLSTM2D(2, 3, strides=(2, 1), go_backwards=True, return_sequences=True,
                            recurrent_activation="hard_sigmoid", dtype=d)),
    ("c2d_dilation_nobias_relu", (2, 3, 6, 6, 1),
     lambda d: L.ConvLSTM2D(3, 2, dilation_rate=2, use_bias=False, activation="relu", dtype=d)),
    ("c2d_even_kernel_same", (1, 2, 4, 4, 2),
     lambda d: L.ConvLSTM2D(2, 2, padding="same", strides=2, dtype=d)),
    ("c1d_same_seq", (2, 4, 6, 2), lambda d: L.ConvLSTM1D(3, 3, padding="same", return_sequences=True, dtype=d)),
    ("c3d_valid", (1, 2, 4, 3, 4, 2), lambda d: L.ConvLSTM3D(2, (2, 2, 3), dtype=d)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261208)
    out = []
    for name, shape, make in CASES:
        x = rng.uniform(-1, 1, size=shape)
        out.append(dtype_pair_case(name, make, x, rng, 0.5))
    write_json(os.path.join(OUT, "goldens.json"), out)
    print("wrote %d cases" % len(out))
    saved_model(rng)


def saved_model(rng):
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(7)
    inp = tf.keras.Input((4, 10, 9, 3))
    h = L.ConvLSTM2D(4, 3, recurrent_activation="hard_sigmoid", return_sequences=True, recurrent_dropout=0.2)(inp)
    h = L.MaxPooling3D((1, 2, 2), padding="same")(h)
    h = L.TimeDistributed(L.Dropout(0.2))(h)
    h = L.ConvLSTM2D(5, 3, padding="same", return_sequences=True, go_backwards=True)(h)
    h = L.ConvLSTM2D(3, 2, activation="relu")(h)
    h = L.Flatten()(h)
    h = L.Dense(2, activation="softmax")(h)
    model = tf.keras.Model(inp, h)
    random_weights(model, rng, 0.5)
    x = rng.uniform(-1, 1, size=(2, 4, 10, 9, 3)).astype(np.float32)
    y = model.predict(x, verbose=0)
    model.save(os.path.join(OUT, "conv_lstm_model.h5"))
    model.save(os.path.join(OUT, "conv_lstm_model.keras"))
    np.save(os.path.join(OUT, "conv_lstm_model_x.npy"), x)
    np.save(os.path.join(OUT, "conv_lstm_model_y.npy"), y)


if __name__ == "__main__":
    main()
