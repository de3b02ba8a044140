#!/usr/bin/env python3
"""Golden values for tests/train/test_losses.c, computed with real tf.keras
2.15 (TF 2.15.1) -- never with ckeras.

Run with the reference interpreter:
    /opt/kref/bin/python tools/gen_loss_goldens.py
Writes tests/data/train/losses/losses.json:

  {"cases": [ {
      "loss":   the loss' config {"class_name", "config"} (tf.keras 2.x keys),
      "dtype":  "float32" | "float64" (y_pred's dtype),
      "y_true", "y_pred", "sample_weight" (or null): {"shape", "dtype", "data"},
      "value":  Loss.__call__ with the loss' reduction: {"shape", "data"},
      "scale":  the loss weight used for the training values below,
      "train_value": scale * the loss with reduction NONE read as
                     SUM_OVER_BATCH_SIZE (what ck_loss_value_grad returns),
      "grad":   d train_value / d y_pred from tf.GradientTape (flat) } ...],
   "configs": [ {"id": text given to tf.keras.losses.get / the class,
                 "config": json.dumps of {"class_name", "config"}} ...] }

Configs are written the tf.keras 2.x legacy way (no "fn" key, which
tf.keras 2.15 only adds while saving the v3 .keras format).  Non-finite
numbers are written as the strings "inf", "-inf", "nan".
"""
import json
import math
import os

from golden_common import data_dir, quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

L = tf.keras.losses
OUT = data_dir("train", "losses")
rng = np.random.default_rng(20240612)


def enc(a):
    a = np.asarray(a).ravel()
    out = []
    for v in a:
        if np.issubdtype(a.dtype, np.integer):
            out.append(int(v))
            continue
        v = float(str(v)) if a.dtype == np.float32 else float(v)  # shortest repr
        if math.isnan(v):
            out.append("nan")
        elif math.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(v)
    return out


def tens(a, dtype=None):
    a = np.asarray(a)
    return {"shape": list(a.shape), "dtype": dtype or str(a.dtype), "data": enc(a)}


def config_of(loss):
    cfg = dict(loss.get_config())
    cfg.pop("fn", None)
    return {"class_name": type(loss).__name__, "config": cfg}


def short(a):
    """Inputs with few decimals (small fixtures); float32 cases read them rounded."""
    return np.round(np.asarray(a, dtype=np.float64), 3)


# ---- inputs per kind of loss -------------------------------------------------
def regression(shape, positive=False):
    yt = rng.normal(size=shape)
    yp = rng.normal(size=shape)
    if positive:
        yt, yp = np.abs(yt), np.abs(yp)
    yp.ravel()[0] = yt.ravel()[0]  # a zero error
    return short(yt), short(yp)


def probs_binary(shape, logits):
    yt = (rng.random(size=shape) < 0.5).astype(np.float64)
    if logits:
        yp = rng.normal(scale=3, size=shape)
    else:
        yp = rng.random(size=shape)
        flat = yp.ravel()
        flat[0], flat[-1] = 0.0, 1.0  # clipped: gradient zeroed
        if flat.size > 3:
            flat[1] = 1e-9
    return short(yt), short(yp)


def onehot(shape, axis=-1):
    k = shape[axis]
    idx = rng.integers(0, k, size=[d for i, d in enumerate(shape) if i != (axis % len(shape))])
    yt = np.moveaxis(np.eye(k)[idx], -1, axis)
    return yt.astype(np.float64)


def probs_cat(shape, logits, axis=-1):
    yt = onehot(shape, axis)
    if logits:
        yp = short(rng.normal(scale=2, size=shape))
    else:
        yp = rng.random(size=shape)
        flat = yp.ravel()
        flat[0] = 0.0
        yp = short(yp / np.sum(yp, axis=axis, keepdims=True))
    return yt, yp


def hinge_inputs(shape, labels):
    if labels == "01":
        yt = (rng.random(size=shape) < 0.5).astype(np.float64)
    elif labels == "pm1":
        yt = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
    else:
        yt = short(rng.normal(size=shape))
    yp = short(rng.normal(size=shape))
    yp.ravel()[0] = 1.0
    yt.ravel()[0] = 1.0  # margin exactly 0
    return yt, yp


def kld_inputs(shape):
    yt = rng.random(size=shape)
    yt /= yt.sum(-1, keepdims=True)
    yp = rng.random(size=shape)
    yp /= yp.sum(-1, keepdims=True)
    yp = short(yp)
    yp.ravel()[0] = 0.0
    return short(yt), yp


def sparse_inputs(shape, logits, label_rank1=False):
    c = shape[-1]
    lab = rng.integers(0, c, size=shape[:-1])
    if label_rank1:
        lab = lab[..., None]
    if logits:
        yp = short(rng.normal(scale=2, size=shape))
    else:
        yp = rng.random(size=shape)
        yp.ravel()[0] = 0.0
        yp = short(yp / np.sum(yp, axis=-1, keepdims=True))
    return lab.astype(np.int64), yp


# ---- the cases -----------------------------------------------------------------
cases = []
SW_KINDS = ["none", "batch", "batch1", "full"]


def weights(kind, loss_shape):
    b = loss_shape[0]
    if kind == "none":
        return None
    if kind == "batch":
        return short(rng.random(size=(b,)) * 2)
    if kind == "batch1":
        return short(rng.random(size=(b, 1)) * 2)
    return short(rng.random(size=loss_shape) * 2)


def add_case(loss, yt, yp, sw, dtype, scale=1.0, yt_dtype=None):
    ytf = tf.constant(yt, dtype=yt_dtype or dtype)
    ypv = tf.Variable(tf.constant(yp, dtype=dtype))
    swt = None if sw is None else tf.constant(sw, dtype=dtype)
    value = loss(ytf, ypv, sample_weight=swt).numpy()
    cfg = loss.get_config()
    if cfg["reduction"] == "none":
        cfg = dict(cfg, reduction="sum_over_batch_size")
    cfg.pop("fn", None)
    train = type(loss).from_config(cfg)
    with tf.GradientTape() as tape:
        tv = train(ytf, ypv, sample_weight=swt) * scale
    g = tape.gradient(tv, ypv)
    g = np.zeros(yp.shape) if g is None else g.numpy()
    cases.append({
        "loss": config_of(loss),
        "dtype": dtype,
        "y_true": tens(np.asarray(yt), yt_dtype or dtype),
        "y_pred": tens(yp, dtype),
        "sample_weight": None if sw is None else tens(sw, dtype),
        "value": {"shape": list(value.shape), "data": enc(value)},
        "scale": scale,
        "train_value": enc(tv.numpy())[0],
        "grad": enc(g),
    })


REDS = ["auto", "sum", "none", "sum_over_batch_size"]


def family(make_loss, make_inputs, shapes=((3, 4), (2, 3, 4), (4, 1)), sparse=False):
    """Five cases per loss variant: dtypes, shapes, reductions and weights in turn."""
    plan = [
        ("float32", shapes[0], "auto", "none", 1.0),
        ("float64", shapes[0], "sum", "batch", 2.5),
        ("float32", shapes[1], "none", "full", 1.0),
        ("float64", shapes[1], "sum_over_batch_size", "batch", 0.5),
        ("float64", shapes[2], "auto", "batch1", 1.0),
    ]
    for dtype, shape, red, swk, scale in plan:
        loss = make_loss(red)
        yt, yp = make_inputs(shape)
        lshape = list(shape[:-1])
        sw = weights(swk, lshape)
        add_case(loss, yt, yp, sw, dtype, scale, "int64" if sparse else None)


def R(cls, **kw):
    return lambda red: cls(reduction=red, **kw)


family(R(L.MeanSquaredError), lambda s: regression(s))
family(R(L.MeanAbsoluteError), lambda s: regression(s))
family(R(L.MeanAbsolutePercentageError), lambda s: regression(s))
family(R(L.MeanSquaredLogarithmicError), lambda s: regression(s))
family(R(L.LogCosh), lambda s: regression(s))
family(R(L.Poisson), lambda s: regression(s, positive=True))
family(R(L.Huber), lambda s: regression(s))
family(R(L.Huber, delta=0.5), lambda s: regression(s))
family(R(L.Hinge), lambda s: hinge_inputs(s, "01"))
family(R(L.Hinge), lambda s: hinge_inputs(s, "pm1"))
family(R(L.SquaredHinge), lambda s: hinge_inputs(s, "01"))
family(R(L.SquaredHinge), lambda s: hinge_inputs(s, "real"))
family(R(L.CategoricalHinge), lambda s: hinge_inputs(s, "01"))
family(R(L.KLDivergence), lambda s: kld_inputs(s))
family(R(L.CosineSimilarity), lambda s: regression(s))
family(R(L.BinaryCrossentropy), lambda s: probs_binary(s, False))
family(R(L.BinaryCrossentropy, from_logits=True), lambda s: probs_binary(s, True))
family(R(L.BinaryCrossentropy, label_smoothing=0.2), lambda s: probs_binary(s, False))
family(R(L.BinaryCrossentropy, from_logits=True, label_smoothing=0.1), lambda s: probs_binary(s, True))
family(R(L.BinaryFocalCrossentropy), lambda s: probs_binary(s, False))
family(R(L.BinaryFocalCrossentropy, from_logits=True, gamma=1.5), lambda s: probs_binary(s, True))
family(R(L.BinaryFocalCrossentropy, apply_class_balancing=True, alpha=0.3, label_smoothing=0.1),
       lambda s: probs_binary(s, False))
family(R(L.BinaryFocalCrossentropy, apply_class_balancing=True, from_logits=True, gamma=3.0),
       lambda s: probs_binary(s, True))
CAT_SHAPES = ((3, 4), (2, 3, 4), (4, 2))
family(R(L.CategoricalCrossentropy), lambda s: probs_cat(s, False), CAT_SHAPES)
family(R(L.CategoricalCrossentropy, from_logits=True), lambda s: probs_cat(s, True), CAT_SHAPES)
family(R(L.CategoricalCrossentropy, label_smoothing=0.1), lambda s: probs_cat(s, False), CAT_SHAPES)
family(R(L.CategoricalCrossentropy, from_logits=True, label_smoothing=0.2), lambda s: probs_cat(s, True),
       CAT_SHAPES)
family(R(L.SparseCategoricalCrossentropy), lambda s: sparse_inputs(s, False), CAT_SHAPES, sparse=True)
family(R(L.SparseCategoricalCrossentropy, from_logits=True), lambda s: sparse_inputs(s, True), CAT_SHAPES,
       sparse=True)
family(R(L.SparseCategoricalCrossentropy, from_logits=True), lambda s: sparse_inputs(s, True, True),
       CAT_SHAPES, sparse=True)
family(R(L.SparseCategoricalCrossentropy, ignore_class=1), lambda s: sparse_inputs(s, False), CAT_SHAPES,
       sparse=True)

# Another axis than the last one (losses reduce over it).
for red, dtype in (("auto", "float32"), ("sum", "float64")):
    yt, yp = probs_cat((3, 4), False, axis=0)
    add_case(L.CategoricalCrossentropy(axis=0, reduction=red), yt, yp, None, dtype)
    yt, yp = probs_cat((2, 3, 4), True, axis=1)
    add_case(L.CategoricalCrossentropy(axis=1, from_logits=True, reduction=red), yt, yp,
             short(rng.random(size=(2, 4))), dtype)
    yt, yp = probs_binary((3, 4), False)
    add_case(L.BinaryCrossentropy(axis=0, reduction=red), yt, yp, None, dtype)
    yt, yp = regression((3, 4))
    add_case(L.CosineSimilarity(axis=0, reduction=red), yt, yp, short(rng.random(size=(4,))), dtype)
    yt, yp = probs_binary((2, 3, 4), True)
    add_case(L.BinaryFocalCrossentropy(axis=1, from_logits=True, reduction=red), yt, yp, None, dtype)

# Labels that do not sum to 1: TF's softmax_cross_entropy gradient is
# softmax - labels, not the true derivative.
yt = short(rng.random(size=(3, 4)))
yp = short(rng.normal(size=(3, 4)))
add_case(L.CategoricalCrossentropy(from_logits=True), yt, yp, None, "float64")
add_case(L.CategoricalCrossentropy(), yt, np.abs(yp), None, "float64")
# A scalar sample weight; a zero-norm row in cosine similarity.
yt, yp = regression((3, 4))
add_case(L.MeanSquaredError(), yt, yp, np.float64(0.75), "float64")
yp[1, :] = 0.0
add_case(L.CosineSimilarity(), yt, yp, None, "float64")
# Categorical hinge with ties in the max; sparse labels as floats.
add_case(L.CategoricalHinge(), np.array([[0, 1, 0, 0], [1, 0, 0, 0.]]),
         np.array([[0.5, 0.2, 0.5, -1], [0.3, 0.3, 0.3, 0.3]]), None, "float64")
lab, yp = sparse_inputs((3, 4), True)
add_case(L.SparseCategoricalCrossentropy(from_logits=True), lab.astype(np.float64), yp, None, "float64")
# The compile case: y_true (batch,) for y_pred (batch, 1); Keras' compile
# expands y_true to (batch, 1) first (match_dtype_and_rank).
yt, yp = probs_binary((5, 1), False)
sw = short(rng.random(size=(5,)))
add_case(L.BinaryCrossentropy(), yt, yp, sw, "float32")
cases[-1]["y_true"] = tens(yt[:, 0], "float32")
yt, yp = regression((5, 1))
add_case(L.MeanSquaredError(reduction="sum"), yt, yp, None, "float64")
cases[-1]["y_true"] = tens(yt[:, 0], "float64")

# ---- configs ---------------------------------------------------------------------
configs = []
objs = [
    ("MeanSquaredError", L.MeanSquaredError()),
    ("MeanAbsoluteError", L.MeanAbsoluteError(reduction="sum", name="my_mae")),
    ("MeanAbsolutePercentageError", L.MeanAbsolutePercentageError()),
    ("MeanSquaredLogarithmicError", L.MeanSquaredLogarithmicError(reduction="none")),
    ("BinaryCrossentropy", L.BinaryCrossentropy()),
    ("BinaryCrossentropy", L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, axis=0,
                                                reduction="sum_over_batch_size")),
    ("CategoricalCrossentropy", L.CategoricalCrossentropy()),
    ("CategoricalCrossentropy", L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.25)),
    ("SparseCategoricalCrossentropy", L.SparseCategoricalCrossentropy()),
    ("SparseCategoricalCrossentropy", L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)),
    ("BinaryFocalCrossentropy", L.BinaryFocalCrossentropy()),
    ("BinaryFocalCrossentropy", L.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=3,
                                                          from_logits=True, label_smoothing=0.05)),
    ("Hinge", L.Hinge()),
    ("SquaredHinge", L.SquaredHinge()),
    ("CategoricalHinge", L.CategoricalHinge()),
    ("KLDivergence", L.KLDivergence()),
    ("Poisson", L.Poisson()),
    ("LogCosh", L.LogCosh()),
    ("Huber", L.Huber()),
    ("Huber", L.Huber(delta=2.5, name="h")),
    ("CosineSimilarity", L.CosineSimilarity()),
    ("CosineSimilarity", L.CosineSimilarity(axis=1)),
]
for ident, o in objs:
    configs.append({"id": ident, "config": json.dumps(config_of(o))})

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "losses.json"), "w") as f:
    json.dump({"generator": "tools/gen_loss_goldens.py, TF " + tf.__version__,
               "cases": cases, "configs": configs}, f, separators=(",", ":"))
print(len(cases), "cases,", os.path.getsize(os.path.join(OUT, "losses.json")), "bytes")
