"""GlobalAveragePooling1D with a mask (tests/model/test_masked_pooling.c).

Run with tf.keras 2.15: /opt/kref/bin/python tools/gen_masked_pooling_goldens.py
Writes tests/data/masked_pooling/: model.h5 (Embedding(mask_zero) ->
GlobalAveragePooling1D -> Dense), x.npy (padded rows, one fully padded:
Keras gives NaN there), y.npy (predict), and for one SGD train_on_batch
with mse on the rows that have steps: xt.npy, yt.npy, w<i>.npy (weights after).
"""
import os
import numpy as np
import tensorflow as tf

from golden_common import data_dir

OUT = data_dir("masked_pooling")
os.makedirs(OUT, exist_ok=True)
tf.keras.utils.set_random_seed(7)
inp = tf.keras.Input((6,), dtype="int32")
h = tf.keras.layers.Embedding(9, 4, mask_zero=True)(inp)
h = tf.keras.layers.GlobalAveragePooling1D()(h)
out = tf.keras.layers.Dense(2)(h)
m = tf.keras.Model(inp, out)
m.save(os.path.join(OUT, "model.h5"))
x = np.array([[3, 1, 4, 0, 0, 0], [0, 2, 0, 7, 8, 0], [5, 5, 5, 5, 5, 5], [0, 0, 0, 0, 0, 0]], np.int32)
np.save(os.path.join(OUT, "x.npy"), x)
np.save(os.path.join(OUT, "y.npy"), m.predict(x, verbose=0))
m.compile(optimizer=tf.keras.optimizers.SGD(0.5), loss="mse")
xt, yt = x[:3], np.array([[1, -1], [0.5, 2], [-1, 0]], np.float32)
np.save(os.path.join(OUT, "xt.npy"), xt)
np.save(os.path.join(OUT, "yt.npy"), yt)
m.train_on_batch(xt, yt)
for i, w in enumerate(m.get_weights()):
    np.save(os.path.join(OUT, "w%d.npy" % i), w)
print("ok", m.predict(x, verbose=0))
