"""Pieces shared by the golden generators in tools/ (gen_*_goldens.py).

The generators ask tf.keras 2.15 (/opt/kref/bin/python) or Keras 3
(/opt/k3/bin/python) for reference values and write them as fixtures
under tests/data/<topic>/, so the C tests never need TensorFlow.  What
they all repeat lives here:

- where fixtures go (data_dir) and how they are written (write_json,
  save_npy, load_npy);
- the JSON form of an array (tensor): {"shape": [...], "data": [...]},
  the data widened to double and flattened in C order;
- serialized configs in the legacy {"class_name", "config"} form that
  ckeras writes (legacy, short_initializers);
- seeded random weights (random_weights) and the gradients of
  loss = sum(y * dy) through tf.GradientTape (tape_gradients draws dy,
  dy_gradients takes it; gradient_record; dtype_pair and dtype_pair_case
  for the float64 / float32 layer pairs).

Importing this module imports neither TensorFlow nor Keras (it runs under
both interpreters, and a generator may set environment variables such as
TF_CPP_MIN_LOG_LEVEL or KERAS_BACKEND before TensorFlow loads): the
functions that need TensorFlow import it when called.  quiet_tensorflow()
sets the usual variable and must run before the first TensorFlow import.
"""
import json
import os

import numpy as np

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(TOOLS_DIR, "..", "tests", "data")
KREF_PYTHON = "/opt/kref/bin/python"  # tf.keras 2.15.1 (TensorFlow 2.15.1)
K3_PYTHON = "/opt/k3/bin/python"      # Keras 3.15.1 (TensorFlow 2.18)


def quiet_tensorflow():
    """Hide TensorFlow's C++ log lines unless the caller chose a level.
    Only effective before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def data_dir(*parts):
    """tests/data/<parts...> of this checkout (not created)."""
    return os.path.join(DATA_DIR, *parts)


def tensor(a):
    """An array as {"shape", "data"}: float64 values flattened in C order."""
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def write_json(path, obj):
    """obj as compact JSON in path, with a final newline."""
    with open(path, "w") as f:
        json.dump(obj, f)
        f.write("\n")


def save_npy(out, name, arr, dtype=np.float32):
    """out/<name>.npy holding arr converted to dtype."""
    np.save(os.path.join(out, name + ".npy"), np.asarray(arr, dtype=dtype))


def load_npy(out, name):
    """The array in out/<name>.npy."""
    return np.load(os.path.join(out, name + ".npy"))


def legacy(v):
    """A serialized object of tf.keras 2.13+ / Keras 3 ({module,
    class_name, config, registered_name}) turned, at every depth, into the
    legacy {class_name, config}; shared_object_id and build_config are
    dropped."""
    if isinstance(v, dict):
        if "class_name" in v and "config" in v and ("module" in v or "registered_name" in v):
            return {"class_name": v["class_name"], "config": legacy(v["config"])}
        return {k: legacy(x) for k, x in v.items() if k not in ("shared_object_id", "build_config")}
    if isinstance(v, list):
        return [legacy(x) for x in v]
    return v


def short_initializers(cfg):
    """tf.keras 2.13+'s serialized objects without module / registered_name
    (every other key kept; tuples become lists)."""
    if isinstance(cfg, dict):
        if "class_name" in cfg and "config" in cfg and "module" in cfg:
            return {"class_name": cfg["class_name"], "config": short_initializers(cfg["config"])}
        return {k: short_initializers(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [short_initializers(v) for v in cfg]
    return cfg


def random_weights(layer, rng, scale, dtype=None):
    """Give a built layer (or model) weights drawn from
    rng.uniform(-scale, scale) in get_weights() order, optionally cast to
    dtype; returns them."""
    weights = [rng.uniform(-scale, scale, size=w.shape) for w in layer.get_weights()]
    if dtype is not None:
        weights = [w.astype(dtype) for w in weights]
    layer.set_weights(weights)
    return weights


def tape_gradients(layer, xv, rng, as_list=False, states=()):
    """Call layer on the tensor xv (and initial_state=states, when given)
    under a GradientTape and differentiate loss = sum(y * dy), dy drawn
    from rng.uniform(-1, 1) once y's shape is known.  With several outputs
    (or as_list) y and dy are lists and the loss sums over them.  Returns
    (y, dy, grads), grads being d loss / d xv, then d loss / d each state,
    then d loss / d layer.trainable_weights."""
    import tensorflow as tf

    states = list(states)
    with tf.GradientTape() as tape:
        tape.watch(xv)
        for v in states:
            tape.watch(v)
        y = layer(xv, initial_state=states) if states else layer(xv)
        if as_list or isinstance(y, (list, tuple)):
            y = list(y) if isinstance(y, (list, tuple)) else [y]
            dy = [rng.uniform(-1, 1, size=t.shape) for t in y]
            loss = tf.add_n([tf.reduce_sum(t * tf.constant(d)) for t, d in zip(y, dy)])
        else:
            dy = rng.uniform(-1, 1, size=y.shape)
            loss = tf.reduce_sum(y * tf.constant(dy))
    grads = tape.gradient(loss, [xv] + states + layer.trainable_weights)
    return y, dy, grads


def dy_gradients(layer, xt, dy, sources=None, training=True):
    """y = layer(xt, training=training) under a GradientTape (xt watched)
    and the gradients of f = sum(y * dy) for a dy chosen beforehand: with
    respect to xt, then each of sources (default: the layer's trainable
    weights).  Returns (y, grads) as tensors."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        f = tf.reduce_sum(y * dy)
    sources = list(layer.trainable_weights) if sources is None else list(sources)
    return y, tape.gradient(f, [xt] + sources)


def gradient_record(y, grads, n_states=0):
    """{"y", "dx", "dweights"} of tape_gradients' results (y a tensor or a
    list of tensors); with n_states initial states, "dstates" comes before
    "dweights"."""
    record = {"y": [tensor(t.numpy()) for t in y] if isinstance(y, list) else tensor(y.numpy()),
              "dx": tensor(grads[0].numpy())}
    if n_states:
        record["dstates"] = [tensor(g.numpy()) for g in grads[1:1 + n_states]]
    record["dweights"] = [tensor(g.numpy()) for g in grads[1 + n_states:]]
    return record


def dtype_pair(make, x, rng, scale, as_list=False, clear=True):
    """The float64 / float32 pair behind most layer goldens.  make(dtype)
    returns a new layer; the float64 one is built on x, given
    random_weights(scale) and differentiated (tape_gradients); the float32
    one gets the same weights and is called on x as float32.  With clear,
    the Keras session is cleared before each layer is made.  Returns
    (float32 layer, weights, dy, float32 y, gradient_record of float64);
    with several outputs (or as_list) the y are lists."""
    import tensorflow as tf

    if clear:
        tf.keras.backend.clear_session()
    layer = make("float64")
    xv = tf.constant(x, dtype=tf.float64)
    layer(xv)
    weights = random_weights(layer, rng, scale)
    y, dy, grads = tape_gradients(layer, xv, rng, as_list)
    if clear:
        tf.keras.backend.clear_session()
    l32 = make("float32")
    l32(tf.constant(x.astype(np.float32)))
    l32.set_weights([w.astype(np.float32) for w in weights])
    y32 = l32(tf.constant(x.astype(np.float32)))
    if isinstance(y, list):
        y32 = [t.numpy() for t in (y32 if isinstance(y32, (list, tuple)) else [y32])]
    else:
        y32 = y32.numpy()
    return l32, weights, dy, y32, gradient_record(y, grads)


def dtype_pair_case(name, make, x, rng, scale, as_list=False):
    """A case of dtype_pair as the layer goldens store it: name, layer
    (legacy config of the float32 layer), weight_names, x, weights, dy,
    f32 {y}, f64 {y, dx, dweights}."""
    import tensorflow as tf

    l32, weights, dy, y32, f64 = dtype_pair(make, x, rng, scale, as_list)
    return {
        "name": name, "layer": legacy(tf.keras.layers.serialize(l32)),
        "weight_names": [w.name for w in l32.weights],
        "x": tensor(x), "weights": [tensor(w) for w in weights],
        "dy": [tensor(d) for d in dy] if isinstance(dy, list) else tensor(dy),
        "f32": {"y": [tensor(t) for t in y32] if isinstance(y32, list) else tensor(y32)},
        "f64": f64,
    }
