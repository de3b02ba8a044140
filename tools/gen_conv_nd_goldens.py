#!/opt/kref/bin/python
"""Writes the TF golden fixtures of tests/layers/test_conv_nd.c into
tests/data/layers/conv_nd/.

Run with the reference TensorFlow (2.15.1), and Keras 3 in /opt/k3 for the
Keras 3 configs (skipped when absent):

    /opt/kref/bin/python tools/gen_conv_nd_goldens.py

For every case below it builds the tf.keras layer, sets random weights,
calls it on a random float32 x under a GradientTape on f = sum(y * dy) for
a random dy, and stores <case>_x, _dy, _y, _dx and, per weight, _w<i> and
_dw<i> (.npy).  TF on CPU refuses most channels_first convolutions, so a
channels_first case is computed by the channels_last twin of the layer on
the transposed input (same weights), its output and input gradient
transposed back: what Keras computes mathematically (no channels_first
case uses a softmax, whose axis would differ).  cases.json lists each
case: name, its get_config text (json.dumps of {"class_name", "config"},
initializers without the "module" / "registered_name" keys, as ckeras
writes them), its number of weights, and the Keras 3 config text of the
same layer ("k3_config", null without Keras 3).

conv_model.{h5,keras} (tf.keras 2.15) with conv_model_x / _y.npy: a
functional model of a Conv1D branch (Conv1D causal, SeparableConv1D,
Conv1DTranspose, DepthwiseConv1D) and a 2D branch (grouped Conv2D,
DepthwiseConv2D, Conv2DTranspose, SeparableConv2D, Conv3D on a reshape)
saved and predicted by tf.keras.

conv_model_fit_t / _y.npy: conv_model.h5 trained two steps by tf.keras
(fit_golden) and predicted.

keras1_th.h5 and keras1_conv1d.h5 (written with h5py in Keras 1's file
layout: model_config with Keras 1 keys, model_weights/<layer>/<name>_W /
_b, no keras_version attribute) with keras1_*_x / _y.npy: the expected
outputs come from tf.keras models of the modern layers with tf-layout
kernels K; the files hold K in Keras 1's layouts: for keras1_th.h5
(backend "theano", dim_ordering "th": Convolution2D, strided
Convolution2D, Flatten, Dense) each kernel is stored spatially flipped
(Theano's true convolution) and as (filters, stack, rows, cols); for
keras1_conv1d.h5 (backend "tensorflow": Convolution1D, AtrousConvolution1D,
Flatten, Dense) as Convolution1D's (k, 1, input_dim, nb_filter).
"""
import functools
import h5py
import json
import os
import subprocess

import numpy as np
import tensorflow as tf

from golden_common import K3_PYTHON, data_dir, dy_gradients, random_weights, save_npy, short_initializers

OUT = data_dir("layers", "conv_nd")
save = functools.partial(save_npy, OUT)  # save(name, arr): OUT/<name>.npy as float32
rng = np.random.default_rng(20261207)
L = tf.keras.layers
CF = "channels_first"

CASES = [
    # Conv1D
    ("c1_valid", "Conv1D", dict(filters=3, kernel_size=3), (2, 7, 2)),
    ("c1_same_s2", "Conv1D", dict(filters=2, kernel_size=4, strides=2, padding="same"), (2, 9, 3)),
    ("c1_causal_d2", "Conv1D", dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal",
                                    activation="tanh"), (2, 8, 2)),
    ("c1_causal_s3", "Conv1D", dict(filters=2, kernel_size=2, strides=3, padding="causal"), (1, 8, 2)),
    ("c1_groups", "Conv1D", dict(filters=4, kernel_size=2, groups=2, activation="relu"), (2, 6, 4)),
    ("c1_cf", "Conv1D", dict(filters=3, kernel_size=3, padding="same", data_format=CF), (2, 2, 6)),
    ("c1_nobias_softmax", "Conv1D", dict(filters=3, kernel_size=2, use_bias=False, activation="softmax"),
     (2, 5, 2)),
    # grouped Conv2D
    ("c2_groups", "Conv2D", dict(filters=4, kernel_size=2, groups=2), (2, 4, 5, 4)),
    ("c2_groups3_same_s2", "Conv2D", dict(filters=3, kernel_size=3, strides=2, padding="same", groups=3,
                                          activation="tanh"), (1, 5, 6, 6)),
    # Conv3D
    ("c3_valid", "Conv3D", dict(filters=2, kernel_size=2), (2, 3, 4, 3, 2)),
    ("c3_same_s2", "Conv3D", dict(filters=3, kernel_size=(3, 2, 3), strides=(2, 1, 2), padding="same"),
     (1, 5, 3, 4, 2)),
    ("c3_cf_d2", "Conv3D", dict(filters=2, kernel_size=2, dilation_rate=2, data_format=CF), (1, 2, 4, 5, 4)),
    ("c3_groups", "Conv3D", dict(filters=4, kernel_size=2, groups=2), (1, 3, 3, 3, 2)),
    # transposed
    ("t1_valid_s2", "Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 4, 3)),
    ("t1_same_op", "Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same",
                                           output_padding=1), (2, 4, 2)),
    ("t1_d2", "Conv1DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"), (1, 5, 2)),
    ("t2_valid_s2", "Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 3, 4, 3)),
    ("t2_same_s2", "Conv2DTranspose", dict(filters=3, kernel_size=(3, 4), strides=2, padding="same",
                                           activation="relu"), (2, 3, 3, 2)),
    ("t2_same_op", "Conv2DTranspose", dict(filters=2, kernel_size=3, strides=(3, 2), padding="same",
                                           output_padding=(1, 0)), (1, 3, 4, 2)),
    ("t2_valid_op", "Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3, output_padding=2), (1, 2, 3, 2)),
    ("t2_d2", "Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2), (1, 4, 4, 2)),
    ("t2_cf", "Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same", data_format=CF),
     (2, 3, 3, 4)),
    ("t3_same_s2", "Conv3DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), (1, 2, 3, 2, 2)),
    ("t3_valid", "Conv3DTranspose", dict(filters=3, kernel_size=2, use_bias=False), (1, 2, 2, 3, 2)),
    # depthwise
    ("d1_valid_m2", "DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2), (2, 6, 3)),
    ("d1_same_s2", "DepthwiseConv1D", dict(kernel_size=2, strides=2, padding="same", activation="relu"),
     (2, 7, 2)),
    ("d2_valid", "DepthwiseConv2D", dict(kernel_size=3), (2, 5, 4, 3)),
    ("d2_same_s2_m3", "DepthwiseConv2D", dict(kernel_size=(3, 2), strides=2, padding="same", depth_multiplier=3),
     (1, 5, 6, 2)),
    ("d2_d2", "DepthwiseConv2D", dict(kernel_size=2, dilation_rate=2, use_bias=False), (2, 5, 5, 2)),
    ("d2_cf", "DepthwiseConv2D", dict(kernel_size=3, padding="same", depth_multiplier=2, data_format=CF),
     (1, 3, 4, 5)),
    # separable
    ("s1_valid", "SeparableConv1D", dict(filters=3, kernel_size=3), (2, 6, 2)),
    ("s1_causal_m2", "SeparableConv1D", dict(filters=2, kernel_size=3, padding="causal", depth_multiplier=2),
     (2, 5, 3)),
    ("s1_same_s2", "SeparableConv1D", dict(filters=4, kernel_size=2, strides=2, padding="same",
                                           activation="tanh"), (1, 7, 2)),
    ("s2_valid", "SeparableConv2D", dict(filters=3, kernel_size=3), (2, 5, 5, 2)),
    ("s2_same_s2_m2", "SeparableConv2D", dict(filters=2, kernel_size=(2, 3), strides=2, padding="same",
                                              depth_multiplier=2), (1, 5, 4, 3)),
    ("s2_d2_nobias", "SeparableConv2D", dict(filters=2, kernel_size=2, dilation_rate=2, use_bias=False),
     (1, 5, 6, 2)),
    ("s2_cf", "SeparableConv2D", dict(filters=3, kernel_size=3, padding="same", data_format=CF), (1, 2, 4, 4)),
    # leading batch dims (Conv's squeeze_batch_dims), grouped channels_first
    ("c1_batch_dims", "Conv1D", dict(filters=2, kernel_size=2, strides=2), (2, 3, 5, 2)),
    ("c2_groups_cf", "Conv2D", dict(filters=4, kernel_size=2, groups=2, data_format=CF), (1, 4, 3, 4)),
]


def to_last(a, rank):
    """channels_first -> channels_last."""
    return np.moveaxis(a, 1, -1)


def to_first(a, rank):
    return np.moveaxis(a, -1, 1)


def run(layer, x, dy):
    y, grads = dy_gradients(layer, tf.constant(x), dy)
    return y.numpy(), [g.numpy() for g in grads]


def k3_configs():
    """The Keras 3 get_config text of every case's layer (one subprocess)."""
    if not os.path.exists(K3_PYTHON):
        print("Keras 3 absent: k3_config left null")
        return {}
    code = (
        "import json, sys, keras\n"
        "cases = json.load(sys.stdin)\n"
        "out = {}\n"
        "for name, cls, kw, shape in cases:\n"
        "    try:\n"
        "        layer = getattr(keras.layers, cls)(name=name, **kw)\n"
        "        layer.build(tuple(shape))\n"
        "        out[name] = json.dumps({'class_name': cls, 'config': layer.get_config()})\n"
        "    except ValueError:\n"
        "        out[name] = None  # Keras 3 refuses it (causal SeparableConv1D)\n"
        "print(json.dumps(out))\n")
    res = subprocess.run([K3_PYTHON, "-c", code], input=json.dumps(CASES), capture_output=True, text=True,
                         env=dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES=""))
    if res.returncode != 0:
        print(res.stderr)
        raise SystemExit("Keras 3 failed")
    return json.loads(res.stdout.strip().splitlines()[-1])


def cases():
    k3 = k3_configs()
    manifest = []
    for name, cls_name, kw, shape in CASES:
        cls = getattr(L, cls_name)
        x = rng.uniform(-1, 1, size=shape).astype(np.float32)
        layer = cls(name=name, **kw)
        layer.build(shape)
        weights = [rng.uniform(-1, 1, size=w.shape).astype(np.float32) for w in layer.weights]
        layer.set_weights(weights)
        cf = kw.get("data_format") == CF
        if cf:
            twin = cls(name=name + "_twin", **dict(kw, data_format="channels_last"))
            xl = to_last(x, len(shape) - 2)
            twin.build(xl.shape)
            twin.set_weights(weights)
            yl = twin(xl).numpy()
            dy = rng.uniform(-1, 1, size=to_first(yl, 0).shape).astype(np.float32)
            y, grads = run(twin, xl, to_last(dy, 0))
            y = to_first(y, 0)
            grads[0] = to_first(grads[0], 0)
        else:
            y0 = layer(tf.constant(x)).numpy()
            dy = rng.uniform(-1, 1, size=y0.shape).astype(np.float32)
            y, grads = run(layer, x, dy)
        save(f"{name}_x", x)
        save(f"{name}_dy", dy)
        save(f"{name}_y", y)
        save(f"{name}_dx", grads[0])
        for i, (w, g) in enumerate(zip(weights, grads[1:])):
            save(f"{name}_w{i}", w)
            save(f"{name}_dw{i}", g)
        config = {"class_name": cls_name, "config": short_initializers(layer.get_config())}
        manifest.append({"name": name, "config": json.dumps(config), "weights": len(weights),
                         "k3_config": k3.get(name)})
    with open(os.path.join(OUT, "cases.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


def saved_model():
    inp1 = tf.keras.Input((12, 3), name="seq")
    h = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(inp1)
    h = L.SeparableConv1D(4, 3, padding="same", depth_multiplier=2)(h)
    h = L.Conv1DTranspose(3, 3, strides=2, padding="same")(h)
    h = L.DepthwiseConv1D(3, strides=2)(h)
    out1 = L.GlobalAveragePooling1D()(h)
    inp2 = tf.keras.Input((8, 8, 4), name="img")
    g = L.Conv2D(6, 3, groups=2, padding="same", activation="relu")(inp2)
    g = L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same")(g)
    g = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)(g)
    g = L.SeparableConv2D(4, 3, activation="tanh")(g)
    g = L.Reshape((6, 6, 4, 1))(g)
    g = L.Conv3D(2, 2, strides=2)(g)
    g = L.Conv3DTranspose(2, 2, strides=2)(g)
    out2 = L.Flatten()(g)
    out = L.Concatenate()([out1, L.Dense(3)(out2)])
    model = tf.keras.Model([inp1, inp2], out)
    random_weights(model, rng, 0.5)
    x1 = rng.uniform(-1, 1, size=(3, 12, 3)).astype(np.float32)
    x2 = rng.uniform(-1, 1, size=(3, 8, 8, 4)).astype(np.float32)
    save("conv_model_x1", x1)
    save("conv_model_x2", x2)
    save("conv_model_y", model.predict([x1, x2], verbose=0))
    model.save(os.path.join(OUT, "conv_model.h5"))
    model.save(os.path.join(OUT, "conv_model.keras"))


def keras1_layer(cls, name, **cfg):
    base = {"name": name, "trainable": True}
    base.update(cfg)
    return {"class_name": cls, "config": base}


def write_keras1(path, layers, weights, backend):
    """A Keras 1.x model file: a Sequential config (list form) and
    model_weights/<layer>/<layer>_W, _b."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": layers}).encode()
        f.attrs["backend"] = backend.encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([l["config"]["name"].encode() for l in layers])
        for l in layers:
            name = l["config"]["name"]
            lg = g.create_group(name)
            ws = weights.get(name, [])
            wn = [("%s_%s" % (name, "W" if i == 0 else "b")).encode() for i in range(len(ws))]
            lg.attrs["weight_names"] = np.array(wn, dtype="S") if wn else np.zeros((0,), dtype="S1")
            for n, w in zip(wn, ws):
                lg.create_dataset(n.decode(), data=np.asarray(w, np.float32))


def keras1_files():
    # "th" on Theano: reference in channels_last between two Permutes.
    k1 = rng.uniform(-1, 1, size=(3, 2, 2, 3)).astype(np.float32)   # tf layout (r, c, stack, f)
    b1 = rng.uniform(-1, 1, size=(3,)).astype(np.float32)
    k2 = rng.uniform(-1, 1, size=(3, 3, 3, 4)).astype(np.float32)
    b2 = rng.uniform(-1, 1, size=(4,)).astype(np.float32)
    kd = rng.uniform(-1, 1, size=(4 * 2 * 2, 2)).astype(np.float32)
    bd = rng.uniform(-1, 1, size=(2,)).astype(np.float32)
    inp = tf.keras.Input((2, 6, 5))
    h = L.Permute((2, 3, 1))(inp)
    h = L.Conv2D(3, (3, 2), padding="same", activation="relu")(h)
    h = L.Conv2D(4, 3, strides=2)(h)
    h = L.Permute((3, 1, 2))(h)
    ref = tf.keras.Model(inp, L.Dense(2)(L.Flatten()(h)))
    ref.set_weights([k1, b1, k2, b2, kd, bd])
    x = rng.uniform(-1, 1, size=(3, 2, 6, 5)).astype(np.float32)
    save("keras1_th_x", x)
    save("keras1_th_y", ref.predict(x, verbose=0))

    def th_file(k):  # flipped spatially (Theano), then (f, stack, r, c)
        return np.transpose(k[::-1, ::-1], (3, 2, 0, 1))

    common = dict(init="glorot_uniform", subsample=[1, 1], dim_ordering="th", W_regularizer=None,
                  b_regularizer=None, activity_regularizer=None, W_constraint=None, b_constraint=None, bias=True)
    layers = [
        keras1_layer("Convolution2D", "conv_a", batch_input_shape=[None, 2, 6, 5], input_dtype="float32",
                     nb_filter=3, nb_row=3, nb_col=2, activation="relu", border_mode="same", **common),
        keras1_layer("Convolution2D", "conv_b", nb_filter=4, nb_row=3, nb_col=3, activation="linear",
                     border_mode="valid", **dict(common, subsample=[2, 2])),
        keras1_layer("Flatten", "flatten_1"),
        keras1_layer("Dense", "dense_1", output_dim=2, init="glorot_uniform", activation="linear",
                     W_regularizer=None, b_regularizer=None, activity_regularizer=None, W_constraint=None,
                     b_constraint=None, bias=True, input_dim=None),
    ]
    write_keras1(os.path.join(OUT, "keras1_th.h5"), layers,
                 {"conv_a": [th_file(k1), b1], "conv_b": [th_file(k2), b2], "dense_1": [kd, bd]}, "theano")

    # Convolution1D / AtrousConvolution1D on TensorFlow.
    c1 = rng.uniform(-1, 1, size=(3, 3, 4)).astype(np.float32)
    cb1 = rng.uniform(-1, 1, size=(4,)).astype(np.float32)
    c2 = rng.uniform(-1, 1, size=(2, 4, 2)).astype(np.float32)
    cb2 = rng.uniform(-1, 1, size=(2,)).astype(np.float32)
    dk = rng.uniform(-1, 1, size=(8 * 2, 1)).astype(np.float32)
    db = rng.uniform(-1, 1, size=(1,)).astype(np.float32)
    inp = tf.keras.Input((10, 3))
    h = L.Conv1D(4, 3, padding="same", activation="tanh")(inp)
    h = L.Conv1D(2, 2, dilation_rate=2)(h)
    ref = tf.keras.Model(inp, L.Dense(1)(L.Flatten()(h)))
    ref.set_weights([c1, cb1, c2, cb2, dk, db])
    x = rng.uniform(-1, 1, size=(2, 10, 3)).astype(np.float32)
    save("keras1_conv1d_x", x)
    save("keras1_conv1d_y", ref.predict(x, verbose=0))
    c1d = dict(init="glorot_uniform", W_regularizer=None, b_regularizer=None, activity_regularizer=None,
               W_constraint=None, b_constraint=None, bias=True)
    layers = [
        keras1_layer("Convolution1D", "conv1d_1", input_dim=3, input_length=10, input_dtype="float32",
                     nb_filter=4, filter_length=3, activation="tanh", border_mode="same", subsample_length=1,
                     **c1d),
        keras1_layer("AtrousConvolution1D", "atrous_1", nb_filter=2, filter_length=2, atrous_rate=2,
                     activation="linear", border_mode="valid", subsample_length=1, **c1d),
        keras1_layer("Flatten", "flatten_2"),
        keras1_layer("Dense", "dense_2", output_dim=1, init="glorot_uniform", activation="linear",
                     W_regularizer=None, b_regularizer=None, activity_regularizer=None, W_constraint=None,
                     b_constraint=None, bias=True, input_dim=None),
    ]
    write_keras1(os.path.join(OUT, "keras1_conv1d.h5"), layers,
                 {"conv1d_1": [c1[:, None], cb1], "atrous_1": [c2[:, None], cb2], "dense_2": [dk, db]},
                 "tensorflow")


def fit_golden():
    """conv_model.h5 trained by tf.keras: SGD (learning rate 0.01), mse,
    batch 3, 2 epochs, no shuffling, on targets conv_model_fit_t.npy; its
    predictions afterwards are conv_model_fit_y.npy."""
    model = tf.keras.models.load_model(os.path.join(OUT, "conv_model.h5"), compile=False)
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    x = [np.load(os.path.join(OUT, "conv_model_x%d.npy" % i)) for i in (1, 2)]
    t = rng.uniform(-1, 1, size=model.output_shape[1:]).astype(np.float32)
    t = np.stack([t, -t, 0.5 * t])
    model.fit(x, t, batch_size=3, epochs=2, shuffle=False, verbose=0)
    save("conv_model_fit_t", t)
    save("conv_model_fit_y", model.predict(x, verbose=0))


def main():
    os.makedirs(OUT, exist_ok=True)
    cases()
    saved_model()
    keras1_files()
    fit_golden()


if __name__ == "__main__":
    main()
