#!/usr/bin/python3
"""Golden cases for `ckeras apply` that TF.js cannot make: Dot on every rank
pair from 2 to 5 (TF.js stops at rank 3) and Dense activations TF.js lacks,
on rank-4/5 inputs.  The reference is numpy: per-sample np.tensordot for Dot
(keras-spec.md 7.1) and matmul + the activation formulas of keras-spec.md
5.6 for Dense, computed in float64 and stored as float32.

Writes tests/data/apply/<case>/{config.json,in0.npy[,in1.npy],w*.npy,out.npy}
and tests/data/apply/manifest.json.  Run: /usr/bin/python3 tools/gen_apply_goldens.py
"""
import json
import math
import os
import shutil

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "apply")
rng = np.random.default_rng(20261121)


def dot_reference(x, y, a0, a1, normalize):
    if normalize:
        x = x / np.sqrt(np.maximum(np.sum(x * x, axis=a0, keepdims=True), 1e-12))
        y = y / np.sqrt(np.maximum(np.sum(y * y, axis=a1, keepdims=True), 1e-12))
    r = np.stack([np.tensordot(x[b], y[b], axes=(a0 - 1, a1 - 1)) for b in range(x.shape[0])])
    if r.ndim == 1:
        r = r[:, None]
    return r


def dense_config(name, units, activation, use_bias):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": use_bias,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}}


def softplus(z):
    return np.logaddexp(0, z)


ACTIVATIONS = {
    "exponential": np.exp,
    "relu6": lambda z: np.clip(z, 0, 6),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "swish": lambda z: z / (1 + np.exp(-z)),
    "hard_sigmoid": lambda z: np.clip(0.2 * z + 0.5, 0, 1),
    "gelu": lambda z: 0.5 * z * (1 + np.vectorize(math.erf)(z / math.sqrt(2))),
    "mish": lambda z: z * np.tanh(softplus(z)),
    "softmax": lambda z: np.exp(z - z.max(-1, keepdims=True)) / np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True),
    "selu": lambda z: 1.0507009873554804934193349852946 * np.where(z > 0, z, 1.6732632423543772848170429916717 * (np.exp(z) - 1)),
    "linear": lambda z: z,
}


def save(case_dir, name, arr):
    np.save(os.path.join(case_dir, name), arr)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    cases = []
    dims = [2, 3, 4, 5]  # distinct sizes so a wrong permutation shows
    for xr in range(2, 6):
        for yr in range(2, 6):
            # One int-axes case (the last axis of both, as Dot(-1)) and one
            # pair case contracting axis 1 of x with the last axis of y.
            for kind in ("neg", "pair"):
                a0, a1 = (xr - 1, yr - 1) if kind == "neg" else (1, yr - 1)
                k = 3
                xs = [2] + dims[: xr - 1]
                ys = [2] + dims[: yr - 1]
                xs[a0] = k
                ys[a1] = k
                x = rng.standard_normal(xs)
                y = rng.standard_normal(ys)
                normalize = (xr + yr) % 3 == 0
                axes = -1 if kind == "neg" else [1, -1]
                out = dot_reference(x, y, a0, a1, normalize)
                cid = f"dot_r{xr}{yr}_{kind}" + ("_norm" if normalize else "")
                d = os.path.join(OUT, cid)
                os.makedirs(d)
                cfg = {"class_name": "Dot", "config": {"name": "dot", "trainable": True, "dtype": "float32",
                                                       "axes": axes, "normalize": normalize}}
                json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
                save(d, "in0.npy", x.astype(np.float32))
                save(d, "in1.npy", y.astype(np.float32))
                # The reference uses the float32 inputs promoted to float64.
                out = dot_reference(x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64),
                                    a0, a1, normalize)
                save(d, "out.npy", out.astype(np.float32))
                cases.append({"id": cid, "dir": cid, "inputs": ["in0.npy", "in1.npy"], "weights": [],
                              "output": "out.npy", "atol": 1e-5, "rtol": 1e-5})
    for act, fn in ACTIVATIONS.items():
        for rank in (4, 5):
            shape = [2, 3, 2, 4][: rank - 1] + [5]
            x = rng.standard_normal(shape).astype(np.float32)
            kern = (rng.standard_normal((5, 3)) * 0.7).astype(np.float32)
            bias = (rng.standard_normal(3) * 0.3).astype(np.float32)
            z = np.tensordot(x.astype(np.float64), kern.astype(np.float64), axes=([rank - 1], [0])) + bias
            out = fn(z).astype(np.float32)
            cid = f"dense_{act}_r{rank}"
            d = os.path.join(OUT, cid)
            os.makedirs(d)
            json.dump(dense_config("dense", 3, act, True), open(os.path.join(d, "config.json"), "w"))
            save(d, "in0.npy", x)
            save(d, "w0.npy", kern)
            save(d, "w1.npy", bias)
            save(d, "out.npy", out)
            cases.append({"id": cid, "dir": cid, "inputs": ["in0.npy"], "weights": ["w0.npy", "w1.npy"],
                          "output": "out.npy", "atol": 2e-5, "rtol": 1e-5})
    json.dump({"generator": "tools/gen_apply_goldens.py", "reference": "numpy (float64)", "cases": cases},
              open(os.path.join(OUT, "manifest.json"), "w"), indent=1)
    print(f"{len(cases)} cases in {OUT}")


if __name__ == "__main__":
    main()
