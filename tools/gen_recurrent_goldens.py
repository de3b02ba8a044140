#!/opt/kref/bin/python
"""Golden values of the recurrent layers for tests/layers/test_recurrent.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_recurrent_goldens.py

Writes tests/data/layers/recurrent/goldens.json: a list of cases, each

  name, class_name        the case and the tf.keras class
  kwargs                  the constructor arguments used
  config                  layer.get_config() of the float32 layer, as
                          tf.keras 2.15 writes it (new-form initializers)
  config_legacy           the same with the initializers in the legacy
                          {"class_name", "config"} form ckeras writes
  x                       the input ((batch, time, features), or (time,
                          batch, features) with time_major), float64 values
  weights                 kernel, recurrent_kernel, bias (set with
                          set_weights; the bias is absent without use_bias)
  dy                      the upstream gradient: loss = sum(y * dy)
  f32: y                  float32 layer output (values widened to double)
  f64: y, dx, dweights    float64 layer: output, d loss / d x and
                          d loss / d weights through tf.GradientTape

Also stateful.json (stateful layers over two calls and after
reset_states, see stateful_cases), rnn_model.{h5,keras} with rnn_model_{x,y}.npy (a model of the three
layers saved by tf.keras 2.15, see saved_models) and
tests/data/keras_expected/keras2c-example/{inputs,expected}.npy: the
real keras2c example model (LSTM) predicted by tf.keras 2.15 (see
keras2c_expected below).

Every number comes from TensorFlow; none from ckeras.  Tensors are
{"shape": [...], "data": [...]} with the data flattened in C order.
Weights and inputs are drawn from a seeded numpy generator.
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import TOOLS_DIR, data_dir, dtype_pair, legacy, random_weights, tensor, write_json

OUT = data_dir("layers", "recurrent")

B, T, F, U = 2, 5, 3, 4

CASES = [
    ("simple_default", "SimpleRNN", {}),
    ("simple_sequences", "SimpleRNN", {"return_sequences": True}),
    ("simple_backwards_seq", "SimpleRNN", {"return_sequences": True, "go_backwards": True}),
    ("simple_relu_backwards", "SimpleRNN", {"activation": "relu", "go_backwards": True}),
    ("simple_linear_nobias", "SimpleRNN", {"activation": None, "use_bias": False, "return_sequences": True}),
    ("lstm_default", "LSTM", {}),
    ("lstm_sequences", "LSTM", {"return_sequences": True}),
    ("lstm_backwards_seq", "LSTM", {"return_sequences": True, "go_backwards": True}),
    ("lstm_keras2c", "LSTM", {"activation": "relu", "recurrent_activation": "hard_sigmoid",
                              "implementation": 1}),
    ("lstm_nobias_backwards", "LSTM", {"use_bias": False, "go_backwards": True}),
    ("lstm_time_major_seq", "LSTM", {"time_major": True, "return_sequences": True}),
    ("lstm_unroll_softsign", "LSTM", {"unroll": True, "activation": "softsign", "return_sequences": True}),
    ("gru_default", "GRU", {}),
    ("gru_sequences", "GRU", {"return_sequences": True}),
    ("gru_before", "GRU", {"reset_after": False}),
    ("gru_before_seq_backwards", "GRU", {"reset_after": False, "return_sequences": True,
                                         "go_backwards": True}),
    ("gru_after_backwards_seq", "GRU", {"return_sequences": True, "go_backwards": True}),
    ("gru_relu_hard_sigmoid", "GRU", {"activation": "relu", "recurrent_activation": "hard_sigmoid"}),
    ("gru_nobias", "GRU", {"use_bias": False, "return_sequences": True}),
    ("gru_before_nobias_impl1", "GRU", {"reset_after": False, "use_bias": False, "implementation": 1}),
    ("gru_time_major", "GRU", {"time_major": True}),
]


def make(cls, kwargs, dtype, name):
    return getattr(tf.keras.layers, cls)(U, dtype=dtype, name=name, **kwargs)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20250412)
    out = []
    for name, cls, kwargs in CASES:
        tm = kwargs.get("time_major", False)
        xshape = (T, B, F) if tm else (B, T, F)
        x = rng.uniform(-1, 1, size=xshape)
        # each layer builds inside its name scope: "lstm/lstm_cell/kernel:0"
        l32, weights, dy, y32, f64 = dtype_pair(lambda d: make(cls, kwargs, d, name), x, rng, 0.6, clear=False)
        config = l32.get_config()
        out.append({
            "name": name, "class_name": cls, "kwargs": kwargs,
            "config": config, "config_legacy": legacy(config),
            "weight_names": [w.name for w in l32.weights],
            "x": tensor(x), "weights": [tensor(w) for w in weights], "dy": tensor(dy),
            "f32": {"y": tensor(y32)}, "f64": f64,
        })
    write_json(os.path.join(OUT, "goldens.json"), out)
    print("wrote %d cases" % len(out))
    stateful_cases(rng)
    saved_models(rng)
    keras2c_expected()


def stateful_cases(rng):
    """stateful.json: stateful layers called on x1, then x2 (the states
    carry over), then on x2 again after reset_states(); y1, y2, y3 are
    tf.keras' float32 outputs."""
    out = []
    for name, cls, kwargs in [("lstm_stateful", "LSTM", {"return_sequences": True}),
                              ("gru_stateful_backwards", "GRU", {"go_backwards": True}),
                              ("simple_stateful", "SimpleRNN", {})]:
        layer = getattr(tf.keras.layers, cls)(U, stateful=True, name=name, **kwargs)
        x1, x2 = (rng.uniform(-1, 1, size=(B, T, F)).astype(np.float32) for _ in range(2))
        inp = tf.keras.Input(batch_shape=(B, T, F))
        model = tf.keras.Model(inp, layer(inp))
        weights = random_weights(layer, rng, 0.6)
        y1 = model.predict(x1, verbose=0)
        y2 = model.predict(x2, verbose=0)
        layer.reset_states()
        y3 = model.predict(x2, verbose=0)
        out.append({"name": name, "class_name": cls, "config": layer.get_config(),
                    "weights": [tensor(w) for w in weights], "x1": tensor(x1), "x2": tensor(x2),
                    "y1": tensor(y1), "y2": tensor(y2), "y3": tensor(y3)})
    write_json(os.path.join(OUT, "stateful.json"), out)


def saved_models(rng):
    """A small model of the three layers saved by tf.keras 2.15 as .h5 and
    .keras (whose weights sit under layers/<name>/cell/vars), with its
    inputs and predictions: rnn_model.{h5,keras}, rnn_model_x.npy,
    rnn_model_y.npy."""
    L = tf.keras.layers
    inp = tf.keras.Input((6, 3))
    h = L.LSTM(5, return_sequences=True, go_backwards=True)(inp)
    h = L.GRU(4, return_sequences=True, reset_after=False)(h)
    h = L.GRU(4, return_sequences=True)(h)
    h = L.SimpleRNN(3)(h)
    model = tf.keras.Model(inp, L.Dense(2)(h))
    random_weights(model, rng, 0.6)
    x = rng.uniform(-1, 1, size=(4, 6, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "rnn_model_x.npy"), x)
    np.save(os.path.join(OUT, "rnn_model_y.npy"), model.predict(x, verbose=0))
    model.save(os.path.join(OUT, "rnn_model.h5"))
    model.save(os.path.join(OUT, "rnn_model.keras"))


def keras2c_expected():
    """keras2c's example model (Keras 2.2.4: Dense, Dense, LSTM relu /
    hard_sigmoid, Dense) loaded by tf.keras 2.15 and run on seeded inputs:
    tests/data/keras_expected/keras2c-example/{inputs,expected}.npy.  The
    model file stays in ../shared/testdata/keras (LGPL-3.0); only these
    numbers are committed."""
    src = os.path.join(TOOLS_DIR, "..", "..", "shared", "testdata", "keras", "keras2c-example", "model.h5")
    if not os.path.exists(src):
        print("skipped keras2c-example: %s is absent" % src)
        return
    model = tf.keras.models.load_model(src, compile=False)
    x = np.random.default_rng(2019).uniform(-1, 1, size=(4, 8, 32)).astype(np.float32)
    y = model.predict(x, verbose=0)
    d = data_dir("keras_expected", "keras2c-example")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "inputs.npy"), x)
    np.save(os.path.join(d, "expected.npy"), y.astype(np.float32))
    print("wrote keras2c-example", y.shape)


if __name__ == "__main__":
    main()
