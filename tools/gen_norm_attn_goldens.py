#!/opt/kref/bin/python
"""Writes the golden fixtures of tests/layers/test_norm_attn*.c into
tests/data/norm_attn/.

    /opt/kref/bin/python tools/gen_norm_attn_goldens.py

With tf.keras 2.15 (this interpreter), for every case of CASES: builds the
layer, gives its weights random values, calls it in inference mode on random
float32 inputs (masks are 0/1 int32 arrays) under a GradientTape on
f = sum(y * dy) for a random dy, and stores <case>_x<i>, _dy, _y, _dx<i> (the
gradient of each float input) and _w<i> / _dw<i> (.npy).  cases.json lists
each case: its name, its get_config after the call as the text ckeras must
write back (initializers without tf.keras 2.13+'s "module" /
"registered_name" keys), the number of inputs, which inputs are masks,
whether the call passed a key and a mask by keyword, use_causal_mask, the
weight count, and for ActivityRegularization the loss it records.

Then it runs itself under Keras 3 (/opt/k3/bin/python, when present) with
--k3: for the cases K3_CASES names, the Keras 3 layer with the same weights
gives <case>_k3y.npy, and k3_configs.json holds each layer's serialized
Keras 3 config.  models/ holds a small transformer block (MultiHeadAttention,
residual Adds, LayerNormalization, a Dense feed-forward) saved by tf.keras
2.15 as .h5 and .keras, its input and its prediction.

With --scores (writes only tests/data/norm_attn/scores/, leaving the other
fixtures alone): a functional model whose Attention, AdditiveAttention and
MultiHeadAttention are called with return_attention_scores=True (query
(4, 6), value (5, 6); outputs [att, att scores, add, add scores, mha, mha
scores]) saved as scores.h5 and scores.keras, its inputs x0 / x1 and its six
predictions y<k>; and per layer, inference-mode gradients of
f = sum(out * dy0) + sum(scores * dy1) for random dy: <layer>_dy0, _dy1,
_dx0, _dx1 (query, value) and _dw<i> (trainable weights in order).  Then,
under Keras 3 (--scores-k3, when /opt/k3 is present), the same model with
other random weights as scores_k3.keras and its predictions k3_y<k>.
"""
import json
import os
import subprocess
import sys

import numpy as np

from golden_common import K3_PYTHON, data_dir, load_npy, save_npy, short_initializers

OUT = data_dir("norm_attn")

# name, class, kwargs, input shapes (None entries: the mask shape follows),
# call kwargs.  Inputs named "mask" are 0/1 masks.
MHA = "MultiHeadAttention"
CASES = [
    ("mha_basic", MHA, dict(num_heads=2, key_dim=3), [("q", (2, 4, 5)), ("v", (2, 3, 5))], {}),
    ("mha_key_out", MHA, dict(num_heads=3, key_dim=2, value_dim=4, output_shape=6),
     [("q", (2, 3, 5)), ("v", (2, 4, 7)), ("k", (2, 4, 6))], {}),
    ("mha_mask", MHA, dict(num_heads=2, key_dim=4), [("q", (2, 4, 6)), ("v", (2, 5, 6)), ("k", (2, 5, 3)),
                                                      ("mask", (2, 4, 5))], {}),
    ("mha_mask_nokey", MHA, dict(num_heads=2, key_dim=2), [("q", (2, 3, 4)), ("v", (2, 5, 4)),
                                                           ("mask", (2, 1, 5))], {}),
    ("mha_causal", MHA, dict(num_heads=2, key_dim=3), [("q", (2, 4, 6)), ("v", (2, 4, 6))],
     dict(use_causal_mask=True)),
    ("mha_nobias", MHA, dict(num_heads=1, key_dim=4, use_bias=False), [("q", (3, 2, 3)), ("v", (3, 3, 3))], {}),
    ("mha_rank4", MHA, dict(num_heads=2, key_dim=2), [("q", (2, 2, 3, 4)), ("v", (2, 3, 2, 4))], {}),
    ("att_dot", "Attention", dict(), [("q", (2, 3, 4)), ("v", (2, 5, 4))], {}),
    ("att_scale_key", "Attention", dict(use_scale=True), [("q", (2, 3, 4)), ("v", (2, 5, 3)), ("k", (2, 5, 4))],
     {}),
    ("att_concat", "Attention", dict(use_scale=True, score_mode="concat"), [("q", (2, 3, 4)), ("v", (2, 4, 4))],
     {}),
    ("att_concat_noscale", "Attention", dict(score_mode="concat"), [("q", (2, 3, 2)), ("v", (2, 2, 3)),
                                                                    ("k", (2, 2, 2))], {}),
    ("att_causal", "Attention", dict(), [("q", (2, 4, 3)), ("v", (2, 4, 3))], dict(use_causal_mask=True)),
    ("add_att", "AdditiveAttention", dict(), [("q", (2, 3, 4)), ("v", (2, 5, 4))], {}),
    ("add_att_noscale_key", "AdditiveAttention", dict(use_scale=False), [("q", (2, 3, 3)), ("v", (2, 4, 2)),
                                                                        ("k", (2, 4, 3))], {}),
    ("add_att_causal", "AdditiveAttention", dict(), [("q", (1, 4, 3)), ("v", (1, 4, 3))],
     dict(use_causal_mask=True)),
    ("gn_last", "GroupNormalization", dict(groups=3), [("x", (2, 5, 6))], {}),
    ("gn_axis1", "GroupNormalization", dict(groups=2, axis=1), [("x", (2, 4, 3))], {}),
    ("gn_4d", "GroupNormalization", dict(groups=4, epsilon=1e-5), [("x", (2, 3, 3, 4))], {}),
    ("gn_one", "GroupNormalization", dict(groups=1), [("x", (2, 4, 6))], {}),
    ("gn_nocenter", "GroupNormalization", dict(groups=2, center=False, epsilon=0.1), [("x", (3, 4))], {}),
    ("gn_noscale", "GroupNormalization", dict(groups=2, scale=False), [("x", (2, 3, 4))], {}),
    ("un_last", "UnitNormalization", dict(), [("x", (2, 3, 4))], {}),
    ("un_12", "UnitNormalization", dict(axis=[1, 2]), [("x", (2, 3, 4))], {}),
    ("un_1", "UnitNormalization", dict(axis=1), [("x", (2, 3, 4))], {}),
    ("gnoise", "GaussianNoise", dict(stddev=0.3), [("x", (2, 3))], {}),
    ("gdrop", "GaussianDropout", dict(rate=0.2), [("x", (2, 3))], {}),
    ("sdrop1", "SpatialDropout1D", dict(rate=0.3), [("x", (2, 3, 4))], {}),
    ("sdrop2", "SpatialDropout2D", dict(rate=0.25, data_format="channels_first"), [("x", (2, 3, 2, 2))], {}),
    ("sdrop3", "SpatialDropout3D", dict(rate=0.5), [("x", (1, 2, 2, 2, 3))], {}),
    ("actreg", "ActivityRegularization", dict(l1=0.01, l2=0.02), [("x", (2, 3, 4))], {}),
    ("actreg_default", "ActivityRegularization", dict(), [("x", (2, 3))], {}),
]
K3_CASES = ["mha_basic", "mha_key_out", "mha_nobias", "att_scale_key", "att_concat", "add_att", "gn_last", "gn_axis1",
            "un_12", "gnoise", "gdrop", "sdrop2", "actreg"]


def save(name, arr, dtype=np.float32):
    save_npy(OUT, name, arr, dtype)  # OUT as it is now: --scores moves it


def load(name):
    return load_npy(OUT, name)


def make_inputs(rng, name, specs):
    arrays = []
    for i, (kind, shape) in enumerate(specs):
        if kind == "mask":
            m = (rng.uniform(size=shape) > 0.35).astype(np.int32)
            m.reshape(-1, shape[-1])[0, :] = 1  # at least one attending row per case
            if name == "mha_mask":
                m[0, 1, :] = 0  # a fully masked row (uniform in float32)
            arrays.append(m)
        else:
            arrays.append(rng.uniform(-1, 1, size=shape).astype(np.float32))
    return arrays


def split_call(layer_cls, specs, xs):
    """The positional and keyword arguments of the Keras call."""
    kinds = [k for k, _ in specs]
    if layer_cls == MHA:
        kw = {}
        if "k" in kinds:
            kw["key"] = xs[kinds.index("k")]
        if "mask" in kinds:
            kw["attention_mask"] = xs[kinds.index("mask")]
        return [xs[0], xs[1]], kw
    if len(xs) == 1:
        return [xs[0]], {}
    return [list(xs)], {}


def tf_main():
    import tensorflow as tf

    rng = np.random.default_rng(20261207)
    L = tf.keras.layers
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for name, cls_name, kw, specs, call_kw in CASES:
        xs = make_inputs(rng, name, specs)
        layer = getattr(L, cls_name)(name=name, **kw)
        ts = [tf.constant(x) for x in xs]
        pos, ckw = split_call(cls_name, specs, ts)
        layer(*pos, **ckw, **call_kw)  # builds
        weights = []
        for w in layer.weights:
            lo, hi = (0.5, 1.5) if ("gamma" in w.name or "scale" in w.name) else (-0.8, 0.8)
            weights.append(rng.uniform(lo, hi, size=w.shape).astype(np.float32))
        if weights:
            layer.set_weights(weights)
        y0 = layer(*pos, **ckw, **call_kw, training=False)
        dy = rng.uniform(-1, 1, size=y0.shape).astype(np.float32)
        floats = [t for t, (k, _) in zip(ts, specs) if k != "mask"]
        with tf.GradientTape() as tape:
            for t in floats:
                tape.watch(t)
            y = layer(*pos, **ckw, **call_kw, training=False)
            f = tf.reduce_sum(y * dy)
        grads = tape.gradient(f, floats + list(layer.trainable_weights))
        for i, (x, (kind, _)) in enumerate(zip(xs, specs)):
            save(f"{name}_x{i}", x, np.int32 if kind == "mask" else np.float32)
        save(f"{name}_dy", dy)
        save(f"{name}_y", y)
        gi = 0
        for i, (kind, _) in enumerate(specs):
            if kind != "mask":
                g = grads[gi]
                save(f"{name}_dx{i}", np.zeros(xs[i].shape) if g is None else g)
                gi += 1
        for i, (w, g) in enumerate(zip(weights, grads[len(floats):])):
            save(f"{name}_w{i}", w)
            save(f"{name}_dw{i}", g)
        entry = {"name": name, "class": cls_name,
                 "config": json.dumps({"class_name": cls_name, "config": short_initializers(layer.get_config())},
                                      default=lambda o: o.as_list()),  # TensorShape, as tf.keras' JSON
                 "inputs": len(xs), "masks": [i for i, (k, _) in enumerate(specs) if k == "mask"],
                 "kw_key": "k" in [k for k, _ in specs], "kw_mask": "mask" in [k for k, _ in specs],
                 "causal": bool(call_kw.get("use_causal_mask", False)), "weights": len(weights),
                 "weight_names": [w.name for w in layer.weights]}
        if layer.losses:
            entry["loss"] = float(layer.losses[0].numpy())
        manifest.append(entry)
    with open(os.path.join(OUT, "cases.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")
    transformer_files(tf, rng)
    legacy_attention_file(tf, np.random.default_rng(5))


def legacy_attention_file(tf, rng):
    """tests/data/keras/dl4j-legacy-formats/keras-attention.h5 (tf.keras 2.11):
    an Attention on rank-2 inputs, whose batch rows attend to each other;
    its prediction on one batch of 5 rows."""
    path = data_dir("keras", "dl4j-legacy-formats", "keras-attention.h5")
    model = tf.keras.models.load_model(path, compile=False)
    x = rng.uniform(-1, 1, size=(5, 22)).astype(np.float32)
    save("models/legacy_attention_x", x)
    save("models/legacy_attention_y", model(x, training=False))


def transformer_files(tf, rng):
    """A transformer encoder block saved as .h5 and .keras."""
    L = tf.keras.layers
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(7)
    inp = L.Input(shape=(5, 8), name="tokens")
    att = L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(inp, inp)
    x = L.Add(name="res1")([inp, att])
    x = L.LayerNormalization(epsilon=1e-6, name="ln1")(x)
    ff = L.Dense(16, activation="relu", name="ff1")(x)
    ff = L.Dense(8, name="ff2")(ff)
    x = L.Add(name="res2")([x, ff])
    out = L.LayerNormalization(epsilon=1e-6, name="ln2")(x)
    model = tf.keras.Model(inp, out, name="block")
    for w in model.weights:
        w.assign(rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32))
    d = os.path.join(OUT, "models")
    os.makedirs(d, exist_ok=True)
    model.save(os.path.join(d, "block.h5"))
    model.save(os.path.join(d, "block.keras"))
    x = rng.uniform(-1, 1, size=(3, 5, 8)).astype(np.float32)
    save("models/block_x", x)
    save("models/block_y", model.predict(x, verbose=0))
    with open(os.path.join(d, "block_weight_names.json"), "w") as fh:
        json.dump([w.name for w in model.weights], fh, indent=1)
        fh.write("\n")


def k3_main():
    import keras

    cases = {c[0]: c for c in CASES}
    with open(os.path.join(OUT, "cases.json")) as fh:
        manifest = {e["name"]: e for e in json.load(fh)}
    configs = []
    for name in K3_CASES:
        _, cls_name, kw, specs, call_kw = cases[name]
        layer = getattr(keras.layers, cls_name)(name=name, **kw)
        xs = [load(f"{name}_x{i}") for i in range(len(specs))]
        pos, ckw = split_call(cls_name, specs, xs)
        layer(*pos, **ckw, **call_kw)
        nw = manifest[name]["weights"]
        if nw:
            layer.set_weights([load(f"{name}_w{i}") for i in range(nw)])
        y = layer(*pos, **ckw, **call_kw, training=False)
        save(f"{name}_k3y", keras.ops.convert_to_numpy(y))
        configs.append({"name": name, "config": json.dumps(keras.saving.serialize_keras_object(layer))})
    with open(os.path.join(OUT, "k3_configs.json"), "w") as fh:
        json.dump(configs, fh, indent=1)
        fh.write("\n")


def scores_main():
    import tensorflow as tf

    global OUT
    OUT = os.path.join(OUT, "scores")
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(8)
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(8)
    q = L.Input(shape=(4, 6), name="query")
    v = L.Input(shape=(5, 6), name="value")
    layers = [L.Attention(use_scale=True, name="att"), L.AdditiveAttention(name="add"),
              L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")]
    outs = []
    for layer in layers[:2]:
        outs += list(layer([q, v], return_attention_scores=True))
    outs += list(layers[2](q, v, return_attention_scores=True))
    model = tf.keras.Model([q, v], outs, name="scores")
    for w in model.weights:
        w.assign(rng.uniform(-0.8, 0.8, size=w.shape).astype(np.float32))
    model.save(os.path.join(OUT, "scores.h5"))
    model.save(os.path.join(OUT, "scores.keras"))
    xs = [rng.uniform(-1, 1, size=(3, 4, 6)).astype(np.float32), rng.uniform(-1, 1, size=(3, 5, 6)).astype(np.float32)]
    for i, x in enumerate(xs):
        save(f"x{i}", x)
    for k, y in enumerate(model.predict(xs, verbose=0)):
        save(f"y{k}", y)
    for layer in layers:
        xt = [tf.constant(x) for x in xs]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xt)
            if layer.name == "mha":
                o, sc = layer(xt[0], xt[1], return_attention_scores=True, training=False)
            else:
                o, sc = layer(xt, return_attention_scores=True, training=False)
            dys = [rng.uniform(-1, 1, size=t.shape).astype(np.float32) for t in (o, sc)]
            f = tf.reduce_sum(o * dys[0]) + tf.reduce_sum(sc * dys[1])
        for k, dy in enumerate(dys):
            save(f"{layer.name}_dy{k}", dy)
        for i, g in enumerate(tape.gradient(f, xt)):
            save(f"{layer.name}_dx{i}", g)
        for i, g in enumerate(tape.gradient(f, layer.trainable_weights)):
            save(f"{layer.name}_dw{i}", g)
    if os.path.exists(K3_PYTHON):
        subprocess.run([K3_PYTHON, os.path.abspath(__file__), "--scores-k3"], check=True)


def scores_k3_main():
    import keras

    global OUT
    OUT = os.path.join(OUT, "scores")
    L = keras.layers
    q = L.Input(shape=(4, 6), name="query")
    v = L.Input(shape=(5, 6), name="value")
    outs = []
    for layer in [L.Attention(use_scale=True, name="att"), L.AdditiveAttention(name="add")]:
        outs += list(layer([q, v], return_attention_scores=True))
    outs += list(L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(q, v, return_attention_scores=True))
    model = keras.Model([q, v], outs, name="scores")
    rng = np.random.default_rng(9)
    for w in model.weights:
        w.assign(rng.uniform(-0.8, 0.8, size=w.shape).astype(np.float32))
    model.save(os.path.join(OUT, "scores_k3.keras"))
    for k, y in enumerate(model.predict([load("x0"), load("x1")], verbose=0)):
        save(f"k3_y{k}", y)


if __name__ == "__main__":
    if "--scores-k3" in sys.argv:
        scores_k3_main()
    elif "--scores" in sys.argv:
        scores_main()
    elif "--k3" in sys.argv:
        k3_main()
    else:
        tf_main()
        if os.path.exists(K3_PYTHON):
            subprocess.run([K3_PYTHON, os.path.abspath(__file__), "--k3"], check=True)
