"""Checks that the files ckeras saves load in Keras and give Keras' numbers.

Usage: /opt/kref/bin/python tools/roundtrip_in_keras.py CKERAS_BINARY DIR [DIR ...]
                                                    [--k3 /opt/k3/bin/python] [--keep OUT_DIR]

For every full model file (.h5 / .keras) under the folders: the Keras that
wrote it (tf.keras 2.15, or Keras 3 for Keras 3 files) loads it and predicts
on a seeded input (the reference); `ckeras convert` saves it again as .h5
and as .keras; tf.keras 2.15 loads both of ckeras' files and predicts on the
same input.  One line per file, then the totals:
  OK          both of ckeras' files load in tf.keras and match the reference
              (max |diff| <= 1e-4 * (1 + |y|), or within 100x Keras' own
              change under one rounding of the input)
  FAIL        ckeras' file does not load in tf.keras, or differs
  ckeras error / keras error (the original does not load in its own Keras;
              left out of the rate).
ckeras writes tf.keras 2.x files, so Keras 3 originals are checked for a
lossless conversion into tf.keras 2.15.  CI has no TensorFlow: this is run
by hand; the test data and the corpus of real files (tools/real_corpus_check.py)
are what it is meant for.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from keras_jobs import compare, keras_version, run_jobs, sensitivity


def model_files(dirs):
    for top in dirs:
        for base, _, names in os.walk(top):
            for n in sorted(names):
                if n.lower().endswith((".h5", ".keras", ".hdf5")):
                    yield os.path.join(base, n)


def main():
    args = sys.argv[1:]
    k3 = "/opt/k3/bin/python"
    keep = None
    if "--k3" in args:
        i = args.index("--k3")
        k3 = args[i + 1]
        del args[i:i + 2]
    if "--keep" in args:
        i = args.index("--keep")
        keep = args[i + 1]
        del args[i:i + 2]
    ckeras, dirs = args[0], args[1:]
    work = keep or tempfile.mkdtemp(prefix="roundtrip_")
    files = list(model_files(dirs))
    cases = []
    for k, path in enumerate(files):
        d = os.path.join(work, "%04d" % k)
        os.makedirs(d, exist_ok=True)
        ver = keras_version(path)
        py = k3 if ver.startswith("3") and os.path.exists(k3) else sys.executable
        cases.append({"path": path, "dir": d, "ver": ver, "py": py})

    # 1. The reference, in the Keras that wrote each file.
    for py in sorted({c["py"] for c in cases}):
        group = [c for c in cases if c["py"] == py]
        res = run_jobs(py, [{"op": "reference", "model": c["path"], "dir": c["dir"]} for c in group])
        for c, r in zip(group, res):
            c["ref"] = r

    # 2. ckeras saves each model again, in both formats.
    jobs = []
    for c in cases:
        if "error" in c["ref"]:
            continue
        c["saved"] = []
        for ext in ("h5", "keras"):
            out = os.path.join(c["dir"], "ckeras." + ext)
            r = subprocess.run([ckeras, "convert", c["path"], out], capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                c["ckeras_error"] = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1][:160]
                break
            c["saved"].append(ext)
        if "ckeras_error" in c:
            continue
        for ext in c["saved"]:
            jobs.append((c, ext, {"op": "predict", "model": os.path.join(c["dir"], "ckeras." + ext),
                                  "dir": c["dir"], "inputs": c["ref"]["inputs"], "prefix": "got_%s_" % ext}))

    # 3. tf.keras 2.15 loads what ckeras wrote.
    for (c, ext, _), r in zip(jobs, run_jobs(sys.executable, [j for _, _, j in jobs])):
        c.setdefault("loaded", {})[ext] = r

    counts = {"ok": 0, "fail": 0, "ckeras_error": 0, "keras_error": 0}
    for c in cases:
        name = os.path.relpath(c["path"])
        if "error" in c["ref"]:
            counts["keras_error"] += 1
            print("%-72s keras error (%s): %s" % (name, c["ver"], c["ref"]["error"]), flush=True)
            continue
        if "ckeras_error" in c:
            counts["ckeras_error"] += 1
            print("%-72s ckeras error (%s): %s" % (name, c["ver"], c["ckeras_error"]), flush=True)
            continue
        n = c["ref"]["outputs"]
        refs = [os.path.join(c["dir"], "ref%d.npy" % i) for i in range(n)]
        wobble = sensitivity(refs, [os.path.join(c["dir"], "pert%d.npy" % i) for i in range(n)])
        problems, worst = [], 0.0
        for ext in ("h5", "keras"):
            r = c["loaded"][ext]
            if "error" in r:
                problems.append("tf.keras cannot load ckeras' .%s: %s" % (ext, r["error"]))
                continue
            diff = compare(refs, [os.path.join(c["dir"], "got_%s_%d.npy" % (ext, i)) for i in range(n)])
            worst = max(worst, diff)
            if not (diff <= 1e-4 or diff <= 100 * wobble):
                problems.append(".%s differs by %.2e" % (ext, diff))
        counts["fail" if problems else "ok"] += 1
        print("%-72s %s (%s) %s" % (name, "FAIL" if problems else "OK", c["ver"],
                                    "; ".join(problems) if problems else "max rel diff %.2e" % worst), flush=True)
    loadable = counts["ok"] + counts["fail"] + counts["ckeras_error"]
    print("files Keras loads: %d; ckeras' .h5 and .keras load in tf.keras 2.15 with Keras' numbers for %d (%.0f%%), "
          "fail for %d, ckeras cannot convert %d; Keras itself fails on %d"
          % (loadable, counts["ok"], 100.0 * counts["ok"] / max(loadable, 1), counts["fail"],
             counts["ckeras_error"], counts["keras_error"]))
    if not keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
