#!/usr/bin/python3
"""Golden values for tests/params/ (activations, constraints, regularizers,
config texts), computed with numpy and the Python standard library from the
formulas of tf.keras 2.x (spec section 5) -- never with ckeras.

Run with Debian's python3 (it has numpy):
    /usr/bin/python3 tools/gen_params_goldens.py
Writes tests/data/params/*.json.  Non-finite numbers are written as the
strings "inf", "-inf" and "nan" (jansson does not read Infinity/NaN).
"""
import json
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "params")
rng = np.random.default_rng(20240611)


def enc(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    out = []
    for v in a:
        if math.isnan(v):
            out.append("nan")
        elif math.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(float(v))
    return out


def f32(a):
    """Inputs exactly representable in float32, so that one input serves both dtypes."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


# ---- activations: reference formulas (tf.keras 2.x, spec 5.6) -------------------
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
erf = np.vectorize(math.erf)


def keras_relu(x, alpha=0.0, max_value=None, threshold=0.0):
    # The steps of backend.relu, transcribed.
    if alpha != 0 and max_value is None and threshold == 0:
        return np.where(x > 0, x, alpha * x)
    if alpha != 0:
        neg = np.maximum(threshold - x, 0) if threshold != 0 else np.maximum(-x, 0)
    clip_max = max_value is not None
    if threshold != 0:
        x = x * (x > threshold)
    elif max_value == 6:
        x = np.clip(x, 0, 6)
        clip_max = False
    else:
        x = np.maximum(x, 0)
    if clip_max:
        x = np.clip(x, 0, max_value)
    if alpha != 0:
        x = x - alpha * neg
    return x


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


ELEMENTWISE = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "softplus": softplus,
    "softsign": lambda x: x / (np.abs(x) + 1),
    "sigmoid": sigmoid,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "exponential": np.exp,
    "tanh": np.tanh,
    "swish": lambda x: x * sigmoid(x),
    "silu": lambda x: x * sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "mish": lambda x: x * np.tanh(softplus(x)),
    "hard_silu": lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "log_sigmoid": lambda x: -softplus(-x),
    "celu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
}


def activation_cases():
    cases = []
    grid = f32([-1000, -88.5, -50, -10, -5, -3, -2.5, -2, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1,
                2, 2.5, 3, 5, 6, 7, 10, 50, 88.5, 1000])
    rand01 = f32(rng.random((2, 5)))             # as in TF2.15 activations_test
    randn = f32(rng.normal(0, 3, (3, 7)))

    def add(name, x, y, opts=None, note=""):
        cases.append({"name": name, "opts": opts or {}, "shape": list(x.shape),
                      "input": enc(x), "expected": enc(y), "note": note})

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for name, fn in ELEMENTWISE.items():
            for x in (grid.reshape(5, 5), rand01, randn):
                add(name, x, fn(x))
        # selu and elu(0.5) cases from TF2.15 activations_test (spec E3)
        add("selu", f32([[1, 2]]), np.array([[1, 2]]) * SELU_SCALE)
        add("selu", f32([[-1, -2]]), (np.exp([[-1, -2]]) - 1) * SELU_SCALE * SELU_ALPHA)
        add("elu", f32([[-1, -2]]), (np.exp([[-1, -2]]) - 1) / 2, {"alpha": 0.5})
        add("elu", rand01, rand01, {"alpha": 0.5})
        add("elu", randn, np.where(randn > 0, randn, 0.5 * np.expm1(np.minimum(randn, 0))),
            {"alpha": 0.5})
        add("leaky_relu", randn, np.where(randn > 0, randn, 0.3 * randn), {"alpha": 0.3})
        add("celu", randn, np.where(randn > 0, randn, 2.0 * np.expm1(np.minimum(randn, 0) / 2.0)),
            {"alpha": 2.0})
        add("gelu", grid.reshape(5, 5),
            0.5 * grid.reshape(5, 5) * (1 + np.tanh(math.sqrt(2 / math.pi) *
                                                    (grid.reshape(5, 5) + 0.044715 * grid.reshape(5, 5) ** 3))),
            {"approximate": True})
        add("gelu", randn, 0.5 * randn * (1 + np.tanh(math.sqrt(2 / math.pi) * (randn + 0.044715 * randn ** 3))),
            {"approximate": True})
        # relu with alpha / max_value / threshold
        rx = f32(np.concatenate([grid, rng.uniform(-8, 8, 23)])).reshape(6, 8)
        for kw in [dict(alpha=0.5), dict(max_value=6.0), dict(max_value=5.0), dict(max_value=0.5),
                   dict(threshold=0.5), dict(threshold=-0.5), dict(threshold=2.0, max_value=6.0),
                   dict(alpha=0.5, max_value=5.0), dict(alpha=0.5, threshold=0.5),
                   dict(alpha=0.1, threshold=-0.5), dict(alpha=0.5, threshold=-0.5, max_value=1.5),
                   dict(threshold=-0.5, max_value=3.0), dict(alpha=-0.2, max_value=6.0)]:
            add("relu", rx, keras_relu(rx, **kw), kw)
        # hand-checked relu points (spec 5.6): x == threshold gives 0; (threshold, 0) kept;
        # then clipped to [0, max_value].
        add("relu", f32([[0.5, 0.6, -0.25, -0.5]]), f32([[0.5, 0.6, -0.25, 0.0]]),
            {"threshold": -0.5}, "kept values in (threshold,0)")
        add("relu", f32([[0.5, 0.6, -0.25, -0.5]]), f32([[0.0, 0.6, 0.0, 0.0]]),
            {"threshold": 0.5})
        add("relu", f32([[-0.25, 4.0, 2.0]]), np.array([[0.0, 3.0, 2.0]]),
            {"threshold": -0.5, "max_value": 3.0})
        # softmax / log_softmax
        t = f32(rng.random((2, 3, 5)))
        tt = f32(rng.random((2, 2, 3)) * 10)
        ext = f32([[1000, -1000, 0, 999], [-1000, -1000, -1000, -1000], [88, 89, 90, -3]])
        for name, fn in (("softmax", softmax), ("log_softmax", log_softmax)):
            add(name, rand01, fn(rand01, -1))
            add(name, rand01, fn(rand01, 0), {"axis": [0]})
            add(name, randn, fn(randn, 1), {"axis": [1]})
            add(name, t, fn(t, (1, 2)), {"axis": [1, 2]})
            add(name, t, fn(t, 1), {"axis": [-2]})
            add(name, t, fn(t, (0, 2)), {"axis": [0, 2]})
            add(name, tt, fn(tt, -1))
            add(name, ext, fn(ext, -1))
    x4 = f32(rng.normal(0, 2, (2, 3, 4, 2)))
    add("softmax", x4, softmax(x4, 3))
    add("softmax", x4, softmax(x4, 2), {"axis": [2]})
    add("log_softmax", x4, log_softmax(x4, (1, 3)), {"axis": [1, 3]})
    add("log_softmax", f32([1.0, 2.0, 3.0]), log_softmax(np.array([1.0, 2.0, 3.0]), 0))
    return cases


# ---- constraints (spec 5.5) --------------------------------------------------------
EPS = 1e-7


def norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


def radial_reference(w):
    """tf.keras RadialConstraint, following its pad loop on every (h, w) slice."""
    h, wd, c, k = w.shape
    flat = w.reshape(h, wd, c * k)
    out = np.empty_like(flat)
    for s in range(c * k):
        kernel = flat[:, :, s]
        start = int(h / 2)
        if h % 2:
            new = kernel[start - 1:start, start - 1:start].copy()
            index = 0
        else:
            new = kernel[start - 1:start, start - 1:start] + np.zeros((2, 2))
            index = 1
        while index < start:
            new = np.pad(new, 1, mode="constant", constant_values=kernel[start + index, start + index])
            index += 1
        out[:, :, s] = new
    return out.reshape(h, wd, c, k)


def constraint_cases():
    cases = []

    def add(config, x, y, rtol=None):
        case = {"config": config, "shape": list(x.shape), "input": enc(x), "expected": enc(y)}
        if rtol:
            case["rtol"] = rtol
        cases.append(case)

    # TF2.15 constraints_test max_norm example (columns are the vectors)
    x = np.array([[0, 0, 0], [1.0, 0, 0], [3, 0, 0], [3, 3, 3]]).T
    y = np.array([[0, 0, 0], [1.0, 0, 0], [2.0, 0, 0],
                  [2 / math.sqrt(3), 2 / math.sqrt(3), 2 / math.sqrt(3)]]).T
    # (the test's expected values leave out eps, hence its rtol 1e-5)
    add({"class_name": "MaxNorm", "config": {"max_value": 2.0, "axis": 0}}, f32(x), y, 1e-5)
    w = f32(rng.uniform(-3, 3, (4, 5)))
    w3 = f32(rng.uniform(-3, 3, (3, 4, 5)))
    for axis in (0, 1, -1):
        n = norms(w, axis)
        add({"class_name": "MaxNorm", "config": {"max_value": 2.0, "axis": axis}}, w,
            w * np.clip(n, 0, 2.0) / (EPS + n))
        add({"class_name": "UnitNorm", "config": {"axis": axis}}, w, w / (EPS + n))
        add({"class_name": "MinMaxNorm", "config": {"min_value": 2.5, "max_value": 3.0, "rate": 0.7,
                                                    "axis": axis}}, w,
            w * (0.7 * np.clip(n, 2.5, 3.0) + 0.3 * n) / (EPS + n))
    for axis in ([0, 1], [0, 2], [1], [-1, 0]):
        n = norms(w3, tuple(axis))
        add({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": axis}}, w3,
            w3 * np.clip(n, 0, 3) / (EPS + n))
        add({"class_name": "UnitNorm", "config": {"axis": axis}}, w3, w3 / (EPS + n))
        add({"class_name": "MinMaxNorm", "config": {"axis": axis}}, w3,
            w3 * np.clip(n, 0.0, 1.0) / (EPS + n))
    add("non_neg", w, w * (w >= 0))
    add("max_norm", w, w * np.clip(norms(w, 0), 0, 2) / (EPS + norms(w, 0)))
    for size in (2, 3, 4, 5, 6, 7):
        k = f32(rng.normal(0, 1, (size, size, 2, 3)))
        add("radial_constraint", k, radial_reference(k))
    return cases


# ---- regularizers (spec 5.4) -------------------------------------------------------
def regularizer_cases():
    x = f32(rng.normal(0, 1, (3, 4)))
    cases = []
    for ident, l1, l2, cls, cfg in [
        ("l1", 0.01, 0.0, "L1", {"l1": 0.01}),
        ("l2", 0.0, 0.01, "L2", {"l2": 0.01}),
        ("l1_l2", 0.01, 0.01, "L1L2", {"l1": 0.01, "l2": 0.01}),
        ("L1L2", 0.0, 0.0, "L1L2", {"l1": 0.0, "l2": 0.0}),
        ('{"class_name": "L1L2", "config": {"l1": 0.3, "l2": 0.05}}', 0.3, 0.05, "L1L2",
         {"l1": 0.3, "l2": 0.05}),
        ('{"class_name": "L2", "config": {"l": 0.125}}', 0.0, 0.125, "L2", {"l2": 0.125}),
        ('{"class_name": "L1", "config": {"l1": null}}', 0.01, 0.0, "L1", {"l1": 0.01}),
        ('{"class_name": "L1L2", "config": {"l1": null, "l2": null}}', 0.0, 0.0, "L1L2",
         {"l1": 0.0, "l2": 0.0}),
        ('{"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 1e-4}, '
         '"registered_name": null}', 0.0, 1e-4, "L2", {"l2": 1e-4}),
        ('{"name": "WeightRegularizer", "l1": 0.0, "l2": 0.02}', 0.0, 0.02, "L1L2",
         {"l1": 0.0, "l2": 0.02}),
    ]:
        f1, f2 = np.float32(l1), np.float32(l2)
        loss = float(f1) * float(np.sum(np.abs(x))) + float(f2) * float(np.sum(np.square(x)))
        # tf.keras keeps float32 numpy scalars, which json prints as their double value.
        config = {k: float(np.float32(v)) for k, v in cfg.items()}
        cases.append({"identifier": ident, "shape": list(x.shape), "input": enc(x), "loss": loss,
                      "config_text": json.dumps({"class_name": cls, "config": config})})
    return cases


# ---- initializer configs (tf.keras 2.x get_config) -------------------------------------
def initializer_configs():
    def c(cls, cfg):
        return json.dumps({"class_name": cls, "config": cfg})

    vs = lambda s, m, d, seed=None: c("VarianceScaling", {"scale": s, "mode": m, "distribution": d, "seed": seed})
    pairs = [
        ("zeros", c("Zeros", {})), ("Zeros", c("Zeros", {})), ("zero", c("Zeros", {})),
        ("ones", c("Ones", {})), ("one", c("Ones", {})),
        ("constant", c("Constant", {"value": 0})),
        ("random_normal", c("RandomNormal", {"mean": 0.0, "stddev": 0.05, "seed": None})),
        ("normal", c("RandomNormal", {"mean": 0.0, "stddev": 0.05, "seed": None})),
        ("random_uniform", c("RandomUniform", {"minval": -0.05, "maxval": 0.05, "seed": None})),
        ("uniform", c("RandomUniform", {"minval": -0.05, "maxval": 0.05, "seed": None})),
        ("truncated_normal", c("TruncatedNormal", {"mean": 0.0, "stddev": 0.05, "seed": None})),
        ("variance_scaling", vs(1.0, "fan_in", "truncated_normal")),
        ("glorot_uniform", c("GlorotUniform", {"seed": None})),
        ("GlorotUniform", c("GlorotUniform", {"seed": None})),
        ("glorot_normal", c("GlorotNormal", {"seed": None})),
        ("he_uniform", c("HeUniform", {"seed": None})),
        ("he_normal", c("HeNormal", {"seed": None})),
        ("lecun_uniform", c("LecunUniform", {"seed": None})),
        ("lecun_normal", c("LecunNormal", {"seed": None})),
        ("orthogonal", c("Orthogonal", {"gain": 1.0, "seed": None})),
        ("OrthogonalInitializer", c("Orthogonal", {"gain": 1.0, "seed": None})),
        ("identity", c("Identity", {"gain": 1.0})),
        # configs: legacy, new form, Keras 2.2 / 2.2.4-tf
        ('{"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_out", '
         '"distribution": "normal", "seed": 7}}', vs(2.0, "fan_out", "truncated_normal", 7)),
        ('{"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg", '
         '"distribution": "Uniform", "seed": null}}', vs(1.0, "fan_avg", "uniform")),
        ('{"class_name": "VarianceScaling", "config": {"scale": 3, "mode": "fan_in", '
         '"distribution": "untruncated_normal", "seed": null, "dtype": "float32"}}',
         vs(3, "fan_in", "untruncated_normal")),
        ('{"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, '
         '"registered_name": null}', c("GlorotUniform", {"seed": None})),
        ('{"class_name": "GlorotUniform", "config": {"seed": null, "dtype": "float32"}}',
         c("GlorotUniform", {"seed": None})),
        ('{"class_name": "Zeros", "config": {"dtype": "float32"}}', c("Zeros", {})),
        ('{"class_name": "RandomUniform", "config": {"minval": -1, "maxval": 1, "seed": 1337}}',
         c("RandomUniform", {"minval": -1, "maxval": 1, "seed": 1337})),
        ('{"class_name": "RandomNormal", "config": {"mean": 0.5, "stddev": 1e-07, "seed": null}}',
         c("RandomNormal", {"mean": 0.5, "stddev": 1e-07, "seed": None})),
        ('{"class_name": "TruncatedNormal", "config": {"mean": 0.0, "stddev": 0.1, "seed": 3}}',
         c("TruncatedNormal", {"mean": 0.0, "stddev": 0.1, "seed": 3})),
        ('{"class_name": "Constant", "config": {"value": 2.5}}', c("Constant", {"value": 2.5})),
        ('{"class_name": "Constant", "config": {"value": [1, 2.5]}}',
         c("Constant", {"value": [1, 2.5]})),
        ('{"class_name": "Orthogonal", "config": {"gain": 2, "seed": 5}}',
         c("Orthogonal", {"gain": 2, "seed": 5})),
        ('{"class_name": "Identity", "config": {"gain": 0.5}}', c("Identity", {"gain": 0.5})),
        ('"he_normal"', c("HeNormal", {"seed": None})),
        ('{"class_name": "he_uniform", "config": {"seed": 12}}', c("HeUniform", {"seed": 12})),
    ]
    return [{"identifier": a, "config_text": b} for a, b in pairs]


def constraint_configs():
    def c(cls, cfg):
        return json.dumps({"class_name": cls, "config": cfg})
    pairs = [
        ("max_norm", c("MaxNorm", {"max_value": 2, "axis": 0})),
        ("maxnorm", c("MaxNorm", {"max_value": 2, "axis": 0})),
        ("MaxNorm", c("MaxNorm", {"max_value": 2, "axis": 0})),
        ("non_neg", c("NonNeg", {})), ("nonneg", c("NonNeg", {})), ("NonNeg", c("NonNeg", {})),
        ("unit_norm", c("UnitNorm", {"axis": 0})), ("unitnorm", c("UnitNorm", {"axis": 0})),
        ("min_max_norm", c("MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0})),
        ("radial_constraint", c("RadialConstraint", {})),
        ('{"class_name": "MaxNorm", "config": {"max_value": 3.5, "axis": [0, 1, 2]}}',
         c("MaxNorm", {"max_value": 3.5, "axis": [0, 1, 2]})),
        ('{"module": "keras.constraints", "class_name": "UnitNorm", "config": {"axis": -1}, '
         '"registered_name": null}', c("UnitNorm", {"axis": -1})),
        ('{"name": "MaxNorm", "m": 4, "axis": 1}', c("MaxNorm", {"max_value": 4, "axis": 1})),
    ]
    return [{"identifier": a, "config_text": b} for a, b in pairs]


def float_reprs():
    vals = [0.05, 1e-07, 0.01, float(np.float32(0.01)), float(np.float32(1e-4)), 1e16, 1e15,
            123456789.123, 0.0001, 1e-05, -2.5, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 2.0,
            -0.0, 1.0, 100.0, 1.5e300, -1.25e-10, 0.87962566103423978, 1234567890123456.0,
            12345678901234567.0, 3.0e-5, 0.00012]
    return [{"value": v, "repr": repr(v)} for v in vals]


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "activations.json": {"cases": activation_cases()},
        "constraints.json": {"cases": constraint_cases(), "configs": constraint_configs()},
        "regularizers.json": {"cases": regularizer_cases()},
        "initializers.json": {"configs": initializer_configs()},
        "float_repr.json": {"cases": float_reprs()},
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, allow_nan=False)
            f.write("\n")
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
