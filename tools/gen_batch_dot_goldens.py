#!/usr/bin/python3
"""Writes the golden fixtures of tests/ops/test_batch_dot.c and
tests/ops/test_l2_normalize.c.

Run with Debian's python3 (it has numpy):  /usr/bin/python3 tools/gen_batch_dot_goldens.py

batch_dot (tests/data/batch_dot/): a grid over x rank 2..5 x y rank 2..5 x
every valid axis pair (a0 in 1..xr-1, a1 in 1..yr-1) x the dtypes float32,
float64, int32, int64.  The reference is the numpy one of the spec (K2.3
numpy_backend): per sample np.tensordot(x[b], y[b], axes=(a0-1, a1-1)),
stacked, and a 1-D result becomes (b, 1).  Float inputs are contracted in
float64 and the result rounded to the input type, so float32 goldens are
the correctly rounded values (ckeras must agree within a small tolerance).

Shapes: batch 2; the contracted dim is 5 on both sides; x's other dims are
2, 3, 4 in order and y's are 4, 3, 2, so that a wrong permutation or a
wrong place of x's and y's kept axes changes the result.  The shapes of x
depend only on (xr, a0), those of y only on (yr, a1), so each x and each y
file serves several cases.

manifest.txt has one case per line:
    name xr yr a0 a1 dtype xfile yfile outfile

l2_normalize (tests/data/l2_normalize/): x / sqrt(max(sum(x^2, axis), eps))
computed in float64 and rounded to the input type (tf.math.l2_normalize's
formula); manifest.txt lines:  name dtype axis epsilon xfile outfile
"""
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
BD = os.path.join(ROOT, "batch_dot")
L2 = os.path.join(ROOT, "l2_normalize")

BATCH = 2
K = 5
X_KEPT = [2, 3, 4]
Y_KEPT = [4, 3, 2]
DTYPES = ["float32", "float64", "int32", "int64"]


def shape_for(rank, axis, kept):
    dims = list(kept[: rank - 2])
    dims.insert(axis - 1, K)
    return (BATCH,) + tuple(dims)


def values(rng, shape, dtype):
    if dtype.startswith("int"):
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)


def reference(x, y, a0, a1):
    """Spec 7.1: per-sample tensordot, stacked, (b,) -> (b, 1)."""
    wide = np.float64 if x.dtype.kind == "f" else np.int64
    xs, ys = x.astype(wide), y.astype(wide)
    out = np.stack([np.tensordot(xs[b], ys[b], axes=(a0 - 1, a1 - 1))
                    for b in range(x.shape[0])])
    if out.ndim == 1:
        out = out[:, None]
    return out.astype(x.dtype)


def gen_batch_dot():
    os.makedirs(BD, exist_ok=True)
    for f in os.listdir(BD):
        if f.endswith(".npy") or f == "manifest.txt":
            os.remove(os.path.join(BD, f))
    rng = np.random.default_rng(20240611)
    lines = []
    for dtype in DTYPES:
        xs, ys = {}, {}
        for r in range(2, 6):
            for a in range(1, r):
                xs[(r, a)] = values(rng, shape_for(r, a, X_KEPT), dtype)
                ys[(r, a)] = values(rng, shape_for(r, a, Y_KEPT), dtype)
                np.save(os.path.join(BD, f"x_{dtype}_r{r}a{a}.npy"), xs[(r, a)])
                np.save(os.path.join(BD, f"y_{dtype}_r{r}a{a}.npy"), ys[(r, a)])
        for xr in range(2, 6):
            for yr in range(2, 6):
                for a0 in range(1, xr):
                    for a1 in range(1, yr):
                        x, y = xs[(xr, a0)], ys[(yr, a1)]
                        out = reference(x, y, a0, a1)
                        name = f"{dtype}_x{xr}a{a0}_y{yr}a{a1}"
                        np.save(os.path.join(BD, f"out_{name}.npy"), out)
                        lines.append(f"{name} {xr} {yr} {a0} {a1} {dtype} "
                                     f"x_{dtype}_r{xr}a{a0}.npy y_{dtype}_r{yr}a{a1}.npy "
                                     f"out_{name}.npy")
    with open(os.path.join(BD, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


def l2_reference(x, axis, eps):
    xd = x.astype(np.float64)
    s = np.sum(xd * xd, axis=axis, keepdims=True)
    return (xd / np.sqrt(np.maximum(s, eps))).astype(x.dtype)


def gen_l2():
    os.makedirs(L2, exist_ok=True)
    for f in os.listdir(L2):
        if f.endswith(".npy") or f == "manifest.txt":
            os.remove(os.path.join(L2, f))
    rng = np.random.default_rng(7)
    cases = []
    # The spec's distinguishing case (TF2.x gives 1 for the tiny row) and
    # an all-zero row, which stays 0.
    tiny = np.array([[1e-5, 0.0], [3.0, 4.0], [0.0, 0.0]])
    for dtype in ("float32", "float64"):
        cases.append((f"tiny_{dtype}", tiny.astype(dtype), 1, 1e-12))
        cases.append((f"tiny_eps1e-7_{dtype}", tiny.astype(dtype), -1, 1e-7))
        cases.append((f"tiny_axis0_{dtype}", tiny.astype(dtype), 0, 1e-12))
        r3 = rng.normal(size=(3, 4, 5)).astype(dtype)
        for axis in (0, 1, 2, -1, -2):
            cases.append((f"r3_axis{axis}_{dtype}", r3, axis, 1e-12))
        wide = rng.normal(size=(2, 3, 300)).astype(dtype)   # > one 256-column chunk
        cases.append((f"wide_axis1_{dtype}", wide, 1, 1e-12))
        cases.append((f"r1_{dtype}", rng.normal(size=(7,)).astype(dtype), 0, 1e-12))
    lines = []
    for name, x, axis, eps in cases:
        np.save(os.path.join(L2, f"x_{name}.npy"), x)
        np.save(os.path.join(L2, f"out_{name}.npy"), l2_reference(x, axis, eps))
        lines.append(f"{name} {x.dtype} {axis} {eps!r} x_{name}.npy out_{name}.npy")
    with open(os.path.join(L2, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


def total_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


if __name__ == "__main__":
    n = gen_batch_dot()
    m = gen_l2()
    print(f"batch_dot: {n} cases, {total_size(BD)} bytes; "
          f"l2_normalize: {m} cases, {total_size(L2)} bytes")
