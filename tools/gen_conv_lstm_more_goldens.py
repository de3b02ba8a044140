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
import json
import os

import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "layers", "conv_lstm_more")
L = tf.keras.layers


def tensor(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def legacy(v):
    if isinstance(v, dict):
        if "class_name" in v and "config" in v and ("module" in v or "registered_name" in v):
            return {"class_name": v["class_name"], "config": legacy(v["config"])}
        return {k: legacy(x) for k, x in v.items() if k not in ("shared_object_id", "build_config")}
    if isinstance(v, list):
        return [legacy(x) for x in v]
    return v


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
        weights = [rng.uniform(-0.5, 0.5, size=w.shape) for w in layer.get_weights()]
        assert [w.shape for w in weights] == [tuple(w.shape) for w in cf_layer.weights]
        layer.set_weights(weights)
        with tf.GradientTape() as tape:
            tape.watch(xv)
            y = layer(xv)
            dy = rng.uniform(-1, 1, size=y.shape)
            loss = tf.reduce_sum(y * tf.constant(dy))
        grads = tape.gradient(loss, [xv] + layer.trainable_weights)
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
    weights = [rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
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
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump(data, f)
        f.write("\n")
    print("wrote %d channels_first cases and the stateful case" % len(data["channels_first"]))


if __name__ == "__main__":
    main()
