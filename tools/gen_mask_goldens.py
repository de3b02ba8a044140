#!/opt/kref/bin/python
"""Golden values for masks in graphs (tests/model/test_masks.c).  Run with
TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_mask_goldens.py

Writes tests/data/masks/<case>.h5 (the model saved by tf.keras), and
<case>_x<i>.npy / <case>_y<o>.npy (inputs, with padding zeros, and
tf.keras' predictions), for the cases in CASES:

  emb_lstm_seq      Embedding(mask_zero) -> LSTM(return_sequences) -> Dense
  emb_gru_last      Embedding(mask_zero) -> GRU (last output)
  emb_simple_back   Embedding(mask_zero) -> SimpleRNN(return_sequences,
                    go_backwards)
  masking_lstm      Masking -> LSTM(return_sequences, zero_output_for_mask)
                    -> LSTM (last output)
  merge_and         two Embedding(mask_zero) -> Add -> LSTM: the AND of
                    the masks
  masked_s2s        Embedding(mask_zero) -> LSTM(return_state) whose states
                    start a decoder Embedding(mask_zero) -> LSTM
                    (return_sequences) -> Dense
and masks.json with the output masks of the symbolic outputs (which ones
carry one).  fit_<case>/: init.h5, final.h5, y0.npy and history.json of 2
epochs of SGD (mse) on emb_gru_last and masking_lstm (outputs without a
mask) and on emb_lstm_seq and masked_s2s (sequence outputs with a mask:
Keras leaves the masked positions out of the loss); history.json also
holds "evaluate", the trained model's evaluate loss.

Every number comes from TensorFlow; none from ckeras.
"""
import json
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, random_weights

OUT = data_dir("masks")
L = tf.keras.layers
N, T = 4, 6


def ids(rng, vocab=7):
    x = rng.integers(1, vocab, (N, T)).astype(np.int32)
    x[0, 4:] = 0          # post-padding
    x[1, :2] = 0          # pre-padding
    x[2, 1] = 0           # a hole
    x[3, :] = 0           # all masked
    return x


def build(name, rng):
    if name == "emb_lstm_seq":
        i = tf.keras.Input((T,), dtype="int32", name="ids")
        h = L.LSTM(4, return_sequences=True, name="lstm")(L.Embedding(7, 3, mask_zero=True, name="emb")(i))
        return tf.keras.Model(i, L.Dense(2, name="head")(h), name=name), [ids(rng)]
    if name == "emb_gru_last":
        i = tf.keras.Input((T,), dtype="int32", name="ids")
        h = L.GRU(4, name="gru")(L.Embedding(7, 3, mask_zero=True, name="emb")(i))
        return tf.keras.Model(i, h, name=name), [ids(rng)]
    if name == "emb_simple_back":
        i = tf.keras.Input((T,), dtype="int32", name="ids")
        e = L.Embedding(7, 3, mask_zero=True, name="emb")(i)
        h = L.SimpleRNN(4, return_sequences=True, go_backwards=True, name="rnn")(e)
        return tf.keras.Model(i, h, name=name), [ids(rng)]
    if name == "masking_lstm":
        i = tf.keras.Input((T, 3), name="x")
        h = L.Masking(0.0, name="masking")(i)
        h = L.LSTM(4, return_sequences=True, zero_output_for_mask=True, name="lstm1")(h)
        h = L.LSTM(3, name="lstm2")(h)
        x = rng.uniform(-1, 1, (N, T, 3)).astype(np.float32)
        x[0, 4:] = 0
        x[1, :2] = 0
        x[2, 1] = 0
        x[3, :] = 0
        return tf.keras.Model(i, h, name=name), [x]
    if name == "merge_and":
        a = tf.keras.Input((T,), dtype="int32", name="a")
        b = tf.keras.Input((T,), dtype="int32", name="b")
        ea = L.Embedding(7, 3, mask_zero=True, name="ea")(a)
        eb = L.Embedding(7, 3, mask_zero=True, name="eb")(b)
        h = L.LSTM(4, name="lstm")(L.Add(name="add")([ea, eb]))
        xb = ids(rng)
        xb[0, 1] = 0
        xb[2, 5] = 0
        return tf.keras.Model([a, b], h, name=name), [ids(rng), xb]
    if name == "masked_s2s":
        a = tf.keras.Input((T,), dtype="int32", name="src")
        b = tf.keras.Input((T - 1,), dtype="int32", name="tgt")
        _, hs, cs = L.LSTM(4, return_state=True, name="encoder")(L.Embedding(7, 3, mask_zero=True, name="src_emb")(a))
        d = L.LSTM(4, return_sequences=True, name="decoder")(L.Embedding(7, 3, mask_zero=True, name="tgt_emb")(b),
                                                            initial_state=[hs, cs])
        y = L.Dense(5, name="head")(d)
        xb = ids(rng)[:, : T - 1].copy()
        xb[1, :] = rng.integers(1, 7, T - 1)
        return tf.keras.Model([a, b], y, name=name), [ids(rng), xb]
    raise ValueError(name)


CASES = ["emb_lstm_seq", "emb_gru_last", "emb_simple_back", "masking_lstm", "merge_and", "masked_s2s"]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(11)
    masks = {}
    for name in CASES:
        m, xs = build(name, rng)
        random_weights(m, rng, 0.6)
        ys = m.predict(xs, verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        m.save(os.path.join(OUT, name + ".h5"))
        for k, x in enumerate(xs):
            np.save(os.path.join(OUT, "%s_x%d.npy" % (name, k)), x)
        for k, y in enumerate(ys):
            np.save(os.path.join(OUT, "%s_y%d.npy" % (name, k)), y.astype(np.float32))
        masks[name] = [getattr(o, "_keras_mask", None) is not None for o in m.outputs]
        if name in ("emb_gru_last", "masking_lstm", "emb_lstm_seq", "masked_s2s"):
            d = os.path.join(OUT, "fit_" + name)
            os.makedirs(d, exist_ok=True)
            m.compile(optimizer=tf.keras.optimizers.SGD(0.2), loss="mse")
            m.save(os.path.join(d, "init.h5"))
            y = rng.uniform(-1, 1, ys[0].shape).astype(np.float32)
            np.save(os.path.join(d, "y0.npy"), y)
            hist = m.fit(xs, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
            m.save(os.path.join(d, "final.h5"))
            out = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
            out["evaluate"] = float(m.evaluate(xs, y, batch_size=2, verbose=0))
            with open(os.path.join(d, "history.json"), "w") as f:
                json.dump(out, f)
    with open(os.path.join(OUT, "masks.json"), "w") as f:
        json.dump(masks, f, indent=1)


if __name__ == "__main__":
    main()
