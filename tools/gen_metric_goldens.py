#!/usr/bin/env python3
"""Golden values for the ckeras metrics (tests/train/test_metrics.c).

Run with TF 2.15.1:  /opt/kref/bin/python tools/gen_metric_goldens.py
Writes tests/data/train/metrics/metrics.json: for each metric, a few batches
(with and without sample weights) and the result after each update and after
reset_state(), the config as tf.keras writes it (legacy {"class_name",
"config"} form), and the compile-time resolution of "accuracy" / "acc".
"""
import json
import os

from golden_common import data_dir, quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.src.engine import compile_utils  # noqa: E402
from keras.src.metrics import base_metric  # noqa: E402

OUT = data_dir("train", "metrics", "metrics.json")
rng = np.random.default_rng(1234)


def tensor(a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a.astype(np.float32)
        data = [float(v) for v in a.reshape(-1)]
        dt = "float32"
    else:
        a = a.astype(np.int64)
        data = [int(v) for v in a.reshape(-1)]
        dt = "int64"
    return {"dtype": dt, "shape": list(a.shape), "data": data}


def legacy_config(m):
    cfg = m.get_config()
    if type(m) is base_metric.MeanMetricWrapper:  # a function given by name
        cfg["fn"] = m._fn.__name__
    return {"class_name": type(m).__name__, "config": cfg}


def run(metric, batches):
    """batches: list of (y_true, y_pred, sample_weight or None)."""
    out = []
    for yt, yp, sw in batches:
        if sw is None:
            metric.update_state(yt, yp)
        else:
            metric.update_state(yt, yp, sample_weight=sw)
        r = metric.result().numpy()
        out.append({"y_true": tensor(yt), "y_pred": tensor(yp),
                    "sample_weight": None if sw is None else tensor(sw),
                    "result": [float(v) for v in np.reshape(r, -1)]})
    metric.reset_state()
    return out, [float(v) for v in np.reshape(metric.result().numpy(), -1)]


def probs(n, c):
    x = rng.random((n, c)).astype(np.float32)
    return x / x.sum(axis=1, keepdims=True)


def onehot(n, c):
    return np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]


def weights(*shape):
    return np.round(rng.random(shape) * 2, 2).astype(np.float32)


cases = []


def add(identifier, metric, batches, note=""):
    b, reset = run(metric, batches)
    case = {"identifier": identifier, "note": note, "name": metric.name, "batches": b,
            "reset_result": reset}
    case["config"] = json.dumps(legacy_config(metric))
    cases.append(case)


def from_string(s):
    fn = tf.keras.metrics.get(s)
    if isinstance(fn, tf.keras.metrics.Metric):
        return fn
    return base_metric.MeanMetricWrapper(fn, name=s)


def from_config(cfg):
    return tf.keras.metrics.deserialize(cfg)


# ---- binary-like inputs
def bin_batches(n=6, c=1, weighted=True, rank1=False):
    out = []
    for i in range(3):
        yt = (rng.random((n, c)) > 0.5).astype(np.float32)
        yp = rng.random((n, c)).astype(np.float32)
        if rank1:
            yt = yt[:, 0]
        sw = None
        if weighted and i == 1:
            sw = weights(n)
        elif weighted and i == 2:
            sw = weights(n, 1) if not rank1 else weights(n)
        out.append((yt, yp, sw))
    return out


for s in ["binary_accuracy", "BinaryAccuracy"]:
    m = from_string(s)
    add(s, m, bin_batches(c=3))
m = tf.keras.metrics.BinaryAccuracy(threshold=0.3, name="ba3")
add(legacy_config(m), m, bin_batches(c=2))
m = from_string("binary_accuracy")
add("binary_accuracy", m, bin_batches(c=1, rank1=True, weighted=False),
    note="y_true (n,) y_pred (n,1): one value per batch")

# ---- categorical
def cat_batches(sparse=False, c=4, n=5, keepdim=False, per_elem=False):
    out = []
    for i in range(3):
        yp = probs(n, c)
        if sparse:
            yt = rng.integers(0, c, n)
            if keepdim:
                yt = yt[:, None]
        else:
            yt = onehot(n, c)
        sw = None
        if i == 1:
            sw = weights(n)
        elif i == 2:
            sw = weights(n, 1) if keepdim or not sparse else weights(n)
        out.append((yt, yp, sw))
    return out


for s in ["categorical_accuracy", "CategoricalAccuracy"]:
    add(s, from_string(s), cat_batches())
for s in ["sparse_categorical_accuracy", "SparseCategoricalAccuracy"]:
    add(s, from_string(s), cat_batches(sparse=True))
add("sparse_categorical_accuracy", from_string("sparse_categorical_accuracy"),
    cat_batches(sparse=True, keepdim=True), note="y_true (n,1)")
for s in ["top_k_categorical_accuracy", "TopKCategoricalAccuracy"]:
    add(s, from_string(s), cat_batches(c=7))
m = tf.keras.metrics.TopKCategoricalAccuracy(k=2, name="top2")
add(legacy_config(m), m, cat_batches(c=5))
for s in ["sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"]:
    add(s, from_string(s), cat_batches(sparse=True, c=8))
m = tf.keras.metrics.SparseTopKCategoricalAccuracy(k=3)
add(legacy_config(m), m, cat_batches(sparse=True, c=5, keepdim=True))
# ties in top-k: equal scores count as in the top k
tie = np.array([[0.2, 0.2, 0.2, 0.2, 0.2], [0.5, 0.1, 0.1, 0.1, 0.2]], np.float32)
m = tf.keras.metrics.SparseTopKCategoricalAccuracy(k=1)
add(legacy_config(m), m, [(np.array([3, 2]), tie, None)], note="ties")
# the class (element-wise equality); the string "Accuracy" is compile's accuracy
m = tf.keras.metrics.Accuracy()
add(legacy_config(m), m, [(np.array([[1], [2], [3], [4]], np.float32),
                     np.array([[0], [2], [3], [4]], np.float32), None),
                    (np.array([1, 2, 3, 4]), np.array([1., 1., 3., 0.], np.float32),
                     np.array([0.5, 1, 2, 0], np.float32))])


# ---- regression
def reg_batches(n=4, c=3, rank3=False):
    out = []
    for i in range(3):
        shape = (n, 2, c) if rank3 else (n, c)
        yt = rng.normal(size=shape).astype(np.float32)
        yp = rng.normal(size=shape).astype(np.float32)
        sw = None
        if i == 1:
            sw = weights(n)
        elif i == 2:
            sw = weights(n, 2) if rank3 else weights(n, 1)
        out.append((yt, yp, sw))
    return out


for s in ["mse", "MSE", "mean_squared_error", "MeanSquaredError", "mae", "mean_absolute_error",
          "MeanAbsoluteError"]:
    add(s, from_string(s), reg_batches())
add("mse", from_string("mse"), reg_batches(rank3=True), note="rank 3, weights (n,) and (n,2)")
m = from_string("mae")
add("mae", m, [(rng.normal(size=(4, 2, 3)).astype(np.float32),
                rng.normal(size=(4, 2, 3)).astype(np.float32), weights(4, 1))],
    note="weights (n,1) on rank-2 values: reduced to rank 2")
m = from_string("mse")
add("mse", m, [(np.array([1., 2., 3.], np.float32), np.array([1.5, 2., 2.], np.float32), None),
               (np.array([1., 2.], np.float32), np.array([0., 0.], np.float32), np.array(2.0, np.float32))],
    note="rank-1 y: one value per batch; scalar weight")


# ---- confusion metrics
def conf_batches(n=8, c=1, weighted=True, special=False, full_weights=True):
    out = []
    for i in range(3):
        yt = (rng.random((n, c)) > 0.5).astype(np.float32)
        yp = rng.random((n, c)).astype(np.float32)
        if special:
            vals = np.array([0.0, 1.0, 0.5, 1 / 199, 2 / 199, 198 / 199, 0.3, 0.7], np.float32)
            yp = np.resize(vals, (n, c)).astype(np.float32)
        sw = None
        if weighted and i == 1:
            sw = weights(n)
        elif weighted and i == 2:
            sw = weights(n, c) if full_weights else weights(n, 1)
        out.append((yt, yp, sw))
    return out


for s, cls in [("Precision", tf.keras.metrics.Precision), ("Recall", tf.keras.metrics.Recall)]:
    add(s, cls(), conf_batches(c=2))
    for kw in [dict(thresholds=[0.3, 0.5, 0.7]), dict(thresholds=[0.0, 0.5, 1.0]),
               dict(thresholds=0.3), dict(top_k=2), dict(class_id=1), dict(top_k=2, class_id=2),
               dict(thresholds=[0.2, 0.6], top_k=1)]:
        m = cls(**kw)
        add(legacy_config(m), m, conf_batches(c=4, full_weights="class_id" not in kw))
    m = cls(thresholds=[0.0, 0.5, 1.0])
    add(legacy_config(m), m, conf_batches(c=1, special=True), note="boundary predictions")

for kw in [dict(), dict(curve="PR"), dict(summation_method="minoring"),
           dict(summation_method="majoring", curve="PR"), dict(num_thresholds=10),
           dict(thresholds=[0.3, 0.1, 0.6]), dict(thresholds=[0.25, 0.5, 0.75]),
           dict(curve="PR", summation_method="minoring")]:
    m = tf.keras.metrics.AUC(**kw)
    add(legacy_config(m), m, conf_batches(c=3))
m = tf.keras.metrics.AUC(name="auc")  # as a fresh session names it
add("AUC", m, conf_batches(n=8, c=1, special=True), note="boundary predictions")
m = tf.keras.metrics.AUC(from_logits=True, curve="PR")
add(legacy_config(m), m, [(yt, (yp - 0.5) * 8, sw) for yt, yp, sw in conf_batches(c=2)])
m = tf.keras.metrics.AUC(num_thresholds=50)
add(legacy_config(m), m, conf_batches(n=20, c=1))
m = tf.keras.metrics.AUC(name="auc")  # as a fresh session names it
add("AUC", m, [(np.ones((3, 1), np.float32), rng.random((3, 1)).astype(np.float32), None)],
    note="only positives: fp rate 0/0")

# ---- "accuracy" / "acc" resolution as compile does it
resolutions = []
for metric in ["accuracy", "acc"]:
    for yt_shape, yp_shape, loss in [((4, 1), (4, 1), "binary_crossentropy"),
                                     ((4,), (4, 1), "binary_crossentropy"),
                                     ((4, 3), (4, 3), "binary_crossentropy"),
                                     ((4,), (4, 3), "sparse_categorical_crossentropy"),
                                     ((4, 1), (4, 3), "sparse_categorical_crossentropy"),
                                     ((4, 3), (4, 3), "categorical_crossentropy"),
                                     ((4, 3), (4, 3), "mse"),
                                     ((4, 2, 3), (4, 2, 3), "categorical_crossentropy"),
                                     ((4, 2), (4, 2, 3), "sparse_categorical_crossentropy")]:
        mc = compile_utils.MetricsContainer([metric])
        yt = tf.zeros(yt_shape)
        yp = tf.zeros(yp_shape)
        mc.build(yp, yt)
        obj = tf.nest.flatten(mc._metrics)[0]
        resolutions.append({"metric": metric, "y_true_shape": list(yt_shape),
                            "y_pred_shape": list(yp_shape), "loss": loss,
                            "fn": obj._fn.__name__, "name": obj.name})

# accuracy after resolution: a sparse case end to end
m = base_metric.MeanMetricWrapper(tf.keras.metrics.sparse_categorical_accuracy, name="acc")
b, reset = run(m, cat_batches(sparse=True))
acc_case = {"identifier": "acc", "y_true_shape": [None], "y_pred_shape": [None, 4],
            "name": "acc", "batches": b, "reset_result": reset}

out = {"tf_version": tf.__version__, "cases": cases, "resolutions": resolutions,
       "resolved_case": acc_case}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(OUT, os.path.getsize(OUT), "bytes,", len(cases), "cases")
