#!/opt/kref/bin/python
"""Golden values of tests/layers/test_wrapper_more.c: TimeDistributed over
nested models in .keras archives, and Bidirectional given initial states.
Run it once with each Keras:

    /opt/kref/bin/python tools/gen_wrapper_more_goldens.py   # tf.keras 2.15.1
    /opt/k3/bin/python tools/gen_wrapper_more_goldens.py     # Keras 3.15.1

into tests/data/layers/wrapper_more/ (tf.keras writes the *_tf files, Keras 3
the *_k3 ones):

  td_model_{tf,k3}.keras    a functional model over x (2, 3, 4, 5) of
                            TimeDistributed(Sequential[LSTM, BatchNormalization,
                            Dense]) and TimeDistributed(Functional[Flatten,
                            Dense, Sequential[Dense]]), concatenated
  td_model_{tf,k3}_{x,y}.npy  its input and predictions
  td_model_tf_paths.txt     the dataset paths of the tf.keras archive's
                            model.weights.h5, one a line, sorted (the layout
                            ckeras' own .keras save must reproduce)
  td_model_tf_groups.txt    likewise its `vars` groups (weightless layers'
                            included)
  nested_k3.keras           (Keras 3) a functional model over x (2, 4) calling a
                            nested Functional, then Sequentials with and
                            without an Input, then the Functional again as
                            the output: Keras 3 counts their nodes from 0 in
                            node references, a Functional's from 1 in
                            output_layers
  nested_k3_{x,y}.npy       its input and predictions
  bidi_init_{tf,k3}.keras   a model over x (3, 5, 3) and s (3, 4) whose
                            Dense layers make initial states from s for
                            Bidirectional LSTM (concat, return_sequences,
                            return_state), GRU (ave, return_state) and
                            SimpleRNN (sum, return_sequences); tf.keras also
                            writes bidi_init_tf.h5
  bidi_init_{tf,k3}_{x0,x1,y}.npy  its inputs and predictions
  bidi_init_fit_{t,y}.npy   (tf.keras) targets, and the predictions of
                            bidi_init_tf after tf.keras trained it two
                            epochs (SGD 0.1, mse, batch 2, no shuffling)
  bidi_init_goldens.json    (tf.keras) per case: the Bidirectional config
                            ("layer", legacy {class_name, config} form), the
                            input "x", the initial "states" (forward half then
                            backward half), "weights", the output gradients
                            "dy"; "f32": outputs "y" of the float32 layer;
                            "f64": outputs "y", and float64 gradients of
                            sum_k sum(y_k * dy_k) for x ("dx"), every state
                            ("dstates") and every weight ("dweights")
                            (GradientTape)

Inputs and weights come from seeded numpy generators; every output from
Keras.  Nothing here is computed by ckeras.
"""
import os

import numpy as np

from golden_common import data_dir, gradient_record, legacy, random_weights, tape_gradients, tensor, write_json

try:
    import keras
    K3 = keras.__version__.startswith("3")
except ImportError:
    K3 = False
if not K3:
    import tensorflow as tf
    keras = tf.keras

OUT = data_dir("layers", "wrapper_more")
L = keras.layers
TAG = "k3" if K3 else "tf"


def randomize(model, rng):
    """Uniform weights; BatchNormalization variances kept positive."""
    ws = []
    for w in model.weights:
        v = rng.uniform(-0.6, 0.6, size=tuple(w.shape))
        if "moving_variance" in w.name or w.name.endswith("variance"):
            v = rng.uniform(0.5, 1.5, size=tuple(w.shape))
        ws.append(v)
    model.set_weights(ws)


def td_model(rng):
    x = keras.Input((3, 4, 5))
    seq = keras.Sequential([keras.Input((4, 5)), L.LSTM(3), L.BatchNormalization(), L.Dense(2)], name="inner_seq")
    fi = keras.Input((4, 5))
    h = L.Dense(4, activation="tanh", name="fd1")(L.Flatten()(fi))
    h = keras.Sequential([keras.Input((4,)), L.Dense(3, name="deep")], name="deeper")(h)
    fun = keras.Model(fi, h, name="inner_fun")
    y = L.Concatenate()([L.TimeDistributed(seq)(x), L.TimeDistributed(fun)(x)])
    model = keras.Model(x, y)
    randomize(model, rng)
    xv = rng.uniform(-1, 1, size=(2, 3, 4, 5)).astype(np.float32)
    np.save(os.path.join(OUT, "td_model_%s_x.npy" % TAG), xv)
    np.save(os.path.join(OUT, "td_model_%s_y.npy" % TAG), model.predict(xv, verbose=0))
    path = os.path.join(OUT, "td_model_%s.keras" % TAG)
    model.save(path)
    if not K3:
        import io
        import zipfile
        import h5py
        with zipfile.ZipFile(path) as z:
            f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
            names, groups = [], []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            f.visititems(lambda n, o: groups.append(n) if isinstance(o, h5py.Group) and n.endswith("vars") else None)
        with open(os.path.join(OUT, "td_model_tf_paths.txt"), "w") as out:
            out.write("".join(n + "\n" for n in sorted(names)))
        with open(os.path.join(OUT, "td_model_tf_groups.txt"), "w") as out:
            out.write("".join(n + "\n" for n in sorted(groups)))


def nested_model(rng):
    fi = keras.Input((4,))
    fun = keras.Model(fi, L.Dense(3, activation="tanh")(fi), name="fun")
    seq = keras.Sequential([keras.Input((3,)), L.Dense(2)], name="seq")
    seq2 = keras.Sequential([L.Dense(2)], name="seq2")
    x = keras.Input((4,))
    h = fun(x)
    y = fun(L.Dense(4)(L.Concatenate()([h, seq2(seq(h))])))
    model = keras.Model(x, y)
    randomize(model, rng)
    xv = rng.uniform(-1, 1, size=(2, 4)).astype(np.float32)
    np.save(os.path.join(OUT, "nested_k3_x.npy"), xv)
    np.save(os.path.join(OUT, "nested_k3_y.npy"), model.predict(xv, verbose=0))
    model.save(os.path.join(OUT, "nested_k3.keras"))


def bidi_model(rng):
    x, s = keras.Input((5, 3)), keras.Input((4,))
    outs = []

    def states(n, units):
        return [L.Dense(units, activation="tanh")(s) for _ in range(n)]

    yl, hf, cf, hb, cb = L.Bidirectional(L.LSTM(4, return_sequences=True, return_state=True))(
        x, initial_state=states(4, 4))
    outs += [L.GlobalAveragePooling1D()(yl), hf, cf, hb, cb]
    yg, gf, gb = L.Bidirectional(L.GRU(3, return_state=True), merge_mode="ave")(x, initial_state=states(2, 3))
    outs += [yg, gf, gb]
    ys = L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="sum")(x, initial_state=states(2, 2))
    outs.append(L.Flatten()(ys))
    model = keras.Model([x, s], L.Concatenate()(outs))
    randomize(model, rng)
    x0 = rng.uniform(-1, 1, size=(3, 5, 3)).astype(np.float32)
    x1 = rng.uniform(-1, 1, size=(3, 4)).astype(np.float32)
    for k, v in (("x0", x0), ("x1", x1), ("y", model.predict([x0, x1], verbose=0))):
        np.save(os.path.join(OUT, "bidi_init_%s_%s.npy" % (TAG, k)), v)
    model.save(os.path.join(OUT, "bidi_init_%s.keras" % TAG))
    if not K3:
        model.save(os.path.join(OUT, "bidi_init_tf.h5"))
        # Training reaches the Dense layers that make the states only
        # through the states' gradients.
        t = rng.uniform(-1, 1, size=model.output_shape[1:]).astype(np.float32)[None].repeat(3, 0)
        t += rng.uniform(-0.2, 0.2, size=t.shape).astype(np.float32)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit([x0, x1], t, batch_size=2, epochs=2, shuffle=False, verbose=0)
        np.save(os.path.join(OUT, "bidi_init_fit_t.npy"), t)
        np.save(os.path.join(OUT, "bidi_init_fit_y.npy"), model.predict([x0, x1], verbose=0))


# name, units, states per direction, maker(dtype)
BIDI_CASES = [
    ("lstm_concat_seq_state", 4, 2,
     lambda d: L.Bidirectional(L.LSTM(4, return_sequences=True, return_state=True, dtype=d), dtype=d)),
    ("gru_ave_state", 3, 1,
     lambda d: L.Bidirectional(L.GRU(3, return_state=True, dtype=d), merge_mode="ave", dtype=d)),
    ("simple_sum_seq", 2, 1,
     lambda d: L.Bidirectional(L.SimpleRNN(2, return_sequences=True, dtype=d), merge_mode="sum", dtype=d)),
    ("lstm_none_last", 3, 2,
     lambda d: L.Bidirectional(L.LSTM(3, dtype=d), merge_mode=None, dtype=d)),
]


def bidi_goldens(rng):
    out = []
    for name, units, n_states, make in BIDI_CASES:
        x = rng.uniform(-1, 1, size=(2, 4, 3))
        st = [rng.uniform(-1, 1, size=(2, units)) for _ in range(2 * n_states)]
        tf.keras.backend.clear_session()
        layer = make("float64")
        xv = tf.constant(x)
        sv = [tf.constant(v) for v in st]
        layer(xv, initial_state=sv)
        weights = random_weights(layer, rng, 0.6)
        ys, dys, grads = tape_gradients(layer, xv, rng, as_list=True, states=sv)
        tf.keras.backend.clear_session()
        l32 = make("float32")
        s32 = [tf.constant(v.astype(np.float32)) for v in st]
        l32(tf.constant(x.astype(np.float32)), initial_state=s32)
        l32.set_weights([w.astype(np.float32) for w in weights])
        y32 = l32(tf.constant(x.astype(np.float32)), initial_state=s32)
        y32 = y32 if isinstance(y32, (list, tuple)) else [y32]
        out.append({
            "name": name, "layer": legacy(tf.keras.layers.serialize(l32)),
            "x": tensor(x), "states": [tensor(v) for v in st], "weights": [tensor(w) for w in weights],
            "dy": [tensor(d) for d in dys],
            "f32": {"y": [tensor(y.numpy()) for y in y32]},
            "f64": gradient_record(ys, grads, len(sv)),
        })
    write_json(os.path.join(OUT, "bidi_init_goldens.json"), out)


def main():
    os.makedirs(OUT, exist_ok=True)
    td_model(np.random.default_rng(11 if K3 else 10))
    bidi_model(np.random.default_rng(13 if K3 else 12))
    if K3:
        nested_model(np.random.default_rng(15))
    if not K3:
        bidi_goldens(np.random.default_rng(14))
    print("keras", keras.__version__ if K3 else tf.__version__)


if __name__ == "__main__":
    main()
