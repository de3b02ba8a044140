#!/usr/bin/python3
"""Golden facts and small fixtures for the Keras HDF5 / .keras tests.

Run with Debian's /usr/bin/python3 (it has numpy and h5py):

    /usr/bin/python3 tools/gen_h5_facts.py [SHARED_KERAS_DIR] [OUT_DIR]

SHARED_KERAS_DIR defaults to ../shared/testdata/keras (next to the repo),
OUT_DIR to tests/data/h5.  Writes:

  OUT_DIR/facts.json   for every .h5/.hdf5/.keras file under SHARED_KERAS_DIR
                       (paths relative to it) and every fixture written here:
                       layer names in layer_names order, weight names, dtypes,
                       shapes and a few values (first three, last, float64
                       sum), all read with h5py/numpy/zipfile -- never with
                       ckeras -- plus, for fixtures, the expected status and a
                       fragment of the error message;
  OUT_DIR/*.h5, *.keras  small files covering the dialects that the real files
                       do not (space-padded, NULL-terminated and UTF-8
                       strings, scalar name lists, chunked layer_names0..,
                       empty weight_names of other types, unusual dtypes, a
                       Keras-3-style archive with nested layers) and broken
                       files for the error paths.

The dtype a reader must produce is given by the conversion rules of
src/io/h5_util.h: float16 -> float32, int8/uint8/int16/uint16/bool -> int32,
uint32/uint64 -> int64 (uint64 saturating), others kept.
"""
import io
import json
import os
import re
import sys
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# --------------------------------------------------------------------------
# reading facts with h5py
# --------------------------------------------------------------------------

def ck_dtype(dt):
    """The dtype ckeras must give for an h5py/numpy dtype."""
    dt = np.dtype(dt)
    if dt.kind == 'b':
        return 'int32'
    if dt.kind == 'f':
        return 'float32' if dt.itemsize <= 4 else 'float64'
    if dt.kind == 'i':
        return 'int32' if dt.itemsize <= 4 else 'int64'
    if dt.kind == 'u':
        return 'int32' if dt.itemsize <= 2 else 'int64'
    raise ValueError('unexpected dtype %s' % dt)


def converted(arr):
    arr = np.asarray(arr)
    want = ck_dtype(arr.dtype)
    if arr.dtype.kind == 'u' and arr.dtype.itemsize == 8:
        arr = np.minimum(arr, np.uint64(2**63 - 1))
    return arr.astype(want)


def value_facts(arr):
    a = converted(arr)
    flat = a.reshape(-1)
    facts = {
        'dtype': str(a.dtype),
        'shape': list(a.shape),
        'head': [float(x) if a.dtype.kind == 'f' else int(x) for x in flat[:3]],
        'sum': float(flat.astype(np.float64).sum()) if flat.size else 0.0,
    }
    if flat.size:
        x = flat[-1]
        facts['tail'] = float(x) if a.dtype.kind == 'f' else int(x)
    return facts


def attr_type(obj, name):
    return obj.attrs.get_id(name).get_type()


def read_names(obj, name):
    """Keras' load_attributes_from_hdf5_group, returning (names, present, vlen)."""
    names = []
    if name in obj.attrs:
        parts = [name]
    else:
        parts = []
        while '%s%d' % (name, len(parts)) in obj.attrs:
            parts.append('%s%d' % (name, len(parts)))
    vlen = False
    for p in parts:
        t = attr_type(obj, p)
        if t.get_class() == h5py.h5t.STRING:
            vlen = vlen or t.is_variable_str()
        val = obj.attrs[p]
        if isinstance(val, h5py.Empty):
            continue
        arr = np.atleast_1d(np.asarray(val, dtype=object if isinstance(val, str) else None))
        if arr.dtype.kind not in 'SUO':
            assert arr.size == 0, (name, arr)
            continue
        for x in arr.reshape(-1):
            names.append(x.decode('utf8') if isinstance(x, bytes) else str(x))
    return names, bool(parts), vlen


def read_string(obj, name):
    if name not in obj.attrs:
        return None
    v = obj.attrs[name]
    if isinstance(v, np.ndarray):
        assert v.size == 1
        v = v.reshape(-1)[0]
    return v.decode('utf8') if isinstance(v, bytes) else str(v)


def layer_facts(g, name):
    wnames, _, _ = read_names(g, 'weight_names')
    return {'name': name,
            'weights': [dict(name=w, **value_facts(g[w][()])) for w in wnames]}


def legacy_facts(f):
    root = f['/']
    if 'layer_names' in root.attrs or 'layer_names0' in root.attrs:
        wg, is_model = root, 0
    elif 'model_weights' in root and isinstance(root['model_weights'], h5py.Group):
        wg, is_model = root['model_weights'], 1
    else:
        return {'kind': 'not_keras'}
    lnames, _, vlen = read_names(wg, 'layer_names')
    mc = read_string(root, 'model_config')
    has_top = 'top_level_model_weights' in wg
    facts = {
        'kind': 'legacy',
        'is_model': is_model,
        'dialect': 'h5py3' if vlen else 'h5py2',
        'keras_version': read_string(root, 'keras_version') or read_string(wg, 'keras_version'),
        'backend': read_string(root, 'backend') or read_string(wg, 'backend'),
        'model_config_bytes': len(mc.encode('utf8')) if mc is not None else None,
        'model_config_class': json.loads(mc)['class_name'] if mc is not None else None,
        'has_training_config': 'training_config' in root.attrs,
        'has_optimizer_weights': 'optimizer_weights' in root,
        'has_top_level': has_top,
        'layers': [layer_facts(wg[n], n) for n in lnames],
    }
    if has_top:
        facts['top_level'] = layer_facts(wg['top_level_model_weights'], 'top_level_model_weights')['weights']
    return facts


def path_key(p):
    return tuple((0, int(c), c) if re.fullmatch('[0-9]+', c) else (1, 0, c) for c in p.split('/'))


def weights_h5_facts(f):
    vars_, groups = [], []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            vars_.append(dict(path=name, **value_facts(obj[()])))
        elif name.split('/')[-1] == 'vars':
            groups.append({'path': name, 'name': read_string(obj, 'name')})
    f.visititems(visit)
    vars_.sort(key=lambda v: path_key(v['path']))
    groups.sort(key=lambda g: path_key(g['path']))
    return {'vars': vars_, 'groups': groups}


def archive_facts(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        meta = z.read('metadata.json').decode('utf8') if 'metadata.json' in names else None
        config = z.read('config.json').decode('utf8')
        h5 = z.read('model.weights.h5')
        infos = [(i.filename, i.compress_type) for i in z.infolist()]
    with h5py.File(io.BytesIO(h5), 'r') as f:
        facts = weights_h5_facts(f)
    facts.update({
        'kind': 'archive',
        'entries': [n for n, _ in infos],
        'stored': all(c == zipfile.ZIP_STORED for _, c in infos),
        'metadata_json': meta,
        'config_bytes': len(config.encode('utf8')),
        'config_class': json.loads(config)['class_name'],
    })
    return facts


def file_facts(path):
    if path.endswith('.keras'):
        return archive_facts(path)
    with h5py.File(path, 'r') as f:
        return legacy_facts(f)


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

def fixed_type(size, pad, cset=h5py.h5t.CSET_ASCII):
    t = h5py.h5t.C_S1.copy()
    t.set_size(size)
    t.set_strpad(pad)
    t.set_cset(cset)
    return t


def attr_fixed(obj, name, values, size, pad, scalar=False):
    """A fixed-length string attribute with an exact padding."""
    raw = [v.encode('utf8') for v in values]
    mem = np.array(raw[0] if scalar else raw, dtype='S%d' % size)
    space = h5py.h5s.create(h5py.h5s.SCALAR) if scalar else h5py.h5s.create_simple((len(raw),))
    aid = h5py.h5a.create(obj.id, name.encode(), fixed_type(size, pad), space)
    aid.write(mem, mtype=fixed_type(size, h5py.h5t.STR_NULLPAD))


def attr_vlen(obj, name, values, encoding, scalar=False):
    dt = h5py.string_dtype(encoding)
    if scalar:
        obj.attrs.create(name, values[0], dtype=dt)
    else:
        obj.attrs.create(name, np.array(values, dtype=object), dtype=dt)


def make_dialects_fixed(path):
    cfg = '{"class_name": "Sequential", "config": {"name": "dialects", "layers": []}}'
    k = np.arange(6, dtype=np.float32).reshape(3, 2) - 2.5
    b = np.array([0.25, -0.5], dtype=np.float32)
    sa = np.arange(4, dtype=np.float32).reshape(2, 2) * 10
    sb = np.array([-1.0, 1.0, 2.0], dtype=np.float32)
    with h5py.File(path, 'w') as f:
        attr_fixed(f, 'model_config', [cfg], len(cfg) + 4, h5py.h5t.STR_NULLTERM)
        attr_fixed(f, 'keras_version', ['2.1.6'], 8, h5py.h5t.STR_SPACEPAD, scalar=True)
        mw = f.create_group('model_weights')
        attr_fixed(mw, 'backend', ['theano'], 6, h5py.h5t.STR_NULLPAD, scalar=True)
        attr_fixed(mw, 'layer_names', ['inp', 'dense', 'act', 'drop', 'nul', 'nested'], 16,
                   h5py.h5t.STR_NULLTERM)
        mw.create_group('inp')
        g = mw.create_group('dense')
        attr_fixed(g, 'weight_names', ['dense/kernel:0', 'dense/bias:0'], 20, h5py.h5t.STR_SPACEPAD)
        g['dense/kernel:0'] = k
        g['dense/bias:0'] = b
        mw.create_group('act').attrs['weight_names'] = np.array([], dtype=np.int32)
        mw.create_group('drop').attrs['weight_names'] = np.array([], dtype='S1')
        mw.create_group('nul').attrs['weight_names'] = h5py.Empty('f8')
        g = mw.create_group('nested')
        attr_fixed(g, 'weight_names', ['sub/b/bias', 'sub/a/kernel'], 12, h5py.h5t.STR_NULLPAD)
        g['sub/a/kernel'] = sa
        g['sub/b/bias'] = sb
    return {
        'kind': 'legacy', 'is_model': 1, 'dialect': 'h5py2', 'keras_version': '2.1.6',
        'backend': 'theano', 'model_config_bytes': len(cfg), 'model_config_class': 'Sequential',
        'has_training_config': False, 'has_optimizer_weights': False, 'has_top_level': False,
        'layers': [
            {'name': 'inp', 'weights': []},
            {'name': 'dense', 'weights': [dict(name='dense/kernel:0', **value_facts(k)),
                                          dict(name='dense/bias:0', **value_facts(b))]},
            {'name': 'act', 'weights': []},
            {'name': 'drop', 'weights': []},
            {'name': 'nul', 'weights': []},
            {'name': 'nested', 'weights': [dict(name='sub/b/bias', **value_facts(sb)),
                                           dict(name='sub/a/kernel', **value_facts(sa))]},
        ],
    }


def make_dialects_vlen(path):
    k = np.linspace(-1, 1, 8, dtype=np.float32).reshape(4, 2)
    b = np.array([3.0, 4.0], dtype=np.float32)
    scale = np.float32(2.5)
    with h5py.File(path, 'w') as f:
        attr_vlen(f, 'layer_names', ['dénse', 'ünused'], 'utf-8')
        attr_vlen(f, 'backend', ['tensorflow'], 'utf-8', scalar=True)
        attr_vlen(f, 'keras_version', ['2.11.0'], 'ascii')  # a 1-element list
        g = f.create_group('dénse')
        attr_vlen(g, 'weight_names', ['dénse/kernel:0', 'dénse/bias:0'], 'utf-8')
        g['dénse/kernel:0'] = k
        g['dénse/bias:0'] = b
        f.create_group('ünused').attrs['weight_names'] = np.array([], dtype=np.float64)
        g = f.create_group('top_level_model_weights')
        attr_vlen(g, 'weight_names', ['model/scale:0'], 'ascii')
        g['model/scale:0'] = scale
    return {
        'kind': 'legacy', 'is_model': 0, 'dialect': 'h5py3', 'keras_version': '2.11.0',
        'backend': 'tensorflow', 'model_config_bytes': None, 'model_config_class': None,
        'has_training_config': False, 'has_optimizer_weights': False, 'has_top_level': True,
        'layers': [
            {'name': 'dénse', 'weights': [dict(name='dénse/kernel:0', **value_facts(k)),
                                          dict(name='dénse/bias:0', **value_facts(b))]},
            {'name': 'ünused', 'weights': []},
        ],
        'top_level': [dict(name='model/scale:0', **value_facts(scale))],
    }


def make_scalar_names(path):
    w = np.float64(3.25)
    with h5py.File(path, 'w') as f:
        attr_vlen(f, 'layer_names', ['only'], 'ascii', scalar=True)
        attr_vlen(f, 'keras_version', ['2.3.1'], 'ascii', scalar=True)
        g = f.create_group('only')
        attr_fixed(g, 'weight_names', ['only/w:0'], 8, h5py.h5t.STR_NULLPAD, scalar=True)
        g['only/w:0'] = w
    return {
        'kind': 'legacy', 'is_model': 0, 'dialect': 'h5py3', 'keras_version': '2.3.1',
        'backend': None, 'model_config_bytes': None, 'model_config_class': None,
        'has_training_config': False, 'has_optimizer_weights': False, 'has_top_level': False,
        'layers': [{'name': 'only', 'weights': [dict(name='only/w:0', **value_facts(w))]}],
    }


def make_chunked(path):
    names = ['l0', 'l1', 'l2', 'l3', 'l4']
    ws = [np.full((2,), i, dtype=np.float32) for i in range(3)]
    with h5py.File(path, 'w') as f:
        f.attrs['layer_names0'] = np.array([b'l0', b'l1'])
        f.attrs['layer_names1'] = np.array([b'l2', b'l3'])
        f.attrs['layer_names2'] = np.array([b'l4'])
        f.attrs['backend'] = b'tensorflow'
        f.attrs['keras_version'] = b'2.4.0'
        for n in names:
            f.create_group(n).attrs['weight_names'] = np.array([], dtype=np.float64)
        g = f['l2']
        del g.attrs['weight_names']
        g.attrs['weight_names0'] = np.array([b'l2/w0:0', b'l2/w1:0'])
        g.attrs['weight_names1'] = np.array([b'l2/w2:0'])
        for i, w in enumerate(ws):
            g['l2/w%d:0' % i] = w
    return {
        'kind': 'legacy', 'is_model': 0, 'dialect': 'h5py2', 'keras_version': '2.4.0',
        'backend': 'tensorflow', 'model_config_bytes': None, 'model_config_class': None,
        'has_training_config': False, 'has_optimizer_weights': False, 'has_top_level': False,
        'layers': [{'name': n, 'weights': [dict(name='l2/w%d:0' % i, **value_facts(w))
                                            for i, w in enumerate(ws)] if n == 'l2' else []}
                   for n in names],
    }


def make_dtypes(path):
    arrays = [
        ('f16', np.array([[0.5, -1.25, 3.0], [65504.0, 0.001, 0.0]], dtype=np.float16)),
        ('i8', np.array([-128, -1, 0, 127], dtype=np.int8)),
        ('u8', np.array([0, 200, 255], dtype=np.uint8)),
        ('i16', np.array([-32768, 32767], dtype=np.int16)),
        ('u16', np.array([0, 65535], dtype=np.uint16)),
        ('i32', np.array([[-7, 8]], dtype=np.int32)),
        ('u32', np.array([4000000000, 1], dtype=np.uint32)),
        ('i64', np.int64(1234567890123)),
        ('u64', np.array([2**63 + 5, 7], dtype=np.uint64)),
        ('b', np.array([True, False, True])),
        ('be', np.array([[1.5, -2.0], [3.25, 4.0]], dtype='>f4')),
        ('bei', np.array([-5, 6], dtype='>i8')),
        ('f64', np.array([0.1, -1e300])),
        ('empty', np.zeros((0, 3), dtype=np.float32)),
        ('r8', np.array([7.0, 8.0], dtype=np.float32).reshape(1, 1, 1, 1, 1, 1, 2, 1)),
    ]
    with h5py.File(path, 'w') as f:
        f.attrs['layer_names'] = np.array([b'd'])
        f.attrs['backend'] = b'tensorflow'
        f.attrs['keras_version'] = b'2.4.0'
        g = f.create_group('d')
        g.attrs['weight_names'] = np.array([n.encode() for n, _ in arrays])
        for n, a in arrays:
            g.create_dataset(n, data=a)
    return {
        'kind': 'legacy', 'is_model': 0, 'dialect': 'h5py2', 'keras_version': '2.4.0',
        'backend': 'tensorflow', 'model_config_bytes': None, 'model_config_class': None,
        'has_training_config': False, 'has_optimizer_weights': False, 'has_top_level': False,
        'layers': [{'name': 'd', 'weights': [dict(name=n, **value_facts(a)) for n, a in arrays]}],
    }


def weights_only(f, layers):
    """Minimal weights-only header: layer_names + per-layer groups."""
    f.attrs['layer_names'] = np.array([n.encode() for n in layers])
    f.attrs['backend'] = b'tensorflow'
    f.attrs['keras_version'] = b'2.4.0'


def make_bad_files(out):
    bad = []

    def add(name, status, fragment, maker, reader='h5'):
        p = os.path.join(out, name)
        if os.path.exists(p):
            os.remove(p)
        maker(p)
        bad.append({'path': name, 'kind': 'bad', 'reader': reader, 'status': status,
                    'fragment': fragment})

    def not_hdf5(p):
        with open(p, 'w') as fh:
            fh.write('this is not an HDF5 file\n')
    add('bad_not_hdf5.h5', 'FormatError', 'not an HDF5 file', not_hdf5)

    def layer_names_int(p):
        with h5py.File(p, 'w') as f:
            f.attrs['layer_names'] = np.array([1, 2])
    add('bad_layer_names_int.h5', 'FormatError', 'is not a string', layer_names_int)

    def layer_names_2d(p):
        with h5py.File(p, 'w') as f:
            f.attrs['layer_names'] = np.array([[b'a', b'b'], [b'c', b'd']])
    add('bad_layer_names_2d.h5', 'FormatError', '2-d array', layer_names_2d)

    def missing_group(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['present', 'ghost'])
            f.create_group('present').attrs['weight_names'] = np.array([], dtype=np.float64)
    add('bad_missing_layer_group.h5', 'FormatError', "layer 'ghost'", missing_group)

    def missing_dataset(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['dense'])
            g = f.create_group('dense')
            g.attrs['weight_names'] = np.array([b'dense/kernel:0', b'dense/bias:0'])
            g['dense/kernel:0'] = np.zeros((2, 2), dtype=np.float32)
    add('bad_missing_dataset.h5', 'FormatError', 'dense/bias:0', missing_dataset)

    def weight_is_group(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['dense'])
            g = f.create_group('dense')
            g.attrs['weight_names'] = np.array([b'dense'])
            g['dense/kernel:0'] = np.zeros((2, 2), dtype=np.float32)
    add('bad_weight_is_group.h5', 'FormatError', 'not a dataset', weight_is_group)

    def full_model(f, config):
        f.attrs['model_config'] = config
        mw = f.create_group('model_weights')
        weights_only(mw, [])

    def config_type(p):
        with h5py.File(p, 'w') as f:
            full_model(f, np.int64(7))
    add('bad_model_config_type.h5', 'FormatError', "'model_config'", config_type)

    def config_json(p):
        with h5py.File(p, 'w') as f:
            full_model(f, b'{not json')
    add('bad_model_config_json.h5', 'FormatError', 'not valid JSON', config_json)

    def config_two(p):
        with h5py.File(p, 'w') as f:
            full_model(f, np.array([b'{}', b'{}']))
    add('bad_model_config_two.h5', 'FormatError', 'holds 2 strings', config_two)

    def compound(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['c'])
            g = f.create_group('c')
            g.attrs['weight_names'] = np.array([b'w'])
            g['w'] = np.zeros(3, dtype=[('a', 'f4'), ('b', 'i4')])
    add('bad_compound.h5', 'FormatError', 'compound', compound)

    def string_data(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['s'])
            g = f.create_group('s')
            g.attrs['weight_names'] = np.array([b'w'])
            g['w'] = np.array([b'abc', b'de'])
    add('bad_string_dataset.h5', 'FormatError', 'string', string_data)

    def rank9(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['r'])
            g = f.create_group('r')
            g.attrs['weight_names'] = np.array([b'w'])
            g['w'] = np.zeros((1,) * 9, dtype=np.float32)
    add('bad_rank9.h5', 'FormatError', 'rank 9', rank9)

    def null_data(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['n'])
            g = f.create_group('n')
            g.attrs['weight_names'] = np.array([b'w'])
            g.create_dataset('w', data=h5py.Empty('f4'))
    add('bad_null_dataset.h5', 'FormatError', 'null dataset', null_data)

    def unwritten(p):
        with h5py.File(p, 'w') as f:
            weights_only(f, ['u'])
            g = f.create_group('u')
            g.attrs['weight_names'] = np.array([b'w'])
            g.create_dataset('w', shape=(100000, 100000), dtype=np.float32)
    add('bad_unwritten_dataset.h5', 'FormatError', 'no data stored', unwritten)

    def no_layer_names(p):
        with h5py.File(p, 'w') as f:
            f.attrs['model_config'] = b'{"class_name": "Sequential", "config": {}}'
            f.create_group('model_weights')
    add('bad_no_layer_names.h5', 'FormatError', 'no layer_names', no_layer_names)

    # archives
    def zip_with(p, entries):
        with zipfile.ZipFile(p, 'w', zipfile.ZIP_STORED) as z:
            for n, data in entries:
                z.writestr(n, data)

    meta = b'{"keras_version": "3.6.0", "date_saved": "2024-11-03@12:44:27"}'
    cfg = b'{"module": "keras", "class_name": "Functional", "config": {}}'
    add('bad_no_config.keras', 'FormatError', 'no config.json',
        lambda p: zip_with(p, [('metadata.json', meta), ('model.weights.h5', small_h5_bytes())]),
        'archive')
    add('bad_config_json.keras', 'FormatError', 'config.json is not valid JSON',
        lambda p: zip_with(p, [('metadata.json', meta), ('config.json', b'{oops'),
                               ('model.weights.h5', small_h5_bytes())]), 'archive')
    add('bad_weights_garbage.keras', 'FormatError', 'not an HDF5 file',
        lambda p: zip_with(p, [('metadata.json', meta), ('config.json', cfg),
                               ('model.weights.h5', b'garbage, not HDF5')]), 'archive')
    add('bad_npz.keras', 'NotImplementedError', 'model.weights.npz',
        lambda p: zip_with(p, [('metadata.json', meta), ('config.json', cfg),
                               ('model.weights.npz', b'PK')]), 'archive')
    add('bad_not_zip.keras', 'FormatError', 'not a valid .keras', not_hdf5, 'archive')

    def crc(p):
        zip_with(p, [('metadata.json', meta), ('config.json', cfg),
                     ('model.weights.h5', small_h5_bytes())])
        data = bytearray(open(p, 'rb').read())
        i = data.index(b'"Functional"')
        data[i + 1:i + 2] = b'X'
        open(p, 'wb').write(bytes(data))
    add('bad_crc.keras', 'FormatError', 'config.json is damaged', crc, 'archive')

    add('bad_legacy_as_weights.h5', 'FormatError', 'legacy Keras 2',
        lambda p: missing_group(p), 'weights_h5')
    return bad


# A Keras-3-style weights file: layers/<snake>[_k]/vars/<i>, a nested
# functional model, empty vars groups of weightless layers, `name`
# attributes, the model's own vars, and one layer with 12 variables so that
# vars/10 and vars/11 must come after vars/2.
TINY_VARS = [
    ('layers/dense/vars/0', np.arange(6, dtype=np.float32).reshape(3, 2) / 4),
    ('layers/dense/vars/1', np.array([0.5, -0.5], dtype=np.float32)),
    ('layers/functional/layers/dense/vars/0', np.full((2, 2), 1.5, dtype=np.float32)),
    ('layers/normalization/vars/2', np.int64(42)),
] + [('layers/many/vars/%d' % i, np.array([i], dtype=np.float64)) for i in range(12)]
TINY_GROUPS = [
    ('vars', 'tiny_model'),
    ('layers/input_layer/vars', 'inputs'),
    ('layers/dense/vars', 'dense_7'),
    ('layers/functional/vars', 'tower'),
    ('layers/functional/layers/dense/vars', 'tower_dense'),
    ('layers/normalization/vars', None),
    ('layers/many/vars', 'many'),
]


def write_tiny_h5(f):
    for path, name in TINY_GROUPS:
        g = f.require_group(path)
        if name is not None:
            g.attrs.create('name', name, dtype=h5py.string_dtype('utf-8'))
    for path, arr in TINY_VARS:
        f.create_dataset(path, data=arr)


def tiny_h5_bytes():
    bio = io.BytesIO()
    with h5py.File(bio, 'w') as f:
        write_tiny_h5(f)
    return bio.getvalue()


def small_h5_bytes():
    """One variable: enough for the broken archives."""
    bio = io.BytesIO()
    with h5py.File(bio, 'w') as f:
        f.create_dataset('layers/dense/vars/0', data=np.ones((2, 2), dtype=np.float32))
    return bio.getvalue()


def make_tiny_archive(out):
    meta = '{"keras_version": "3.6.0", "date_saved": "2024-11-03@12:44:27"}'
    cfg = '{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "tiny_model"}}'
    p = os.path.join(out, 'tiny.keras')
    with zipfile.ZipFile(p, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('metadata.json', meta)
        z.writestr('config.json', cfg)
        z.writestr('model.weights.h5', tiny_h5_bytes())
        z.writestr('assets/readme.txt', 'ignored')
    with h5py.File(os.path.join(out, 'tiny.weights.h5'), 'w') as f:
        write_tiny_h5(f)
    # Facts come from reading the files back with h5py/zipfile.
    a = archive_facts(p)
    a['path'] = 'tiny.keras'
    with h5py.File(os.path.join(out, 'tiny.weights.h5'), 'r') as f:
        w = weights_h5_facts(f)
    w.update({'kind': 'weights_h5', 'path': 'tiny.weights.h5'})
    return [a, w]


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, '..', 'shared', 'testdata', 'keras')
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(REPO, 'tests', 'data', 'h5')
    os.makedirs(out, exist_ok=True)

    shared_facts = []
    for d, _, files in sorted(os.walk(shared)):
        for fn in sorted(files):
            if not fn.endswith(('.h5', '.hdf5', '.keras')):
                continue
            p = os.path.join(d, fn)
            facts = file_facts(p)
            facts['path'] = os.path.relpath(p, shared)
            facts['size'] = os.path.getsize(p)
            shared_facts.append(facts)
    shared_facts.sort(key=lambda x: x['path'])

    fixtures = []
    for name, maker in [('dialects_fixed.h5', make_dialects_fixed),
                        ('dialects_vlen_utf8.h5', make_dialects_vlen),
                        ('scalar_names.h5', make_scalar_names),
                        ('chunked_names.h5', make_chunked),
                        ('dtypes.h5', make_dtypes)]:
        p = os.path.join(out, name)
        facts = maker(p)
        facts['path'] = name
        # The intended facts must agree with what h5py reads back.
        with h5py.File(p, 'r') as f:
            back = legacy_facts(f)
        for key in ('is_model', 'dialect', 'keras_version', 'backend', 'layers'):
            assert back[key] == facts[key], (name, key, back[key], facts[key])
        fixtures.append(facts)
    fixtures += make_tiny_archive(out)
    fixtures += make_bad_files(out)

    doc = {
        'generator': 'tools/gen_h5_facts.py (h5py %s, numpy %s)' % (h5py.__version__, np.__version__),
        'shared': shared_facts,
        'fixtures': fixtures,
    }
    # One file per line: small, and still diffable.
    with open(os.path.join(out, 'facts.json'), 'w') as fh:
        fh.write('{"generator": %s,\n' % json.dumps(doc['generator']))
        for key in ('shared', 'fixtures'):
            fh.write(' "%s": [\n' % key)
            rows = [json.dumps(x, ensure_ascii=False, separators=(',', ':')) for x in doc[key]]
            fh.write(',\n'.join('  ' + r for r in rows))
            fh.write('\n ]%s\n' % (',' if key == 'shared' else '}'))
    print('%d shared files, %d fixtures -> %s' % (len(shared_facts), len(fixtures), out))


if __name__ == '__main__':
    main()
