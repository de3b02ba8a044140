#!/usr/bin/env python3
"""Inference peers for bench/bench_infer.c: ONNX Runtime, TensorFlow, PyTorch.

Two commands, each run by bench_infer in a process of its own:

  prepare DIR MODEL...      (a Python with TensorFlow and onnx)
      Reads DIR/MODEL.h5 (saved by ckeras), and writes DIR/MODEL.onnx (an
      ONNX graph built by hand with onnx.helper from the Keras layers: no
      converter between the Keras file and the graph) and DIR/MODEL.npz (the
      same layers as a plain list for PyTorch, which needs no TensorFlow).

  run --peer ort|tf|torch --threads T DIR CASE...
      CASE is NAME:MODEL:BATCH.  Inputs are DIR/NAME.x0.npy (and .x1.npy for
      two-input models), ckeras' outputs DIR/NAME.ck.npy.  For each case it
      prints "RESULT NAME <us per call> <max abs diff against ckeras>", or
      "SKIP <reason>" (exit status 3) when the framework is missing.

Timing, as bench_infer times ckeras: warm-up calls, then REPEATS windows of
at least WINDOW seconds, the median window's time per call.  Peers run
their models as their users would: ONNX Runtime with every graph
optimisation, TensorFlow as tf.function of the Keras model, PyTorch as a
frozen TorchScript module under inference_mode.  Thread counts are set
before each framework starts its pools (intra-op T, inter-op 1).
"""
import json
import os
import sys
import time

REPEATS = 5
WINDOW = 0.2
WARMUP = 0.05


def set_thread_env(threads):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def timed(call):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < WARMUP:
        call()
    per_call = []
    for _ in range(REPEATS):
        # the clock read every k calls, k doubling while the window is young
        # (as bench_infer.c times ckeras)
        n, k, t0 = 0, 1, time.perf_counter()
        while True:
            for _ in range(k):
                call()
            n += k
            dt = time.perf_counter() - t0
            if dt >= WINDOW:
                break
            if dt * 100 < WINDOW:
                k *= 2
        per_call.append(dt / n)
    per_call.sort()
    return per_call[len(per_call) // 2]


# ---- prepare: Keras layers -> a plain chain -> ONNX and .npz ----------------

def keras_chain(model):
    """The model as (inputs, chain, head): `chain` the layers every input
    runs through (a nested model called on each input is flattened into
    it), `head` "cos" for a normalised Dot of two branches, "bdot" for a
    plain Dot(axes=(2, 1)) of two rank-3 inputs (batch_dot of x (B, n, d)
    and y (B, d, m): a batched matrix product), else None."""
    import tensorflow as tf
    layers, head = [], None
    def walk(m):
        nonlocal head
        for layer in m.layers:
            if isinstance(layer, tf.keras.Model):
                walk(layer)
            elif isinstance(layer, tf.keras.layers.InputLayer):
                continue
            elif isinstance(layer, tf.keras.layers.Dot):
                cfg = layer.get_config()
                if cfg.get("normalize"):
                    head = "cos"
                elif list(cfg["axes"]) == [2, 1] and all(len(t.shape) == 3 for t in model.inputs):
                    head = "bdot"
                else:
                    raise SystemExit(f"bench_infer_peers: Dot {cfg['axes']} not handled")
            else:
                layers.append(layer)
    walk(model)
    chain = []
    for layer in layers:
        cfg, w = layer.get_config(), [v.numpy() for v in layer.weights]
        kind = type(layer).__name__
        if kind == "Dense":
            chain.append(dict(op="dense", w=w[0], b=w[1] if len(w) > 1 else None, act=cfg["activation"]))
        elif kind == "BatchNormalization":
            gamma, beta, mean, var = w
            scale = gamma / (var + cfg["epsilon"]) ** 0.5
            chain.append(dict(op="affine", scale=scale, shift=beta - mean * scale))
        elif kind == "Dropout":
            continue
        elif kind == "Conv2D":
            assert cfg["padding"] == "valid" and tuple(cfg["strides"]) == (1, 1)
            chain.append(dict(op="conv", w=w[0], b=w[1] if len(w) > 1 else None, act=cfg["activation"]))
        elif kind == "MaxPooling2D":
            chain.append(dict(op="maxpool", k=int(cfg["pool_size"][0])))
        elif kind == "Flatten":
            chain.append(dict(op="flatten"))
        elif kind == "Embedding":
            chain.append(dict(op="embed", w=w[0]))
        elif kind == "LSTM":
            assert cfg["activation"] == "tanh" and cfg["recurrent_activation"] == "sigmoid"
            assert not cfg["return_sequences"] and not cfg["go_backwards"] and len(w) == 3
            chain.append(dict(op="lstm", kernel=w[0], rec=w[1], bias=w[2], units=int(cfg["units"])))
        else:
            raise SystemExit(f"bench_infer_peers: layer {kind} not handled")
    return len(model.inputs), chain, head


def nchw_flatten_perm(chain, i, input_shape):
    """Dense after Flatten of an NHWC image: the rows of its kernel
    reordered for an NCHW flatten (PyTorch's and ONNX's layout)."""
    h, w, c = input_shape
    for op in chain[:i]:
        if op["op"] == "conv":
            kh, kw, _, f = op["w"].shape
            h, w, c = h - kh + 1, w - kw + 1, f
        elif op["op"] == "maxpool":
            h, w = h // op["k"], w // op["k"]
    import numpy as np
    idx = np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)
    return idx


def prepare(d, names):
    set_thread_env(1)
    import numpy as np
    import onnx
    import tensorflow as tf
    from onnx import TensorProto, helper, numpy_helper
    for name in names:
        model = tf.keras.models.load_model(os.path.join(d, name + ".h5"), compile=False)
        n_in, chain, head = keras_chain(model)
        in_shape = tuple(model.inputs[0].shape[1:])
        image = len(in_shape) == 3
        flat_seen = False
        for i, op in enumerate(chain):
            if op["op"] == "flatten":
                flat_seen = True
            if op["op"] == "dense" and flat_seen and image:
                op["w"] = op["w"][nchw_flatten_perm(chain, i, in_shape)]
                flat_seen = False
        # .npz for PyTorch: one array per field, the structure as JSON
        arrays, desc = {}, []
        for i, op in enumerate(chain):
            entry = {"op": op["op"]}
            for key, val in op.items():
                if isinstance(val, np.ndarray):
                    arrays[f"{i}_{key}"] = val.astype(np.float32)
                    entry[key] = f"{i}_{key}"
                elif key != "op":
                    entry[key] = val
            desc.append(entry)
        arrays["desc"] = np.frombuffer(json.dumps(
            {"inputs": n_in, "head": head, "image": image, "chain": desc}).encode(), dtype=np.uint8)
        np.savez(os.path.join(d, name + ".npz"), **arrays)
        # ONNX, the same layers (images as NCHW, as ONNX convolutions want)
        nodes, inits = [], []
        def const(arr, nm):
            inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), nm))
            return nm
        for i, op in enumerate(chain):
            if op["op"] == "dense":
                const(op["w"], f"w{i}")
                if op["b"] is not None:
                    const(op["b"], f"b{i}")
            elif op["op"] == "conv":
                const(op["w"].transpose(3, 2, 0, 1), f"w{i}")
                if op["b"] is not None:
                    const(op["b"], f"b{i}")
            elif op["op"] == "affine":
                const(op["scale"], f"s{i}")
                const(op["shift"], f"t{i}")
            elif op["op"] == "embed":
                const(op["w"], f"e{i}")
            elif op["op"] == "lstm":
                # ONNX LSTM: W (1, 4H, I) and R (1, 4H, H) with the gate
                # rows in the order i, o, f, c (Keras' columns: i, f, c, o);
                # B (1, 8H) the input then the recurrent biases.
                def onnx_gates(m):
                    i, f, c, o = np.split(m, 4, axis=-1)
                    return np.concatenate([i, o, f, c], axis=-1)
                const(onnx_gates(op["kernel"]).T[None], f"W{i}")
                const(onnx_gates(op["rec"]).T[None], f"R{i}")
                const(np.concatenate([onnx_gates(op["bias"]), np.zeros_like(op["bias"])])[None], f"B{i}")
                inits.append(numpy_helper.from_array(np.array([0], dtype=np.int64), f"ax{i}"))
        def branch(x, tag):
            for i, op in enumerate(chain):
                y = f"{tag}_{i}"
                if op["op"] == "dense":
                    if op["b"] is not None:
                        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y + "z"]))
                    else:
                        nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [y + "z"]))
                elif op["op"] == "conv":
                    ins = [x, f"w{i}"] + ([f"b{i}"] if op["b"] is not None else [])
                    nodes.append(helper.make_node("Conv", ins, [y + "z"]))
                elif op["op"] == "affine":
                    nodes.append(helper.make_node("Mul", [x, f"s{i}"], [y + "m"]))
                    nodes.append(helper.make_node("Add", [y + "m", f"t{i}"], [y]))
                    x = y
                    continue
                elif op["op"] == "maxpool":
                    k = op["k"]
                    nodes.append(helper.make_node("MaxPool", [x], [y], kernel_shape=[k, k], strides=[k, k]))
                    x = y
                    continue
                elif op["op"] == "flatten":
                    nodes.append(helper.make_node("Flatten", [x], [y], axis=1))
                    x = y
                    continue
                elif op["op"] == "embed":
                    # the indices come as floats, as to ckeras and Keras
                    nodes.append(helper.make_node("Cast", [x], [y + "i"], to=TensorProto.INT64))
                    nodes.append(helper.make_node("Gather", [f"e{i}", y + "i"], [y]))
                    x = y
                    continue
                elif op["op"] == "lstm":
                    nodes.append(helper.make_node("Transpose", [x], [y + "t"], perm=[1, 0, 2]))
                    nodes.append(helper.make_node("LSTM", [y + "t", f"W{i}", f"R{i}", f"B{i}"], ["", y + "h"],
                                                  hidden_size=op["units"]))
                    nodes.append(helper.make_node("Squeeze", [y + "h", f"ax{i}"], [y]))
                    x = y
                    continue
                act = {"relu": "Relu", "softmax": "Softmax", "sigmoid": "Sigmoid", "linear": None}[op["act"]]
                if act is None:
                    nodes.append(helper.make_node("Identity", [y + "z"], [y]))
                else:
                    nodes.append(helper.make_node(act, [y + "z"], [y]))
                x = y
            return x
        def onnx_shape(k):  # each input its own shape (batch_dot's two differ)
            s = tuple(model.inputs[k].shape[1:])
            return [None, s[2], s[0], s[1]] if image else [None] + list(s)
        graph_inputs = [helper.make_tensor_value_info(f"x{k}", TensorProto.FLOAT, onnx_shape(k))
                        for k in range(n_in)]
        outs = [branch(f"x{k}", f"br{k}") for k in range(n_in)]
        if head == "cos":
            normed = []
            for k, o in enumerate(outs):
                nodes.append(helper.make_node("LpNormalization", [o], [f"n{k}"], axis=1, p=2))
                normed.append(f"n{k}")
            nodes.append(helper.make_node("Mul", normed, ["prod"]))
            nodes.append(helper.make_node("ReduceSum", ["prod", "axis1"], ["y"], keepdims=1))
            inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
        elif head == "bdot":
            # MatMul of rank-3 inputs multiplies batch item by batch item
            nodes.append(helper.make_node("MatMul", outs, ["y"]))
        else:
            nodes.append(helper.make_node("Identity", [outs[0]], ["y"]))
        graph = helper.make_graph(nodes, name, graph_inputs,
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                                 [None] * len(model.outputs[0].shape))], inits)
        onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        onnx_model.ir_version = 8
        onnx.checker.check_model(onnx_model)
        onnx.save(onnx_model, os.path.join(d, name + ".onnx"))
        print(f"prepared {name}: {len(chain)} layers, {n_in} input(s), head {head}")


# ---- run: one peer, one thread count, every case ----------------------------

def load_inputs(d, case, n_in, image):
    import numpy as np
    xs = [np.load(os.path.join(d, f"{case}.x{k}.npy")).astype(np.float32) for k in range(n_in)]
    if image:
        xs = [np.ascontiguousarray(x.transpose(0, 3, 1, 2)) for x in xs]
    return xs


def model_meta(d, model):
    import numpy as np
    z = np.load(os.path.join(d, model + ".npz"))
    return json.loads(bytes(z["desc"]).decode()), z


def runner_ort(d, model, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(os.path.join(d, model + ".onnx"), so, providers=["CPUExecutionProvider"])
    def make(xs):
        feed = {f"x{k}": x for k, x in enumerate(xs)}
        return lambda: sess.run(["y"], feed)[0]
    return make


def runner_tf(d, model, threads):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    m = tf.keras.models.load_model(os.path.join(d, model + ".h5"), compile=False)
    fn = tf.function(lambda *xs: m(list(xs) if len(xs) > 1 else xs[0], training=False))
    def make(xs):
        # Keras takes NHWC: undo load_inputs' NCHW
        ts = [tf.constant(x.transpose(0, 2, 3, 1) if x.ndim == 4 else x) for x in xs]
        return lambda: fn(*ts).numpy()
    return make


_torch_threads_set = False


def runner_torch(d, model, threads):
    import torch
    import torch.nn.functional as F
    global _torch_threads_set
    if not _torch_threads_set:  # once per process: torch refuses a second time
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        _torch_threads_set = True
    meta, z = model_meta(d, model)
    t = {k: torch.from_numpy(z[k].copy()) for k in z.files if k != "desc"}

    def torch_lstm(op):
        # PyTorch's gate order i, f, g, o is Keras' i, f, c, o: the kernels
        # transposed, Keras' one bias as bias_ih.
        inp, units = t[op["kernel"]].shape[0], op["units"]
        m = torch.nn.LSTM(inp, units, batch_first=True)
        with torch.no_grad():
            m.weight_ih_l0.copy_(t[op["kernel"]].t())
            m.weight_hh_l0.copy_(t[op["rec"]].t())
            m.bias_ih_l0.copy_(t[op["bias"]])
            m.bias_hh_l0.zero_()
        return m.requires_grad_(False)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterDict({k: torch.nn.Parameter(v, requires_grad=False) for k, v in t.items()})
            self.rnn = torch.nn.ModuleDict({str(i): torch_lstm(op) for i, op in enumerate(meta["chain"])
                                            if op["op"] == "lstm"})

        def branch(self, x):
            for i, op in enumerate(meta["chain"]):
                kind = op["op"]
                if kind == "embed":
                    x = F.embedding(x.long(), self.p[op["w"]])
                    continue
                elif kind == "lstm":
                    _, (h, _) = self.rnn[str(i)](x)
                    x = h[0]
                    continue
                elif kind == "dense":
                    b = self.p[op["b"]] if op.get("b") else None
                    x = F.linear(x, self.p[op["w"]].t(), b)
                elif kind == "conv":
                    b = self.p[op["b"]] if op.get("b") else None
                    x = F.conv2d(x, self.p[op["w"]].permute(3, 2, 0, 1), b)
                elif kind == "affine":
                    x = x * self.p[op["scale"]] + self.p[op["shift"]]
                    continue
                elif kind == "maxpool":
                    x = F.max_pool2d(x, op["k"])
                    continue
                elif kind == "flatten":
                    x = torch.flatten(x, 1)
                    continue
                act = op["act"]
                if act == "relu":
                    x = torch.relu(x)
                elif act == "softmax":
                    x = torch.softmax(x, dim=-1)
                elif act == "sigmoid":
                    x = torch.sigmoid(x)
            return x

        def forward(self, *xs):
            ys = [self.branch(x) for x in xs]
            if meta["head"] == "cos":
                a, b = F.normalize(ys[0], dim=1), F.normalize(ys[1], dim=1)
                return (a * b).sum(dim=1, keepdim=True)
            if meta["head"] == "bdot":
                return torch.bmm(ys[0], ys[1])
            return ys[0]

    net = Net().eval()
    def make(xs):
        ts = tuple(torch.from_numpy(x) for x in xs)
        with torch.inference_mode():
            frozen = torch.jit.freeze(torch.jit.trace(net, ts))
        def call():
            with torch.inference_mode():
                return frozen(*ts).numpy()
        return call
    return make


def run(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True, choices=["ort", "tf", "torch"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("dir")
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args(argv)
    set_thread_env(args.threads)
    try:
        import numpy as np
        makers = {"ort": runner_ort, "tf": runner_tf, "torch": runner_torch}
        __import__({"ort": "onnxruntime", "tf": "tensorflow", "torch": "torch"}[args.peer])
    except ImportError as e:
        print(f"SKIP {args.peer}: {e}")
        sys.exit(3)
    runners = {}
    for spec in args.cases:
        name, model, _batch = spec.split(":")
        try:
            meta, _ = model_meta(args.dir, model)
            if model not in runners:
                runners[model] = makers[args.peer](args.dir, model, args.threads)
            call = runners[model](load_inputs(args.dir, name, meta["inputs"], meta["image"]))
            want = np.load(os.path.join(args.dir, name + ".ck.npy"))
            got = np.asarray(call()).reshape(want.shape)
        except Exception as e:  # one case failing must not hide the others
            print(f"Error {args.peer} {name}: {type(e).__name__}: {e}", flush=True)
            continue
        diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
        us = timed(call) * 1e6
        print(f"RESULT {name} {us:.3f} {diff:.3g}", flush=True)
    # the peak memory of this process, which ran all the cases (kB)
    import resource
    print(f"PEAK_RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "run":
        run(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
