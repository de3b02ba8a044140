#!/usr/bin/python3
"""Writes the .npy fixtures of tests/io/test_npy_*.c into tests/data/npy/.

Run with Debian's python3 (it has numpy):  /usr/bin/python3 tools/gen_npy_fixtures.py

Three groups of files:
  * valid files written by numpy itself (widened dtypes, big-endian, Fortran
    order, format versions 1.0/2.0/3.0, scalars, empty arrays), plus
    hand-written headers that numpy accepts (other quotes, key order,
    whitespace, Python 2 'L' suffixes, no padding, trailing bytes);
  * save_*.npy: what np.save writes for arrays that the test rebuilds and
    saves with ck_npy_save, to compare byte for byte;
  * bad_*.npy: malformed or unsupported files (numpy output plus byte
    surgery), each of which ckeras must reject with CK_FORMAT_ERROR.

The expected values are written next to each file below; the test checks
the same values (they are small formulas such as arange).  Every valid file
is loaded back with np.load here to check that numpy agrees with the values
the test expects; every bad file is checked to be rejected by numpy too,
except the few that numpy reads but ckeras cannot represent (noted).
"""
import io
import os
import struct
import sys

import numpy as np
from numpy.lib import format as npformat

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "npy")


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr, allow_pickle=True)
    else:
        npformat.write_array(buf, arr, version=version, allow_pickle=True)
    return buf.getvalue()


def raw_npy(header, data=b"", version=(1, 0), pad=False):
    """A .npy file with exactly the header text given (no padding unless
    pad=True, when it is padded like numpy does)."""
    h = header.encode("latin1") if isinstance(header, str) else header
    fmt = "<H" if version == (1, 0) else "<I"
    if pad:
        pre = 6 + 2 + struct.calcsize(fmt)
        padlen = 64 - ((pre + len(h) + 1) % 64)
        h = h + b" " * padlen + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(h)) + h + data


written = []


def write(name, data):
    assert len(data) <= 600, (name, len(data))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    written.append(name)


def check_loads(name, expected, dtype=None):
    got = np.load(os.path.join(OUT, name), allow_pickle=False)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (name, got.shape, expected.shape)
    assert np.array_equal(got, expected, equal_nan=got.dtype.kind == "f"), (name, got, expected)
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), (name, got.dtype, dtype)


def valid(name, arr, version=None, expected=None):
    write(name, npy_bytes(arr, version))
    check_loads(name, arr if expected is None else expected, np.asarray(arr).dtype)


def rejected_by_numpy(name, allow_pickle=False):
    try:
        np.load(os.path.join(OUT, name), allow_pickle=allow_pickle)
    except Exception:  # numpy raises ValueError, EOFError, UnicodeError, ...
        return True
    return False


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".npy"):
            os.remove(os.path.join(OUT, old))

    # ---- widened dtypes (little-endian, numpy's own output) -------------
    valid("bool.npy", np.array([True, False, True, True, False]))                 # -> int32 1 0 1 1 0
    valid("i1.npy", np.array([-128, -1, 0, 1, 127], dtype="i1"))                   # -> int32
    valid("u1.npy", np.array([0, 1, 127, 128, 255], dtype="u1"))                   # -> int32
    valid("i2.npy", np.array([-32768, -1, 0, 1, 32767], dtype="<i2"))              # -> int32
    valid("u2.npy", np.array([0, 1, 32768, 65535], dtype="<u2"))                   # -> int32
    valid("u4.npy", np.array([0, 1, 2**31, 2**32 - 1], dtype="<u4"))               # -> int64
    # float16 -> float32: zero, -zero, 1, -2.5, max 65504, min normal 2^-14,
    # min subnormal 2^-24, subnormal 1023*2^-24, inf, -inf, nan
    f2 = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-14, 2.0**-24, 1023 * 2.0**-24,
                   np.inf, -np.inf, np.nan], dtype="<f2")
    valid("f2.npy", f2)

    # ---- kept dtypes, little-endian 2x3: arange(6) * 0.5 - 1 ------------
    valid("f4.npy", (np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3))

    # ---- big-endian -------------------------------------------------------
    valid("be_f4.npy", (np.arange(6) * 0.5 - 1).astype(">f4").reshape(2, 3))      # arange(6)*0.5-1
    valid("be_f8.npy", np.array([1.5, -2.25, 1e300, -1e-300, 0.0], dtype=">f8"))
    valid("be_i4.npy", np.array([-2**31, -1, 0, 1, 2**31 - 1], dtype=">i4"))
    valid("be_i8.npy", np.array([-2**63, -1, 0, 1, 2**63 - 1, 2**40 + 3], dtype=">i8"))
    valid("be_i2.npy", np.array([-32768, -1, 0, 1, 32767], dtype=">i2"))
    valid("be_u2.npy", np.array([0, 1, 32768, 65535], dtype=">u2"))
    valid("be_u4.npy", np.array([0, 1, 2**31, 2**32 - 1], dtype=">u4"))
    valid("be_f2.npy", np.array([1.0, -2.5, 2.0**-24, np.inf], dtype=">f2"))

    # ---- Fortran order: C-order values are arange ------------------------
    f2d = np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))
    valid("fortran_f4_2d.npy", f2d)                                                # C: arange(6), (2,3)
    f3d = np.asfortranarray(np.arange(24, dtype="<i8").reshape(2, 3, 4))
    valid("fortran_i8_3d.npy", f3d)                                                # C: arange(24), (2,3,4)
    f3b = np.asfortranarray((np.arange(24) - 12).astype(">i2").reshape(4, 3, 2))
    valid("fortran_be_i2_3d.npy", f3b)                                             # C: arange(24)-12, (4,3,2)
    for name in ("fortran_f4_2d.npy", "fortran_i8_3d.npy", "fortran_be_i2_3d.npy"):
        assert b"'fortran_order': True" in open(os.path.join(OUT, name), "rb").read()

    # ---- format versions: arange(12) int32 (3, 4) ------------------------
    v = np.arange(12, dtype="<i4").reshape(3, 4)
    valid("v1.npy", v, version=(1, 0))
    valid("v2.npy", v, version=(2, 0))
    valid("v3.npy", v, version=(3, 0))

    # ---- scalars and empty arrays -----------------------------------------
    valid("scalar_f8.npy", np.float64(3.5))                                        # shape ()
    valid("scalar_i8.npy", np.array(-7, dtype="<i8"))                              # shape ()
    valid("empty_f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
    valid("empty_i8_2x0x4.npy", np.zeros((2, 0, 4), dtype="<i8"))

    # ---- hand-written headers that numpy accepts --------------------------
    d3 = np.array([1.5, -2.0, 3.25], dtype="<f4").tobytes()
    write("hdr_double_quotes.npy",
          raw_npy('{"descr": "<f4", "fortran_order": False, "shape": (3,)}\n', d3, pad=True))
    check_loads("hdr_double_quotes.npy", [1.5, -2.0, 3.25])
    write("hdr_reordered.npy",
          raw_npy("{'shape': (2, 2), 'fortran_order': False, 'descr': '<i4'}\n",
                  np.array([7, -8, 9, -10], dtype="<i4").tobytes(), pad=True))
    check_loads("hdr_reordered.npy", [[7, -8], [9, -10]])
    # Fortran order, odd spacing, tabs, newlines, trailing commas in tuple and dict
    write("hdr_whitespace.npy",
          raw_npy("  { 'descr' :'<f8' ,\n\t'fortran_order':True,'shape':( 2 , 3 , ) , }  \n",
                  np.arange(6, dtype="<f8").tobytes()))
    check_loads("hdr_whitespace.npy", np.arange(6, dtype="<f8").reshape(3, 2).T)   # C: [[0,2,4],[1,3,5]]
    # Python 2 numpy wrote long ints with an L suffix
    write("hdr_py2_long.npy",
          raw_npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }\n",
                  np.arange(6, dtype="<i8").tobytes(), pad=True))
    check_loads("hdr_py2_long.npy", np.arange(6).reshape(2, 3))
    # no padding and no trailing newline at all
    write("hdr_no_padding.npy",
          raw_npy("{'descr':'<i2','fortran_order':False,'shape':(3,)}",
                  np.array([-1, 2, -3], dtype="<i2").tobytes()))
    check_loads("hdr_no_padding.npy", [-1, 2, -3])
    # '=' is the native byte order (data written little-endian: the test only
    # checks values on a little-endian host)
    write("hdr_native_order.npy",
          raw_npy("{'descr': '=f4', 'fortran_order': False, 'shape': (3,), }\n", d3, pad=True))
    if sys.byteorder == "little":
        check_loads("hdr_native_order.npy", [1.5, -2.0, 3.25])
    # a repeated key: as in a Python dict literal, the last one wins
    write("hdr_duplicate_key.npy",
          raw_npy("{'descr': '<f4', 'shape': (1,), 'fortran_order': False, 'shape': (3,), }\n",
                  d3, pad=True))
    check_loads("hdr_duplicate_key.npy", [1.5, -2.0, 3.25])
    # numpy reads count elements and ignores what follows
    write("trailing_bytes.npy", npy_bytes(np.array([1.5, -2.0, 3.25], dtype="<f4")) + b"extra")
    check_loads("trailing_bytes.npy", [1.5, -2.0, 3.25])

    # ---- what np.save writes, to compare ck_npy_save byte for byte -------
    valid("save_f4_2x3.npy", (np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3))
    valid("save_f8_scalar.npy", np.array(3.5, dtype="<f8"))
    valid("save_i4_0x3.npy", np.zeros((0, 3), dtype="<i4"))
    valid("save_i8_rank8.npy", (np.arange(8, dtype="<i8") * 2**40 - 3).reshape(1, 2, 1, 2, 1, 1, 2, 1))
    valid("save_i4_6x1.npy", (np.arange(6, dtype="<i4") - 3).reshape(6, 1))

    # ---- malformed and unsupported files ---------------------------------
    good = npy_bytes(np.arange(6, dtype="<f8").reshape(2, 3))
    bad = {}
    bad["bad_empty_file.npy"] = b""
    bad["bad_magic.npy"] = b"X" + good[1:]
    bad["bad_version.npy"] = good[:6] + b"\x04\x00" + good[8:]
    bad["bad_minor_version.npy"] = good[:6] + b"\x01\x01" + good[8:]
    bad["bad_header_len.npy"] = good[:8] + struct.pack("<H", 0xFFFF) + good[10:]
    bad["bad_truncated_header.npy"] = good[:40]
    bad["bad_empty_header.npy"] = good[:8] + b"\x00\x00" + good[10:]
    f3 = np.zeros(3, dtype="<f4").tobytes()
    bad["bad_missing_key.npy"] = raw_npy("{'descr': '<f4', 'shape': (3,), }\n", f3, pad=True)
    bad["bad_extra_key.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'foo': 1, }\n", f3, pad=True)
    bad["bad_unparsable.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,}\n", f3, pad=True)
    bad["bad_not_dict.npy"] = raw_npy("['<f4', False, (3,)]\n", f3, pad=True)
    bad["bad_unterminated_string.npy"] = raw_npy(
        "{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }\n", f3, pad=True)
    bad["bad_trailing_text.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } x\n", f3, pad=True)
    bad["bad_shape_list.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': [3], }\n", f3, pad=True)
    bad["bad_shape_int.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }\n", f3, pad=True)
    bad["bad_shape_float.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,), }\n", f3, pad=True)
    bad["bad_fortran_not_bool.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }\n", f3, pad=True)
    bad["bad_negative_dim.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }\n", f3, pad=True)
    bad["bad_descr_not_str.npy"] = raw_npy(
        "{'descr': 5, 'fortran_order': False, 'shape': (3,), }\n", f3, pad=True)
    bad["bad_deep_nesting.npy"] = raw_npy(
        "{'descr': " + "[" * 200 + "]" * 200 + ", 'fortran_order': False, 'shape': (3,), }\n",
        f3, pad=True)
    bad["bad_v3_utf8.npy"] = raw_npy(
        b"{'descr': '<f4\xff', 'fortran_order': False, 'shape': (3,), }\n", f3,
        version=(3, 0), pad=True)
    bad["bad_truncated_data.npy"] = good[:-3]
    bad["bad_dtype_complex.npy"] = npy_bytes(np.zeros(2, dtype="<c8"))
    bad["bad_dtype_unicode.npy"] = npy_bytes(np.array(["ab", "cde"], dtype="<U5"))
    bad["bad_dtype_void.npy"] = npy_bytes(np.zeros(2, dtype="|V8"))
    bad["bad_dtype_datetime.npy"] = npy_bytes(np.zeros(2, dtype="<M8[ns]"))
    bad["bad_dtype_bytes.npy"] = npy_bytes(np.array([b"ab"], dtype="|S3"))
    bad["bad_dtype_u8.npy"] = npy_bytes(np.array([1, 2], dtype="<u8"))
    bad["bad_dtype_structured.npy"] = npy_bytes(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    bad["bad_object.npy"] = npy_bytes(np.array([1, "a", None], dtype=object))
    # numpy reads these three; ckeras cannot represent them
    bad["bad_rank9.npy"] = npy_bytes(np.zeros((1,) * 9, dtype="<f4"))
    bad["bad_count_overflow.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", f3,
        pad=True)
    bad["bad_huge_dim.npy"] = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000000000000,), }\n", f3,
        pad=True)
    numpy_reads = {"bad_rank9.npy", "bad_dtype_complex.npy", "bad_dtype_unicode.npy",
                   "bad_dtype_void.npy", "bad_dtype_datetime.npy", "bad_dtype_bytes.npy",
                   "bad_dtype_u8.npy", "bad_dtype_structured.npy"}
    for name, data in bad.items():
        write(name, data)
        rej = rejected_by_numpy(name)
        if name in numpy_reads:
            assert not rej, name
        elif name not in ("bad_count_overflow.npy", "bad_huge_dim.npy"):
            # (numpy fails on those two later, as a memory or value error)
            assert rej, name
    assert not rejected_by_numpy("bad_object.npy", allow_pickle=True)

    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in written)
    print("wrote %d files, %d bytes, into %s" % (len(written), total, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
