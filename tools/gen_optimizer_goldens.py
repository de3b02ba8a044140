#!/usr/bin/env python3
"""Golden values for tests/train/test_optimizers.c, from tf.keras 2.15.

Run with the reference interpreter:
    /opt/kref/bin/python tools/gen_optimizer_goldens.py
Writes tests/data/train/optimizers/optimizers.json: for each case two small
variables, five steps of fixed gradients, the variables after each step, the
learning rate before each step, the optimizer variables (names and values)
at the end and the config; and for each schedule its config and values at
several steps.
"""
import json
import os

from golden_common import data_dir, quiet_tensorflow

quiet_tensorflow()  # before TensorFlow loads
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = data_dir("train", "optimizers", "optimizers.json")

S = tf.keras.optimizers.schedules
EXP = {"class_name": "ExponentialDecay",
       "config": {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}}

CASES = [
    ("sgd", "SGD", {}),
    ("sgd_lr", "SGD", {"learning_rate": 0.1}),
    ("sgd_momentum", "SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd_clipnorm", "SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("sgd_clipvalue", "SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    ("sgd_global_clipnorm", "SGD", {"learning_rate": 0.1, "global_clipnorm": 0.7}),
    ("sgd_clipnorm_clipvalue", "SGD", {"learning_rate": 0.1, "clipnorm": 0.5, "clipvalue": 0.1}),
    ("sgd_weight_decay", "SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.1}),
    ("sgd_exp_decay", "SGD", {"learning_rate": EXP}),
    ("adam", "Adam", {}),
    ("adam_lr", "Adam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-3}),
    ("adam_amsgrad", "Adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("adam_weight_decay", "Adam", {"learning_rate": 0.05, "weight_decay": 0.05}),
    ("adam_named", "Adam", {"learning_rate": 0.01, "name": "myopt", "clipnorm": 1.0}),
    ("adam_global_clipnorm", "Adam", {"learning_rate": 0.05, "global_clipnorm": 0.5}),
    ("adam_f64", "Adam", {"learning_rate": 0.05}),
    ("adamw", "AdamW", {}),
    ("adamw_amsgrad", "AdamW", {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop_momentum", "RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("rmsprop_centered", "RMSprop", {"learning_rate": 0.01, "centered": True, "rho": 0.8}),
    ("rmsprop_centered_momentum", "RMSprop",
     {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "clipvalue": 0.4}),
    ("adagrad", "Adagrad", {}),
    ("adagrad_opts", "Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5,
                                 "epsilon": 1e-4, "weight_decay": 0.01}),
    ("adadelta", "Adadelta", {}),
    ("adadelta_opts", "Adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-5}),
    ("adamax", "Adamax", {}),
    ("adamax_opts", "Adamax", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.9}),
    ("nadam", "Nadam", {}),
    ("nadam_opts", "Nadam", {"learning_rate": 0.05, "beta_1": 0.8, "epsilon": 1e-4}),
    ("ftrl", "Ftrl", {}),
    ("ftrl_opts", "Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.7,
                           "initial_accumulator_value": 0.2, "l1_regularization_strength": 0.01,
                           "l2_regularization_strength": 0.02,
                           "l2_shrinkage_regularization_strength": 0.03, "beta": 0.5}),
    # float64 variables: tf.cast(python_float, float64) goes through float32
    ("sgd_momentum_f64", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd_clipnorm_f64", "SGD", {"learning_rate": 0.1, "clipnorm": 0.3}),
    ("sgd_global_clipnorm_f64", "SGD", {"learning_rate": 0.1, "global_clipnorm": 0.7}),
    ("sgd_clipvalue_f64", "SGD", {"learning_rate": 0.1, "clipvalue": 0.3}),
    ("adamw_f64", "AdamW", {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("rmsprop_f64", "RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5}),
    ("adagrad_f64", "Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.3}),
    ("adadelta_f64", "Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("adamax_f64", "Adamax", {"learning_rate": 0.05, "beta_1": 0.8}),
    ("nadam_f64", "Nadam", {"learning_rate": 0.05}),
    ("ftrl_f64", "Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
                          "l2_shrinkage_regularization_strength": 0.03, "beta": 0.5}),
    ("sched_piecewise", "SGD", {"learning_rate": {
        "class_name": "PiecewiseConstantDecay",
        "config": {"boundaries": [1, 3], "values": [0.1, 0.05, 0.01]}}}),
    ("sched_inverse_time", "Adam", {"learning_rate": {
        "class_name": "InverseTimeDecay",
        "config": {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5,
                   "staircase": True}}}),
    ("sched_polynomial", "SGD", {"momentum": 0.5, "learning_rate": {
        "class_name": "PolynomialDecay",
        "config": {"initial_learning_rate": 0.1, "decay_steps": 3, "end_learning_rate": 0.01,
                   "power": 2.0, "cycle": True}}}),
    ("sched_cosine", "RMSprop", {"learning_rate": {
        "class_name": "CosineDecay",
        "config": {"initial_learning_rate": 0.01, "decay_steps": 3, "alpha": 0.1,
                   "warmup_target": 0.02, "warmup_steps": 2}}}),
]

SCHEDULES = [
    {"class_name": "ExponentialDecay",
     "config": {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.7}},
    {"class_name": "ExponentialDecay",
     "config": {"initial_learning_rate": 0.05, "decay_steps": 4, "decay_rate": 0.9,
                "staircase": True, "name": "expo"}},
    {"class_name": "PiecewiseConstantDecay",
     "config": {"boundaries": [2, 5, 10], "values": [1.0, 0.5, 0.1, 0.01]}},
    {"class_name": "InverseTimeDecay",
     "config": {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}},
    {"class_name": "InverseTimeDecay",
     "config": {"initial_learning_rate": 0.1, "decay_steps": 3.0, "decay_rate": 0.5,
                "staircase": True}},
    {"class_name": "PolynomialDecay",
     "config": {"initial_learning_rate": 0.1, "decay_steps": 7}},
    {"class_name": "PolynomialDecay",
     "config": {"initial_learning_rate": 0.1, "decay_steps": 4, "end_learning_rate": 0.02,
                "power": 0.5, "cycle": True}},
    {"class_name": "CosineDecay",
     "config": {"initial_learning_rate": 0.1, "decay_steps": 10}},
    {"class_name": "CosineDecay",
     "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.2,
                "warmup_target": 0.5, "warmup_steps": 4}},
]
STEPS = [0, 1, 2, 3, 4, 5, 7, 10, 11, 13, 15, 20, 100]

A0 = np.array([0.5, -1.25, 2.0], np.float64)
B0 = np.array([[0.1, -0.3], [0.7, 1.5]], np.float64)
GA = np.array([0.3, -0.6, 0.05], np.float64)
GB = np.array([[-0.2, 0.4], [1.1, -0.05]], np.float64)


def grads(k):
    s = 1.0 + 0.5 * k * (-1) ** k
    return GA * s + 0.01 * k, GB * s - 0.02 * k


def lst(x):
    return np.asarray(x).astype(np.float64).reshape(-1).tolist()


def dumps(obj):
    """json.dumps as Keras' JSON encoder does it (numpy scalars via .item())."""
    return json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def config_of(opt):
    return {"class_name": opt.__class__.__name__, "config": opt.get_config()}


def run_case(key, cls, kwargs):
    dtype = tf.float64 if key.endswith("_f64") else tf.float32
    opt = getattr(tf.keras.optimizers, cls).from_config(json.loads(json.dumps(kwargs)))
    a = tf.Variable(A0, dtype=dtype, name="a")
    b = tf.Variable(B0, dtype=dtype, name="b")
    steps = []
    for k in range(5):
        ga, gb = grads(k)
        opt.apply_gradients([(tf.constant(ga, dtype), a), (tf.constant(gb, dtype), b)])
        steps.append({"a": lst(a.numpy()), "b": lst(b.numpy())})
    # The rate the next step will use (a schedule at the current iteration).
    if isinstance(opt._learning_rate, S.LearningRateSchedule):
        lr_next = float(opt._learning_rate(opt.iterations).numpy())
    else:
        lr_next = float(opt.learning_rate.numpy())
    return {
        "key": key,
        "dtype": "float64" if dtype == tf.float64 else "float32",
        "config_in": json.dumps({"class_name": cls, "config": kwargs}),
        "config_out": dumps(config_of(opt)),
        "steps": steps,
        "lr_next": lr_next,
        "variables": [{"name": v.name, "shape": list(v.shape), "value": lst(v.numpy())}
                      for v in opt.variables],
    }


def h5_names():
    """The optimizer_weights names model.save('x.h5') writes for a trained model."""
    import tempfile
    import h5py
    out = []
    for opt in [tf.keras.optimizers.Adam(amsgrad=True),
                tf.keras.optimizers.RMSprop(momentum=0.5, centered=True, name="rms")]:
        m = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,)),
                                 tf.keras.layers.Dense(1)])
        m.compile(opt, "mse")
        m.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.h5")
            m.save(path)
            with h5py.File(path, "r") as f:
                names = [n.decode() if isinstance(n, bytes) else str(n)
                         for n in f["optimizer_weights"].attrs["weight_names"]]
                config = f.attrs["training_config"]
                config = config.decode() if isinstance(config, bytes) else config
        out.append({"config": dumps(json.loads(config)["optimizer_config"]),
                    "var_names": [v.name for v in m.trainable_weights],
                    "weight_names": names})
    return out


def main():
    out = {"init": {"a": A0.tolist(), "b": B0.reshape(-1).tolist()},
           "grads": [{"a": lst(grads(k)[0]), "b": lst(grads(k)[1])} for k in range(5)],
           "cases": [], "schedules": []}
    for key, cls, kwargs in CASES:
        out["cases"].append(run_case(key, cls, kwargs))
    for cfg in SCHEDULES:
        s = S.deserialize(json.loads(json.dumps(cfg)))
        out["schedules"].append({
            "config_in": json.dumps(cfg),
            "config_out": dumps(S.serialize(s)),
            "steps": STEPS,
            "values": [float(s(tf.constant(k, tf.int64)).numpy()) for k in STEPS]})
    out["h5"] = h5_names()
    # get_config quirks
    quirks = {}
    quirks["adam_jit"] = dumps(config_of(tf.keras.optimizers.Adam(jit_compile=True)))
    out["quirks"] = quirks
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
