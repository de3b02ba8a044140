#!/opt/kref/bin/python
"""Golden values of ConvLSTM with data_format="channels_first" and with
stateful=True, for tests/layers/test_conv_lstm_more.c.

Run with TensorFlow 2.15.1 (tf.keras 2.15):

    /opt/kref/bin/python tools/gen_conv_lstm_more_goldens.py

Writes tests/data/layers/conv_lstm_more/goldens.json:
- "channels_first": cases with the config of a channels_first layer as
  tf.keras 2.15 serializes it.  TensorFlow refuses NCHW convolutions on
  CPU, so the values are those Keras defines for that layer: the same
  layer in channels_last with the same weights (their layout does not
  depend on data_format), on the input moved to channels_last, the
  output (and d loss / d x) moved back to channels_first;
- "stateful": a stateful ConvLSTM2D called on x1 then x2 (y1, y2: the
  states carried from the first call into the second), then after
  reset_states() on x2 again (y3).

Every number comes from TensorFlow; none from ckeras.
"""
import os

import numpy as np
import tensorflow as tf

from golden_common import data_dir, legacy, random_weights, tape_gradients, tensor, write_json

OUT = data_dir("layers", "conv_lstm_more")
L = tf.keras.layers


def to_last(a, nd):
    """(b, t, c, sp...) -> (b, t, sp..., c)."""
    return np.moveaxis(a, 2, 2 + nd)


def to_first(a, nd, has_time):
    """(b, [t], sp..., c) -> (b, [t], c, sp...)."""
    ch = 2 if has_time else 1
    return np.moveaxis(a, ch + nd, ch)


# name, ConvLSTM class, nd, channels_first input shape, keyword arguments
CF_CASES = [
    ("cf_c2d_same_seq", L.ConvLSTM2D, 2, (2, 3, 2, 4, 5), dict(filters=3, kernel_size=3, padding="same",
                                                               return_sequences=True)),
    ("cf_c2d_strides_backwards", L.ConvLSTM2D, 2, (1, 3, 3, 7, 6), dict(filters=2, kernel_size=(3, 2),
                                                                         strides=(2, 1), go_backwards=True)),
    ("cf_c1d_dilation_seq", L.ConvLSTM1D, 1, (2, 4, 2, 7), dict(filters=2, kernel_size=2, dilation_rate=2,
                                                                 return_sequences=True)),
    ("cf_c3d_valid", L.ConvLSTM3D, 3, (1, 2, 2, 3, 4, 3), dict(filters=2, kernel_size=2)),
]


def channels_first_cases(rng):
    out = []
    for name, cls, nd, shape, kw in CF_CASES:
        x_cf = rng.uniform(-1, 1, size=shape)
        x = to_last(x_cf, nd)
        tf.keras.backend.clear_session()
        cf_layer = cls(data_format="channels_first", dtype="float32", **kw)
        cf_layer.build(x_cf.shape)
        config = legacy(tf.keras.layers.serialize(cf_layer))
        layer = cls(dtype="float64", **kw)
        xv = tf.constant(x, dtype=tf.float64)
        layer(xv)
        weights = random_weights(layer, rng, 0.5)
        assert [w.shape for w in weights] == [tuple(w.shape) for w in cf_layer.weights]
        y, dy, grads = tape_gradients(layer, xv, rng)
        seq = kw.get("return_sequences", False)
        out.append({
            "name": name, "layer": config, "x": tensor(x_cf), "weights": [tensor(w) for w in weights],
            "dy": tensor(to_first(dy, nd, seq)),
            "f64": {"y": tensor(to_first(y.numpy(), nd, seq)), "dx": tensor(to_first(grads[0].numpy(), nd, True)),
                    "dweights": [tensor(g.numpy()) for g in grads[1:]]},
        })
    return out


def stateful_case(rng):
    tf.keras.backend.clear_session()
    shape = (2, 3, 5, 4, 2)
    inp = tf.keras.Input(batch_shape=shape)
    layer = L.ConvLSTM2D(3, 3, padding="same", stateful=True, return_sequences=True)
    model = tf.keras.Model(inp, layer(inp))
    weights = random_weights(layer, rng, 0.5, np.float32)
    x1 = rng.uniform(-1, 1, size=shape).astype(np.float32)
    x2 = rng.uniform(-1, 1, size=shape).astype(np.float32)
    y1 = model.predict(x1, batch_size=2, verbose=0)
    y2 = model.predict(x2, batch_size=2, verbose=0)
    model.reset_states()
    y3 = model.predict(x2, batch_size=2, verbose=0)
    return {"layer": legacy(tf.keras.layers.serialize(layer)), "weights": [tensor(w) for w in weights],
            "x1": tensor(x1), "x2": tensor(x2), "y1": tensor(y1), "y2": tensor(y2), "y3": tensor(y3)}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261207)
    data = {"channels_first": channels_first_cases(rng), "stateful": stateful_case(rng)}
    write_json(os.path.join(OUT, "goldens.json"), data)
    print("wrote %d channels_first cases and the stateful case" % len(data["channels_first"]))


if __name__ == "__main__":
    main()
