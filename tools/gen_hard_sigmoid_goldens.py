#!/usr/bin/env python3
"""Golden values of "hard_sigmoid" in both Keras dialects, for
tests/params/test_hard_sigmoid_dialects.c.

Keras 3 changed what the name means: tf.keras 2.x (and Keras 1-2) compute
clip(0.2 x + 0.5, 0, 1), Keras 3 relu6(x + 3) / 6.  Run it with both:

    /opt/k3/bin/python   tools/gen_hard_sigmoid_goldens.py   # Keras 3.15.1
    /opt/kref/bin/python tools/gen_hard_sigmoid_goldens.py   # tf.keras 2.15.1

Writes tests/data/params/hard_sigmoid/<tag>_* with <tag> k3 (Keras 3,
saved as .keras) or tf2 (tf.keras 2.15, saved as .h5):

  <tag>_model.keras / <tag>_model.h5
                 (Keras 3 writes both, tf.keras the .h5) inputs (batch, 5, 3); outputs LSTM(4,
                 recurrent_activation="hard_sigmoid") and
                 Dense(3, activation="hard_sigmoid") on the flattened input
                 (kernel scaled so pre-activations reach beyond +-3, where
                 the two functions differ most); the Keras 3 model has a
                 third output, Dense(3, activation="hard_silu")
  <tag>_config.json   model.to_json() (Keras 3's has no keras_version)
  x.npy               the inputs (the same for both)
  <tag>_y<k>.npy      the predictions

Every number comes from Keras; none from ckeras.
"""
import json
import os

import numpy as np

import keras

from golden_common import data_dir

OUT = data_dir("params", "hard_sigmoid")
KERAS3 = keras.__version__.startswith("3.")
if not KERAS3:
    import tensorflow as tf
    keras = tf.keras


def build():
    keras.utils.set_random_seed(3)
    x = keras.Input((5, 3), name="x")
    seq = keras.layers.LSTM(4, recurrent_activation="hard_sigmoid", name="lstm")(x)
    flat = keras.layers.Flatten(name="flat")(x)
    dense = keras.layers.Dense(3, activation="hard_sigmoid", name="dense")(flat)
    outs = [seq, dense]
    if KERAS3:
        outs.append(keras.layers.Dense(3, activation="hard_silu", name="dense_silu")(flat))
    model = keras.Model(x, outs, name="hard_sigmoid")
    for name in ("dense", "dense_silu", "lstm"):
        try:
            layer = model.get_layer(name)
        except ValueError:
            continue
        layer.set_weights([w * 3.0 for w in layer.get_weights()])
    return model


def main():
    os.makedirs(OUT, exist_ok=True)
    tag = "k3" if KERAS3 else "tf2"
    model = build()
    xpath = os.path.join(OUT, "x.npy")
    if os.path.exists(xpath):
        x = np.load(xpath)
    else:
        x = np.random.default_rng(8).uniform(-2, 2, size=(4, 5, 3)).astype(np.float32)
        np.save(xpath, x)
    ys = model.predict(x, verbose=0)
    model.save(os.path.join(OUT, f"{tag}_model.keras" if KERAS3 else f"{tag}_model.h5"))
    if KERAS3:  # Keras 3's legacy HDF5 format too (keras_version 3.x)
        model.save(os.path.join(OUT, f"{tag}_model.h5"))
    with open(os.path.join(OUT, f"{tag}_config.json"), "w") as f:
        f.write(model.to_json())
    for k, y in enumerate(ys):
        np.save(os.path.join(OUT, f"{tag}_y{k}.npy"), y)


if __name__ == "__main__":
    main()
