"""Loads ckeras-written model files in tf.keras 2.15 and checks that they
come back compiled, with ckeras' optimizer state, the same predictions, and
that one more epoch in tf.keras lands where ckeras' own resumed training
did.  CI has no TensorFlow, so this is run by hand:

    (cd build && ctest -R model_files_train)     # writes tmp/ckeras_files
    /opt/kref/bin/python tools/verify_ckeras_files_in_tf.py build/tmp/ckeras_files

For each case <name> the test leaves <name>.h5 and <name>.keras (trained
one epoch by ckeras, compiled), <name>_x.npy / <name>_y.npy (the data),
<name>_pred.npy (ckeras' predictions from the saved state) and
<name>_after.h5 (ckeras' model after one more epoch, shuffle off, batch 8).
Exit status 0 when every check passes.
"""
import glob
import os
import sys

import h5py
import numpy as np
from tensorflow import keras

TOL = 1e-5


def ckeras_optimizer_state(path):
    """The optimizer variables ckeras wrote into an .h5 (weight_names order)."""
    with h5py.File(path, "r") as f:
        g = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
        return names, [np.array(g[n]) for n in names]


def check_file(path, x, y, pred, after_path):
    problems = []
    m = keras.models.load_model(path, compile=True)
    if m.optimizer is None or not m._is_compiled:
        return [f"{path}: not compiled after loading"]
    names, want = ckeras_optimizer_state(os.path.splitext(path)[0] + ".h5")
    got = [v.numpy() for v in m.optimizer.variables]
    if len(got) != len(want):
        problems.append(f"{path}: {len(got)} optimizer variables, ckeras wrote {len(want)}")
    else:
        for n, a, b in zip(names, got, want):
            if a.shape != b.shape or np.max(np.abs(a.astype("float64") - b)) > TOL:
                problems.append(f"{path}: optimizer variable {n} differs")
        # Slots tf.keras creates while loading are named outside the
        # optimizer's name scope ("m/dense/kernel:0" for the
        # "Adam/m/dense/kernel:0" it writes after training), so the names
        # are compared without that scope.
        for v, n in zip(m.optimizer.variables, names):
            if n != v.name and not n.endswith("/" + v.name):
                problems.append(f"{path}: optimizer variable {v.name} where ckeras wrote {n}")
    p = m.predict(x, verbose=0)
    pred_diff = float(np.max(np.abs(p - pred)))
    if pred_diff > TOL:
        problems.append(f"{path}: predictions differ from ckeras' by {pred_diff:g}")
    m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    after = keras.models.load_model(after_path, compile=False)
    for w, a, b in zip(m.weights, m.get_weights(), after.get_weights()):
        d = float(np.max(np.abs(a - b)))
        if d > TOL:
            problems.append(f"{path}: after one more epoch {w.name} differs from ckeras' by {d:g}")
    print(f"{os.path.basename(path)}: compiled ({m.optimizer.__class__.__name__}, "
          f"{int(m.optimizer.iterations.numpy())} iterations, loss {m.loss!r}), "
          f"{len(got)} optimizer variables, prediction diff {pred_diff:.2g}: {'ok' if not problems else 'FAIL'}")
    return problems


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build-files", "tmp", "ckeras_files")
    problems = []
    cases = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(folder, "*.h5"))
                   if not p.endswith("_after.h5"))
    if not cases:
        sys.exit(f"no ckeras files in {folder}: run the model_files_train test first")
    for name in cases:
        base = os.path.join(folder, name)
        x, y, pred = (np.load(f"{base}_{k}.npy") for k in ("x", "y", "pred"))
        for ext in (".h5", ".keras"):
            try:
                problems += check_file(base + ext, x, y, pred, f"{base}_after.h5")
            except Exception as e:  # one file's failure must not hide the others'
                problems.append(f"{base + ext}: {type(e).__name__}: {e}")
    for p in problems:
        print("FAIL", p)
    print(f"{len(cases) * 2} files, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
