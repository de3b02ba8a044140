"""HDF5 files of the newest format for tests/io/test_h5_checksums.c
(h5py, libver='latest': superblock v3, object headers v2 with their
checksums, dense groups and attributes in fractal heaps and v2 B-trees).

  /opt/kref/bin/python tools/gen_h5_v2_fixtures.py

latest.h5:
  /d           float32 (3, 4) = arange(12) / 8, contiguous
  /g           300 hard links l000..l299 to /d (dense storage: a fractal
               heap with an indirect block, a v2 B-tree with internal
               nodes), and 40 attributes a00..a39 = int64 i (dense)

"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data", "h5v2")
os.makedirs(OUT, exist_ok=True)
path = os.path.join(OUT, "latest.h5")
if os.path.exists(path):
    os.remove(path)
with h5py.File(path, "w", libver="latest") as f:
    d = f.create_dataset("d", data=(np.arange(12, dtype=np.float32) / 8).reshape(3, 4))
    g = f.create_group("g")
    for i in range(300):
        g["l%03d" % i] = d
    for i in range(40):
        g.attrs["a%02d" % i] = np.int64(i)
print(path, os.path.getsize(path))
