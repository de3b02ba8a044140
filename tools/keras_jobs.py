"""Shared by the file checks (tools/real_corpus_check.py,
tools/roundtrip_in_keras.py): which Keras wrote a file, running
tools/keras_worker.py jobs under a reference Python, and comparing outputs."""
import json
import os
import subprocess
import tempfile
import zipfile

import numpy as np

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_worker.py")


def keras_version(path):
    """The keras_version a file records ("" when unknown)."""
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


def run_jobs(python, jobs, timeout=1800):
    """Runs the jobs in as few worker processes as possible: a job that
    kills its worker (TensorFlow can crash on a file) is that job's error
    and the rest go on in a new worker."""
    results = []
    while len(results) < len(jobs):
        rest = jobs[len(results):]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(rest, f)
        try:
            r = subprocess.run([python, WORKER, f.name], capture_output=True, text=True, timeout=timeout)
            out = r.stdout
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        finally:
            os.unlink(f.name)
        lines = [json.loads(s) for s in out.splitlines() if s.startswith("{")]
        results += lines[:len(rest)]
        if len(lines) < len(rest):
            results.append({"error": "the Keras worker died on this file"})
    return results


def compare(ref_paths, got_paths):
    """The worst relative difference |ref - got| / (1 + |ref|) over all
    outputs (NaN where both are NaN counts as equal; a shape or count
    mismatch is infinite)."""
    if len(ref_paths) != len(got_paths):
        return float("inf")
    worst = 0.0
    for rp, gp in zip(ref_paths, got_paths):
        if not os.path.exists(gp):
            return float("inf")
        ref = np.load(rp).astype(np.float64)
        got = np.load(gp).astype(np.float64)
        if ref.shape != got.shape:
            return float("inf")
        both_nan = np.isnan(ref) & np.isnan(got)
        err = np.where(both_nan, 0.0, np.abs(ref - got) / (1.0 + np.abs(ref)))
        if err.size:
            worst = max(worst, float(np.nan_to_num(err, nan=np.inf).max()))
    return worst


def sensitivity(ref_paths, pert_paths):
    """How far Keras' own outputs move under one rounding of the inputs."""
    s = 0.0
    for rp, pp in zip(ref_paths, pert_paths):
        ref = np.load(rp).astype(np.float64)
        pert = np.load(pp).astype(np.float64)
        if pert.size and pert.shape == ref.shape:
            s = max(s, float(np.nanmax(np.abs(pert - ref) / (1.0 + np.abs(ref)))))
    return s
