"""Golden `fit` runs from tf.keras 2.15 for tests/train/test_fit.c.

For each case: the compiled model before training (init.h5, with Keras'
training_config), the data (x*.npy, y*.npy), a few epochs of fit with
shuffle=False, the model after training (final.h5) and the history
(case.json).  Run with the reference venv:
    /opt/kref/bin/python tools/gen_fit_goldens.py
"""
import json
import os

import h5py
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers as L

from golden_common import data_dir

OUT = data_dir("train", "fit")


def save_case(name, model, xs, ys, fit_kwargs):
    """The file is saved from a clone (same weights, same compile) and the
    original is trained: saving a compiled model before fit builds its
    metrics without targets, which changes how Keras resolves "accuracy"
    in that model's first fit."""
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    saved = keras.models.clone_model(model)
    saved.set_weights(model.get_weights())
    saved.compile_from_config(model.get_compile_config())
    saved.save(os.path.join(d, "init.h5"))
    for i, x in enumerate(xs):
        np.save(os.path.join(d, f"x{i}.npy"), x)
    for i, y in enumerate(ys):
        np.save(os.path.join(d, f"y{i}.npy"), y)
    hist = model.fit(xs if len(xs) > 1 else xs[0], ys if len(ys) > 1 else ys[0], shuffle=False, verbose=0,
                     **fit_kwargs)
    model.save(os.path.join(d, "final.h5"))
    with h5py.File(os.path.join(d, "init.h5"), "r") as f:
        tc = f.attrs["training_config"]
        tc = tc.decode() if isinstance(tc, bytes) else tc
    case = {"training_config": tc, "fit": fit_kwargs, "n_x": len(xs), "n_y": len(ys),
            "history": {k: [float(v) for v in vs] for k, vs in hist.history.items()}}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=1)


def main():
    rng = np.random.default_rng(7)
    tf.keras.utils.set_random_seed(3)

    # 1. MLP, softmax + categorical crossentropy, Adam, accuracy.
    x = rng.normal(size=(64, 8)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]
    m = keras.Sequential([L.Dense(16, activation="relu", input_shape=(8,)), L.Dense(3, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    save_case("mlp_adam", m, [x], [y], {"batch_size": 16, "epochs": 3})

    # 2. Logits + sparse labels, SGD with Nesterov momentum, validation split.
    x = rng.normal(size=(80, 10)).astype("float32")
    y = rng.integers(0, 5, 80).astype("int64")
    m = keras.Sequential([L.Dense(32, activation="tanh", input_shape=(10,)), L.Dense(5)])
    m.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    save_case("mlp_sgd_sparse_logits", m, [x], [y], {"batch_size": 16, "epochs": 3, "validation_split": 0.25})

    # 3. A small CNN, RMSprop.
    x = rng.normal(size=(24, 8, 8, 2)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 24)]
    m = keras.Sequential([L.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 2)),
                          L.MaxPooling2D(), L.Conv2D(6, 3, strides=2, padding="same"), L.Flatten(),
                          L.Dense(3, activation="softmax")])
    m.compile(optimizer=keras.optimizers.RMSprop(0.005), loss="categorical_crossentropy", metrics=["accuracy"])
    save_case("cnn_rmsprop", m, [x], [y], {"batch_size": 8, "epochs": 2})

    # 4. Two inputs, a shared Dense, a cosine Dot, binary crossentropy.
    a = rng.normal(size=(48, 5)).astype("float32")
    b = rng.normal(size=(48, 5)).astype("float32")
    y = (rng.random(48) > 0.5).astype("float32").reshape(48, 1)
    ia, ib = keras.Input((5,)), keras.Input((5,))
    shared = L.Dense(4, activation="tanh")
    d = L.Dot(axes=1, normalize=True)([shared(ia), shared(ib)])
    out = L.Dense(1, activation="sigmoid")(d)
    m = keras.Model([ia, ib], out)
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    save_case("dot_two_inputs", m, [a, b], [y], {"batch_size": 12, "epochs": 3})

    # 5. BatchNormalization on rank 2.
    x = rng.normal(size=(40, 6)).astype("float32") * 3 + 1
    y = rng.normal(size=(40, 1)).astype("float32")
    m = keras.Sequential([L.Dense(8, input_shape=(6,)), L.BatchNormalization(momentum=0.9), L.Activation("relu"),
                          L.Dense(1)])
    m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    save_case("batchnorm_rank2", m, [x], [y], {"batch_size": 10, "epochs": 3})

    # 6. BatchNormalization on rank 4 (the fused kernel in TF).
    x = rng.normal(size=(16, 6, 6, 2)).astype("float32") * 2
    y = rng.normal(size=(16, 2)).astype("float32")
    m = keras.Sequential([L.Conv2D(3, 3, use_bias=False, input_shape=(6, 6, 2)), L.BatchNormalization(momentum=0.8),
                          L.Activation("relu"), L.Flatten(), L.Dense(2)])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    save_case("batchnorm_rank4", m, [x], [y], {"batch_size": 8, "epochs": 3})

    # 7. Embedding.
    x = rng.integers(0, 20, size=(40, 5)).astype("int32")
    y = rng.normal(size=(40, 1)).astype("float32")
    m = keras.Sequential([L.Embedding(20, 4, input_length=5), L.Flatten(), L.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adagrad(0.1), loss="mse")
    save_case("embedding_adagrad", m, [x], [y], {"batch_size": 10, "epochs": 3})

    # 8. Two outputs, a loss each, loss weights.
    x = rng.normal(size=(36, 6)).astype("float32")
    y1 = rng.normal(size=(36, 1)).astype("float32")
    y2 = rng.integers(0, 3, 36).astype("int64")
    i = keras.Input((6,))
    h = L.Dense(8, activation="relu")(i)
    o1 = L.Dense(1, name="reg")(h)
    o2 = L.Dense(3, activation="softmax", name="cls")(h)
    m = keras.Model(i, [o1, o2])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss=["mse", "sparse_categorical_crossentropy"],
              loss_weights=[0.5, 1.0], metrics=["accuracy"])
    save_case("two_outputs", m, [x], [y1, y2], {"batch_size": 12, "epochs": 2})

    # 9. Regularizers and a constraint.
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    m = keras.Sequential([L.Dense(6, activation="relu", input_shape=(5,), kernel_regularizer=keras.regularizers.l2(0.01),
                                  activity_regularizer=keras.regularizers.l1(0.001),
                                  kernel_constraint=keras.constraints.MaxNorm(1.0)),
                          L.Dense(1, bias_regularizer=keras.regularizers.l1(0.02))])
    m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    save_case("regularizers", m, [x], [y], {"batch_size": 8, "epochs": 2})

    # 10. A nested model used twice (siamese), then Dense.  (Not Subtract:
    # the tower's last bias would cancel, its gradient is rounding noise,
    # and Adam turns noise into full-size steps.)
    x1 = rng.normal(size=(30, 4)).astype("float32")
    x2 = rng.normal(size=(30, 4)).astype("float32")
    y = rng.normal(size=(30, 1)).astype("float32")
    inner = keras.Sequential([L.Dense(5, activation="elu", input_shape=(4,)), L.Dense(3)], name="tower")
    ia, ib = keras.Input((4,)), keras.Input((4,))
    diff = L.Concatenate()([inner(ia), inner(ib)])
    out = L.Dense(1)(diff)
    m = keras.Model([ia, ib], out)
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="huber")
    save_case("nested_siamese", m, [x1, x2], [y], {"batch_size": 10, "epochs": 2})

    # 11. Sample weights and class weights.
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (rng.random(40) > 0.5).astype("float32").reshape(40, 1)
    m = keras.Sequential([L.Dense(4, activation="relu", input_shape=(4,)), L.Dense(1, activation="sigmoid")])
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    save_case("class_weight", m, [x], [y], {"batch_size": 8, "epochs": 2, "class_weight": {0: 1.0, 1: 3.0}})


if __name__ == "__main__":
    main()
