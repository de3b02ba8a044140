#!/opt/kref/bin/python
"""Golden values for masks through the graph (tests/model/test_mask_graph.c).
Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_mask_graph_goldens.py

Writes tests/data/mask_graph/<case>.h5 (the model saved by tf.keras),
<case>_x<i>.npy (inputs, with padding zeros) and <case>_y<o>.npy (tf.keras'
predictions, every output), for the cases in CASES:

  concat_time      two Embedding(mask_zero) -> Concatenate(axis=1) -> LSTM
                   (return_sequences) -> Dense: the masks joined in time
  concat_feat      Embedding(mask_zero), Masking and an unmasked input ->
                   Concatenate(axis=-1) -> LSTM(return_sequences) -> GRU:
                   the AND of the masks, no mask counting as all true
  concat_axis1_f1  Embedding(mask_zero, 1) and an unmasked (T2, 1) branch ->
                   Concatenate(axis=1) -> SimpleRNN: the unmasked input's
                   mask is all true, widened to its rank
  bidi_seq         Embedding(mask_zero) -> Bidirectional(LSTM(seq)) ->
                   Bidirectional(GRU, sum)
  bidi_back        Embedding(mask_zero) -> Bidirectional(GRU(seq,
                   go_backwards)) -> Dense
  bidi_none_state  Embedding(mask_zero) -> Bidirectional(LSTM(seq,
                   return_state), merge_mode None) -> outputs:
                   Concatenate of the two sequences, the forward h
  nested_seq       Embedding(mask_zero) -> a nested Sequential [LSTM(seq),
                   Dense] -> LSTM (also saved as nested_seq.keras)
  nested_func      Embedding(mask_zero) -> a nested Functional [LSTM(seq) ->
                   Dense] -> GlobalAveragePooling1D

masks.json: for each case, which model outputs carry a mask, and the
symbolic output masks' shapes of the layers' last calls (layer -> list
per output, null for none).

fit_<case>/: init.h5, y0.npy and history.json (fit: 2 epochs of SGD(0.2),
batch 2, no shuffle; "evaluate": the trained model's evaluate results as
a dict) and final.h5 for:
  metrics_sparse   Embedding(mask_zero) -> LSTM(seq) -> Dense(3, softmax),
                   sparse_categorical_crossentropy, metrics
                   ["sparse_categorical_accuracy"]
  metrics_mse      Embedding(mask_zero) -> LSTM(seq) -> Dense(1, sigmoid),
                   mse, metrics ["mae", "binary_accuracy"]
  concat_feat, bidi_seq, nested_seq   mse (masks inside the graph)
Keras gives a masked output's mask to its compiled metrics as sample
weight, so the metrics leave the masked positions out.

Every number comes from TensorFlow; none from ckeras.
"""
import json
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, random_weights

OUT = data_dir("mask_graph")
L = tf.keras.layers
N, T = 4, 6


def ids(rng, t=T, vocab=7):
    x = rng.integers(1, vocab, (N, t)).astype(np.int32)
    x[0, t - 2:] = 0      # post-padding
    x[1, :2] = 0          # pre-padding
    x[2, 1] = 0           # a hole
    x[3, :] = 0           # all masked
    return x


def floats(rng, shape, holes=True):
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    if holes:
        x[0, 1] = 0
        x[2, -1] = 0
    return x


def ids_in(name, t=T):
    return tf.keras.Input((t,), dtype="int32", name=name)


def build(name, rng):
    if name == "concat_time":
        a, b = ids_in("a", 4), ids_in("b", 3)
        ea = L.Embedding(7, 3, mask_zero=True, name="ea")(a)
        eb = L.Embedding(7, 3, mask_zero=True, name="eb")(b)
        c = L.Concatenate(axis=1, name="concat")([ea, eb])
        h = L.LSTM(4, return_sequences=True, name="lstm")(c)
        xb = ids(rng, 3)
        xb[3, :] = [1, 2, 0]
        return tf.keras.Model([a, b], L.Dense(2, name="head")(h), name=name), [ids(rng, 4), xb]
    if name == "concat_feat":
        a, x, z = ids_in("ids"), tf.keras.Input((T, 2), name="x"), tf.keras.Input((T, 2), name="z")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(a)
        mx = L.Masking(0.0, name="masking")(x)
        c = L.Concatenate(name="concat")([e, mx, z])
        h = L.LSTM(4, return_sequences=True, name="lstm")(c)
        h = L.GRU(3, name="gru")(h)
        return tf.keras.Model([a, x, z], h, name=name), [ids(rng), floats(rng, (N, T, 2)),
                                                         floats(rng, (N, T, 2), False)]
    if name == "concat_axis1_f1":
        a, z = ids_in("ids", 4), tf.keras.Input((3, 1), name="z")
        e = L.Embedding(7, 1, mask_zero=True, name="emb")(a)
        c = L.Concatenate(axis=1, name="concat")([e, z])
        h = L.SimpleRNN(3, name="rnn")(c)
        return tf.keras.Model([a, z], h, name=name), [ids(rng, 4), floats(rng, (N, 3, 1), False)]
    if name == "bidi_seq":
        a = ids_in("ids")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(a)
        h = L.Bidirectional(L.LSTM(3, return_sequences=True), name="bi_lstm")(e)
        h = L.Bidirectional(L.GRU(2), merge_mode="sum", name="bi_gru")(h)
        return tf.keras.Model(a, h, name=name), [ids(rng)]
    if name == "bidi_back":
        a = ids_in("ids")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(a)
        h = L.Bidirectional(L.GRU(3, return_sequences=True, go_backwards=True), name="bi_gru")(e)
        return tf.keras.Model(a, L.Dense(2, name="head")(h), name=name), [ids(rng)]
    if name == "bidi_none_state":
        a = ids_in("ids")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(a)
        outs = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True), merge_mode=None,
                               name="bi")(e)
        c = L.Concatenate(name="concat")([outs[0], outs[1]])
        return tf.keras.Model(a, [c, outs[2]], name=name), [ids(rng)]
    if name == "nested_seq":
        a = ids_in("ids")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(a)
        inner = tf.keras.Sequential([tf.keras.Input((T, 3)), L.LSTM(4, return_sequences=True, name="inner_lstm"),
                                     L.Dense(3, name="inner_dense")], name="inner")
        h = L.LSTM(3, name="lstm")(inner(e))
        return tf.keras.Model(a, h, name=name), [ids(rng)]
    if name == "nested_func":
        a = ids_in("ids")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(a)
        i = tf.keras.Input((T, 3), name="inner_in")
        o = L.Dense(2, name="inner_dense")(L.LSTM(4, return_sequences=True, name="inner_lstm")(i))
        inner = tf.keras.Model(i, o, name="inner")
        h = L.GlobalAveragePooling1D(name="gap")(inner(e))
        return tf.keras.Model(a, h, name=name), [ids(rng)]
    if name in ("metrics_sparse", "metrics_mse"):
        a = ids_in("ids")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(a)
        h = L.LSTM(4, return_sequences=True, name="lstm")(e)
        sparse = name == "metrics_sparse"
        y = L.Dense(3 if sparse else 1, activation="softmax" if sparse else "sigmoid", name="head")(h)
        return tf.keras.Model(a, y, name=name), [ids(rng)]
    raise ValueError(name)


CASES = ["concat_time", "concat_feat", "concat_axis1_f1", "bidi_seq", "bidi_back", "bidi_none_state",
         "nested_seq", "nested_func"]
FITS = {"metrics_sparse": ("sparse_categorical_crossentropy", ["sparse_categorical_accuracy"]),
        "metrics_mse": ("mse", ["mae", "binary_accuracy"]),
        "concat_feat": ("mse", []), "bidi_seq": ("mse", []), "nested_seq": ("mse", [])}


def mask_shapes(m):
    out = {}
    for layer in m.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        # The layer's last call (a nested model's node 0 is its own graph).
        outs = tf.nest.flatten(layer._inbound_nodes[-1].outputs)
        out[layer.name] = [None if getattr(o, "_keras_mask", None) is None else
                           [d if d is not None else -1 for d in o._keras_mask.shape.as_list()] for o in outs]
    return out


def fit_case(name, m, xs, ys, rng):
    loss, metrics = FITS[name]
    d = os.path.join(OUT, "fit_" + name)
    os.makedirs(d, exist_ok=True)
    m.compile(optimizer=tf.keras.optimizers.SGD(0.2), loss=loss, metrics=metrics)
    m.save(os.path.join(d, "init.h5"))
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, 3, ys[0].shape[:-1]).astype(np.float32)
    elif name == "metrics_mse":
        y = rng.integers(0, 2, ys[0].shape).astype(np.float32)
    else:
        y = rng.uniform(-1, 1, ys[0].shape).astype(np.float32)
    np.save(os.path.join(d, "y0.npy"), y)
    hist = m.fit(xs, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    m.save(os.path.join(d, "final.h5"))
    out = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    out["evaluate"] = {k: float(v) for k, v in m.evaluate(xs, y, batch_size=2, verbose=0, return_dict=True).items()}
    with open(os.path.join(d, "history.json"), "w") as f:
        json.dump(out, f, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(23)
    masks = {}
    for name in CASES + ["metrics_sparse", "metrics_mse"]:
        m, xs = build(name, rng)
        random_weights(m, rng, 0.6)
        ys = m.predict(xs, verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        if name in CASES:
            m.save(os.path.join(OUT, name + ".h5"))
            if name.startswith("nested"):
                m.save(os.path.join(OUT, name + ".keras"))
            for k, x in enumerate(xs):
                np.save(os.path.join(OUT, "%s_x%d.npy" % (name, k)), x)
            for k, y in enumerate(ys):
                np.save(os.path.join(OUT, "%s_y%d.npy" % (name, k)), y.astype(np.float32))
            masks[name] = {"outputs": [getattr(o, "_keras_mask", None) is not None for o in m.outputs],
                           "layers": mask_shapes(m)}
        else:
            for k, x in enumerate(xs):
                np.save(os.path.join(OUT, "%s_x%d.npy" % (name, k)), x)
        if name in FITS:
            fit_case(name, m, xs, ys, rng)
    with open(os.path.join(OUT, "masks.json"), "w") as f:
        json.dump(masks, f, indent=1)


if __name__ == "__main__":
    main()
