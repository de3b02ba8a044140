#!/opt/kref/bin/python
"""What tf.keras 2.15 does with `groups` on Conv1DTranspose /
Conv2DTranspose / Conv3DTranspose, for
tests/layers/test_conv_transpose_groups.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_conv_transpose_groups_goldens.py

tf.keras 2.15's transposed layers take `groups` through **kwargs into
the base Conv: its constructor checks that filters is a multiple of
groups, get_config writes it back, but their build() makes the full
kernel (k..., filters, in_channels) and call() runs an ungrouped
conv_transpose, with no check of the input channels: groups does not
change the numbers.  (Keras 3 refuses the argument: "Unrecognized keyword
arguments passed to Conv2DTranspose: {'groups': 2}".)

Writes tests/data/layers/conv_transpose_groups/goldens.json (per case: the
layer config as tf.keras 2.15 serializes it, x, the weights, y, and y of
the same layer without groups: equal), and model.h5 with model_x.npy /
model_y.npy: a tf.keras model holding a Conv2DTranspose(groups=2),
saved and predicted by tf.keras.

Every number comes from TensorFlow; none from ckeras.
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, legacy, random_weights, tensor, write_json

OUT = data_dir("layers", "conv_transpose_groups")
L = tf.keras.layers


# name, class, keyword arguments, input shape (input channels need not be
# a multiple of groups: tf.keras does not check them)
CASES = [
    ("t1_groups2", L.Conv1DTranspose, dict(filters=4, kernel_size=3, strides=2, groups=2), (2, 5, 3)),
    ("t2_groups2_same", L.Conv2DTranspose, dict(filters=4, kernel_size=3, strides=2, padding="same", groups=2),
     (1, 4, 3, 4)),
    ("t3_groups3", L.Conv3DTranspose, dict(filters=3, kernel_size=2, groups=3), (1, 2, 3, 2, 2)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261209)
    out = []
    for name, cls, kw, shape in CASES:
        tf.keras.backend.clear_session()
        x = rng.uniform(-1, 1, size=shape).astype(np.float32)
        layer = cls(**kw)
        layer(x)
        weights = random_weights(layer, rng, 0.5, np.float32)
        y = layer(x).numpy()
        plain_kw = dict(kw)
        del plain_kw["groups"]
        plain = cls(**plain_kw)
        plain(x)
        plain.set_weights(weights)
        y_plain = plain(x).numpy()
        assert np.array_equal(y, y_plain)
        out.append({"name": name, "layer": legacy(tf.keras.layers.serialize(layer)), "x": tensor(x),
                    "weights": [tensor(w) for w in weights], "y": tensor(y), "y_without_groups": tensor(y_plain)})
    write_json(os.path.join(OUT, "goldens.json"), out)
    tf.keras.backend.clear_session()
    inp = tf.keras.Input((4, 4, 3))
    h = L.Conv2DTranspose(4, 3, strides=2, padding="same", groups=2, activation="relu")(inp)
    h = L.Conv2D(2, 3)(h)
    model = tf.keras.Model(inp, h)
    random_weights(model, rng, 0.5)
    x = rng.uniform(-1, 1, size=(2, 4, 4, 3)).astype(np.float32)
    model.save(os.path.join(OUT, "model.h5"))
    np.save(os.path.join(OUT, "model_x.npy"), x)
    np.save(os.path.join(OUT, "model_y.npy"), model.predict(x, verbose=0))
    print("wrote %d cases and model.h5" % len(out))


if __name__ == "__main__":
    main()
