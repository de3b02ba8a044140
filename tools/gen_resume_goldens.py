"""Golden "resume training" runs from tf.keras 2.15 for
tests/train/test_model_files_train.c.

For each case tf.keras trains a small model one epoch (shuffle=False), saves
it compiled as mid.h5 (training_config + optimizer_weights) and mid.keras
(compile_config + optimizer/vars), trains one more epoch and saves final.h5
(weights and optimizer state after the second epoch).  ckeras loads the
mid-training files, fits one epoch and must land on final.h5's weights.
The script checks that tf.keras itself resumes from both mid files exactly.
Run with the reference venv:
    /opt/kref/bin/python tools/gen_resume_goldens.py
"""
import json
import os

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers as L

from golden_common import data_dir

OUT = data_dir("train", "resume")
BATCH = 8


def run_case(name, model, x, y):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y)
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    model.save(os.path.join(d, "mid.h5"))
    model.save(os.path.join(d, "mid.keras"))
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    model.save(os.path.join(d, "final.h5"))
    final = model.get_weights()
    final_opt = [v.numpy() for v in model.optimizer.variables]
    # tf.keras itself resumes exactly from both files.
    for f in ("mid.h5", "mid.keras"):
        m = keras.models.load_model(os.path.join(d, f))
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        for a, b in zip(m.get_weights(), final):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=f"{name}/{f}")
        for a, b in zip([v.numpy() for v in m.optimizer.variables], final_opt):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=f"{name}/{f} optimizer")
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({"batch_size": BATCH, "epochs": 1, "optimizer": model.optimizer.__class__.__name__}, f)


def main():
    rng = np.random.default_rng(11)
    tf.keras.utils.set_random_seed(5)

    # Adam, softmax + categorical crossentropy, "accuracy" (resolved to
    # categorical_accuracy in the saved training_config).
    x = rng.normal(size=(24, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 24)]
    m = keras.Sequential([L.Dense(6, activation="relu", input_shape=(4,)), L.Dense(3, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    run_case("adam", m, x, y)

    # SGD with momentum, a functional model, a loss object with from_logits.
    x = rng.normal(size=(24, 5)).astype("float32")
    y = rng.integers(0, 4, 24).astype("int64")
    i = keras.Input((5,))
    h = L.Dense(7, activation="tanh")(i)
    o = L.Dense(4)(h)
    m = keras.Model(i, o)
    m.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    run_case("sgd_momentum", m, x, y)

    # RMSprop with momentum and centered (all three slot kinds), MSE, "mae".
    x = rng.normal(size=(24, 3)).astype("float32")
    y = rng.normal(size=(24, 2)).astype("float32")
    m = keras.Sequential([L.Dense(5, activation="relu", input_shape=(3,)), L.Dense(2)])
    m.compile(optimizer=keras.optimizers.RMSprop(0.005, momentum=0.3, centered=True), loss="mse", metrics=["mae"])
    run_case("rmsprop", m, x, y)


if __name__ == "__main__":
    main()
