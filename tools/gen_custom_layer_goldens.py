#!/opt/kref/bin/python
"""Writes the fixtures of tests/layers/test_custom_layers.c and
examples/custom_layer.c into tests/data/custom/.

Run with the reference TensorFlow (2.15.1):

    /opt/kref/bin/python tools/gen_custom_layer_goldens.py

The model (tf.keras 2.15, functional):

    x (4,) -> Dense(5) -> Lambda(normalize) -> ScaledDense(3, scale=0.5)
           -> Lambda(lambda t, alpha: t * alpha + 1.0, arguments={"alpha": 0.3})

`normalize` is a named Python function (x / ||x|| over the last axis), so
its Lambda config holds marshalled bytecode whose code name is "normalize";
the second Lambda is anonymous ("<lambda>"), found by its layer name.
ScaledDense is a user Layer subclass: y = scale * (x @ kernel + bias), with
get_config adding "units" and "scale".  Written:

  model.h5, model.keras   the model saved by tf.keras 2.15
  x.npy, y.npy            an input batch and model.predict of it
  fit_t.npy               targets of one SGD(0.1) train_on_batch step on
                          mse; fit_w<i>.npy the weights after that step
  lambda_config.json      the tf.keras get_config of both Lambda layers and
                          of ScaledDense (the text ckeras must write back)
  k3_model.keras          (when /opt/k3 exists) the same model from Keras 3,
                          k3_y.npy its prediction of x.npy
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "custom")
KERAS3 = len(sys.argv) > 1 and sys.argv[1] == "--keras3"

if KERAS3:
    import keras
    from keras import ops

    def l2(x):
        return ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True))
else:
    import tensorflow as tf
    keras = tf.keras

    def l2(x):
        return tf.sqrt(tf.reduce_sum(x * x, axis=-1, keepdims=True))


def normalize(x):
    return x / l2(x)


class ScaledDense(keras.layers.Layer):
    def __init__(self, units, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = scale

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)

    def call(self, x):
        return self.scale * (x @ self.kernel + self.bias)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "scale": self.scale})
        return config


def make_model():
    keras.utils.set_random_seed(7)
    x = keras.Input((4,), name="x")
    # Keras 3.15 writes GlorotUniform with an "input_axes" key that the
    # initializers of ckeras do not read yet; the weights are set anyway.
    init = "zeros" if KERAS3 else "glorot_uniform"
    h = keras.layers.Dense(5, name="dense", kernel_initializer=init)(x)
    h = keras.layers.Lambda(normalize, name="l2norm")(h)
    h = ScaledDense(3, scale=0.5, name="scaled")(h)
    y = keras.layers.Lambda(lambda t, alpha: t * alpha + 1.0, arguments={"alpha": 0.3})(h)
    model = keras.Model(x, y, name="custom_model")
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def main_keras3():
    model = make_model()
    x = np.load(os.path.join(OUT, "x.npy"))
    np.save(os.path.join(OUT, "k3_y.npy"), model.predict(x, verbose=0).astype(np.float32))
    model.save(os.path.join(OUT, "k3_model.keras"))


def main():
    os.makedirs(OUT, exist_ok=True)
    model = make_model()
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (6, 4)).astype(np.float32)
    np.save(os.path.join(OUT, "x.npy"), x)
    np.save(os.path.join(OUT, "y.npy"), model.predict(x, verbose=0).astype(np.float32))
    model.save(os.path.join(OUT, "model.h5"))
    model.save(os.path.join(OUT, "model.keras"))
    configs = {l.name: {"class_name": type(l).__name__, "config": l.get_config()}
               for l in model.layers if l.name in ("l2norm", "scaled", "lambda")}
    with open(os.path.join(OUT, "lambda_config.json"), "w") as fh:
        json.dump(configs, fh, indent=1)
        fh.write("\n")
    # One training step, whose result the C test reproduces.
    t = rng.uniform(-1, 1, (6, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "fit_t.npy"), t)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.train_on_batch(x, t)
    for i, w in enumerate(model.get_weights()):
        np.save(os.path.join(OUT, f"fit_w{i}.npy"), w.astype(np.float32))
    k3 = "/opt/k3/bin/python"
    if os.path.exists(k3):
        subprocess.run([k3, os.path.abspath(__file__), "--keras3"], check=True)


if __name__ == "__main__":
    main_keras3() if KERAS3 else main()
