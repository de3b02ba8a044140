#!/opt/k3/bin/python
"""The Keras 3 fixture of tests/layers/test_conv_lstm.c: a model of
ConvLSTM1D / ConvLSTM2D layers saved by Keras 3 as .keras (Keras 3
configs: DTypePolicy dtypes, sigmoid default, "seed"; weights under
layers/<name>/cell/vars), with its inputs and predictions.  Run with
Keras 3:

    /opt/k3/bin/python tools/gen_conv_lstm_k3_goldens.py

Writes tests/data/layers/conv_lstm/conv_lstm_k3.keras and
conv_lstm_k3_{x,y}.npy.  Every number comes from Keras 3.
"""
import os

import numpy as np
import keras

from golden_common import data_dir, random_weights

OUT = data_dir("layers", "conv_lstm")
L = keras.layers


def main():
    rng = np.random.default_rng(5)
    inp = keras.Input((3, 7, 6, 2))
    h = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(inp)
    h = L.ConvLSTM2D(2, (2, 3), strides=(2, 1), go_backwards=True)(h)
    h = L.Reshape((3, 8))(h)
    h = L.Reshape((3, 8, 1))(h)
    h = L.Permute((1, 2, 3))(h)
    h = L.ConvLSTM1D(2, 3, activation="relu")(h)
    model = keras.Model(inp, L.Dense(2)(L.Flatten()(h)))
    random_weights(model, rng, 0.5)
    x = rng.uniform(-1, 1, size=(2, 3, 7, 6, 2)).astype(np.float32)
    np.save(os.path.join(OUT, "conv_lstm_k3_x.npy"), x)
    np.save(os.path.join(OUT, "conv_lstm_k3_y.npy"), model.predict(x, verbose=0))
    model.save(os.path.join(OUT, "conv_lstm_k3.keras"))
    print("keras", keras.__version__)


if __name__ == "__main__":
    main()
