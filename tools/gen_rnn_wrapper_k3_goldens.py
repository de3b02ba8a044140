#!/opt/k3/bin/python
"""The Keras 3 fixture of tests/layers/test_rnn_wrappers.c: a model of
Bidirectional, TimeDistributed and RNN (StackedRNNCells) layers saved by
Keras 3 as .keras, with its inputs and predictions.  Run with Keras 3:

    /opt/k3/bin/python tools/gen_rnn_wrapper_k3_goldens.py

Writes tests/data/layers/rnn_wrappers/wrappers_k3.keras and
wrappers_k3_{x,y}.npy.  With --multi only bidi_state_k3.keras and
bidi_state_k3_{x0,x1,y}.npy: a Bidirectional LSTM encoder with
return_state and merge_mode None whose states, concatenated, start a
decoder LSTM (Keras 3 passes them as the initial_state kwarg).  Every
number comes from Keras 3.
"""
import os

import numpy as np
import keras

from golden_common import data_dir, random_weights

OUT = data_dir("layers", "rnn_wrappers")
L = keras.layers


def main():
    rng = np.random.default_rng(3)
    inp = keras.Input((6, 3))
    h = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="ave")(inp)
    h = L.TimeDistributed(L.Dense(3, activation="tanh"))(h)
    h = L.RNN(L.StackedRNNCells([L.GRUCell(3), L.GRUCell(2)]), return_sequences=True)(h)
    h = L.Bidirectional(L.SimpleRNN(2), backward_layer=L.SimpleRNN(2, go_backwards=True))(h)
    model = keras.Model(inp, L.Dense(2)(h))
    random_weights(model, rng, 0.6)
    x = rng.uniform(-1, 1, size=(4, 6, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "wrappers_k3_x.npy"), x)
    np.save(os.path.join(OUT, "wrappers_k3_y.npy"), model.predict(x, verbose=0))
    model.save(os.path.join(OUT, "wrappers_k3.keras"))
    print("keras", keras.__version__)


def multi():
    rng = np.random.default_rng(4)
    enc_in, dec_in = keras.Input((5, 3)), keras.Input((4, 2))
    yf, yb, hf, cf, hb, cb = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True),
                                             merge_mode=None)(enc_in)
    h, c = L.Concatenate()([hf, hb]), L.Concatenate()([cf, cb])
    seq = L.LSTM(6)(dec_in, initial_state=[h, c])
    pooled = L.GlobalAveragePooling1D()(L.Add()([yf, yb]))
    model = keras.Model([enc_in, dec_in], L.Dense(2)(L.Concatenate()([seq, pooled])))
    random_weights(model, rng, 0.6)
    x0 = rng.uniform(-1, 1, size=(3, 5, 3)).astype(np.float32)
    x1 = rng.uniform(-1, 1, size=(3, 4, 2)).astype(np.float32)
    np.save(os.path.join(OUT, "bidi_state_k3_x0.npy"), x0)
    np.save(os.path.join(OUT, "bidi_state_k3_x1.npy"), x1)
    np.save(os.path.join(OUT, "bidi_state_k3_y.npy"), model.predict([x0, x1], verbose=0))
    model.save(os.path.join(OUT, "bidi_state_k3.keras"))
    print("keras", keras.__version__)


if __name__ == "__main__":
    import sys
    if "--multi" in sys.argv:
        multi()
    else:
        main()
