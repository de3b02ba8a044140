"""The Keras side of the file checks, run under the reference Python of
the file's Keras (tf.keras 2.15 in /opt/kref, Keras 3 in /opt/k3) by
tools/real_corpus_check.py and tools/roundtrip_in_keras.py.

    PY tools/keras_worker.py JOBS.json

JOBS.json is a list of jobs; one JSON line per job is printed on stdout:
  {"op": "reference", "model": PATH, "dir": D}
      loads PATH uncompiled, writes seeded inputs D/in<i>.npy (integers
      below the Embedding's input_dim for integer inputs), Keras' outputs
      D/ref<i>.npy, and the outputs for float inputs scaled by 1 + 1e-7
      D/pert<i>.npy (Keras' own sensitivity to one rounding);
      prints {"inputs": n, "outputs": m, "classes": [...]} or {"error": ...}.
  {"op": "predict", "model": PATH, "dir": D, "inputs": n, "prefix": P}
      loads PATH uncompiled and writes its outputs on D/in<i>.npy as
      D/<P><i>.npy; prints {"outputs": m} or {"error": ...}.
One process serves many jobs, so TensorFlow starts once.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402


def load(path):
    import keras
    if keras.__version__.startswith("3"):
        return keras.saving.load_model(path, compile=False, safe_mode=False)
    import tensorflow as tf
    return tf.keras.models.load_model(path, compile=False)


def input_specs(m):
    try:
        inputs = m.inputs if isinstance(m.inputs, list) else [m.inputs]
        return [([2 if d is None else int(d) for d in t.shape], str(getattr(t, "dtype", "float32")))
                for t in inputs]
    except AttributeError:
        # A Keras 3 Sequential never built on an input: it takes any length.
        first = m.layers[0]
        return [([2, 8], "int32" if type(first).__name__ == "Embedding" else "float32")]


def make_inputs(m):
    rng = np.random.default_rng(0)
    high = 10
    for layer in m.layers:
        if type(layer).__name__ == "Embedding":
            high = int(layer.input_dim)
            break
    embedding_first = any(type(layer).__name__ == "Embedding" for layer in m.layers[:3])
    xs = []
    for shape, dt in input_specs(m):
        dt = dt.replace("<dtype: '", "").replace("'>", "")
        if "int" in dt:
            xs.append(rng.integers(0, high, size=shape).astype(dt))
        elif embedding_first:
            xs.append(rng.integers(0, high, size=shape).astype("float32"))
        else:
            xs.append(rng.standard_normal(shape).astype("float32"))
    return xs


def predict(m, xs):
    y = m.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    return [np.asarray(v) for v in (y if isinstance(y, (list, tuple)) else [y])]


def save_all(d, prefix, arrays):
    for i, v in enumerate(arrays):
        np.save(os.path.join(d, "%s%d.npy" % (prefix, i)), v)


def run(job):
    m = load(job["model"])
    d = job["dir"]
    if job["op"] == "reference":
        xs = make_inputs(m)
        save_all(d, "in", xs)
        ys = predict(m, xs)
        save_all(d, "ref", ys)
        xp = [x * np.float32(1 + 1e-7) if x.dtype.kind == "f" else x for x in xs]
        save_all(d, "pert", predict(m, xp))
        return {"inputs": len(xs), "outputs": len(ys),
                "classes": sorted({type(layer).__name__ for layer in m.layers})}
    xs = [np.load(os.path.join(d, "in%d.npy" % i)) for i in range(job["inputs"])]
    ys = predict(m, xs)
    save_all(d, job["prefix"], ys)
    return {"outputs": len(ys)}


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        try:
            out = run(job)
        except Exception as e:  # any failure is that file's result, not the run's
            out = {"error": (type(e).__name__ + ": " + str(e)).splitlines()[0][:200] if str(e)
                   else type(e).__name__}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
