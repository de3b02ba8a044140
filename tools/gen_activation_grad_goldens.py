#!/opt/kref/bin/python
"""Golden float32 gradients of the activations, taken from TensorFlow 2.15
itself (tf.GradientTape through tf.keras.activations), so that the kinks
(relu'(0), clip ties, ...) are TF's and not our reading of them.

    /opt/kref/bin/python tools/gen_activation_grad_goldens.py

Writes tests/data/train/activation_grads/goldens.json: for each case the
activation's name and options (ck_activation_opts fields), the input x, a
random upstream gradient dy and dx = d sum(f(x) * dy) / dx.  Activations
that tf.keras 2.15 lacks (Keras 3 additions) are written with the TF ops
Keras 3's TensorFlow backend uses.
"""
import json
import os

import numpy as np
import tensorflow as tf
from tensorflow import keras

from golden_common import data_dir

OUT = data_dir("train", "activation_grads")
rng = np.random.default_rng(7)

# The points where some activation has a kink or a clip tie, exact in float32.
KINKS = [0.0, 1.0, -1.0, 6.0, -3.0, 3.0, 2.5, -2.5, 0.5, 7.0]


def k3(name, opts):
    """Keras 3 activations missing from tf.keras 2.15, as their TF backend writes them."""
    if name == "hard_silu":
        return lambda x: x * (tf.nn.relu6(x + 3.0) / 6.0)
    if name == "hard_tanh":
        return lambda x: tf.clip_by_value(x, -1.0, 1.0)
    if name == "log_sigmoid":
        return tf.math.log_sigmoid
    if name == "celu":
        a = opts.get("alpha", 1.0)
        return lambda x: tf.where(x > 0, x, a * tf.math.expm1(x / a))
    return None


def fn(name, opts):
    f = k3(name, opts)
    if f:
        return f
    act = keras.activations.get(name)
    kw = {}
    if name == "relu":
        kw = {"alpha": opts.get("alpha", 0.0), "max_value": opts.get("max_value"),
              "threshold": opts.get("threshold", 0.0)}
    elif name == "elu":
        kw = {"alpha": opts.get("alpha", 1.0)}
    elif name == "leaky_relu":
        return lambda x: tf.nn.leaky_relu(x, alpha=opts.get("alpha", 0.2))
    elif name in ("softmax", "log_softmax"):
        ax = opts.get("axis", [-1])
        if name == "log_softmax" and len(ax) > 1:
            # tf.nn.log_softmax takes one axis; this is its definition.
            return lambda x: x - tf.reduce_logsumexp(x, axis=ax, keepdims=True)
        kw = {"axis": ax[0] if len(ax) == 1 else tuple(ax)}
    elif name == "gelu":
        kw = {"approximate": opts.get("approximate", False)}
    return lambda x: act(x, **kw)


CASES = [
    ("linear", {}), ("relu", {}), ("relu", {"alpha": 0.1}), ("relu", {"max_value": 6.0}),
    ("relu", {"max_value": 2.5}), ("relu", {"threshold": 1.0}),
    ("relu", {"alpha": 0.3, "max_value": 3.0, "threshold": -1.0}),
    ("relu", {"alpha": 0.2, "threshold": 0.5}), ("relu", {"alpha": 0.2, "max_value": 6.0}),
    ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("softplus", {}), ("softsign", {}),
    ("sigmoid", {}), ("hard_sigmoid", {}), ("exponential", {}), ("tanh", {}),
    ("softmax", {}), ("softmax", {"axis": [1]}), ("softmax", {"axis": [1, 2]}),
    ("swish", {}), ("silu", {}), ("gelu", {}), ("gelu", {"approximate": True}),
    ("relu6", {}), ("leaky_relu", {}), ("leaky_relu", {"alpha": 0.05}), ("mish", {}),
    ("log_softmax", {}), ("log_softmax", {"axis": [0, 2]}), ("hard_silu", {}), ("hard_tanh", {}),
    ("log_sigmoid", {}), ("celu", {}), ("celu", {"alpha": 2.0}),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    shape = (2, 3, 4)
    n = int(np.prod(shape))
    cases = []
    for name, opts in CASES:
        x = rng.uniform(-8, 8, n).astype(np.float32)
        x[:len(KINKS)] = KINKS
        dy = rng.uniform(-1, 1, n).astype(np.float32)
        xt = tf.constant(x.reshape(shape))
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = fn(name, opts)(xt)
            loss = tf.reduce_sum(y * tf.constant(dy.reshape(shape)))
        dx = tape.gradient(loss, xt).numpy().ravel()
        cases.append({"name": name, "opts": opts, "shape": list(shape),
                      "x": [float(v) for v in x], "dy": [float(v) for v in dy],
                      "dx": [float(v) for v in dx]})
    with open(os.path.join(OUT, "goldens.json"), "w") as f:
        json.dump({"tf": tf.__version__, "cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
