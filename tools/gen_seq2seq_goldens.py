#!/opt/kref/bin/python
"""Golden values for layers with several outputs and initial states
(tests/model/test_seq2seq.c).  Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_seq2seq_goldens.py

Writes tests/data/seq2seq/:

  layers.json       one case per recurrent class with return_state=True,
                    called on [x, *initial_states] in float64:
                    name, class_name, kwargs, x, states (the initial
                    states), weights, douts (one upstream gradient per
                    output: loss = sum_k sum(y_k * douts_k)), ys (the
                    outputs), dx, dstates, dweights (tf.GradientTape)
  s2s.h5, s2s.keras an encoder-decoder model saved by tf.keras 2.15: LSTM
                    encoder with return_state, its h and c the decoder
                    LSTM's initial_state, a GRU with return_state on the
                    decoder inputs; outputs [dense(decoder), encoder
                    output, gru state] (the last two are outputs 0 and 1 of
                    multi-output nodes)
  s2s_x0.npy, s2s_x1.npy, s2s_y{0,1,2}.npy   its inputs and predictions
  fit/              a single-output seq2seq (encoder LSTM states into the
                    decoder LSTM) trained for 2 epochs of 3 batches with
                    SGD by tf.keras: init.h5, final.h5, x0/x1/y0.npy,
                    case.json (training_config, fit args, history)

Every number comes from TensorFlow; none from ckeras.
"""
import json
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, random_weights, tensor

OUT = data_dir("seq2seq")
B, T, F, U = 2, 4, 3, 5


def layer_cases(rng):
    cases = []
    specs = [
        ("lstm_state", "LSTM", {"return_state": True}, 2),
        ("lstm_state_seq_back", "LSTM", {"return_state": True, "return_sequences": True, "go_backwards": True}, 2),
        ("gru_state", "GRU", {"return_state": True}, 1),
        ("gru_state_seq_v1", "GRU", {"return_state": True, "return_sequences": True, "reset_after": False}, 1),
        ("simple_state_seq", "SimpleRNN", {"return_state": True, "return_sequences": True}, 1),
        ("lstm_init_only", "LSTM", {"return_sequences": True}, 2),
    ]
    for name, cls, kwargs, n_states in specs:
        layer = getattr(tf.keras.layers, cls)(U, dtype="float64", name=name, **kwargs)
        x = rng.uniform(-1, 1, (B, T, F))
        states = [rng.uniform(-1, 1, (B, U)) for _ in range(n_states)]
        layer.build((B, T, F))
        weights = random_weights(layer, rng, 0.6)
        xt = tf.constant(x)
        st = [tf.constant(s) for s in states]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xt)
            for s in st:
                tape.watch(s)
            ys = layer(xt, initial_state=st)
            if not isinstance(ys, (list, tuple)):
                ys = [ys]
            douts = [rng.uniform(-1, 1, y.shape) for y in ys]
            loss = sum(tf.reduce_sum(y * d) for y, d in zip(ys, douts))
        grads = tape.gradient(loss, [xt] + st + layer.trainable_weights)
        cases.append({
            "name": name, "class_name": cls, "kwargs": kwargs, "x": tensor(x), "states": [tensor(s) for s in states],
            "weights": [tensor(w) for w in weights], "douts": [tensor(d) for d in douts], "ys": [tensor(y) for y in ys],
            "dx": tensor(grads[0]), "dstates": [tensor(g) for g in grads[1:1 + n_states]],
            "dweights": [tensor(g) for g in grads[1 + n_states:]],
        })
    with open(os.path.join(OUT, "layers.json"), "w") as f:
        json.dump(cases, f)


def s2s_model(rng):
    L = tf.keras.layers
    enc_in = tf.keras.Input((T, F), name="enc_in")
    dec_in = tf.keras.Input((T + 1, 2), name="dec_in")
    enc_out, h, c = L.LSTM(U, return_state=True, name="encoder")(enc_in)
    dec = L.LSTM(U, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    y = L.Dense(3, name="head")(dec)
    _, g = L.GRU(4, return_state=True, name="side")(dec_in)
    m = tf.keras.Model([enc_in, dec_in], [y, enc_out, g], name="s2s")
    random_weights(m, rng, 0.5)
    x0 = rng.uniform(-1, 1, (3, T, F)).astype(np.float32)
    x1 = rng.uniform(-1, 1, (3, T + 1, 2)).astype(np.float32)
    ys = m.predict([x0, x1], verbose=0)
    m.save(os.path.join(OUT, "s2s.h5"))
    m.save(os.path.join(OUT, "s2s.keras"))
    np.save(os.path.join(OUT, "s2s_x0.npy"), x0)
    np.save(os.path.join(OUT, "s2s_x1.npy"), x1)
    for k, yk in enumerate(ys):
        np.save(os.path.join(OUT, "s2s_y%d.npy" % k), yk.astype(np.float32))


def s2s_fit(rng):
    d = os.path.join(OUT, "fit")
    os.makedirs(d, exist_ok=True)
    L = tf.keras.layers
    enc_in = tf.keras.Input((T, F), name="enc_in")
    dec_in = tf.keras.Input((T, 2), name="dec_in")
    _, h, c = L.LSTM(U, return_state=True, name="encoder")(enc_in)
    dec = L.LSTM(U, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    y = L.Dense(2, name="head")(dec)
    m = tf.keras.Model([enc_in, dec_in], y, name="s2s_fit")
    random_weights(m, rng, 0.5)
    m.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    n = 6
    x0 = rng.uniform(-1, 1, (n, T, F)).astype(np.float32)
    x1 = rng.uniform(-1, 1, (n, T, 2)).astype(np.float32)
    y0 = rng.uniform(-1, 1, (n, T, 2)).astype(np.float32)
    m.save(os.path.join(d, "init.h5"))
    hist = m.fit([x0, x1], y0, batch_size=2, epochs=2, shuffle=False, verbose=0)
    m.save(os.path.join(d, "final.h5"))
    np.save(os.path.join(d, "x0.npy"), x0)
    np.save(os.path.join(d, "x1.npy"), x1)
    np.save(os.path.join(d, "y0.npy"), y0)
    spec = {"n_x": 2, "n_y": 1,
            "training_config": json.dumps({
                "loss": "mse", "optimizer_config": {"class_name": "SGD", "config": {"learning_rate": 0.1}}}),
            "fit": {"batch_size": 2, "epochs": 2},
            "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()}}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(spec, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(8)
    layer_cases(rng)
    s2s_model(rng)
    s2s_fit(rng)


if __name__ == "__main__":
    main()
