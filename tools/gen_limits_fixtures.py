"""Fixtures of tests/io/test_limits.c (plain Python, no TensorFlow).

  python3 tools/gen_limits_fixtures.py

padded_deflated.keras: tests/data/layers/recurrent/rnn_model.keras re-zipped with deflate,
its metadata.json padded with 400,000 spaces inside the object (still the
same JSON): the archive is small and that entry expands about 80 times, so
a lowered CK_LIMIT_ARCHIVE_ENTRY_RATIO refuses it while the default (1100)
loads it.
"""
import os
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "data", "layers", "recurrent", "rnn_model.keras")
OUT = os.path.join(ROOT, "tests", "data", "limits", "padded_deflated.keras")

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with zipfile.ZipFile(SRC) as src, zipfile.ZipFile(OUT, "w", zipfile.ZIP_DEFLATED) as out:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename == "metadata.json":
            data = b"{" + b" " * 400000 + data[1:]
        out.writestr(info.filename, data)
print(OUT, os.path.getsize(OUT))
