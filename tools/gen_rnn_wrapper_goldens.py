#!/opt/kref/bin/python
"""Golden values of the recurrent wrappers and cells for
tests/layers/test_rnn_wrappers.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_rnn_wrapper_goldens.py

Writes tests/data/layers/rnn_wrappers/goldens.json: a list of cases, each

  name                the case
  layer               {"class_name", "config"} of the float32 layer as
                      tf.keras 2.15 serializes it, initializers in the
                      legacy {"class_name", "config"} form
  x                   the input, float64 values
  weights             layer.get_weights() after set_weights (seeded values)
  weight_names        the float32 layer's weight names
  dy                  the upstream gradient: loss = sum(y * dy)
  f32: y              float32 output (widened to double)
  f64: y, dx, dweights  float64 layer (every dtype key float64): output,
                      d loss / d x and d loss / d trainable_weights
                      (GradientTape)

Also wrappers_model.{h5,keras} with wrappers_model_{x,y}.npy: a model of
Bidirectional, TimeDistributed and RNN layers saved by tf.keras 2.15 and
its predictions.

Every number comes from TensorFlow; none from ckeras.  Tensors are
{"shape": [...], "data": [...]} with the data flattened in C order.
"""
import json
import os

import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "layers", "rnn_wrappers")
L = tf.keras.layers


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def legacy(v):
    """The new serialization form turned into the legacy {class_name,
    config}; build_config and shared_object_id dropped."""
    if isinstance(v, dict):
        if "class_name" in v and "config" in v and ("module" in v or "registered_name" in v):
            return {"class_name": v["class_name"], "config": legacy(v["config"])}
        return {k: legacy(x) for k, x in v.items() if k not in ("shared_object_id", "build_config")}
    if isinstance(v, list):
        return [legacy(x) for x in v]
    return v


# name, input shape, maker(dtype) -> layer
CASES = [
    ("bidi_lstm_concat_seq", (2, 5, 3),
     lambda d: L.Bidirectional(L.LSTM(4, return_sequences=True, dtype=d), dtype=d)),
    ("bidi_gru_sum", (2, 5, 3), lambda d: L.Bidirectional(L.GRU(3, dtype=d), merge_mode="sum", dtype=d)),
    ("bidi_simple_mul_seq", (2, 4, 3),
     lambda d: L.Bidirectional(L.SimpleRNN(3, return_sequences=True, dtype=d), merge_mode="mul", dtype=d)),
    ("bidi_lstm_ave", (3, 4, 2), lambda d: L.Bidirectional(L.LSTM(3, dtype=d), merge_mode="ave", dtype=d)),
    ("bidi_backwards_inner_seq", (2, 5, 3),
     lambda d: L.Bidirectional(L.LSTM(3, go_backwards=True, return_sequences=True, dtype=d), dtype=d)),
    ("bidi_backward_layer_seq", (2, 5, 3),
     lambda d: L.Bidirectional(L.GRU(2, return_sequences=True, dtype=d),
                               backward_layer=L.GRU(3, go_backwards=True, return_sequences=True, dtype=d),
                               dtype=d)),
    ("bidi_gru_before_time_major_seq", (5, 2, 3),
     lambda d: L.Bidirectional(L.GRU(2, reset_after=False, time_major=True, return_sequences=True, dtype=d),
                               merge_mode="sum", dtype=d)),
    ("td_dense", (2, 5, 4), lambda d: L.TimeDistributed(L.Dense(3, activation="tanh", dtype=d), dtype=d)),
    ("td_conv2d", (2, 3, 5, 5, 2),
     lambda d: L.TimeDistributed(L.Conv2D(2, 3, padding="same", activation="relu", dtype=d), dtype=d)),
    ("td_flatten", (2, 3, 2, 2, 2), lambda d: L.TimeDistributed(L.Flatten(dtype=d), dtype=d)),
    ("td_lstm", (2, 3, 4, 2), lambda d: L.TimeDistributed(L.LSTM(2, dtype=d), dtype=d)),
    ("td_bidi", (2, 3, 4, 2),
     lambda d: L.TimeDistributed(L.Bidirectional(L.GRU(2, dtype=d), dtype=d), dtype=d)),
    ("rnn_lstm_cell", (2, 5, 3), lambda d: L.RNN(L.LSTMCell(4, dtype=d), dtype=d)),
    ("rnn_gru_cell_backwards_seq", (2, 5, 3),
     lambda d: L.RNN(L.GRUCell(3, dtype=d), return_sequences=True, go_backwards=True, dtype=d)),
    ("rnn_simple_cell_seq", (2, 4, 3),
     lambda d: L.RNN(L.SimpleRNNCell(3, activation="relu", dtype=d), return_sequences=True, dtype=d)),
    ("rnn_stacked_seq", (2, 5, 3),
     lambda d: L.RNN(L.StackedRNNCells([L.LSTMCell(3, dtype=d), L.GRUCell(2, dtype=d)], dtype=d),
                     return_sequences=True, dtype=d)),
    ("rnn_stacked_backwards", (2, 5, 3),
     lambda d: L.RNN(L.StackedRNNCells([L.SimpleRNNCell(2, use_bias=False, dtype=d),
                                        L.GRUCell(3, reset_after=False, dtype=d), L.LSTMCell(2, dtype=d)],
                                       dtype=d),  # a plain list would make a float32 stack, which casts
                     go_backwards=True, dtype=d)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261207)
    out = []
    for name, shape, make in CASES:
        x = rng.uniform(-1, 1, size=shape)
        tf.keras.backend.clear_session()
        layer = make("float64")
        xv = tf.constant(x, dtype=tf.float64)
        layer(xv)
        weights = [rng.uniform(-0.6, 0.6, size=w.shape) for w in layer.get_weights()]
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
        ser = tf.keras.layers.serialize(l32)
        out.append({
            "name": name, "layer": legacy(ser),
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
    """wrappers_model.{h5,keras}: Bidirectional, TimeDistributed and RNN
    layers saved by tf.keras 2.15, with inputs and predictions."""
    tf.keras.backend.clear_session()
    inp = tf.keras.Input((6, 3))
    h = L.Bidirectional(L.LSTM(4, return_sequences=True))(inp)
    h = L.TimeDistributed(L.Dense(3, activation="tanh"))(h)
    h = L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)]), return_sequences=True)(h)
    h = L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum")(h)
    h = L.RNN(L.SimpleRNNCell(3), go_backwards=True)(h)
    model = tf.keras.Model(inp, L.Dense(2)(h))
    model.set_weights([rng.uniform(-0.6, 0.6, size=w.shape) for w in model.get_weights()])
    x = rng.uniform(-1, 1, size=(4, 6, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "wrappers_model_x.npy"), x)
    np.save(os.path.join(OUT, "wrappers_model_y.npy"), model.predict(x, verbose=0))
    model.save(os.path.join(OUT, "wrappers_model.h5"))
    model.save(os.path.join(OUT, "wrappers_model.keras"))


if __name__ == "__main__":
    main()
