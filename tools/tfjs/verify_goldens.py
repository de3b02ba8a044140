#!/usr/bin/python3
"""Independent re-check of the TF.js fixtures in tests/data/tfjs/ with numpy.

Run with the Debian python (it has numpy):  /usr/bin/python3 tools/tfjs/verify_goldens.py
Nothing here uses TF.js or ckeras: Dense and Dot are recomputed in float64 from
the written .npy files (Dot by the per-sample tensordot of the Keras 2.3 numpy
backend, with tf.keras's l2_normalize epsilon 1e-12), and every model is re-run
by a small graph interpreter that reads only model.json + weights.bin.
Exits non-zero on the first class of mismatch it finds (after printing all).
"""
import json
import math
import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'data', 'tfjs')

DENSE_KEYS = ['name', 'trainable', 'dtype', 'units', 'activation', 'use_bias',
              'kernel_initializer', 'bias_initializer', 'kernel_regularizer', 'bias_regularizer',
              'activity_regularizer', 'kernel_constraint', 'bias_constraint']
DOT_KEYS = ['name', 'trainable', 'dtype', 'axes', 'normalize']

failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL', msg)


def load_npy(path):
    with open(path, 'rb') as f:
        raw = f.read(10)
        assert raw[:6] == b'\x93NUMPY' and raw[6] == 1 and raw[7] == 0, path
        hlen = int.from_bytes(raw[8:10], 'little')
        header = f.read(hlen)
        assert (10 + hlen) % 64 == 0 and header.endswith(b'\n'), path
    return np.load(path)


_erf = np.vectorize(math.erf)
SELU_A = 1.6732632423543772848170429916717
SELU_S = 1.0507009873554804934193349852946


def softplus(x):
    return np.logaddexp(0.0, x)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACT = {
    'linear': lambda x: x,
    'relu': lambda x: np.maximum(x, 0),
    'relu6': lambda x: np.clip(x, 0, 6),
    'elu': lambda x: np.where(x > 0, x, np.expm1(x)),
    'selu': lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)),
    'softplus': softplus,
    'softsign': lambda x: x / (np.abs(x) + 1),
    'sigmoid': lambda x: 1 / (1 + np.exp(-x)),
    'hard_sigmoid': lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    'tanh': np.tanh,
    'softmax': softmax,
    'swish': lambda x: x / (1 + np.exp(-x)),
    'mish': lambda x: x * np.tanh(softplus(x)),
    'gelu': lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
}


def dense(x, kernel, bias, activation):
    y = np.tensordot(x.astype(np.float64), kernel.astype(np.float64), axes=[[x.ndim - 1], [0]])
    if bias is not None:
        y = y + bias.astype(np.float64)
    return ACT[activation](y)


def resolve_axes(axes, xr, yr):
    if isinstance(axes, int):
        return [axes % xr, axes % yr]
    return [axes[0] % xr, axes[1] % yr]


def l2n(x, axis, eps):
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), eps))


def dot(x, y, axes, normalize, eps=1e-12):
    a0, a1 = resolve_axes(axes, x.ndim, y.ndim)
    if a0 == 0 or a1 == 0:
        raise ValueError('batch axis')
    if normalize:
        x = l2n(x.astype(np.float64), a0, eps)
        y = l2n(y.astype(np.float64), a1, eps)
    out = np.stack([np.tensordot(x[i], y[i], axes=(a0 - 1, a1 - 1)) for i in range(x.shape[0])])
    if out.ndim == 1:
        out = out[:, None]
    return out


def close(got, want, tol, what):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        fail(f'{what}: shape {got.shape} != {want.shape}')
        return 0.0
    err = np.abs(got - want)
    bound = tol['atol'] + tol['rtol'] * np.abs(want)
    if not np.all(err <= bound):
        fail(f'{what}: max abs err {err.max():.3g} exceeds tolerance {tol}')
    return float(err.max()) if err.size else 0.0


def check_layers():
    man = json.load(open(os.path.join(ROOT, 'layers', 'manifest.json')))
    worst = {}
    for case in man['cases']:
        d = os.path.join(ROOT, 'layers', case['dir'])
        cfg = json.load(open(os.path.join(d, case['config'])))
        c = cfg['config']
        ins = [load_npy(os.path.join(d, i['file'])) for i in case['inputs']]
        for spec, arr in zip(case['inputs'], ins):
            assert list(arr.shape) == spec['shape'] and arr.dtype.name == spec['dtype'], case['id']
        ws = [load_npy(os.path.join(d, w['file'])) for w in case['weights']]
        out = load_npy(os.path.join(d, case['output']['file']))
        assert list(out.shape) == case['output']['shape'] and out.dtype.name == case['output']['dtype'], case['id']
        if cfg['class_name'] == 'Dense':
            if list(c) != DENSE_KEYS:
                fail(f"{case['id']}: Dense config keys {list(c)}")
            if c['kernel_initializer'] != {'class_name': 'GlorotUniform', 'config': {'seed': None}}:
                fail(f"{case['id']}: kernel_initializer {c['kernel_initializer']}")
            assert c['use_bias'] == (len(ws) == 2) and c['units'] == ws[0].shape[1], case['id']
            want = dense(ins[0], ws[0], ws[1] if c['use_bias'] else None, c['activation'])
            key = 'Dense/' + c['activation']
        else:
            if list(c) != DOT_KEYS:
                fail(f"{case['id']}: Dot config keys {list(c)}")
            want = dot(ins[0], ins[1], c['axes'], c['normalize'])
            if out.dtype.kind == 'i':
                if not np.array_equal(out, want.astype(np.int64)):
                    fail(f"{case['id']}: int Dot mismatch")
                continue
            key = 'Dot' + ('/normalize' if c['normalize'] else '')
        e = close(out, want, case['tolerance'], case['id'])
        worst[key] = max(worst.get(key, 0.0), e)
    for k in sorted(worst):
        print(f'  max |tfjs - numpy| {k:22s} {worst[k]:.3g}')

    q = {x['id']: x for x in man['quirks']}
    d = os.path.join(ROOT, 'layers', 'quirk_dot_tiny_norm')
    x = load_npy(os.path.join(d, 'in0.npy'))
    out = load_npy(os.path.join(d, 'out.npy'))
    close(out, dot(x, x, 1, True, eps=1e-7), {'atol': 1e-6, 'rtol': 1e-5}, 'quirk tiny norm vs eps 1e-7')
    close(dot(x, x, 1, True, eps=1e-12), q['quirk_dot_tiny_norm']['keras_expected'],
          {'atol': 1e-6, 'rtol': 1e-5}, 'quirk tiny norm keras_expected vs eps 1e-12')
    d = os.path.join(ROOT, 'layers', 'quirk_dot_axis0_r22')
    x, y = load_npy(os.path.join(d, 'in0.npy')), load_npy(os.path.join(d, 'in1.npy'))
    close(load_npy(os.path.join(d, 'out.npy')), np.sum(x * y, axis=0)[:, None], {'atol': 0, 'rtol': 1e-6},
          'quirk axis0 = sum over batch')
    print(f"layers: {len(man['cases'])} cases and {len(man['quirks'])} quirks checked")


# --- a tiny interpreter for TF.js layers-model JSON ---------------------------

def run_model(model_json, weights):
    topo = model_json['modelTopology']
    cfg = topo['config']
    if topo['class_name'] == 'Sequential':
        layers = cfg['layers'] if isinstance(cfg, dict) else cfg
        names = [l['config']['name'] for l in layers]

        def fn(inputs):
            h = inputs[0]
            for l in layers:
                h = apply_layer(l, [h], weights)
            return [h]
        return fn, names
    layers = {l['name']: l for l in cfg['layers']}

    def fn(inputs):
        vals = {}
        for (name, node, tidx), x in zip(cfg['input_layers'], inputs):
            vals[(name, node, tidx)] = x
        for l in cfg['layers']:
            if l['class_name'] == 'InputLayer':
                continue
            for ni, node in enumerate(l['inbound_nodes']):
                args = [vals[(n, k, t)] for n, k, t, _ in node]
                vals[(l['name'], ni, 0)] = apply_layer(l, args, weights)
        return [vals[tuple(o)] for o in cfg['output_layers']]
    return fn, list(layers)


def apply_layer(l, args, weights):
    cls, c = l['class_name'], l['config']
    if cls == 'Dense':
        kernel = weights[c['name'] + '/kernel']
        bias = weights.get(c['name'] + '/bias') if c['use_bias'] else None
        return dense(args[0], kernel, bias, c['activation'])
    if cls == 'Dot':
        return dot(args[0], args[1], c['axes'], c['normalize'])
    if cls == 'Concatenate':
        return np.concatenate(args, axis=c['axis'])
    if cls == 'Add':
        return sum(args[1:], args[0])
    if cls == 'Multiply':
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    raise NotImplementedError(cls)


def check_models():
    man = json.load(open(os.path.join(ROOT, 'models', 'manifest.json')))
    for m in man['models']:
        d = os.path.join(ROOT, 'models', m['dir'])
        mj = json.load(open(os.path.join(d, m['model_json'])))
        assert mj['format'] == 'layers-model', m['id']
        (group,) = mj['weightsManifest']
        blob = open(os.path.join(d, group['paths'][0]), 'rb').read()
        weights, off = {}, 0
        for i, spec in enumerate(group['weights']):
            n = int(np.prod(spec['shape'])) if spec['shape'] else 1
            arr = np.frombuffer(blob, dtype='<f4', count=n, offset=off).reshape(spec['shape'])
            off += 4 * n
            weights[spec['name']] = arr
            w = m['weights'][i]
            npy = load_npy(os.path.join(d, w['file']))
            if w['tfjs_name'] != spec['name'] or not np.array_equal(npy, arr):
                fail(f"{m['id']}: {w['file']} differs from weights.bin entry {spec['name']}")
        if off != len(blob):
            fail(f"{m['id']}: weights.bin has {len(blob)} bytes, specs cover {off}")
        fn, _ = run_model(mj, weights)
        ins = [load_npy(os.path.join(d, i['file'])) for i in m['inputs']]
        outs = fn(ins)
        if len(outs) != len(m['outputs']):
            fail(f"{m['id']}: {len(outs)} outputs, manifest has {len(m['outputs'])}")
        worst = 0.0
        for o, spec in zip(outs, m['outputs']):
            got = load_npy(os.path.join(d, spec['file']))
            worst = max(worst, close(got, o, m['tolerance'], f"{m['id']}/{spec['file']}"))
        print(f"  model {m['id']:22s} {len(m['weights'])} weights, {len(outs)} outputs, max err {worst:.3g}")
    print(f"models: {len(man['models'])} checked")


if __name__ == '__main__':
    check_layers()
    check_models()
    if failures:
        print(f'{len(failures)} failures')
        sys.exit(1)
    print('all fixtures agree with numpy')
