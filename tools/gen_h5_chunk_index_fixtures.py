"""HDF5 fixtures of the extensible array chunk index (layout v4, index type
4) for tests/io/test_h5_earray.c: libhdf5 uses it for chunked datasets with
exactly one unlimited dimension when the file is created with
libver='latest' (or 'v110' and later).  Expected values are what h5py
reads back, saved as .npy.

h5py here carries libhdf5 2.0, whose 'latest' writes the data layout
message of filtered datasets as version 5 (version 4's fields, the
filtered chunk sizes in fields of the size of lengths), which the libhdf5
1.10 that tests/io/test_h5_reader_libhdf5.c compares every tests/data file against
cannot read.  So the files are written with libver=('v114', 'v114')
(layout version 4, the same chunk indexes), and layout_v5.h5 alone with
'latest' (test_h5_reader_libhdf5.c leaves it out of that comparison).

  /opt/kref/bin/python tools/gen_h5_chunk_index_fixtures.py   (h5py, tf.keras 2.15)

libhdf5's array parameters are fixed (4 elements in the index block, data
blocks of at least 16 elements, 4 data block pointers, pages of 1024), so:
  - array elements 0..3 sit in the index block, 4..243 in the data blocks it
    lists directly, 244 on in secondary blocks (EASB);
  - data blocks are paged from secondary block 13 on (elements from 131060).

tests/data/h5v2/earray.h5 (chunks of one or two elements, to need many):
  /f32        float32 (260,)  maxshape (None,)   chunks (1,)   secondary blocks
  /i32_2d     int32   (3, 84)  maxshape (6, None) chunks (2, 1): unlimited
              dimension second, chunk numbering by the maximum shape, and
              the chunks of rows 4..5 never written
  /f64_gzip   float64 (248,)  maxshape (None,)   chunks (1,), shuffle + gzip
  /i16_fill   int16   (40,)   maxshape (None,)   chunks (2,), fill value 7,
              only [10:20] written
  /empty      float32 (0, 3)  maxshape (None, 3): no chunk written, no index
tests/data/h5v2/earray_paged.h5:
  /i8_paged   int8 (131100,) maxshape (None,) chunks (1,), fill value -3,
              [0:5] and [131060:131100] written: one page of one data
              block of secondary block 13 (the other pages and blocks never
              written)
tests/data/h5v2/fixed_array.h5 (fixed shapes: the fixed array index):
  /fixed       float32 (6, 5) chunks (2, 2)
  /fixed_gzip  float64 (5, 4) chunks (2, 3), shuffle + gzip
  /fixed_paged int8 (1100,) chunks (1,), [1000:1100] never written: a
               paged data block (pages of 1024 chunks), its second page
               never written (fill value 5)
tests/data/h5v2/layout_v5.h5 (libver='latest': layout message version 5):
  /ea_gzip     float64 (248,) maxshape (None,) chunks (1,), shuffle + gzip
  /fa_gzip     float32 (6, 5) chunks (2, 2), gzip
tests/data/h5v2/earray_weights.h5: the weights of the fuzz_h5_weights model
  (Dense(8, relu) -> BatchNormalization -> Dense(3) on 4 features) as
  tf.keras 2.15 save_weights writes them, copied (same groups, attributes,
  values) into a libver='v114' file with every weight chunked and
  extensible (maxshape None first), the kernels with shuffle + gzip.
Being .h5 files under tests/data, all of these are seeds of the three h5
fuzz harnesses (tools/fuzz.sh) and replayed by ctest -R fuzz_replay;
earray_weights.h5 holds exactly fuzz_h5_weights' model.

tests/data/h5v2/earray_expected/<dataset>.npy: the values h5py reads
  (i8_paged as its fill value and the places and values that differ);
  weights.npy all the weights in the order of model.weights (layer by layer), x.npy / y.npy an input and
  what tf.keras predicts for it.
"""
import os

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "h5v2")
EXP = os.path.join(OUT, "earray_expected")
os.makedirs(EXP, exist_ok=True)
LIBVER = ("v114", "v114")


def fresh(name):
    path = os.path.join(OUT, name)
    if os.path.exists(path):
        os.remove(path)
    return path


def check_earray(path, want):
    """The file really holds extensible array indexes (their headers)."""
    n = open(path, "rb").read().count(b"EAHD")
    assert n == want, (path, n)


def save_expected(path, names):
    with h5py.File(path, "r") as f:
        for n in names:
            np.save(os.path.join(EXP, n + ".npy"), f[n][...])


def datasets():
    rng = np.random.default_rng(9)
    path = fresh("earray.h5")
    with h5py.File(path, "w", libver=LIBVER) as f:
        f.create_dataset("f32", data=rng.standard_normal(260).astype(np.float32), maxshape=(None,), chunks=(1,))
        d = f.create_dataset("i32_2d", shape=(3, 84), maxshape=(6, None), chunks=(2, 1), dtype=np.int32)
        d[...] = np.arange(252, dtype=np.int32).reshape(3, 84) * 7 - 1000
        f.create_dataset("f64_gzip", data=rng.standard_normal(248), maxshape=(None,), chunks=(1,),
                         shuffle=True, compression="gzip")
        d = f.create_dataset("i16_fill", shape=(40,), maxshape=(None,), chunks=(2,), dtype=np.int16, fillvalue=7)
        d[10:20] = np.arange(10, dtype=np.int16) - 5
        f.create_dataset("empty", shape=(0, 3), maxshape=(None, 3), chunks=(4, 3), dtype=np.float32)
    check_earray(path, 4)  # none for /empty: nothing written
    save_expected(path, ["f32", "i32_2d", "f64_gzip", "i16_fill", "empty"])
    print(path, os.path.getsize(path))

    path = fresh("earray_paged.h5")
    with h5py.File(path, "w", libver=LIBVER) as f:
        d = f.create_dataset("i8_paged", shape=(131100,), maxshape=(None,), chunks=(1,), dtype=np.int8,
                             fillvalue=-3)
        d[0:5] = np.arange(5, dtype=np.int8) + 1
        d[131060:131100] = (np.arange(40) - 20).astype(np.int8)
    check_earray(path, 1)
    # 131100 values, nearly all the fill value: kept as the fill value and
    # the places (and values) that differ, as h5py reads them
    with h5py.File(path, "r") as f:
        v = f["i8_paged"][...]
        fill = f["i8_paged"].fillvalue
    where = np.flatnonzero(v != fill)
    np.save(os.path.join(EXP, "i8_paged_where.npy"), where.astype(np.int64))
    np.save(os.path.join(EXP, "i8_paged_values.npy"), v[where])
    np.save(os.path.join(EXP, "i8_paged_fill.npy"), np.array([fill], np.int8))
    print(path, os.path.getsize(path))


def fixed_arrays():
    rng = np.random.default_rng(10)
    path = fresh("fixed_array.h5")
    with h5py.File(path, "w", libver=LIBVER) as f:
        f.create_dataset("fixed", data=rng.standard_normal((6, 5)).astype(np.float32), chunks=(2, 2))
        f.create_dataset("fixed_gzip", data=rng.standard_normal((5, 4)), chunks=(2, 3), shuffle=True,
                         compression="gzip")
        d = f.create_dataset("fixed_paged", shape=(1100,), chunks=(1,), dtype=np.int8, fillvalue=5)
        d[0:1000] = (np.arange(1000) % 200 - 100).astype(np.int8)
    assert open(path, "rb").read().count(b"FAHD") == 3
    save_expected(path, ["fixed", "fixed_gzip", "fixed_paged"])
    print(path, os.path.getsize(path))


def layout_v5():
    rng = np.random.default_rng(12)
    path = fresh("layout_v5.h5")
    with h5py.File(path, "w", libver="latest") as f:
        f.create_dataset("ea_gzip", data=rng.standard_normal(248), maxshape=(None,), chunks=(1,), shuffle=True,
                         compression="gzip")
        f.create_dataset("fa_gzip", data=rng.standard_normal((6, 5)).astype(np.float32), chunks=(2, 2),
                         compression="gzip")
    check_earray(path, 1)
    save_expected(path, ["ea_gzip", "fa_gzip"])
    print(path, os.path.getsize(path))


def weights():
    import tensorflow as tf

    tf.keras.utils.set_random_seed(11)
    inp = tf.keras.Input((4,), name="x")
    h = tf.keras.layers.Dense(8, activation="relu", name="dense")(inp)
    h = tf.keras.layers.BatchNormalization(name="bn")(h)
    y = tf.keras.layers.Dense(3, name="out")(h)
    model = tf.keras.Model(inp, y, name="fixed")
    bn = model.get_layer("bn")
    # moving statistics away from 0 / 1, so that they matter
    bn.set_weights([w + np.linspace(0.1, 0.9, w.size).astype(np.float32).reshape(w.shape) for w in bn.get_weights()])
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    np.save(os.path.join(EXP, "x.npy"), x)
    np.save(os.path.join(EXP, "y.npy"), model.predict(x, verbose=0))
    legacy = os.path.join(OUT, "earray_weights_legacy.tmp.h5")
    model.save_weights(legacy)
    path = fresh("earray_weights.h5")
    with h5py.File(legacy, "r") as src, h5py.File(path, "w", libver=LIBVER) as dst:
        def copy_attrs(a, b):
            for k, v in a.attrs.items():
                b.attrs[k] = v

        def walk(a, b):
            copy_attrs(a, b)
            for k, v in a.items():
                if isinstance(v, h5py.Group):
                    walk(v, b.create_group(k))
                else:
                    data = v[...]
                    kw = {}
                    if data.ndim == 2:
                        kw = dict(shuffle=True, compression="gzip")
                    chunks = (2,) + data.shape[1:]
                    b.create_dataset(k, data=data, maxshape=(None,) + data.shape[1:], chunks=chunks, **kw)
                    copy_attrs(v, b[k])

        walk(src, dst)
    os.remove(legacy)
    check_earray(path, 8)
    # h5py's reading of every weight, in the order of model.weights (layer
    # by layer, each layer's weights in Keras' order)
    with h5py.File(path, "r") as f:
        flat = []
        for w in model.weights:
            layer = w.name.split("/")[0]
            flat.append(f[layer][w.name][...].ravel())
    np.save(os.path.join(EXP, "weights.npy"), np.concatenate(flat).astype(np.float32))
    print(path, os.path.getsize(path))


if __name__ == "__main__":
    datasets()
    fixed_arrays()
    layout_v5()
    weights()
