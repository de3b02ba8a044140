#!/opt/kref/bin/python
"""Writes the fixtures of tests/layers/test_attention_masks.c and
tests/model/test_attention_mask_models.c into tests/data/attention_mask/.

    /opt/kref/bin/python tools/gen_attention_mask_goldens.py

With tf.keras 2.15 (this interpreter):

* Layer cases (CASES): the layer with random weights is called in inference
  mode on random float32 inputs under a GradientTape on
  f = sum(y * dy) (+ sum(scores * dy1) with return_attention_scores).
  Masks are 0/1 int32 arrays.  "explicit" masks are the `mask=[query_mask,
  value_mask]` call argument of Attention / AdditiveAttention (or
  MultiHeadAttention's attention_mask); "keras" masks are Keras masks
  (_keras_mask) carried by MultiHeadAttention's query / value / key.
  Stores <case>_x<i> (inputs in ckeras' order: query, value, key, then the
  explicit masks), _m<i> (the Keras mask of input i), _y, _y1 (scores),
  _dy, _dy1, _dx<i> (each float input), _w<i>, _dw<i>; cases.json lists the
  layer config, the call arguments and the file names.
* Models saved as .h5 and .keras (models/<name>.*), their inputs x<i> and
  predictions y<k>:
  - da_emb: Embedding(mask_zero) query / value / key into Attention
    (use_scale, return_attention_scores), AdditiveAttention
    (use_causal_mask), Attention(score_mode="concat") with a key, and a
    GlobalAveragePooling1D reading the attention output's mask;
  - da_explicit: Attention / AdditiveAttention with mask=[qm, vm] from bool
    model inputs;
  - mha_emb: MultiHeadAttention on Embedding(mask_zero) query / value / key
    with an attention_mask input, use_causal_mask and
    return_attention_scores, and a GlobalAveragePooling1D after it;
  - mha_axes: MultiHeadAttention with attention_axes=(1,) and (2,) on rank-4
    inputs.
* models/fit_masked.h5 and one SGD step of it through masked attention
  (fit_files).
* config/: a model of MultiHeadAttention and Attention calls whose config
  (model.to_json()) is mha_calls.json, built the same way by
  tests/model/test_attention_mask_models.c; with its weights
  (mha_calls.h5), inputs and predictions.

Then, under Keras 3 (/opt/k3/bin/python, when present) with --k3: da_emb and
mha_emb rebuilt with Keras 3 and other random weights, saved as
models/<name>_k3.keras with their predictions k3_y<k> on the same inputs.
"""
import json
import os
import subprocess
import sys

import numpy as np

from golden_common import K3_PYTHON, data_dir, load_npy, save_npy

OUT = data_dir("attention_mask")
MHA = "MultiHeadAttention"

# name, class, config kwargs, inputs [(kind, shape)], call kwargs.
# kinds: q, v, k (float), qm / vm (explicit masks of Attention),
# am (MultiHeadAttention's attention_mask); ("keras", i, shape) entries are
# Keras masks of input i.
CASES = [
    ("att_mask", "Attention", dict(use_scale=True),
     [("q", (2, 4, 3)), ("v", (2, 5, 3)), ("qm", (2, 4)), ("vm", (2, 5))], dict(return_attention_scores=True)),
    ("att_mask_causal_key", "Attention", dict(score_mode="concat"),
     [("q", (2, 4, 3)), ("v", (2, 4, 2)), ("k", (2, 4, 3)), ("qm", (2, 4)), ("vm", (2, 4))],
     dict(use_causal_mask=True)),
    ("add_mask", "AdditiveAttention", dict(),
     [("q", (2, 3, 4)), ("v", (2, 5, 4)), ("qm", (2, 3)), ("vm", (2, 5))], dict(return_attention_scores=True)),
    ("add_mask_vonly", "AdditiveAttention", dict(use_scale=False),
     [("q", (2, 3, 4)), ("v", (2, 5, 4)), ("vm", (2, 5))], dict(use_causal_mask=True)),
    ("mha_axes1", MHA, dict(num_heads=2, key_dim=3, attention_axes=(1,)),
     [("q", (2, 3, 2, 4)), ("v", (2, 4, 2, 4)), ("am", (2, 3, 4))], dict(return_attention_scores=True)),
    ("mha_axes2", MHA, dict(num_heads=2, key_dim=2, value_dim=3, attention_axes=(2,)),
     [("q", (2, 2, 3, 4)), ("v", (2, 2, 5, 4)), ("k", (2, 2, 5, 3))], dict(return_attention_scores=True)),
    ("mha_axes12", MHA, dict(num_heads=1, key_dim=2, attention_axes=(1, 2)),
     [("q", (2, 2, 3, 4)), ("v", (2, 3, 2, 4))], {}),
    ("mha_axes1_causal", MHA, dict(num_heads=2, key_dim=2, attention_axes=(1,), output_shape=5),
     [("q", (2, 4, 2, 3)), ("v", (2, 4, 2, 3))], dict(use_causal_mask=True)),
    ("mha_kmask", MHA, dict(num_heads=2, key_dim=3),
     [("q", (2, 4, 5)), ("v", (2, 6, 5)), ("k", (2, 6, 3)), ("am", (2, 4, 6)),
      ("keras", 0, (2, 4)), ("keras", 1, (2, 6)), ("keras", 2, (2, 6))],
     dict(use_causal_mask=True, return_attention_scores=True)),
    ("mha_qmask", MHA, dict(num_heads=1, key_dim=2),
     [("q", (2, 3, 4)), ("v", (2, 5, 4)), ("keras", 0, (2, 3)), ("keras", 1, (2, 5))], {}),
]


def save(name, arr, dtype=np.float32):
    """OUT/<name>.npy, making the folder a name like "models/x" needs."""
    os.makedirs(os.path.dirname(os.path.join(OUT, name)), exist_ok=True)
    save_npy(OUT, name, arr, dtype)


def load(name):
    return load_npy(OUT, name)


def rand_mask(rng, shape, fully_masked_row=False):
    m = (rng.uniform(size=shape) > 0.3).astype(np.int32)
    m.reshape(-1, shape[-1])[:, 0] = 1  # every row attends somewhere
    if fully_masked_row:
        m.reshape(-1, shape[-1])[1, :] = 0  # one row attends nowhere (uniform)
    return m


def layer_cases(tf, rng):
    L = tf.keras.layers
    manifest = []
    for name, cls_name, kw, specs, call_kw in CASES:
        layer = getattr(L, cls_name)(name=name, **kw)
        xs, kinds, keras_masks = [], [], {}
        for spec in specs:
            if spec[0] == "keras":
                keras_masks[spec[1]] = rand_mask(rng, spec[2])
                continue
            kind, shape = spec
            kinds.append(kind)
            if kind in ("qm", "vm", "am"):
                xs.append(rand_mask(rng, shape, fully_masked_row=(kind == "am")))
            else:
                xs.append(rng.uniform(-1, 1, size=shape).astype(np.float32))

        def call(ts, training=False):
            by = dict(zip(kinds, ts))
            for i, m in keras_masks.items():
                ts[i]._keras_mask = tf.constant(m.astype(bool))
            if cls_name == MHA:
                extra = {}
                if "k" in by:
                    extra["key"] = by["k"]
                if "am" in by:
                    extra["attention_mask"] = by["am"]
                return layer(by["q"], by["v"], **extra, **call_kw, training=training)
            inputs = [by["q"], by["v"]] + ([by["k"]] if "k" in by else [])
            mask = None
            if "qm" in by or "vm" in by:
                mask = [tf.cast(by["qm"], bool) if "qm" in by else None, tf.cast(by["vm"], bool)]
            return layer(inputs, mask=mask, **call_kw, training=training)

        call([tf.constant(x) for x in xs])  # builds
        weights = []
        for w in layer.weights:
            lo, hi = (0.5, 1.5) if "scale" in w.name else (-0.8, 0.8)
            weights.append(rng.uniform(lo, hi, size=w.shape).astype(np.float32))
        if weights:
            layer.set_weights(weights)
        ts = [tf.constant(x) for x in xs]
        floats = [t for t, k in zip(ts, kinds) if k in ("q", "v", "k")]
        out = call(list(ts))
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        dys = [rng.uniform(-1, 1, size=o.shape).astype(np.float32) for o in outs]
        with tf.GradientTape() as tape:
            for t in floats:
                tape.watch(t)
            out = call(list(ts))
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            f = sum(tf.reduce_sum(o * dy) for o, dy in zip(outs, dys))
        grads = tape.gradient(f, floats + list(layer.trainable_weights))
        for i, (x, k) in enumerate(zip(xs, kinds)):
            save(f"{name}_x{i}", x, np.int32 if k in ("qm", "vm", "am") else np.float32)
        for i, m in keras_masks.items():
            save(f"{name}_m{i}", m, np.int32)
        for k, (o, dy) in enumerate(zip(outs, dys)):
            save(f"{name}_y" + (str(k) if k else ""), o)
            save(f"{name}_dy" + (str(k) if k else ""), dy)
        gi = 0
        for i, k in enumerate(kinds):
            if k in ("q", "v", "k"):
                save(f"{name}_dx{i}", np.zeros(xs[i].shape) if grads[gi] is None else grads[gi])
                gi += 1
        for i, (w, g) in enumerate(zip(weights, grads[len(floats):])):
            save(f"{name}_w{i}", w)
            save(f"{name}_dw{i}", g)
        cfg = layer.get_config()
        manifest.append({
            "name": name, "class": cls_name,
            "config": json.dumps({"class_name": cls_name, "config": cfg}, default=lambda o: o.as_list()),
            "kinds": kinds, "keras_masks": sorted(keras_masks), "outputs": len(outs),
            "call": {k: bool(v) for k, v in call_kw.items()}, "weights": len(weights)})
    with open(os.path.join(OUT, "cases.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


def tokens(rng, batch, steps, vocab, pad_from):
    """Random ids 1..vocab-1 with trailing zeros from pad_from[b] on."""
    t = rng.integers(1, vocab, size=(batch, steps)).astype(np.int32)
    for b, p in enumerate(pad_from):
        t[b, p:] = 0
    return t


def da_emb_model(K, seed):
    L = K.layers
    tq = L.Input(shape=(5,), dtype="int32", name="tq")
    tv = L.Input(shape=(6,), dtype="int32", name="tv")
    q = L.Embedding(10, 4, mask_zero=True, name="emb_q")(tq)
    v = L.Embedding(10, 4, mask_zero=True, name="emb_v")(tv)
    k = L.Embedding(10, 4, mask_zero=True, name="emb_k")(tv)
    a1, s1 = L.Attention(use_scale=True, name="att")([q, v], return_attention_scores=True)
    a2 = L.AdditiveAttention(name="add")([q, v], use_causal_mask=True)
    a3 = L.Attention(score_mode="concat", name="att_concat")([q, v, k])
    p = L.GlobalAveragePooling1D(name="pool")(a1)
    return K.Model([tq, tv], [a1, s1, a2, a3, p], name="da_emb")


def mha_emb_model(K, seed):
    L = K.layers
    tq = L.Input(shape=(5,), dtype="int32", name="tq")
    tv = L.Input(shape=(6,), dtype="int32", name="tv")
    am = L.Input(shape=(5, 6), name="am")
    q = L.Embedding(10, 6, mask_zero=True, name="emb_q")(tq)
    v = L.Embedding(10, 6, mask_zero=True, name="emb_v")(tv)
    k = L.Embedding(10, 4, mask_zero=True, name="emb_k")(tv)
    o1 = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha1")(q, v, attention_mask=am)
    o2, s2 = L.MultiHeadAttention(num_heads=2, key_dim=2, name="mha2")(q, v, key=k, use_causal_mask=True,
                                                                       return_attention_scores=True)
    p = L.GlobalAveragePooling1D(name="pool")(o1)
    return K.Model([tq, tv, am], [o1, o2, s2, p], name="mha_emb")


def model_inputs(rng, name):
    if name == "da_emb":
        return [tokens(rng, 3, 5, 10, [5, 3, 1]), tokens(rng, 3, 6, 10, [6, 4, 2])]
    if name == "mha_emb":
        am = rand_mask(rng, (3, 5, 6)).astype(np.float32)
        return [tokens(rng, 3, 5, 10, [5, 3, 2]), tokens(rng, 3, 6, 10, [6, 4, 2]), am]
    raise KeyError(name)


def set_random_weights(model, rng):
    for w in model.weights:
        w.assign(rng.uniform(-0.8, 0.8, size=w.shape).astype(np.float32))


def save_model(model, name, xs, ext=("h5", "keras"), prefix="y"):
    d = os.path.join(OUT, "models")
    os.makedirs(d, exist_ok=True)
    for e in ext:
        model.save(os.path.join(d, f"{name}.{e}"))
    ys = model.predict(xs, verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    for k, y in enumerate(ys):
        save(f"models/{name}_{prefix}{k}", y)


def model_files(tf, rng):
    K = tf.keras
    L = K.layers
    for name, make in (("da_emb", da_emb_model), ("mha_emb", mha_emb_model)):
        K.backend.clear_session()
        model = make(K, 0)
        set_random_weights(model, rng)
        xs = model_inputs(rng, name)
        for i, x in enumerate(xs):
            save(f"models/{name}_x{i}", x, x.dtype)
        save_model(model, name, xs)
    # Explicit masks from bool inputs.
    K.backend.clear_session()
    q = L.Input(shape=(4, 3), name="q")
    v = L.Input(shape=(5, 3), name="v")
    qm = L.Input(shape=(4,), dtype="bool", name="qm")
    vm = L.Input(shape=(5,), dtype="bool", name="vm")
    a = L.Attention(use_scale=True, name="att")([q, v], mask=[qm, vm])
    b, s = L.AdditiveAttention(name="add")([q, v], mask=[qm, vm], return_attention_scores=True)
    model = K.Model([q, v, qm, vm], [a, b, s], name="da_explicit")
    set_random_weights(model, rng)
    xs = [rng.uniform(-1, 1, size=(3, 4, 3)).astype(np.float32), rng.uniform(-1, 1, size=(3, 5, 3)).astype(np.float32),
          rand_mask(rng, (3, 4)).astype(bool), rand_mask(rng, (3, 5)).astype(bool)]
    for i, x in enumerate(xs):
        save(f"models/da_explicit_x{i}", x, np.int32 if x.dtype == bool else np.float32)
    save_model(model, "da_explicit", xs)
    # attention_axes on rank-4 inputs.
    K.backend.clear_session()
    q = L.Input(shape=(3, 2, 4), name="q")
    v = L.Input(shape=(4, 2, 4), name="v")
    o1 = L.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(1,), name="mha_a1")(q, v)
    o2 = L.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=(2,), name="mha_a2")(q, q)
    model = K.Model([q, v], [o1, o2], name="mha_axes")
    set_random_weights(model, rng)
    xs = [rng.uniform(-1, 1, size=(2, 3, 2, 4)).astype(np.float32),
          rng.uniform(-1, 1, size=(2, 4, 2, 4)).astype(np.float32)]
    for i, x in enumerate(xs):
        save(f"models/mha_axes_x{i}", x)
    save_model(model, "mha_axes", xs)


def config_files(tf, rng):
    """MultiHeadAttention and Attention calls with keyword arguments, as the
    C test builds them: the config tf.keras writes is the golden."""
    K = tf.keras
    L = K.layers
    K.backend.clear_session()
    q = L.Input(shape=(4, 6), name="q")
    v = L.Input(shape=(5, 6), name="v")
    k = L.Input(shape=(5, 3), name="k")
    m = L.Input(shape=(4, 5), name="m")
    o1, s1 = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha_full")(
        q, v, key=k, attention_mask=m, return_attention_scores=True, use_causal_mask=True)
    o2 = L.MultiHeadAttention(num_heads=1, key_dim=2, name="mha_plain")(q, v)
    o3 = L.MultiHeadAttention(num_heads=1, key_dim=2, name="mha_mask")(q, v, attention_mask=m)
    a, s = L.Attention(name="att")([q, v], use_causal_mask=True, return_attention_scores=True)
    model = K.Model([q, v, k, m], [o1, s1, o2, o3, a, s], name="mha_calls")
    set_random_weights(model, rng)
    d = os.path.join(OUT, "config")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "mha_calls.json"), "w") as fh:
        fh.write(model.to_json())
    model.save_weights(os.path.join(d, "mha_calls.h5"))
    xs = [rng.uniform(-1, 1, size=(2,) + tuple(t.shape[1:])).astype(np.float32) for t in (q, v, k)]
    xs.append(rand_mask(rng, (2, 4, 5)).astype(np.float32))
    for i, x in enumerate(xs):
        save(f"config/x{i}", x)
    for j, y in enumerate(model.predict(xs, verbose=0)):
        save(f"config/y{j}", y)


def fit_files(tf, rng):
    """One SGD step through masked attention: Embedding(mask_zero) query /
    value into MultiHeadAttention, whose output (carrying the query mask)
    is the query of an Attention over the value, pooled over the query mask
    into a Dense.  models/fit_masked.h5 is saved compiled (SGD with a learning
    rate of 50, so that even the small query-side gradients move the
    weights well past float32 noise) before the step;
    fit_masked_x<i>, _t (targets) and _w<j> (every weight after one epoch of
    one full batch, shuffle off)."""
    K = tf.keras
    L = K.layers
    K.backend.clear_session()
    tq = L.Input(shape=(5,), dtype="int32", name="tq")
    tv = L.Input(shape=(6,), dtype="int32", name="tv")
    q = L.Embedding(10, 4, mask_zero=True, name="emb_q")(tq)
    v = L.Embedding(10, 4, mask_zero=True, name="emb_v")(tv)
    o = L.MultiHeadAttention(num_heads=2, key_dim=2, name="mha")(q, v)
    a = L.Attention(use_scale=True, name="att")([o, v])
    p = L.GlobalAveragePooling1D(name="pool")(a)
    y = L.Dense(2, name="head")(p)
    model = K.Model([tq, tv], y, name="fit_masked")
    set_random_weights(model, rng)
    model.compile(optimizer=K.optimizers.SGD(learning_rate=50.0), loss="mse")
    d = os.path.join(OUT, "models")
    model.save(os.path.join(d, "fit_masked.h5"))
    xs = [tokens(rng, 3, 5, 10, [5, 3, 2]), tokens(rng, 3, 6, 10, [6, 4, 2])]
    t = rng.uniform(-1, 1, size=(3, 2)).astype(np.float32)
    for i, x in enumerate(xs):
        save(f"models/fit_masked_x{i}", x, np.int32)
    save("models/fit_masked_t", t)
    model.fit(xs, t, batch_size=3, epochs=1, shuffle=False, verbose=0)
    for j, w in enumerate(model.weights):
        save(f"models/fit_masked_w{j}", w.numpy())


def tf_main():
    import tensorflow as tf

    os.makedirs(OUT, exist_ok=True)
    tf.keras.utils.set_random_seed(11)
    rng = np.random.default_rng(20261207)
    layer_cases(tf, rng)
    model_files(tf, rng)
    config_files(tf, rng)
    fit_files(tf, rng)


def k3_main():
    import keras

    rng = np.random.default_rng(31)
    for name, make in (("da_emb", da_emb_model), ("mha_emb", mha_emb_model)):
        model = make(keras, 0)
        set_random_weights(model, rng)
        xs = []
        i = 0
        while os.path.exists(os.path.join(OUT, f"models/{name}_x{i}.npy")):
            xs.append(load(f"models/{name}_x{i}"))
            i += 1
        save_model(model, name + "_k3", xs, ext=("keras",), prefix="y")


if __name__ == "__main__":
    if "--k3" in sys.argv:
        k3_main()
    else:
        tf_main()
        if os.path.exists(K3_PYTHON):
            subprocess.run([K3_PYTHON, os.path.abspath(__file__), "--k3"], check=True)
