"""Fixtures for the file faults of issue 8 (tests/io/test_file_faults.c).

Run with tf.keras 2.15: /opt/kref/bin/python tools/gen_file_faults.py
Writes tests/data/faults/:
  lambda.json      a model JSON with a Lambda layer (its marshalled code holds \\u0000 escapes)
  wrapped.json     json.dump(model.to_json()): the model JSON as one JSON string
  plain.json       the same model's JSON, unwrapped (the test compares both)
  windows.keras    a .keras archive whose weights groups are named as Keras 3.0 on Windows
                   wrote them (os.path.join: "layers\\embedding"), with windows_expected.json
  ckpt_deps.keras  a .keras archive whose layers sit under "_layer_checkpoint_dependencies/dense",
                   ".../dense_2" as tf.keras 2.13-2.14 saved some models, with ckpt_deps_expected.json
"""
import io, json, os, zipfile
import numpy as np
import h5py
import tensorflow as tf

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "faults")
os.makedirs(OUT, exist_ok=True)

# 1. Lambda: to_json marshals the function's bytecode, with NUL bytes as \u0000.
inp = tf.keras.Input((3,))
m = tf.keras.Model(inp, tf.keras.layers.Lambda(lambda x: x * 2.0)(tf.keras.layers.Dense(2)(inp)))
# tf.keras 2.15 stores the code base64-encoded; Keras <= 2.1 stored
# marshal.dumps(code).decode("raw_unicode_escape"), which is how real files
# come to hold \u0000.  Write it the old way.
import marshal
cfg = json.loads(m.to_json())
lam = [l for l in cfg["config"]["layers"] if l["class_name"] == "Lambda"][0]
lam["config"]["function"] = [marshal.dumps((lambda x: x * 2.0).__code__).decode("raw_unicode_escape"), None, None]
lam["config"]["function_type"] = "lambda"
text = json.dumps(cfg)
assert "\\u0000" in text, "the Lambda JSON was expected to hold \\u0000"
open(os.path.join(OUT, "lambda.json"), "w").write(text)

# 2. A wrapped architecture file.
inp = tf.keras.Input((3,))
m = tf.keras.Model(inp, tf.keras.layers.Dense(2, activation="relu", name="d")(inp))
with open(os.path.join(OUT, "wrapped.json"), "w") as f:
    json.dump(m.to_json(), f)
open(os.path.join(OUT, "plain.json"), "w").write(m.to_json())

# 3. A Windows-written .keras archive.
tf.keras.utils.set_random_seed(3)
m = tf.keras.Sequential([tf.keras.Input((4,), dtype="int32"), tf.keras.layers.Embedding(10, 3),
                         tf.keras.layers.Flatten(), tf.keras.layers.Dense(2)])
m.layers[-1].set_weights([np.arange(24, dtype=np.float32).reshape(12, 2) / 10 - 1,
                          np.array([0.5, -0.25], np.float32)])
tmp = os.path.join(OUT, "_tmp.keras")
m.save(tmp)
x = np.array([[1, 2, 3, 9], [0, 5, 5, 7]], np.int32)
y = m.predict(x, verbose=0)
with zipfile.ZipFile(tmp) as z:
    entries = {n: z.read(n) for n in z.namelist()}
os.remove(tmp)
src = h5py.File(io.BytesIO(entries["model.weights.h5"]), "r")
buf = io.BytesIO()
dst = h5py.File(buf, "w")


def copy(g, prefix):
    # Keras 3.0 on Windows: H5IOStore.make(path) created one group named by
    # the whole backslash-joined path, holding "vars".
    for k, v in g.items():
        p = prefix + [k]
        if isinstance(v, h5py.Dataset):
            dst.create_dataset("\\".join(p[:-2]) + "/" + p[-2] + "/" + p[-1] if len(p) > 2 else "/".join(p),
                               data=v[()])
        else:
            if k == "vars":
                grp = dst.require_group("\\".join(prefix) if prefix else "/").require_group("vars") \
                    if prefix else dst.require_group("vars")
                for a, av in v.attrs.items():
                    grp.attrs[a] = av
            copy(v, p)


copy(src, [])
dst.close()
names = []
h5py.File(io.BytesIO(buf.getvalue()), "r").visit(names.append)
assert any("\\" in n for n in names), names
entries["model.weights.h5"] = buf.getvalue()
with zipfile.ZipFile(os.path.join(OUT, "windows.keras"), "w") as z:
    for n, d in entries.items():
        z.writestr(n, d)
json.dump({"x": x.tolist(), "y": y.tolist(), "h5_names": names},
          open(os.path.join(OUT, "windows_expected.json"), "w"), indent=1)
print("ok", names)

# 4. tf.keras 2.13-2.14: layers saved under _layer_checkpoint_dependencies/,
# named by snake-case class with suffixes that skip (that dict lists each
# layer with weights twice, and the second visit still takes a number), as
# in a real tf.keras 2.13 file: the 1st Dense is "dense", the 2nd "dense_2".
# The layer names ("hidden", "scores") match none of them.
tf.keras.utils.set_random_seed(4)
m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(4, activation="tanh", name="hidden"),
                         tf.keras.layers.Dropout(0.5, name="drop"), tf.keras.layers.Dense(2, name="scores")])
tmp = os.path.join(OUT, "_tmp.keras")
m.save(tmp)
x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)
y = m.predict(x, verbose=0)
with zipfile.ZipFile(tmp) as z:
    entries = {n: z.read(n) for n in z.namelist()}
os.remove(tmp)
src = h5py.File(io.BytesIO(entries["model.weights.h5"]), "r")
buf = io.BytesIO()
dst = h5py.File(buf, "w")
names = {"layers/dense": "dense", "layers/dropout": "dropout", "layers/dense_1": "dense_2"}
for k, v in names.items():
    src.copy(src[k], dst, "_layer_checkpoint_dependencies/" + v)
for k in src.keys():
    if k != "layers":
        src.copy(src[k], dst, k)
dst.close()
entries["model.weights.h5"] = buf.getvalue()
with zipfile.ZipFile(os.path.join(OUT, "ckpt_deps.keras"), "w") as z:
    for n, d in entries.items():
        z.writestr(n, d)
json.dump({"x": x.tolist(), "y": y.tolist()}, open(os.path.join(OUT, "ckpt_deps_expected.json"), "w"), indent=1)
print("ok ckpt_deps")
