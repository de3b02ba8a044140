"""Goldens for recurrent inference over many steps with a larger batch
(tests/layers/test_rnn_chunks.c): ckeras then projects the inputs a chunk
of steps at a time (rnn_common.c, chunk_steps), so every case has
batch * gates * units * steps * 4 bytes above the 256 KiB of a chunk, and
at least two chunks, the last one partial.  tf.keras 2.15 computes the
outputs.

The inputs are not stored: x[i] = ((i * 7919) % 2001) / 1000 - 1 over the
flattened input in C order (in float32), which the test computes too.
Each case writes <name>.json (the layer's config and its input shape) and
<name>_w<k>.npy (its weights in Keras' order), <name>_y.npy (the output)
and, with a mask, <name>_mask.npy (int32).

Run: /opt/kref/bin/python tools/gen_rnn_chunk_goldens.py
"""
import numpy as np

from golden_common import data_dir, quiet_tensorflow, save_npy, write_json

quiet_tensorflow()
import tensorflow as tf  # noqa: E402

OUT = data_dir("rnn_chunks")


def inputs(shape):
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return ((i * 7919 % 2001) / 1000.0 - 1.0).astype(np.float32).reshape(shape)


def case(name, layer, shape, mask=None):
    x = inputs(shape)
    rng = np.random.default_rng(sum(map(ord, name)))
    y = layer(x, mask=mask) if mask is not None else layer(x)
    for w in layer.weights:
        w.assign(rng.uniform(-0.5, 0.5, w.shape).astype(np.float32))
    y = layer(x, mask=mask) if mask is not None else layer(x)
    cfg = {"class_name": layer.__class__.__name__, "config": layer.get_config()}
    write_json(f"{OUT}/{name}.json", {"layer": cfg, "x_shape": list(shape), "weights": len(layer.weights)})
    for k, w in enumerate(layer.get_weights()):
        save_npy(OUT, f"{name}_w{k}", w)
    save_npy(OUT, f"{name}_y", np.asarray(y))
    if mask is not None:
        save_npy(OUT, f"{name}_mask", np.asarray(mask), dtype=np.int32)


def main():
    tf.keras.utils.set_random_seed(5)
    L = tf.keras.layers
    # 8 x 64 x 4 bytes a step: chunks of 128 steps, then 22
    case("lstm_backwards_seq", L.LSTM(16, go_backwards=True, return_sequences=True), (8, 150, 2))
    # time-major (steps, batch, features): 8 x 48 x 4 a step, chunks of 170 then 30
    case("gru_time_major", L.GRU(16, time_major=True), (200, 8, 2))
    # 16 x 32 x 4 a step: chunks of 128 then 12
    case("simple_rnn", L.SimpleRNN(32), (16, 140, 3))
    # row b masks its last 7 * b steps (Keras keeps the states of masked steps)
    mask = np.ones((8, 150), dtype=bool)
    for b in range(8):
        mask[b, 150 - 7 * b:] = False
    case("lstm_masked", L.LSTM(16), (8, 150, 2), mask=tf.constant(mask))


if __name__ == "__main__":
    main()
