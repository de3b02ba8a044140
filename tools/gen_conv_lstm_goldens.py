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
import json
import os

import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "layers", "conv_lstm")
L = tf.keras.layers


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def legacy(v):
    if isinstance(v, dict):
        if "class_name" in v and "config" in v and ("module" in v or "registered_name" in v):
            return {"class_name": v["class_name"], "config": legacy(v["config"])}
        return {k: legacy(x) for k, x in v.items() if k not in ("shared_object_id", "build_config")}
    if isinstance(v, list):
        return [legacy(x) for x in v]
    return v


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
        tf.keras.backend.clear_session()
        layer = make("float64")
        xv = tf.constant(x, dtype=tf.float64)
        layer(xv)
        weights = [rng.uniform(-0.5, 0.5, size=w.shape) for w in layer.get_weights()]
        layer.set_weights(weights)
        with tf.GradientTape() as tape:
            tape.watch(xv)
            y = layer(xv)
            dy = rng.uniform(-1, 1, size=y.shape)
            loss = tf.reduce_sum(y * tf.constant(dy))
        grads = tape.gradient(loss, [xv] + layer.trainable_weights)
        tf.keras.backend.clear_session()
        l32 = make("float32")
        l32(tf.constant(x.astype(np.float32)))
        l32.set_weights([w.astype(np.float32) for w in weights])
        y32 = l32(tf.constant(x.astype(np.float32))).numpy()
        out.append({
            "name": name, "layer": legacy(tf.keras.layers.serialize(l32)),
            "weight_names": [w.name for w in l32.weights],
            "x": tensor(x), "weights": [tensor(w) for w in weights], "dy": tensor(dy),
            "f32": {"y": tensor(y32)},
            "f64": {"y": tensor(y.numpy()), "dx": tensor(grads[0].numpy()),
                    "dweights": [tensor(g.numpy()) for g in grads[1:]]},
        })
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")
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
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape) for w in model.get_weights()])
    x = rng.uniform(-1, 1, size=(2, 4, 10, 9, 3)).astype(np.float32)
    y = model.predict(x, verbose=0)
    model.save(os.path.join(OUT, "conv_lstm_model.h5"))
    model.save(os.path.join(OUT, "conv_lstm_model.keras"))
    np.save(os.path.join(OUT, "conv_lstm_model_x.npy"), x)
    np.save(os.path.join(OUT, "conv_lstm_model_y.npy"), y)


if __name__ == "__main__":
    main()
