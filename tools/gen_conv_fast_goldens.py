#!/opt/kref/bin/python
"""Writes the tf.keras fixtures of tests/model/test_conv_fast_goldens.c into
tests/data/conv_fast/.

Run with the reference TensorFlow (2.15.1):

    /opt/kref/bin/python tools/gen_conv_fast_goldens.py

Each case is a small Sequential model exercising one of ckeras' fast
convolution paths (direct kernels, Winograd F(2x2,3x3), Conv2D+MaxPooling2D
fused in one pass, BatchNormalization folded into a Conv2D), with seeded
non-trivial weights (BatchNormalization's moving statistics included).  For
each it stores <case>.h5 (model.save), <case>_x.npy (a float32 batch) and
<case>_y.npy (model.predict of it).
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir

OUT = data_dir("conv_fast")
L = tf.keras.layers


def mnist_small():
    # the bench's MNIST CNN, narrower: a one-channel 3x3 convolution
    # (direct kernels, pooled in bands), a 16-channel one (Winograd, pooled
    # per tile), Dense softmax
    return tf.keras.Sequential([
        L.Input((28, 28, 1)),
        L.Conv2D(16, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(24, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(10, activation="softmax"),
    ]), (5, 28, 28, 1)


def conv_bn_same():
    # "same" padding (the clipped frame), BN folded into a linear Conv2D,
    # odd sizes, strides, a "same" 3x3 / 2 pooling after a ReLU Conv2D
    return tf.keras.Sequential([
        L.Input((9, 10, 3)),
        L.Conv2D(12, 3, padding="same"),
        L.BatchNormalization(),
        L.ReLU(),
        L.Conv2D(20, 3, padding="same", activation="relu"),
        L.MaxPooling2D(3, strides=2, padding="same"),
        L.Conv2D(17, (2, 3), strides=(1, 2), activation="tanh"),
        L.Flatten(),
    ]), (4, 9, 10, 3)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261207)
    for name, make in (("mnist_small", mnist_small), ("conv_bn_same", conv_bn_same)):
        model, xshape = make()
        for layer in model.layers:
            ws = layer.get_weights()
            if isinstance(layer, L.BatchNormalization):
                gamma, beta, mean, var = (w.shape for w in ws)
                ws = [rng.uniform(0.5, 1.5, gamma), rng.uniform(-0.5, 0.5, beta), rng.uniform(-0.3, 0.3, mean),
                      rng.uniform(0.5, 2.0, var)]
            else:
                ws = [rng.uniform(-0.4, 0.4, w.shape) for w in ws]
            layer.set_weights([w.astype(np.float32) for w in ws])
        x = rng.uniform(0, 1, xshape).astype(np.float32)
        y = model.predict(x, verbose=0)
        model.save(os.path.join(OUT, name + ".h5"))
        np.save(os.path.join(OUT, name + "_x.npy"), x)
        np.save(os.path.join(OUT, name + "_y.npy"), y.astype(np.float32))
        print(name, y.shape)


if __name__ == "__main__":
    main()
