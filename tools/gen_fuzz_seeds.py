"""Seed inputs for the weights-only and TF.js fuzz harnesses (tests/fuzz/).

  /opt/kref/bin/python tools/gen_fuzz_seeds.py      (tf.keras 2.15)

fuzz_h5_weights loads weights into one fixed model, FIXED_MODEL_JSON below
(the same text is in tests/fuzz/fuzz_h5_weights.c): the seeds are that
model's weights as tf.keras 2.15 writes them (legacy .h5 weights, the
Keras 3 layout `.weights.h5`, a whole-model .h5).  fuzz_tfjs takes one
input holding model.json, a NUL byte, then weights.bin: the seeds are the
TF.js models of tests/data/tfjs/models joined that way.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def tfjs_seeds():
    out = os.path.join(CORPUS, "fuzz_tfjs")
    os.makedirs(out, exist_ok=True)
    models = os.path.join(ROOT, "tests", "data", "tfjs", "models")
    for name in sorted(os.listdir(models)):
        d = os.path.join(models, name)
        if not os.path.isfile(os.path.join(d, "model.json")):
            continue
        with open(os.path.join(d, "model.json"), "rb") as f:
            text = f.read()
        with open(os.path.join(d, "weights.bin"), "rb") as f:
            blob = f.read()
        with open(os.path.join(out, name + ".seed"), "wb") as f:
            f.write(text + b"\0" + blob)


def h5_weight_seeds():
    import numpy as np
    import tensorflow as tf

    out = os.path.join(CORPUS, "fuzz_h5_weights")
    os.makedirs(out, exist_ok=True)
    tf.keras.utils.set_random_seed(3)
    inp = tf.keras.Input((4,), name="x")
    h = tf.keras.layers.Dense(8, activation="relu", name="dense")(inp)
    h = tf.keras.layers.BatchNormalization(name="bn")(h)
    y = tf.keras.layers.Dense(3, name="out")(h)
    model = tf.keras.Model(inp, y, name="fixed")
    model.predict(np.zeros((1, 4), np.float32), verbose=0)
    model.save_weights(os.path.join(out, "legacy_weights.h5"))
    model.save_weights(os.path.join(out, "keras3_layout.weights.h5"))
    model.save(os.path.join(out, "whole_model.h5"))
    print(json.dumps(json.loads(model.to_json())["config"], separators=(",", ":")))


if __name__ == "__main__":
    tfjs_seeds()
    if "--tfjs-only" not in sys.argv:
        h5_weight_seeds()
