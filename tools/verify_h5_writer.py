"""Checks that the HDF5 files ckeras' own writer (src/io/h5/h5_write*.c)
produces open in h5py/libhdf5 and load in tf.keras 2.15 like the originals.
CI has no TensorFlow, so this is run by hand, once per writer change:

    /opt/kref/bin/python tools/verify_h5_writer.py build/ckeras OUTDIR [DIR...]

1. Every real full-model .h5 / .keras under ../shared/testdata/keras that
   ckeras loads is converted by `ckeras convert` to OUTDIR/<n>.h5 and
   OUTDIR/<n>.keras.  Each converted file is walked with h5py (every group,
   attribute and dataset read; for .keras the model.weights.h5 entry, from
   memory), then loaded with tf.keras and its predictions on a random input
   compared with those of the original file loaded by tf.keras (1e-5).
2. Every .h5 / .keras / .weights.h5 under the extra DIRs (e.g.
   build/tmp/ckeras_files, left by the tests) is walked with h5py.
Exit status 0 when every check passes.
"""
import glob
import io
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "testdata", "keras")
TOL = 1e-5


def walk_h5(f):
    """Reads everything in an open h5py file; returns (groups, datasets, attrs)."""
    counts = [1, 0, 0]

    def visit(name, obj):
        for k in obj.attrs:
            obj.attrs[k]
            counts[2] += 1
        if isinstance(obj, h5py.Dataset):
            obj[()]
            counts[1] += 1
        else:
            counts[0] += 1

    for k in f.attrs:
        f.attrs[k]
        counts[2] += 1
    f.visititems(visit)
    return counts


def walk_file(path):
    if path.endswith(".keras"):
        with zipfile.ZipFile(path) as z:
            data = z.read("model.weights.h5")
        with h5py.File(io.BytesIO(data), "r") as f:
            return walk_h5(f)
    with h5py.File(path, "r") as f:
        return walk_h5(f)


def random_inputs(model, rng):
    xs = []
    for t in model.inputs:
        shape = [2 if d is None else d for d in t.shape]
        if t.dtype.is_integer:
            xs.append(rng.integers(0, 2, size=shape).astype(t.dtype.as_numpy_dtype))
        else:
            xs.append(rng.standard_normal(shape).astype(np.float32))
    return xs


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    cli, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    from tensorflow import keras

    problems, checked = [], 0
    originals = sorted(glob.glob(os.path.join(SHARED, "**", "*.h5"), recursive=True) +
                       glob.glob(os.path.join(SHARED, "**", "*.keras"), recursive=True))
    for i, src in enumerate(originals):
        try:
            ref = keras.models.load_model(src, compile=False)
        except Exception:
            continue    # weights-only or not loadable by tf.keras 2.15 itself
        rng = np.random.default_rng(i)
        try:
            xs = random_inputs(ref, rng)
            want = ref.predict(xs, verbose=0)
        except Exception:
            continue
        for ext in (".h5", ".keras"):
            dst = os.path.join(out, f"m{i:03d}{ext}")
            r = subprocess.run([cli, "convert", src, dst], capture_output=True, text=True)
            if r.returncode != 0:
                continue    # a model ckeras does not load: not the writer's business
            checked += 1
            try:
                g, d, a = walk_file(dst)
                m = keras.models.load_model(dst, compile=False)
                got = m.predict(xs, verbose=0)
                wl, gl = (want if isinstance(want, list) else [want]), (got if isinstance(got, list) else [got])
                diff = max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) if np.size(x) else 0.0
                           for x, y in zip(wl, gl))
                status = "ok" if diff <= TOL else "MISMATCH"
                if diff > TOL:
                    problems.append(f"{dst} ({src}): prediction diff {diff:.2g}")
                print(f"{os.path.relpath(src, SHARED)} -> {os.path.basename(dst)}: "
                      f"{g} groups, {d} datasets, {a} attrs, diff {diff:.2g}: {status}")
            except Exception as e:  # noqa: BLE001 -- report and go on
                problems.append(f"{dst} ({src}): {type(e).__name__}: {e}")
                print(f"{dst}: FAILED {e}")
    for extra in sys.argv[3:]:
        for p in sorted(glob.glob(os.path.join(extra, "**", "*"), recursive=True)):
            if not p.endswith((".h5", ".keras")):
                continue
            checked += 1
            try:
                g, d, a = walk_file(p)
                print(f"{p}: {g} groups, {d} datasets, {a} attrs: ok")
            except Exception as e:  # noqa: BLE001
                problems.append(f"{p}: {type(e).__name__}: {e}")
                print(f"{p}: FAILED {e}")
    print(f"{checked} files, {len(problems)} problems")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
