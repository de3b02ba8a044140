#!/opt/kref/bin/python
"""Writes the TF golden fixtures of tests/layers/test_grad_conv.c and
tests/layers/test_grad_norm.c into tests/data/train/layer_train/.

Run with the reference TensorFlow (2.15.1):

    /opt/kref/bin/python tools/gen_train_layer_goldens.py

Each case calls a tf.keras layer in training mode under a GradientTape on
f = sum(y * dy) for a fixed random dy, and stores the output y, the input
gradient dx and the weight gradients (d<weight>).  The BatchNormalization
cases make 3 training calls (momentum 0.9) on 3 batches x0, x1, x2 with dy0,
dy1, dy2, storing y<i>, dx<i>, dgamma<i>, dbeta<i> per call and the moving
mean / variance after the last call.  Everything is float32 unless the case
name ends in _f64.

Cases (parameters repeated in the tests' tables: keep both in sync):
  conv_same_s2       Conv2D(4, 3, strides 2, same, linear), x (2, 5, 5, 3)
  conv_same_s2_tanh  the same with activation tanh
  conv_valid_d2      Conv2D(3, (2, 3), dilation 2, valid, linear), x (2, 6, 7, 2)
  pool_same_s2       MaxPooling2D(3, strides 2, same), x (2, 5, 5, 3) of small
                     integers (ties: TF's gradient goes to the first maximum)
  pool_valid         MaxPooling2D(2), x (1, 4, 6, 2) of small integers
  bn2                BatchNormalization(momentum 0.9), x (6, 4)
  bn4                BatchNormalization(momentum 0.9), x (3, 4, 4, 2) (fused)
  bn4_cf             BatchNormalization(axis 1, momentum 0.9), x (3, 2, 4, 4) (fused)
  bn4_f64            bn4 in float64 (not fused: biased moving variance)
  conv_first_relu    Conv2D(16, 3, valid, relu), x (3, 7, 7, 1): patch rows (9)
                     shorter than the output rows, a first layer's shape
  conv_relu_chunked  Conv2D(4, 3, same, relu), x (3, 6, 6, 5): patch rows (45)
                     longer than the output rows
  conv_wino_relu     Conv2D(16, 3, same, relu), x (2, 7, 6, 8): 8 channels or
                     more, the forward pass through the Winograd kernels
(the last three come after the others so that those keep their values)
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, dy_gradients, save_npy

OUT = data_dir("train", "layer_train")
rng = np.random.default_rng(20250301)


def save(name, arr, dtype):
    save_npy(OUT, name, arr, dtype)


def uniform(shape, dtype=np.float32):
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def conv_case(name, x_shape, **kw):
    x = uniform(x_shape)
    layer = tf.keras.layers.Conv2D(**kw)
    layer.build(x.shape)
    k = uniform(layer.kernel.shape)
    b = uniform(layer.bias.shape)
    layer.set_weights([k, b])
    xt = tf.constant(x)
    y0 = layer(xt, training=True)
    dy = uniform(y0.shape)
    y, (dx, dk, db) = dy_gradients(layer, xt, dy, [layer.kernel, layer.bias])
    for key, v in dict(x=x, kernel=k, bias=b, dy=dy, y=y, dx=dx, dkernel=dk, dbias=db).items():
        save(f"{name}_{key}", v, np.float32)


def pool_case(name, x_shape, **kw):
    # Small integers: many ties inside each window.
    x = rng.integers(0, 4, size=x_shape).astype(np.float32)
    layer = tf.keras.layers.MaxPooling2D(**kw)
    xt = tf.constant(x)
    y0 = layer(xt, training=True)
    dy = uniform(y0.shape)
    y, (dx,) = dy_gradients(layer, xt, dy, [])
    for key, v in dict(x=x, dy=dy, y=y, dx=dx).items():
        save(f"{name}_{key}", v, np.float32)


def bn_case(name, x_shape, dtype=np.float32, **kw):
    layer = tf.keras.layers.BatchNormalization(momentum=0.9, dtype=tf.as_dtype(dtype).name, **kw)
    layer.build(x_shape)
    pshape = layer.gamma.shape
    gamma = rng.uniform(0.5, 1.5, size=pshape).astype(dtype)
    beta = uniform(pshape, dtype)
    mm = uniform(pshape, dtype)
    mv = rng.uniform(0.5, 2.0, size=pshape).astype(dtype)
    layer.set_weights([gamma, beta, mm, mv])
    for key, v in dict(gamma=gamma, beta=beta, mm0=mm, mv0=mv).items():
        save(f"{name}_{key}", v, dtype)
    for i in range(3):
        # Non-zero means and unequal spreads per channel.
        x = (uniform(x_shape, dtype) * 2 + 0.5).astype(dtype)
        dy = uniform(x_shape, dtype)
        xt = tf.constant(x)
        y, (dx, dg, db) = dy_gradients(layer, xt, dy, [layer.gamma, layer.beta])
        for key, v in {f"x{i}": x, f"dy{i}": dy, f"y{i}": y, f"dx{i}": dx, f"dgamma{i}": dg,
                       f"dbeta{i}": db}.items():
            save(f"{name}_{key}", v, dtype)
    save(f"{name}_mm", layer.moving_mean.numpy(), dtype)
    save(f"{name}_mv", layer.moving_variance.numpy(), dtype)
    return layer


def main():
    os.makedirs(OUT, exist_ok=True)
    conv_case("conv_same_s2", (2, 5, 5, 3), filters=4, kernel_size=3, strides=2, padding="same")
    conv_case("conv_same_s2_tanh", (2, 5, 5, 3), filters=4, kernel_size=3, strides=2, padding="same",
              activation="tanh")
    conv_case("conv_valid_d2", (2, 6, 7, 2), filters=3, kernel_size=(2, 3), dilation_rate=2, padding="valid")
    pool_case("pool_same_s2", (2, 5, 5, 3), pool_size=3, strides=2, padding="same")
    pool_case("pool_valid", (1, 4, 6, 2), pool_size=2)
    l2 = bn_case("bn2", (6, 4))
    l4 = bn_case("bn4", (3, 4, 4, 2))
    l4cf = bn_case("bn4_cf", (3, 2, 4, 4), axis=1)
    l4d = bn_case("bn4_f64", (3, 4, 4, 2), dtype=np.float64)
    assert not l2.fused and l4.fused and l4cf.fused and not l4d.fused, "unexpected fused choice"
    conv_case("conv_first_relu", (3, 7, 7, 1), filters=16, kernel_size=3, padding="valid", activation="relu")
    conv_case("conv_relu_chunked", (3, 6, 6, 5), filters=4, kernel_size=3, padding="same", activation="relu")
    conv_case("conv_wino_relu", (2, 7, 6, 8), filters=16, kernel_size=3, padding="same", activation="relu")


if __name__ == "__main__":
    main()
