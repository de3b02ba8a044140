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
its predictions, and wrappers_fit_{t,y}.npy: targets and the predictions
after tf.keras trained that model two epochs (SGD 0.01, mse, batch 2, no
shuffling).

Also legacy_rnn.h5 with legacy_rnn_{x,y}.npy: a tf.keras 2.15 model file
whose recurrent layers were rewritten by hand (h5py) into the layouts of
older files: a CuDNNLSTM and a CuDNNGRU (cuDNN's weight layout, biases of
8*units / 6*units), a Keras 1 LSTM and a Keras 1 GRU (reset_after=False)
with one array per gate, and a Bidirectional of a Keras 1 LSTM.  The
expected outputs come from the tf.keras model after Keras' own legacy
converter (preprocess_weights_for_loading) turned those weights into its
layout, so the conversion is Keras' and the numbers TensorFlow's.

With --multi only the fixtures of Bidirectional's several outputs are
written (the others are left as they are): multi_goldens.json, cases as
above but "y" (f32 and f64) and "dy" are lists, one tensor per output
(merge_mode None, return_state), loss = sum_k sum(y_k * dy_k); and
bidi_state_model.h5 with bidi_state_model_{x0,x1,y}.npy: an encoder
Bidirectional LSTM with return_state whose states, concatenated, start a
decoder LSTM.

Every number comes from TensorFlow; none from ckeras.  Tensors are
{"shape": [...], "data": [...]} with the data flattened in C order.
"""
import json
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, dtype_pair_case, random_weights, write_json

OUT = data_dir("layers", "rnn_wrappers")
L = tf.keras.layers


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
        out.append(dtype_pair_case(name, make, x, rng, 0.6))
    write_json(os.path.join(OUT, "goldens.json"), out)
    print("wrote %d cases" % len(out))
    saved_model(rng)
    legacy_file(rng)


CUDNN_KEYS = {"name", "trainable", "dtype", "batch_input_shape", "units", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
              "recurrent_constraint", "bias_constraint", "return_sequences", "return_state", "go_backwards",
              "stateful"}


def legacy_file(rng):
    """legacy_rnn.h5: see the module docstring."""
    import h5py
    from keras.src.saving.legacy import hdf5_format as legacy_h5

    tf.keras.backend.clear_session()
    inp = tf.keras.Input((5, 3))
    h = L.LSTM(4, return_sequences=True, name="cudnn_lstm")(inp)
    h = L.GRU(3, return_sequences=True, name="cudnn_gru")(h)  # reset_after=True: cuDNN's GRU
    h = L.LSTM(3, return_sequences=True, name="k1_lstm")(h)
    h = L.Bidirectional(L.LSTM(2, return_sequences=True), name="k1_bidi")(h)
    h = L.GRU(2, reset_after=False, name="k1_gru")(h)
    model = tf.keras.Model(inp, h)
    path = os.path.join(OUT, "legacy_rnn.h5")
    model.save(path)
    files = {}  # layer name -> (class name, [(dataset name, value)])
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name.startswith("cudnn_"):
            # random cuDNN-layout weights; Keras converts them for the layer
            units = layer.units
            gates = 4 if "lstm" in layer.name else 3
            fin = layer.weights[0].shape[0]
            raw = [rng.uniform(-0.6, 0.6, size=(fin, gates * units)),
                   rng.uniform(-0.6, 0.6, size=(units, gates * units)),
                   rng.uniform(-0.6, 0.6, size=(2 * gates * units,))]
            raw = [w.astype(np.float32) for w in raw]
            layer.set_weights(legacy_h5.preprocess_weights_for_loading(layer, [w.copy() for w in raw]))
            files[layer.name] = ("CuDNNLSTM" if gates == 4 else "CuDNNGRU",
                                 [("%s/kernel:0" % layer.name, raw[0]),
                                  ("%s/recurrent_kernel:0" % layer.name, raw[1]),
                                  ("%s/bias:0" % layer.name, raw[2])])
        else:
            # Keras 1: W, U, b per gate (LSTM i, c, f, o; GRU z, r, h)
            inner = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
            arrays = []
            for part in inner:
                gate_names = "icfo" if isinstance(part, L.LSTM) else "zrh"
                units, fin = part.units, part.weights[0].shape[0]
                for g in gate_names:
                    for kind, shape in (("W", (fin, units)), ("U", (units, units)), ("b", (units,))):
                        arrays.append(("%s_%s_%s" % (part.name, kind, g),
                                       rng.uniform(-0.6, 0.6, size=shape).astype(np.float32)))
            values = legacy_h5.preprocess_weights_for_loading(layer, [a for _, a in arrays], original_keras_version="1")
            layer.set_weights(values)
            files[layer.name] = (None, arrays)
    x = rng.uniform(-1, 1, size=(3, 5, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "legacy_rnn_x.npy"), x)
    np.save(os.path.join(OUT, "legacy_rnn_y.npy"), model.predict(x, verbose=0))
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for entry in config["config"]["layers"]:
            cls = files.get(entry["config"]["name"], (None,))[0]
            if cls:
                entry["class_name"] = cls
                entry["config"] = {k: v for k, v in entry["config"].items() if k in CUDNN_KEYS}
        f.attrs["model_config"] = json.dumps(config)
        mw = f["model_weights"]
        for name, (_, arrays) in files.items():
            del mw[name]
            g = mw.create_group(name)
            g.attrs["weight_names"] = [n.encode() for n, _ in arrays]
            for n, a in arrays:
                g.create_dataset(n, data=a)
        if "optimizer_weights" in f:
            del f["optimizer_weights"]


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
    random_weights(model, rng, 0.6)
    x = rng.uniform(-1, 1, size=(4, 6, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "wrappers_model_x.npy"), x)
    np.save(os.path.join(OUT, "wrappers_model_y.npy"), model.predict(x, verbose=0))
    model.save(os.path.join(OUT, "wrappers_model.h5"))
    model.save(os.path.join(OUT, "wrappers_model.keras"))
    # wrappers_fit_{t,y}.npy: the targets, and the predictions after two
    # epochs of SGD (learning rate 0.01) on mse, batches of 2, no shuffling
    t = rng.uniform(-1, 1, size=(4, 2)).astype(np.float32)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.01), loss="mse")
    model.fit(x, t, batch_size=2, epochs=2, shuffle=False, verbose=0)
    np.save(os.path.join(OUT, "wrappers_fit_t.npy"), t)
    np.save(os.path.join(OUT, "wrappers_fit_y.npy"), model.predict(x, verbose=0))


MULTI_CASES = [
    ("bidi_lstm_none_seq", (2, 4, 3),
     lambda d: L.Bidirectional(L.LSTM(3, return_sequences=True, dtype=d), merge_mode=None, dtype=d)),
    ("bidi_gru_none", (2, 4, 3), lambda d: L.Bidirectional(L.GRU(2, dtype=d), merge_mode=None, dtype=d)),
    ("bidi_lstm_state_concat", (2, 5, 3),
     lambda d: L.Bidirectional(L.LSTM(3, return_state=True, dtype=d), dtype=d)),
    ("bidi_lstm_state_sum_seq", (2, 4, 2),
     lambda d: L.Bidirectional(L.LSTM(2, return_sequences=True, return_state=True, dtype=d), merge_mode="sum",
                               dtype=d)),
    ("bidi_gru_state_none_seq", (3, 4, 2),
     lambda d: L.Bidirectional(L.GRU(2, return_sequences=True, return_state=True, dtype=d), merge_mode=None,
                               dtype=d)),
    ("bidi_simple_state_mul", (2, 3, 3),
     lambda d: L.Bidirectional(L.SimpleRNN(3, return_state=True, dtype=d), merge_mode="mul", dtype=d)),
]


def multi(rng):
    """multi_goldens.json and bidi_state_model: see the module docstring."""
    out = []
    for name, shape, make in MULTI_CASES:
        x = rng.uniform(-1, 1, size=shape)
        out.append(dtype_pair_case(name, make, x, rng, 0.6, as_list=True))
    write_json(os.path.join(OUT, "multi_goldens.json"), out)
    print("wrote %d multi-output cases" % len(out))
    tf.keras.backend.clear_session()
    enc_in, dec_in = tf.keras.Input((5, 3)), tf.keras.Input((4, 2))
    _, hf, cf, hb, cb = L.Bidirectional(L.LSTM(4, return_state=True))(enc_in)
    h, c = L.Concatenate()([hf, hb]), L.Concatenate()([cf, cb])
    seq = L.LSTM(8, return_sequences=True)(dec_in, initial_state=[h, c])
    model = tf.keras.Model([enc_in, dec_in], L.Dense(2)(seq))
    random_weights(model, rng, 0.6)
    x0 = rng.uniform(-1, 1, size=(3, 5, 3)).astype(np.float32)
    x1 = rng.uniform(-1, 1, size=(3, 4, 2)).astype(np.float32)
    np.save(os.path.join(OUT, "bidi_state_model_x0.npy"), x0)
    np.save(os.path.join(OUT, "bidi_state_model_x1.npy"), x1)
    np.save(os.path.join(OUT, "bidi_state_model_y.npy"), model.predict([x0, x1], verbose=0))
    model.save(os.path.join(OUT, "bidi_state_model.h5"))


if __name__ == "__main__":
    import sys
    if "--multi" in sys.argv:
        multi(np.random.default_rng(20261208))
    else:
        main()
