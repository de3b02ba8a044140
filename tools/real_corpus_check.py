"""Checks ckeras against Keras on a folder of real model files.

Usage: /opt/kref/bin/python tools/real_corpus_check.py CORPUS_DIR CKERAS_BINARY [--k3 /opt/k3/bin/python]

For each .h5 / .keras / .hdf5 file: the reference Keras (tf.keras 2.15 for
files written by Keras 1/2, Keras 3 for files written by Keras 3) loads it
without compiling, predicts on a seeded random input (integers below the
Embedding's input_dim for integer inputs), and ckeras predicts on the same
input.  One line per file: LOADS / MATCH (max |diff| <= 1e-4 * (1 + |y|)) /
MISMATCH / ckeras error / "keras error" (files Keras itself cannot load are
left out of the rate), then the totals.  The corpus is not in the
repository: the files come from public repositories without a licence.
"""
import json, os, subprocess, sys, tempfile, zipfile

REF_SNIPPET = r'''
import json, sys, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
path, outdir = sys.argv[1], sys.argv[2]
try:
    import keras
    if keras.__version__.startswith("3"):
        m = keras.saving.load_model(path, compile=False, safe_mode=False)
    else:
        import tensorflow as tf
        m = tf.keras.models.load_model(path, compile=False)
except Exception as e:
    print(json.dumps({"error": (type(e).__name__ + ": " + str(e)).splitlines()[0][:200]})); sys.exit(0)
rng = np.random.default_rng(0)
try:
    inputs = m.inputs if isinstance(m.inputs, list) else [m.inputs]
    specs = [([2 if d is None else int(d) for d in t.shape], str(getattr(t, "dtype", "float32"))) for t in inputs]
except AttributeError:
    # A Keras 3 Sequential never built on an input: it takes any length.
    first = m.layers[0]
    specs = [([2, 8], "int32" if type(first).__name__ == "Embedding" else "float32")]
xs = []
for i, (shape, dt) in enumerate(specs):
    dt = dt.replace("<dtype: '", "").replace("'>", "")
    high = 10
    for l in m.layers:
        if type(l).__name__ == "Embedding":
            high = int(l.input_dim); break
    if "int" in dt:
        x = rng.integers(0, high, size=shape).astype(dt)
    elif any(type(l).__name__ == "Embedding" for l in m.layers[:3]):
        x = rng.integers(0, high, size=shape).astype("float32")
    else:
        x = rng.standard_normal(shape).astype("float32")
    np.save(os.path.join(outdir, "in%d.npy" % i), x)
    xs.append(x)
y = m.predict(xs if len(xs) > 1 else xs[0], verbose=0)
ys = y if isinstance(y, list) else [y]
for i, v in enumerate(ys):
    np.save(os.path.join(outdir, "ref%d.npy" % i), np.asarray(v))
# Keras' own sensitivity: the outputs for float inputs scaled by 1 + 1e-7
# (about one float32 rounding), to tell an ill-conditioned model apart.
xp = [x * np.float32(1 + 1e-7) if x.dtype.kind == "f" else x for x in xs]
yp = m.predict(xp if len(xp) > 1 else xp[0], verbose=0)
for i, v in enumerate(yp if isinstance(yp, list) else [yp]):
    np.save(os.path.join(outdir, "pert%d.npy" % i), np.asarray(v))
print(json.dumps({"inputs": len(xs), "outputs": len(ys), "classes": sorted({type(l).__name__ for l in m.layers})}))
'''


def keras_version(path):
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return json.loads(z.read("metadata.json")).get("keras_version", "")
        import h5py
        with h5py.File(path, "r") as f:
            v = f.attrs.get("keras_version", b"")
            return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:
        return ""


def main():
    corpus, ckeras = sys.argv[1], sys.argv[2]
    k3 = sys.argv[sys.argv.index("--k3") + 1] if "--k3" in sys.argv else "/opt/k3/bin/python"
    import numpy as np
    counts = {"match": 0, "mismatch": 0, "ckeras_error": 0, "keras_error": 0}
    for name in sorted(os.listdir(corpus)):
        if not name.lower().endswith((".h5", ".keras", ".hdf5")):
            continue
        path = os.path.join(corpus, name)
        ver = keras_version(path)
        py = k3 if ver.startswith("3") and os.path.exists(k3) else sys.executable
        with tempfile.TemporaryDirectory() as d:
            try:
                r = subprocess.run([py, "-c", REF_SNIPPET, path, d], capture_output=True, text=True, timeout=300)
                info = json.loads(r.stdout.strip().splitlines()[-1])
            except Exception as e:
                info = {"error": "reference failed: %s" % (str(e)[:100])}
            if "error" in info:
                counts["keras_error"] += 1
                print("%-70s keras error (%s): %s" % (name, ver, info["error"]), flush=True)
                continue
            ins = [os.path.join(d, "in%d.npy" % i) for i in range(info["inputs"])]
            args = [ckeras, "predict", path] + ins
            args += ["-o", os.path.join(d, "out.npy")] if info["outputs"] == 1 else ["--output-dir", d]
            c = subprocess.run(args, capture_output=True, text=True, timeout=120)
            if c.returncode != 0:
                counts["ckeras_error"] += 1
                print("%-70s ckeras error (%s): %s" % (name, ver, c.stderr.strip().splitlines()[-1][:160] if c.stderr.strip() else c.returncode), flush=True)
                continue
            worst = 0.0
            sensitivity = 0.0
            for i in range(info["outputs"]):
                ref = np.load(os.path.join(d, "ref%d.npy" % i)).astype(np.float64)
                got = np.load(os.path.join(d, "out.npy" if info["outputs"] == 1 else "output_%d.npy" % i)).astype(np.float64)
                if ref.shape != got.shape:
                    worst = float("inf"); break
                both_nan = np.isnan(ref) & np.isnan(got)
                err = np.where(both_nan, 0.0, np.abs(ref - got) / (1.0 + np.abs(ref)))
                worst = max(worst, float(np.nan_to_num(err, nan=np.inf).max()) if err.size else 0.0)
                pert = np.load(os.path.join(d, "pert%d.npy" % i)).astype(np.float64)
                if pert.size:
                    sensitivity = max(sensitivity, float(np.nanmax(np.abs(pert - ref) / (1.0 + np.abs(ref)))))
            # A model whose Keras output moves by more than 1e-4 under one
            # rounding of its input cannot be matched to 1e-4 by anyone:
            # ckeras matches it if it stays within 100x Keras' own wobble.
            ok = worst <= 1e-4 or worst <= 100 * sensitivity
            counts["match" if ok else "mismatch"] += 1
            tag = "MATCH" if worst <= 1e-4 else ("MATCH (ill-conditioned)" if ok else "MISMATCH")
            print("%-70s %s (%s) max rel diff %.2e, Keras' own under 1e-7 input change %.2e" %
                  (name, tag, ver, worst, sensitivity), flush=True)
    loadable = counts["match"] + counts["mismatch"] + counts["ckeras_error"]
    print("files Keras loads: %d; ckeras matches Keras on %d (%.0f%%), loads but differs on %d, fails on %d; "
          "Keras itself fails on %d" % (loadable, counts["match"], 100.0 * counts["match"] / max(loadable, 1),
                                        counts["mismatch"], counts["ckeras_error"], counts["keras_error"]))


if __name__ == "__main__":
    main()
