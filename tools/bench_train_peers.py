#!/usr/bin/env python3
"""Training throughput of one peer framework, for bench/bench_train.c.

Runs one model (--model mlp|cnn) in one framework (--framework torch|keras)
on one thread, one training step at a time on one random batch, timed
exactly as bench_train times ckeras: `--warmup` steps, then `--repeats`
windows of at least `--window` seconds, the median window's examples per
second.  Prints "RESULT <examples/s> <peak RSS KiB>" (resource.getrusage:
this process alone, so run one model per process), or a "SKIP ..." line
and exit status 3 when the framework cannot be imported.

The models match bench_train's: MLP 784-512-512-10 (relu, cross-entropy
from logits, batch 128); CNN Conv2D 32 3x3 relu -> MaxPool 2 -> Conv2D 64
3x3 relu -> MaxPool 2 -> Flatten -> Dense 10 on 28x28x1 (batch 64).  Adam
with Keras' defaults (lr 1e-3, eps 1e-7) everywhere.
"""
import argparse
import os
import resource
import sys
import time

# One thread before any framework starts its pools.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timed(step, batch, repeats, window, warmup):
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            step()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= window:
                break
        rates.append(n * batch / dt)
    rates.sort()
    return rates[len(rates) // 2]


def torch_step(model_name):
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    if model_name == "mlp":
        batch = 128
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        x = torch.rand(batch, 784)
    else:
        batch = 64
        # PyTorch's native NCHW layout (Keras' NHWC has the same arithmetic).
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 10))
        x = torch.rand(batch, 1, 28, 28)
    y = torch.arange(batch) * 7 % 10
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step, batch


def keras_step(model_name):
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.random.set_seed(0)
    L = tf.keras.layers
    if model_name == "mlp":
        batch = 128
        model = tf.keras.Sequential([L.Dense(512, activation="relu", input_shape=(784,)),
                                     L.Dense(512, activation="relu"), L.Dense(10)])
        x = np.random.default_rng(0).random((batch, 784), dtype=np.float32)
    else:
        batch = 64
        model = tf.keras.Sequential([L.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), L.MaxPooling2D(2),
                                     L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                                     L.Dense(10)])
        x = np.random.default_rng(0).random((batch, 28, 28, 1), dtype=np.float32)
    y = (np.arange(batch) * 7 % 10).astype(np.int64)
    x, y = tf.constant(x), tf.constant(y)
    opt = tf.keras.optimizers.Adam()
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    # What model.fit runs per batch, minus the data pipeline and callbacks.
    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    def step():
        train_step(x, y)

    return step, batch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", choices=("torch", "keras"), required=True)
    ap.add_argument("--model", choices=("mlp", "cnn"), required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--window", type=float, default=0.5)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    try:
        make = torch_step if a.framework == "torch" else keras_step
        step, batch = make(a.model)
    except ImportError as e:
        print(f"SKIP {a.framework}: {e} ({sys.executable})", flush=True)
        return 3
    rate = timed(step, batch, a.repeats, a.window, a.warmup)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"RESULT {rate:.1f} {peak}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
