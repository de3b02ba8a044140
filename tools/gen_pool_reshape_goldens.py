#!/opt/kref/bin/python
"""Writes the TF golden fixtures of tests/layers/test_pool_reshape.c into
tests/data/layers/pool_reshape/.

Run with the reference TensorFlow (2.15.1):

    /opt/kref/bin/python tools/gen_pool_reshape_goldens.py

For every case below it builds the tf.keras layer, gives LayerNormalization
non-trivial gamma / beta, calls the layer on a random float32 input x under a
GradientTape on f = sum(y * dy) for a random dy, and stores <case>_x, _dy, _y,
_dx and, for weights, _w<i> and _dw<i> (.npy).  cases.json lists each case:
its name, its get_config after the call as the text ckeras must write back
(json.dumps of {"class_name", "config"}; initializers in the
{"class_name", "config"} form ckeras writes, i.e. without the "module" /
"registered_name" keys tf.keras 2.13+ adds), and its number of weights.  The C
test also runs the float64 gradient check on every case's config.
"""
import functools
import json
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, dy_gradients, save_npy, short_initializers

OUT = data_dir("layers", "pool_reshape")
save = functools.partial(save_npy, OUT)  # save(name, arr): OUT/<name>.npy as float32
rng = np.random.default_rng(20250417)
L = tf.keras.layers

CF = "channels_first"
CASES = [
    # windowed pooling
    ("mp1_valid", L.MaxPooling1D, dict(pool_size=3, strides=2), (2, 7, 3)),
    ("mp1_same", L.MaxPooling1D, dict(pool_size=2, padding="same"), (2, 5, 3)),
    ("mp1_cf", L.MaxPooling1D, dict(pool_size=2, strides=1, data_format=CF), (2, 3, 6)),
    ("ap1_valid", L.AveragePooling1D, dict(pool_size=3, strides=1), (2, 6, 2)),
    ("ap1_same", L.AveragePooling1D, dict(pool_size=3, strides=2, padding="same"), (2, 7, 2)),
    ("ap1_cf_same", L.AveragePooling1D, dict(pool_size=2, padding="same", data_format=CF), (1, 3, 5)),
    ("ap2_valid", L.AveragePooling2D, dict(pool_size=(2, 3)), (2, 5, 7, 3)),
    ("ap2_same_s2", L.AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 5, 6, 2)),
    ("ap2_cf_same", L.AveragePooling2D, dict(pool_size=2, strides=1, padding="same", data_format=CF), (1, 2, 4, 5)),
    ("mp3_valid", L.MaxPooling3D, dict(pool_size=2), (1, 4, 5, 4, 2)),
    ("mp3_same", L.MaxPooling3D, dict(pool_size=(2, 3, 2), strides=(1, 2, 2), padding="same"), (2, 3, 5, 4, 2)),
    ("mp3_cf", L.MaxPooling3D, dict(pool_size=2, data_format=CF), (1, 2, 4, 4, 4)),
    ("ap3_same", L.AveragePooling3D, dict(pool_size=2, padding="same"), (1, 3, 3, 5, 2)),
    ("ap3_cf", L.AveragePooling3D, dict(pool_size=(1, 2, 2), data_format=CF), (1, 2, 2, 4, 4)),
    # global pooling
    ("gap1", L.GlobalAveragePooling1D, dict(), (2, 5, 3)),
    ("gap1_cf_keep", L.GlobalAveragePooling1D, dict(data_format=CF, keepdims=True), (2, 3, 5)),
    ("gap2", L.GlobalAveragePooling2D, dict(), (2, 3, 4, 3)),
    ("gap2_cf", L.GlobalAveragePooling2D, dict(data_format=CF), (2, 3, 4, 2)),
    ("gap2_keep", L.GlobalAveragePooling2D, dict(keepdims=True), (2, 3, 2, 4)),
    ("gap3", L.GlobalAveragePooling3D, dict(), (1, 2, 3, 2, 3)),
    ("gap3_cf_keep", L.GlobalAveragePooling3D, dict(data_format=CF, keepdims=True), (2, 2, 2, 3, 2)),
    ("gmp1", L.GlobalMaxPooling1D, dict(), (2, 5, 3)),
    ("gmp1_cf", L.GlobalMaxPooling1D, dict(data_format=CF), (2, 3, 5)),
    ("gmp2", L.GlobalMaxPooling2D, dict(), (2, 3, 4, 3)),
    ("gmp2_keep", L.GlobalMaxPooling2D, dict(keepdims=True), (2, 3, 2, 4)),
    ("gmp2_cf", L.GlobalMaxPooling2D, dict(data_format=CF), (2, 3, 4, 2)),
    ("gmp3", L.GlobalMaxPooling3D, dict(), (1, 2, 3, 2, 3)),
    ("gmp3_cf_keep", L.GlobalMaxPooling3D, dict(data_format=CF, keepdims=True), (2, 2, 2, 3, 2)),
    # up-sampling
    ("up1", L.UpSampling1D, dict(size=3), (2, 4, 3)),
    ("up2", L.UpSampling2D, dict(size=(2, 3)), (2, 3, 2, 2)),
    ("up2_cf", L.UpSampling2D, dict(size=2, data_format=CF), (1, 2, 3, 3)),
    ("up2_bilinear", L.UpSampling2D, dict(size=2, interpolation="bilinear"), (2, 3, 4, 2)),
    ("up2_bilinear_32", L.UpSampling2D, dict(size=(3, 2), interpolation="bilinear"), (1, 3, 3, 2)),
    ("up2_bilinear_cf", L.UpSampling2D, dict(size=(2, 3), data_format=CF, interpolation="bilinear"), (1, 2, 3, 3)),
    ("up3", L.UpSampling3D, dict(size=(2, 1, 2)), (1, 2, 3, 2, 2)),
    ("up3_cf", L.UpSampling3D, dict(size=2, data_format=CF), (1, 2, 2, 2, 3)),
    # padding and cropping
    ("zp1", L.ZeroPadding1D, dict(padding=2), (2, 3, 2)),
    ("zp1_asym", L.ZeroPadding1D, dict(padding=(1, 3)), (1, 3, 2)),
    ("zp2", L.ZeroPadding2D, dict(), (1, 3, 3, 2)),
    ("zp2_asym", L.ZeroPadding2D, dict(padding=((1, 2), (0, 3))), (2, 3, 4, 2)),
    ("zp2_cf", L.ZeroPadding2D, dict(padding=(2, 1), data_format=CF), (1, 2, 3, 3)),
    ("zp3", L.ZeroPadding3D, dict(padding=((1, 0), (0, 2), (1, 1))), (1, 2, 3, 2, 2)),
    ("zp3_cf", L.ZeroPadding3D, dict(padding=1, data_format=CF), (1, 2, 2, 2, 2)),
    ("cr1", L.Cropping1D, dict(cropping=(1, 2)), (2, 6, 3)),
    ("cr1_default", L.Cropping1D, dict(), (1, 4, 2)),
    ("cr2", L.Cropping2D, dict(cropping=((1, 0), (2, 1))), (2, 4, 5, 2)),
    ("cr2_cf", L.Cropping2D, dict(cropping=1, data_format=CF), (1, 2, 4, 4)),
    ("cr3", L.Cropping3D, dict(cropping=((1, 1), (0, 1), (2, 0))), (1, 4, 3, 4, 2)),
    ("cr3_cf", L.Cropping3D, dict(cropping=1, data_format=CF), (1, 2, 3, 4, 3)),
    # repeat and permute
    ("rv", L.RepeatVector, dict(n=3), (2, 4)),
    ("perm21", L.Permute, dict(dims=(2, 1)), (2, 3, 4)),
    ("perm312", L.Permute, dict(dims=(3, 1, 2)), (2, 2, 3, 4)),
    # layer normalization (fused path: trailing axes, float32, epsilon >= 1.001e-5)
    ("ln_last", L.LayerNormalization, dict(), (3, 5)),
    ("ln_last_eps", L.LayerNormalization, dict(epsilon=1e-5), (2, 3, 6)),
    ("ln_12", L.LayerNormalization, dict(axis=[1, 2]), (2, 3, 4)),
    ("ln_1", L.LayerNormalization, dict(axis=1), (2, 3, 4)),
    ("ln_13", L.LayerNormalization, dict(axis=[1, 3]), (2, 2, 3, 2)),
    ("ln_21", L.LayerNormalization, dict(axis=[2, 1]), (2, 3, 4)),
    ("ln_noscale", L.LayerNormalization, dict(scale=False), (2, 4)),
    ("ln_nocenter", L.LayerNormalization, dict(center=False, epsilon=0.1), (2, 4)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for name, cls, kw, shape in CASES:
        x = rng.uniform(-1, 1, size=shape).astype(np.float32)
        layer = cls(name=name, **kw)
        layer.build(shape)
        weights = []
        for w in layer.weights:
            lo = 0.5 if "gamma" in w.name else -1
            weights.append(rng.uniform(lo, lo + 1 if lo > 0 else 1, size=w.shape).astype(np.float32))
        if weights:
            layer.set_weights(weights)
        xt = tf.constant(x)
        y0 = layer(xt, training=True)
        dy = rng.uniform(-1, 1, size=y0.shape).astype(np.float32)
        y, grads = dy_gradients(layer, xt, dy)
        save(f"{name}_x", x)
        save(f"{name}_dy", dy)
        save(f"{name}_y", y)
        save(f"{name}_dx", grads[0])
        for i, (w, g) in enumerate(zip(weights, grads[1:])):
            save(f"{name}_w{i}", w)
            save(f"{name}_dw{i}", g)
        config = {"class_name": cls.__name__, "config": short_initializers(layer.get_config())}
        manifest.append({"name": name, "config": json.dumps(config), "weights": len(weights)})
    with open(os.path.join(OUT, "cases.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
