"""NaN through every activation, as TensorFlow 2.15 computes it
(tests/params/test_activation_nan.c).

Run: /opt/kref/bin/python tools/gen_activation_nan.py
Writes tests/data/params/activation_nan.json.  Activations that tf.keras 2.15
lacks (relu6, hard_silu, hard_tanh, log_sigmoid, celu, log_softmax) are
computed with the TensorFlow ops Keras 3's TensorFlow backend uses for them.
"""
import json, math, os
import numpy as np
import tensorflow as tf

A = tf.keras.activations
X = [[math.nan, -2.0, -0.5, 0.0], [0.5, 3.0, 7.0, -7.0]]


def keras3(name, o):
    if name == "relu6": return lambda x: tf.nn.relu6(x)
    if name == "hard_silu": return lambda x: x * tf.nn.relu6(x + 3.0) / 6.0
    if name == "hard_tanh": return lambda x: tf.clip_by_value(x, -1.0, 1.0)
    if name == "log_sigmoid": return lambda x: tf.math.log_sigmoid(x)
    if name == "celu":
        a = o.get("alpha", 1.0)
        return lambda x: tf.maximum(x, 0.0) + a * tf.math.expm1(tf.minimum(x, 0.0) / a)
    if name == "log_softmax": return lambda x: tf.nn.log_softmax(x, axis=-1)
    return None


CASES = [("linear", {}), ("relu", {}), ("relu", {"alpha": 0.5}), ("relu", {"max_value": 6.0}),
         ("relu", {"max_value": 5.0}), ("relu", {"threshold": 0.5}), ("relu", {"threshold": -0.5, "max_value": 3.0}),
         ("relu", {"alpha": 0.5, "threshold": 0.5}), ("relu", {"alpha": 0.5, "max_value": 5.0}),
         ("relu", {"alpha": 0.1, "threshold": -0.5}), ("relu", {"alpha": 0.5, "threshold": -0.5, "max_value": 1.5}),
         ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("softplus", {}), ("softsign", {}), ("sigmoid", {}),
         ("hard_sigmoid", {}), ("exponential", {}), ("tanh", {}), ("swish", {}), ("silu", {}), ("gelu", {}),
         ("gelu", {"approximate": True}), ("relu6", {}), ("leaky_relu", {}), ("leaky_relu", {"alpha": 0.3}),
         ("mish", {}), ("hard_silu", {}), ("hard_tanh", {}), ("log_sigmoid", {}), ("celu", {}), ("celu", {"alpha": 2.0}),
         ("softmax", {}), ("log_softmax", {})]


def fn(name, o):
    f = keras3(name, o)
    if f: return f
    if name == "leaky_relu": return lambda x: tf.nn.leaky_relu(x, alpha=o.get("alpha", 0.2))
    if name == "relu": return lambda x: A.relu(x, **o)
    if name == "elu": return lambda x: A.elu(x, **o)
    if name == "gelu": return lambda x: A.gelu(x, **o)
    return A.get(name)


def enc(v):
    return "nan" if math.isnan(v) else ("inf" if v == math.inf else ("-inf" if v == -math.inf else v))


cases = []
for name, o in CASES:
    for dt in (tf.float32, tf.float64):
        y = fn(name, o)(tf.constant(X, dt)).numpy()
        cases.append({"name": name, "opts": o, "dtype": dt.name, "shape": [2, 4],
                      "input": [enc(v) for v in np.ravel(X)], "expected": [enc(float(v)) for v in y.ravel()]})
out = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "params", "activation_nan.json")
with open(out, "w") as f:
    json.dump({"tensorflow": tf.__version__, "cases": cases}, f, indent=0, allow_nan=False)
for c in cases:
    if c["dtype"] == "float32": print(c["name"], c["opts"], c["expected"][0], c["expected"][4:])
