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
import os, subprocess, sys, tempfile

from keras_jobs import compare, keras_version, run_jobs, sensitivity


def main():
    corpus, ckeras = sys.argv[1], sys.argv[2]
    k3 = sys.argv[sys.argv.index("--k3") + 1] if "--k3" in sys.argv else "/opt/k3/bin/python"
    counts = {"match": 0, "mismatch": 0, "ckeras_error": 0, "keras_error": 0}
    work = tempfile.mkdtemp(prefix="corpus_")
    cases = []
    for name in sorted(os.listdir(corpus)):
        if not name.lower().endswith((".h5", ".keras", ".hdf5")):
            continue
        path = os.path.join(corpus, name)
        ver = keras_version(path)
        py = k3 if ver.startswith("3") and os.path.exists(k3) else sys.executable
        d = os.path.join(work, "%04d" % len(cases))
        os.makedirs(d)
        cases.append({"name": name, "path": path, "ver": ver, "py": py, "dir": d})
    for py in sorted({c["py"] for c in cases}):
        group = [c for c in cases if c["py"] == py]
        for c, r in zip(group, run_jobs(py, [{"op": "reference", "model": c["path"], "dir": c["dir"]} for c in group])):
            c["info"] = r
    for c in cases:
        name, ver, d, info = c["name"], c["ver"], c["dir"], c["info"]
        if "error" in info:
            counts["keras_error"] += 1
            print("%-70s keras error (%s): %s" % (name, ver, info["error"]), flush=True)
            continue
        ins = [os.path.join(d, "in%d.npy" % i) for i in range(info["inputs"])]
        args = [ckeras, "predict", c["path"]] + ins
        args += ["-o", os.path.join(d, "out.npy")] if info["outputs"] == 1 else ["--output-dir", d]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            counts["ckeras_error"] += 1
            print("%-70s ckeras error (%s): %s" % (name, ver, r.stderr.strip().splitlines()[-1][:160] if r.stderr.strip() else r.returncode), flush=True)
            continue
        n = info["outputs"]
        refs = [os.path.join(d, "ref%d.npy" % i) for i in range(n)]
        gots = [os.path.join(d, "out.npy")] if n == 1 else [os.path.join(d, "output_%d.npy" % i) for i in range(n)]
        worst = compare(refs, gots)
        wobble = sensitivity(refs, [os.path.join(d, "pert%d.npy" % i) for i in range(n)])
        # A model whose Keras output moves by more than 1e-4 under one
        # rounding of its input cannot be matched to 1e-4 by anyone:
        # ckeras matches it if it stays within 100x Keras' own wobble.
        ok = worst <= 1e-4 or worst <= 100 * wobble
        counts["match" if ok else "mismatch"] += 1
        tag = "MATCH" if worst <= 1e-4 else ("MATCH (ill-conditioned)" if ok else "MISMATCH")
        print("%-70s %s (%s) max rel diff %.2e, Keras' own under 1e-7 input change %.2e" %
              (name, tag, ver, worst, wobble), flush=True)
    loadable = counts["match"] + counts["mismatch"] + counts["ckeras_error"]
    print("files Keras loads: %d; ckeras matches Keras on %d (%.0f%%), loads but differs on %d, fails on %d; "
          "Keras itself fails on %d" % (loadable, counts["match"], 100.0 * counts["match"] / max(loadable, 1),
                                        counts["mismatch"], counts["ckeras_error"], counts["keras_error"]))
    import shutil
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
