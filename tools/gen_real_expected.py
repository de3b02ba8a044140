#!/usr/bin/python3
"""Expected outputs of the real Keras files, as small .npy fixtures.

Run with Debian's /usr/bin/python3 (it has numpy and h5py):

    /usr/bin/python3 tools/gen_real_expected.py [SHARED_KERAS_DIR] [OUT_DIR]

SHARED_KERAS_DIR defaults to ../shared/testdata/keras (next to the repo),
OUT_DIR to tests/data/keras_expected.  For each folder of SHARED_KERAS_DIR
that stores model inputs and the outputs real Keras computed for them, this
writes OUT_DIR/<same folder>/*.npy (format 1.0, little-endian, C order),
read by tests/model/test_real_*.c:

  siamese-cosine-dot-keras2_4/
      inputs.npy          (4, 339) float32  inputs_binned_4x339.txt
      expected.npy        (4, 3)   float64  expected_outputs.json, the cosine
                                            matrix from upstream's test suite
                                            (Keras model.base.predict + cosine)
  hls4ml-mnist-mlp-io/
      inputs.npy          (3, 784) float32  KERAS_mnist_mlp_inputs.dat
      expected.npy        (3, 10)  float64  KERAS_mnist_mlp_outputs.dat
  hls4ml-svhn-mlp-io/
      inputs.npy          (8, 1024) float32 svhn_grayscale_mlp_input_features.dat
      expected.npy        (8, 10)  float64  svhn_grayscale_mlp_predictions.dat
  dl4j-dense-activations-io/
      <case>_inputs.npy   float32  inputs/<name> of <case>_inputs_and_outputs.h5
      <case>_expected.npy float32  predictions/<name> (Keras model.predict)
      io_names.json       the names Keras gave the model's input and output
                          layers (root attrs inputs / outputs of those files;
                          a Sequential's input is "<first layer>_input")
  recsys-dot-keras2_13/, recsys-dot-keras3/
      input0.npy, input1.npy (N, 1) float32  the ids of expected_outputs.json
      expected.npy        (N, 1) float64  its expected values
  dl4j-legacy-formats/
      dense_inputs.npy    (3, 4) float32  chosen here (exact binary fractions)
      dense_expected.npy  (3, 6) float64  numpy: inputs @ kernel + bias with
                                          kernel/bias read by h5py from
                                          dense_tensorflow_2.h5.  Not a Keras
                                          run: the DL4J generator gave these
                                          files analytic weights
                                          (arange(24).reshape(4,6), arange(6)),
                                          so numpy is an exact reference; all
                                          four dense_*.h5 hold them.

Numpy forward passes (not Keras runs: these files come with no outputs, so
the reference is numpy in float64 on the files' own float32 weights, read
with h5py/zipfile, following the Keras definitions of keras-spec.md):

  dl4j-tfkeras-dense/
      <file>_inputs.npy, <file>_expected.npy   every act_*, mlp_*, misc_*
                      file: Dense with each built-in activation (Keras 2.x
                      hard_sigmoid), Activation, Dropout / AlphaDropout
                      (identity at inference), Embedding -> Dense on rank 3
  keras3-wide-deep/
      my_model_h5_input{0,1}.npy, my_model_h5_expected.npy,
      my_model_keras_input{0,1}.npy, my_model_keras_expected.npy
                      the two Keras 3.6 saves (different trainings):
                      Normalization (x - mean) / max(sqrt(var), 1e-7),
                      Dense, Concatenate; inputs in input_layers order

The recsys and keras3-wide-deep folders have no licence: their model files are not copied into
the repo, but the expected values here are plain numbers that the folders'
PROVENANCE transcribes from the notebooks' printed model outputs (6 decimals
for keras2_13, 8 significant digits for keras3), or numpy's outputs for inputs chosen here.

No value here comes from ckeras.
"""
import json
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def save(out_dir, folder, name, array):
    d = os.path.join(out_dir, folder)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    np.save(path, np.ascontiguousarray(array))
    print(f"{os.path.relpath(path, REPO)} {array.dtype} {array.shape}")


def siamese(src, out):
    folder = "siamese-cosine-dot-keras2_4"
    inputs = np.loadtxt(os.path.join(src, folder, "inputs_binned_4x339.txt"), dtype=np.float64)
    assert inputs.shape == (4, 339)
    with open(os.path.join(src, folder, "expected_outputs.json")) as f:
        expected = np.array(json.load(f)["expected_cosine_rows_refs0to3_cols_queries0to2"], dtype=np.float64)
    assert expected.shape == (4, 3)
    # The text holds float32 values printed with %.9g: the cast is exact.
    save(out, folder, "inputs.npy", inputs.astype(np.float32))
    save(out, folder, "expected.npy", expected)


def dat_pair(src, out, folder, inputs_name, outputs_name, shape_in, shape_out):
    inputs = np.loadtxt(os.path.join(src, folder, inputs_name), dtype=np.float64, ndmin=2)
    outputs = np.loadtxt(os.path.join(src, folder, outputs_name), dtype=np.float64, ndmin=2)
    assert inputs.shape == shape_in and outputs.shape == shape_out, (inputs.shape, outputs.shape)
    save(out, folder, "inputs.npy", inputs.astype(np.float32))
    save(out, folder, "expected.npy", outputs)


DL4J_CASES = ["ELU_0", "LeakyReLU_0", "ReLU_0", "ReLU_1", "ReLU_2", "ReLU_3", "Softmax_0", "ThresholdReLU_0",
              "simple_sparse_xent_mlp_keras_2"]


def dl4j_activations(src, out):
    folder = "dl4j-dense-activations-io"
    names = {}
    for case in DL4J_CASES:
        with h5py.File(os.path.join(src, folder, f"{case}_inputs_and_outputs.h5"), "r") as f:
            (in_name,) = json.loads(f.attrs["inputs"])["inputs"]
            (out_name,) = json.loads(f.attrs["outputs"])["outputs"]
            x = f["inputs"][in_name][()]
            y = f["predictions"][out_name][()]
            assert np.array_equal(y, f["outputs"][out_name][()])
        save(out, folder, f"{case}_inputs.npy", x)
        save(out, folder, f"{case}_expected.npy", y)
        names[case] = {"input": in_name, "output": out_name}
    path = os.path.join(out, folder, "io_names.json")
    with open(path, "w") as f:
        json.dump(names, f, indent=1)
        f.write("\n")
    print(os.path.relpath(path, REPO))


def recsys(src, out, folder, keys):
    with open(os.path.join(src, folder, "expected_outputs.json")) as f:
        cases = json.load(f)["cases"]
    for i, k in enumerate(keys):
        save(out, folder, f"input{i}.npy", np.array([[c[k]] for c in cases], dtype=np.float32))
    save(out, folder, "expected.npy", np.array([[c["expected"]] for c in cases], dtype=np.float64))


def dl4j_dense(src, out):
    folder = "dl4j-legacy-formats"
    with h5py.File(os.path.join(src, folder, "dense_tensorflow_2.h5"), "r") as f:
        g = f["model_weights"]["dense_1"]["dense_1"]
        kernel = g["kernel:0"][()].astype(np.float64)
        bias = g["bias:0"][()].astype(np.float64)
    assert np.array_equal(kernel, np.arange(24).reshape(4, 6)) and np.array_equal(bias, np.arange(6))
    x = np.array([[0.5, -1.0, 2.25, 0.0], [1.0, 1.0, 1.0, 1.0], [-0.75, 3.5, -2.0, 0.125]], dtype=np.float64)
    save(out, folder, "dense_inputs.npy", x.astype(np.float32))
    save(out, folder, "dense_expected.npy", x @ kernel + bias)


# ---- numpy references -------------------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def activation(name, x):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(x))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "hard_sigmoid":  # Keras 2.x
        return np.clip(0.2 * x + 0.5, 0, 1)
    if name == "tanh":
        return np.tanh(x)
    if name == "softplus":
        return np.logaddexp(0, x)
    if name == "softsign":
        return x / (1 + np.abs(x))
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(name)


def h5_layer_weights(group, name):
    g = group[name]
    return [g[n][()].astype(np.float64) for n in [w.decode() if isinstance(w, bytes) else w
                                                 for w in g.attrs.get("weight_names", [])]]


def dl4j_tfkeras(src, out):
    folder = "dl4j-tfkeras-dense"
    rng = np.random.default_rng(20240521)
    for name in sorted(os.listdir(os.path.join(src, folder))):
        if not name.endswith(".h5"):
            continue
        with h5py.File(os.path.join(src, folder, name), "r") as f:
            config = json.loads(f.attrs["model_config"])
            layers = config["config"]["layers"]
            # all are chains: each layer consumes the previous one
            width = layers[0]["config"]["batch_input_shape"][1]
            embedding = any(l["class_name"] == "Embedding" for l in layers)
            if embedding:
                x = rng.integers(0, 10, size=(4, width)).astype(np.float64)
            else:
                x = rng.uniform(-3, 3, size=(6, width)).astype(np.float32).astype(np.float64)
            h = x
            for l in layers[1:]:
                cls, c = l["class_name"], l["config"]
                w = h5_layer_weights(f["model_weights"], c["name"])
                if cls == "Dense":
                    h = h @ w[0] + (w[1] if c["use_bias"] else 0)
                    h = activation(c["activation"], h)
                elif cls == "Activation":
                    h = activation(c["activation"], h)
                elif cls == "Embedding":
                    h = w[0][h.astype(np.int64)]
                elif cls in ("Dropout", "AlphaDropout"):
                    pass
                else:
                    raise ValueError(cls)
        stem = name[:-3]
        save(out, folder, f"{stem}_inputs.npy", x.astype(np.float32))
        save(out, folder, f"{stem}_expected.npy", h)


def wide_deep_forward(config, weights, xs):
    """config: the model config's "config"; weights: layer name -> list of
    arrays; xs: input layer name -> array.  Keras 3 inbound_nodes."""
    values = dict(xs)
    pending = [l for l in config["layers"] if l["class_name"] != "InputLayer"]
    while pending:
        for l in list(pending):
            node = l["inbound_nodes"][0]
            args = node["args"][0]
            refs = [a["config"]["keras_history"][0] for a in (args if isinstance(args, list) else [args])]
            if not all(r in values for r in refs):
                continue
            cls, c, w = l["class_name"], l["config"], weights.get(l["config"]["name"], [])
            ins = [values[r] for r in refs]
            if cls == "Normalization":
                mean, var = w[0], w[1]
                y = (ins[0] - mean) / np.maximum(np.sqrt(var), 1e-7)
            elif cls == "Dense":
                y = activation(c["activation"], ins[0] @ w[0] + (w[1] if c["use_bias"] else 0))
            elif cls == "Concatenate":
                y = np.concatenate(ins, axis=c["axis"])
            else:
                raise ValueError(cls)
            values[c["name"]] = y
            pending.remove(l)
    (out_name, _, _), = config["output_layers"] if isinstance(config["output_layers"][0], list) \
        else [config["output_layers"]]
    return values[out_name]


def keras3_wide_deep(src, out):
    import io
    import zipfile
    folder = "keras3-wide-deep"
    rng = np.random.default_rng(7)
    # the .h5: Keras 3 legacy HDF5, weights under model_weights/<layer>
    with h5py.File(os.path.join(src, folder, "my_model.h5"), "r") as f:
        config = json.loads(f.attrs["model_config"])["config"]
        weights = {n.decode() if isinstance(n, bytes) else n: None for n in f["model_weights"].attrs["layer_names"]}
        weights = {n: h5_layer_weights(f["model_weights"], n) for n in weights}
    cases = [("my_model_h5", config, weights)]
    # the .keras: variables under layers/<path>/vars/<i>, the vars group's
    # "name" attribute naming the layer (Keras 3.6)
    with zipfile.ZipFile(os.path.join(src, folder, "my_model.keras")) as z:
        config = json.loads(z.read("config.json"))["config"]
        weights = {}
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            for key in f["layers"]:
                v = f["layers"][key]["vars"]
                weights[v.attrs["name"]] = [v[str(i)][()].astype(np.float64) for i in range(len(v))]
    cases.append(("my_model_keras", config, weights))
    for stem, config, weights in cases:
        xs, names = {}, [r[0] for r in config["input_layers"]]
        for i, name in enumerate(names):
            layer = next(l for l in config["layers"] if l["config"]["name"] == name)
            width = layer["config"]["batch_shape"][1]
            # values around the data the Normalization layers saw
            norm = next(l for l in config["layers"]
                        if l["class_name"] == "Normalization"
                        and l["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] == name)
            mean, var = weights[norm["config"]["name"]][:2]
            xs[name] = (mean + np.sqrt(var) * rng.standard_normal((5, width))).astype(np.float32).astype(np.float64)
            save(out, folder, f"{stem}_input{i}.npy", xs[name].astype(np.float32))
        save(out, folder, f"{stem}_expected.npy", wide_deep_forward(config, weights, xs))


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "testdata", "keras")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, "tests", "data", "keras_expected")
    siamese(src, out)
    dat_pair(src, out, "hls4ml-mnist-mlp-io", "KERAS_mnist_mlp_inputs.dat", "KERAS_mnist_mlp_outputs.dat",
             (3, 784), (3, 10))
    dat_pair(src, out, "hls4ml-svhn-mlp-io", "svhn_grayscale_mlp_input_features.dat",
             "svhn_grayscale_mlp_predictions.dat", (8, 1024), (8, 10))
    dl4j_activations(src, out)
    recsys(src, out, "recsys-dot-keras2_13", ["input_1", "input_2"])
    recsys(src, out, "recsys-dot-keras3", ["Movies", "Users"])
    dl4j_dense(src, out)
    dl4j_tfkeras(src, out)
    keras3_wide_deep(src, out)


if __name__ == "__main__":
    main()
