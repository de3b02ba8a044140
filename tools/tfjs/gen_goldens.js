#!/usr/bin/env node
// Generates the TensorFlow.js golden fixtures under tests/data/tfjs/.
//
// TF.js (a port of Keras, not ckeras) computes every expected output here, so
// the fixtures are an independent reference. Run from anywhere:
//   npm install --prefix tools/tfjs     (once; pins @tensorflow/tfjs 4.22.0)
//   node tools/tfjs/gen_goldens.js
// The output is fully deterministic: all inputs and weights come from a fixed
// seed PRNG below (never Math.random), and the pure-JS CPU backend is used.
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const TFJS_VERSION = tf.version.tfjs;
const PINNED_VERSION = '4.22.0';
const OUT_ROOT = path.resolve(__dirname, '..', '..', 'tests', 'data', 'tfjs');

// ---------------------------------------------------------------------------
// Deterministic PRNG (mulberry32). Values are rounded to float32 right away so
// what is written to .npy is exactly what TF.js computed with.
function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform(n, lo, hi) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; ++i) out[i] = Math.fround(lo + (hi - lo) * next());
      return out;
    },
    ints(n, lo, hi) { // inclusive range
      const out = new Int32Array(n);
      for (let i = 0; i < n; ++i) out[i] = lo + Math.floor((hi - lo + 1) * next());
      return out;
    },
  };
}

// ---------------------------------------------------------------------------
// Minimal .npy writer: format 1.0, little-endian, C order, header padded with
// spaces and a final '\n' so that magic+len+header is a multiple of 64 bytes.
const NPY_DESCR = {float32: '<f4', int32: '<i4', float64: '<f8'};

function npyBytes(data, shape, dtype) {
  const descr = NPY_DESCR[dtype];
  if (!descr) throw new Error(`npy: unsupported dtype ${dtype}`);
  const count = shape.reduce((p, d) => p * d, 1);
  if (count !== data.length) {
    throw new Error(`npy: shape ${JSON.stringify(shape)} holds ${count} values, got ${data.length}`);
  }
  const shapeStr = shape.length === 0 ? '()' :
      shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 65535) throw new Error('npy: header too long');
  const itemSize = dtype === 'float64' ? 8 : 4;
  const buf = Buffer.alloc(10 + header.length + count * itemSize);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf.writeUInt8(1, 6);
  buf.writeUInt8(0, 7);
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, 10, 'latin1');
  let off = 10 + header.length;
  for (let i = 0; i < count; ++i, off += itemSize) {
    if (dtype === 'float32') buf.writeFloatLE(data[i], off);
    else if (dtype === 'int32') buf.writeInt32LE(data[i], off);
    else buf.writeDoubleLE(data[i], off);
  }
  return buf;
}

function writeNpy(file, data, shape, dtype) {
  fs.writeFileSync(file, npyBytes(data, shape, dtype));
}

function writeTensorNpy(file, t) {
  writeNpy(file, t.dataSync(), t.shape, t.dtype);
}

// JSON with Python json.dumps separators (", " and ": "), which is how
// tf.keras writes configs.
function pyJson(v) {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}: ${pyJson(v[k])}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

function writeConfig(file, obj) {
  fs.writeFileSync(file, pyJson(obj) + '\n');
}

// One line per array element of a top-level list: small enough to commit,
// still diff-friendly and greppable.
function writeManifest(file, obj) {
  const keys = Object.keys(obj);
  const lines = ['{'];
  keys.forEach((k, i) => {
    const v = obj[k];
    const comma = i < keys.length - 1 ? ',' : '';
    if (Array.isArray(v) && v.length > 0) {
      lines.push(`  ${JSON.stringify(k)}: [`);
      v.forEach((e, j) => lines.push(`    ${JSON.stringify(e)}${j < v.length - 1 ? ',' : ''}`));
      lines.push(`  ]${comma}`);
    } else {
      lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(v)}${comma}`);
    }
  });
  lines.push('}');
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

function prod(shape) { return shape.reduce((p, d) => p * d, 1); }

// ---------------------------------------------------------------------------
// TF.js -> tf.keras 2.x (legacy wrapper) config conversion.

// Keys in tf.keras 2.4-2.10 get_config order (spec §3.5); dtype is added
// because TF.js omits it for layers without batch_input_shape.
const DENSE_KEYS = ['name', 'trainable', 'dtype', 'units', 'activation', 'use_bias',
  'kernel_initializer', 'bias_initializer', 'kernel_regularizer', 'bias_regularizer',
  'activity_regularizer', 'kernel_constraint', 'bias_constraint'];
const DOT_KEYS = ['name', 'trainable', 'dtype', 'axes', 'normalize'];

// TF.js serialises its glorotUniform as a plain VarianceScaling; tf.keras writes
// the named class with only a seed.
function kerasInitializer(init) {
  if (init.class_name === 'VarianceScaling') {
    const c = init.config;
    if (c.scale === 1 && c.mode === 'fan_avg' && c.distribution === 'uniform') {
      return {class_name: 'GlorotUniform', config: {seed: c.seed === undefined ? null : c.seed}};
    }
  }
  return init;
}

function kerasLayerConfig(className, tfjsPyConfig) {
  const keys = className === 'Dense' ? DENSE_KEYS : DOT_KEYS;
  const got = Object.keys(tfjsPyConfig).filter((k) => k !== 'dtype');
  const want = keys.filter((k) => k !== 'dtype');
  if (got.length !== want.length || !want.every((k) => got.includes(k))) {
    throw new Error(`${className}: TF.js config keys ${JSON.stringify(got)} differ from tf.keras keys ${JSON.stringify(want)}`);
  }
  const cfg = {};
  for (const k of keys) {
    let v = k === 'dtype' ? 'float32' : tfjsPyConfig[k];
    if (k === 'kernel_initializer' || k === 'bias_initializer') v = kerasInitializer(v);
    cfg[k] = v;
  }
  return {class_name: className, config: cfg};
}

// The pythonic (snake_case) config that TF.js itself writes in model.toJSON().
function tfjsPythonicConfig(model, layerName) {
  const topo = model.toJSON(null, false);
  const entry = topo.config.layers.find((l) => l.name === layerName);
  if (!entry) throw new Error(`layer ${layerName} not in model JSON`);
  return entry.config;
}

// ---------------------------------------------------------------------------
// Activations. keras = tf.keras 2.x string id; tfjs = the id TF.js accepts.
const ACTIVATIONS = [
  {keras: 'linear', tfjs: 'linear'},
  {keras: 'relu', tfjs: 'relu'},
  {keras: 'relu6', tfjs: 'relu6', below: 0, above: 6, note: 'tf.keras exposes relu6 from TF 2.6 on (raw tf.nn.relu6)'},
  {keras: 'elu', tfjs: 'elu'},
  {keras: 'selu', tfjs: 'selu'},
  {keras: 'softplus', tfjs: 'softplus',
    note: 'TF.js CPU softplus uses the same thresholds as TF: exp(x) below log(eps)+2, x above -(log(eps)+2), else log(1+exp(x))'},
  {keras: 'softsign', tfjs: 'softsign'},
  {keras: 'sigmoid', tfjs: 'sigmoid'},
  {keras: 'hard_sigmoid', tfjs: 'hardSigmoid', below: -2.5, above: 2.5,
    note: 'TF.js hardSigmoid = clip(0.2*x+0.5, 0, 1), the tf.keras 2.x definition (NOT the Keras 3 relu6(x+3)/6); TF.js id is "hardSigmoid", written "hard_sigmoid" by toJSON'},
  {keras: 'tanh', tfjs: 'tanh'},
  {keras: 'softmax', tfjs: 'softmax', note: 'softmax over the last axis'},
  {keras: 'swish', tfjs: 'swish', note: 'x*sigmoid(x)'},
  {keras: 'mish', tfjs: 'mish', note: 'x*tanh(softplus(x)); tf.keras has mish from TF 2.13 on'},
  {keras: 'gelu', tfjs: 'gelu',
    note: 'TF.js "gelu" is the EXACT form 0.5*x*(1+erf(x/sqrt(2))) = tf.keras gelu(approximate=False), the default of the "gelu" string id. ' +
      'Its CPU erf is the Abramowitz-Stegun 7.1.26 polynomial (|error| <= 1.5e-7), so outputs can differ from a libm erf by about 1e-7*|x|. ' +
      'TF.js "gelu_new" is the tanh approximation; it has no tf.keras string id and is not used here'},
];

const BASE_TOL = {atol: 1e-5, rtol: 1e-5};

// ---------------------------------------------------------------------------
// Layer fixtures.

function caseDir(group, id) {
  const dir = path.join(OUT_ROOT, group, id);
  fs.mkdirSync(dir, {recursive: true});
  return dir;
}

function denseCase(rng, {id, act, useBias, inShape, units, inputDtype}) {
  const dir = caseDir('layers', id);
  const inDim = inShape[inShape.length - 1];
  const inp = tf.input({shape: inShape.slice(1), dtype: inputDtype, name: `${id}_input`});
  const layer = tf.layers.dense({
    units, activation: act.tfjs, useBias, name: id,
    kernelInitializer: 'glorotUniform', biasInitializer: 'zeros',
  });
  const model = tf.model({inputs: inp, outputs: layer.apply(inp), name: `${id}_model`});

  // Redraw until the pre-activations reach both sides of the activation's
  // interesting region (e.g. both clips of relu6 / hard_sigmoid), so every
  // branch of the activation is exercised.
  const below = act.below === undefined ? 0 : act.below;
  const above = act.above === undefined ? 0 : act.above;
  let kernel; let weights; let x;
  for (let attempt = 0; ; ++attempt) {
    if (attempt === 100) throw new Error(`${id}: no draw covers (${below}, ${above})`);
    kernel = tf.tensor(rng.uniform(inDim * units, -1, 1), [inDim, units], 'float32');
    weights = [kernel];
    if (useBias) weights.push(tf.tensor(rng.uniform(units, -0.5, 0.5), [units], 'float32'));
    x = inputDtype === 'int32' ?
        tf.tensor(rng.ints(prod(inShape), -4, 4), inShape, 'int32') :
        tf.tensor(rng.uniform(prod(inShape), -3, 3), inShape, 'float32');
    let z = tf.dot(tf.reshape(tf.cast(x, 'float32'), [-1, inDim]), kernel);
    if (useBias) z = tf.add(z, weights[1]);
    if (tf.min(z).dataSync()[0] < below && tf.max(z).dataSync()[0] > above) break;
  }
  layer.setWeights(weights);
  const y = model.predict(x);
  // The eager path must agree with the graph path (both are TF.js).
  const yEager = layer.apply(x);
  const diff = tf.max(tf.abs(tf.sub(y, yEager))).dataSync()[0];
  if (diff !== 0) throw new Error(`${id}: eager and graph Dense outputs differ by ${diff}`);
  if (y.dtype !== 'float32') throw new Error(`${id}: Dense output dtype ${y.dtype}`);

  const config = kerasLayerConfig('Dense', tfjsPythonicConfig(model, id));
  writeConfig(path.join(dir, 'config.json'), config);
  writeTensorNpy(path.join(dir, 'w0.npy'), kernel);
  if (useBias) writeTensorNpy(path.join(dir, 'w1.npy'), weights[1]);
  writeTensorNpy(path.join(dir, 'in0.npy'), x);
  writeTensorNpy(path.join(dir, 'out.npy'), y);

  const notes = [];
  if (act.note) notes.push(act.note);
  if (inShape.length > 2) {
    notes.push('rank > 2: contracts the last input axis only (TF.js K.dot reshapes to (-1, last_dim), matmuls and reshapes back)');
  }
  if (inputDtype === 'int32') {
    notes.push('int32 input: TF.js matMul upcasts int32 to float32, matching the tf.keras Dense cast of non-float inputs; output is float32');
  }
  return {
    id, dir: id, layer_class: 'Dense', config: 'config.json',
    activation: act.keras, use_bias: useBias,
    inputs: [{file: 'in0.npy', dtype: x.dtype, shape: x.shape}],
    weights: weights.map((w, i) => ({file: `w${i}.npy`, name: i === 0 ? 'kernel' : 'bias', dtype: 'float32', shape: w.shape})),
    output: {file: 'out.npy', dtype: y.dtype, shape: y.shape},
    tolerance: act.keras === 'gelu' ? {atol: 2e-5, rtol: 1e-5} : BASE_TOL,
    tfjs_notes: notes,
  };
}

function dotOutput(axes, normalize, x, y, name) {
  const layer = tf.layers.dot({axes, normalize, name});
  const a = tf.input({shape: x.shape.slice(1), dtype: x.dtype, name: `${name}_x`});
  const b = tf.input({shape: y.shape.slice(1), dtype: y.dtype, name: `${name}_y`});
  const sym = layer.apply([a, b]);
  const model = tf.model({inputs: [a, b], outputs: sym, name: `${name}_model`});
  const out = model.predict([x, y]);
  const eager = layer.apply([x, y]);
  if (JSON.stringify(out.shape) !== JSON.stringify(eager.shape)) {
    throw new Error(`${name}: graph shape ${out.shape} vs eager ${eager.shape}`);
  }
  const diff = tf.max(tf.abs(tf.sub(out, eager))).dataSync()[0];
  if (diff !== 0) throw new Error(`${name}: eager and graph Dot outputs differ by ${diff}`);
  // The symbolic output shape (computeOutputShape) must match the real one.
  const symShape = sym.shape.slice(1);
  if (JSON.stringify(symShape) !== JSON.stringify(out.shape.slice(1))) {
    throw new Error(`${name}: symbolic shape ${sym.shape} vs computed ${out.shape}`);
  }
  return {out, model};
}

function axesTag(axes) {
  const one = (a) => (a < 0 ? `m${-a}` : `${a}`);
  return Array.isArray(axes) ? `p${one(axes[0])}_${one(axes[1])}` : `a${one(axes)}`;
}

function minNormAlong(t, axis) {
  return tf.min(tf.sqrt(tf.sum(tf.square(t), axis))).dataSync()[0];
}

function dotCase(rng, {xShape, yShape, axes, normalize, dtype = 'float32'}) {
  const id = `dot_r${xShape.length}${yShape.length}_${axesTag(axes)}${normalize ? '_norm' : ''}${dtype === 'int32' ? '_int32' : ''}`;
  const dir = caseDir('layers', id);
  const mk = (shape) => (dtype === 'int32' ?
      tf.tensor(rng.ints(prod(shape), -5, 5), shape, 'int32') :
      tf.tensor(rng.uniform(prod(shape), -2, 2), shape, 'float32'));
  const x = mk(xShape);
  const y = mk(yShape);
  const {out, model} = dotOutput(axes, normalize, x, y, id);

  const mod = (a, rank) => ((a % rank) + rank) % rank;
  const pair = Array.isArray(axes) ? axes : [axes, axes];
  const resolved = [mod(pair[0], xShape.length), mod(pair[1], yShape.length)];
  const notes = [];
  if (normalize) {
    const mn = Math.min(minNormAlong(x, resolved[0]), minNormAlong(y, resolved[1]));
    if (mn < 0.1) throw new Error(`${id}: a normalised vector is too small (${mn})`);
    notes.push(`normalize: TF.js divides by sqrt(max(sum(x^2), 1e-7)); tf.keras 2.x uses l2_normalize with epsilon 1e-12. ` +
      `Every normalised vector here has norm >= ${mn.toFixed(3)}, so both give the same result`);
  }
  if (Array.isArray(axes) && axes.some((a) => a < 0)) {
    notes.push('negative entries in an axes pair: TF.js build() compares undefined === undefined (no shape check), call() normalises them; the output is the tf.keras one');
  }
  if (dtype === 'int32') notes.push('int32 inputs are not cast (TF.js and tf.keras alike); output is int32');

  const config = kerasLayerConfig('Dot', tfjsPythonicConfig(model, id));
  writeConfig(path.join(dir, 'config.json'), config);
  writeTensorNpy(path.join(dir, 'in0.npy'), x);
  writeTensorNpy(path.join(dir, 'in1.npy'), y);
  writeTensorNpy(path.join(dir, 'out.npy'), out);
  return {
    id, dir: id, layer_class: 'Dot', config: 'config.json',
    axes, resolved_axes: resolved, normalize,
    inputs: [{file: 'in0.npy', dtype: x.dtype, shape: x.shape}, {file: 'in1.npy', dtype: y.dtype, shape: y.shape}],
    weights: [],
    output: {file: 'out.npy', dtype: out.dtype, shape: out.shape},
    tolerance: dtype === 'int32' ? {atol: 0, rtol: 0} : BASE_TOL,
    tfjs_notes: notes,
  };
}

// TF.js behaviour that differs from tf.keras: kept apart so a generic test loop
// over "cases" never sees them.
function quirkCases() {
  const quirks = [];
  {
    const id = 'quirk_dot_tiny_norm';
    const dir = caseDir('layers', id);
    const x = tf.tensor([1e-5, 0, 3, 4], [2, 2], 'float32');
    const {out, model} = dotOutput(1, true, x, x, id);
    writeConfig(path.join(dir, 'config.json'), kerasLayerConfig('Dot', tfjsPythonicConfig(model, id)));
    writeTensorNpy(path.join(dir, 'in0.npy'), x);
    writeTensorNpy(path.join(dir, 'in1.npy'), x);
    writeTensorNpy(path.join(dir, 'out.npy'), out);
    quirks.push({
      id, dir: id, layer_class: 'Dot', config: 'config.json',
      inputs: [{file: 'in0.npy', dtype: 'float32', shape: x.shape}, {file: 'in1.npy', dtype: 'float32', shape: x.shape}],
      output: {file: 'out.npy', dtype: out.dtype, shape: out.shape, tfjs_values: Array.from(out.dataSync())},
      keras_behaviour: 'tf.keras 2.x (l2_normalize, epsilon 1e-12) gives [[1],[1]]; Keras 3.1+ also [[1],[1]]; Keras 3.0 gives [[0.001],[1]] like TF.js',
      keras_expected: [[1], [1]],
      tfjs_notes: ['spec §2.4: TF.js floors sum(x^2) at epsilon()=1e-7, so a vector of norm 1e-5 is divided by ~3.16e-4 instead of 1e-5'],
    });
  }
  {
    const id = 'quirk_dot_axis0_r22';
    const dir = caseDir('layers', id);
    const x = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float32');
    const y = tf.tensor([-1, 0.5, 2, 1, -2, 0.25], [2, 3], 'float32');
    const layer = tf.layers.dot({axes: 0, name: id});
    const out = layer.apply([x, y]);
    writeTensorNpy(path.join(dir, 'in0.npy'), x);
    writeTensorNpy(path.join(dir, 'in1.npy'), y);
    writeTensorNpy(path.join(dir, 'out.npy'), out);
    writeConfig(path.join(dir, 'config.json'), {class_name: 'Dot', config: {name: id, trainable: true, dtype: 'float32', axes: 0, normalize: false}});
    quirks.push({
      id, dir: id, layer_class: 'Dot', config: 'config.json',
      inputs: [{file: 'in0.npy', dtype: 'float32', shape: x.shape}, {file: 'in1.npy', dtype: 'float32', shape: y.shape}],
      output: {file: 'out.npy', dtype: out.dtype, shape: out.shape, tfjs_values: Array.from(out.dataSync())},
      keras_behaviour: 'tf.keras 2.3+ / Keras 3: ValueError at call (batch_dot cannot contract the batch axis 0)',
      keras_expected: 'ValueError',
      tfjs_notes: ['spec §1.6: TF.js batchDot (the K2.2 algorithm) sums x*y over the batch axis and returns shape (3,1)'],
    });
  }
  {
    // A pair mixing a non-negative and a negative axis: build() indexes the
    // shape with the raw negative entry (undefined in JS) and throws.
    const id = 'quirk_dot_mixed_sign_pair';
    let message = null;
    try {
      const a = tf.input({shape: [4]});
      const b = tf.input({shape: [4]});
      tf.layers.dot({axes: [1, -1], name: id}).apply([a, b]);
    } catch (e) {
      message = e.message;
    }
    if (message === null) throw new Error(`${id}: TF.js unexpectedly accepted axes [1,-1]`);
    quirks.push({
      id, dir: null, layer_class: 'Dot',
      keras_config: {class_name: 'Dot', config: {name: id, trainable: true, dtype: 'float32', axes: [1, -1], normalize: false}},
      input_shapes: [[null, 4], [null, 4]],
      tfjs_error: message,
      keras_behaviour: 'tf.keras 2.x / Keras 3: accepted; axes resolve to [1, 1] (same result as axes=1)',
      keras_expected: 'same as axes [1,1]',
      tfjs_notes: ['spec §2.9: TF.js build() does not normalise list entries; a pair of two negatives passes only because undefined === undefined'],
    });
  }
  return quirks;
}

function layerFixtures() {
  const rng = makeRng(20240521);
  const cases = [];
  const shapes = {2: [3, 5], 3: [2, 3, 5], 4: [2, 2, 3, 5]};
  for (const act of ACTIVATIONS) {
    for (const useBias of [true, false]) {
      for (const rank of [2, 3, 4]) {
        const id = `dense_${act.keras}_${useBias ? 'bias' : 'nobias'}_r${rank}`;
        cases.push(denseCase(rng, {id, act, useBias, inShape: shapes[rank], units: 4, inputDtype: 'float32'}));
      }
    }
  }
  const relu = ACTIVATIONS.find((a) => a.keras === 'relu');
  const linear = ACTIVATIONS.find((a) => a.keras === 'linear');
  cases.push(denseCase(rng, {id: 'dense_int32_relu_bias_r2', act: relu, useBias: true, inShape: [3, 5], units: 4, inputDtype: 'int32'}));
  cases.push(denseCase(rng, {id: 'dense_int32_linear_bias_r3', act: linear, useBias: true, inShape: [2, 3, 5], units: 4, inputDtype: 'int32'}));

  // Dot: every rank pair 2..3 x every axes form TF.js supports (int, pair,
  // negative int, negative pair). Dims are all distinct so a wrong axis shows.
  const B = 3;
  const dots = [
    // rank 2 x rank 2
    {xShape: [B, 4], yShape: [B, 4], axes: 1},
    {xShape: [B, 4], yShape: [B, 4], axes: -1},
    {xShape: [B, 4], yShape: [B, 4], axes: [1, 1]},
    {xShape: [B, 4], yShape: [B, 4], axes: [-1, -1]},
    // rank 2 x rank 3
    {xShape: [B, 4], yShape: [B, 4, 5], axes: 1},
    {xShape: [B, 5], yShape: [B, 4, 5], axes: -1},
    {xShape: [B, 4], yShape: [B, 4, 5], axes: [1, 1]},
    {xShape: [B, 5], yShape: [B, 4, 5], axes: [1, 2]},
    {xShape: [B, 4], yShape: [B, 4, 5], axes: [-1, -2]},
    {xShape: [B, 5], yShape: [B, 4, 5], axes: [-1, -1]},
    // rank 3 x rank 2
    {xShape: [B, 4, 5], yShape: [B, 4], axes: 1},
    {xShape: [B, 4, 5], yShape: [B, 5], axes: -1},
    {xShape: [B, 4, 5], yShape: [B, 4], axes: [1, 1]},
    {xShape: [B, 4, 5], yShape: [B, 5], axes: [2, 1]},
    {xShape: [B, 4, 5], yShape: [B, 4], axes: [-2, -1]},
    {xShape: [B, 4, 5], yShape: [B, 5], axes: [-1, -1]},
    // rank 3 x rank 3
    {xShape: [B, 3, 4], yShape: [B, 3, 5], axes: 1},
    {xShape: [B, 3, 4], yShape: [B, 5, 4], axes: 2},
    {xShape: [B, 3, 4], yShape: [B, 5, 4], axes: -1},
    {xShape: [B, 3, 4], yShape: [B, 3, 5], axes: -2},
    {xShape: [B, 3, 4], yShape: [B, 3, 5], axes: [1, 1]},
    {xShape: [B, 3, 4], yShape: [B, 5, 4], axes: [2, 2]},
    {xShape: [B, 3, 4], yShape: [B, 5, 3], axes: [1, 2]},
    {xShape: [B, 3, 4], yShape: [B, 4, 5], axes: [2, 1]},
    {xShape: [B, 3, 4], yShape: [B, 5, 3], axes: [-2, -1]},
    {xShape: [B, 3, 4], yShape: [B, 4, 5], axes: [-1, -2]},
    // normalize=True on every rank pair
    {xShape: [B, 4], yShape: [B, 4], axes: 1, normalize: true},
    {xShape: [B, 4], yShape: [B, 4], axes: [-1, -1], normalize: true},
    {xShape: [B, 5], yShape: [B, 4, 5], axes: [1, 2], normalize: true},
    {xShape: [B, 4, 5], yShape: [B, 5], axes: -1, normalize: true},
    {xShape: [B, 3, 4], yShape: [B, 3, 5], axes: 1, normalize: true},
    {xShape: [B, 3, 4], yShape: [B, 5, 4], axes: 2, normalize: true},
    {xShape: [B, 3, 4], yShape: [B, 5, 3], axes: [1, 2], normalize: true},
    {xShape: [B, 3, 4], yShape: [B, 4, 5], axes: [2, 1], normalize: true},
    // int32 inputs stay int32
    {xShape: [B, 4], yShape: [B, 4], axes: 1, dtype: 'int32'},
    {xShape: [B, 3, 4], yShape: [B, 4, 5], axes: [2, 1], dtype: 'int32'},
  ];
  for (const d of dots) cases.push(dotCase(rng, {normalize: false, ...d}));
  return {cases, quirks: quirkCases()};
}

// ---------------------------------------------------------------------------
// Model fixtures.

async function saveArtifacts(model) {
  let artifacts = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(0), modelTopologyType: 'JSON'}};
  }));
  return artifacts;
}

// Gives every weight of the model explicit values (TF.js initializers differ
// from Keras, so nothing may depend on them).
function setExplicitWeights(rng, model) {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    layer.setWeights(ws.map((w) => {
      const isBias = w.shape.length === 1;
      return tf.tensor(rng.uniform(prod(w.shape), isBias ? -0.5 : -1, isBias ? 0.5 : 1), w.shape, 'float32');
    }));
  }
}

async function modelFixture(rng, {id, description, build, inputShapes, notes = []}) {
  const dir = caseDir('models', id);
  const model = build();
  setExplicitWeights(rng, model);
  const inputs = inputShapes.map((s) => tf.tensor(rng.uniform(prod(s), -2, 2), s, 'float32'));
  let outputs = model.predict(inputs.length === 1 ? inputs[0] : inputs);
  if (!Array.isArray(outputs)) outputs = [outputs];

  const art = await saveArtifacts(model);
  if (art.format !== 'layers-model') throw new Error(`${id}: format ${art.format}`);
  const weightData = Buffer.from(tf.io.CompositeArrayBuffer.join(art.weightData));
  const modelJson = {
    modelTopology: art.modelTopology,
    format: art.format,
    generatedBy: art.generatedBy,
    convertedBy: art.convertedBy,
    weightsManifest: [{paths: ['weights.bin'], weights: art.weightSpecs}],
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  fs.writeFileSync(path.join(dir, 'weights.bin'), weightData);

  // Keras-style list of arrays, in weightSpecs (= weights.bin) order; checked
  // against the bytes TF.js wrote so the two views cannot drift apart.
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  let offset = 0;
  const weights = art.weightSpecs.map((spec, i) => {
    if (spec.dtype !== 'float32' || spec.quantization) throw new Error(`${id}: unexpected spec ${JSON.stringify(spec)}`);
    const v = byName.get(spec.name);
    if (!v) throw new Error(`${id}: no variable for weight spec ${spec.name}`);
    const vals = v.read().dataSync();
    const n = prod(spec.shape);
    const fromBin = new Float32Array(weightData.buffer.slice(weightData.byteOffset + offset, weightData.byteOffset + offset + 4 * n));
    for (let k = 0; k < n; ++k) {
      if (!Object.is(fromBin[k], vals[k])) throw new Error(`${id}: weights.bin differs from ${spec.name} at ${k}`);
    }
    offset += 4 * n;
    const file = `w${i}.npy`;
    writeNpy(path.join(dir, file), vals, spec.shape, 'float32');
    const slash = spec.name.lastIndexOf('/');
    return {file, tfjs_name: spec.name, layer: spec.name.slice(0, slash), weight: spec.name.slice(slash + 1), dtype: 'float32', shape: spec.shape};
  });
  if (offset !== weightData.length) throw new Error(`${id}: weights.bin has ${weightData.length} bytes, specs cover ${offset}`);

  const inputEntries = inputs.map((t, i) => {
    const file = `in${i}.npy`;
    writeTensorNpy(path.join(dir, file), t);
    return {file, name: model.inputNames[i], dtype: t.dtype, shape: t.shape};
  });
  const outputEntries = outputs.map((t, i) => {
    const file = `out${i}.npy`;
    writeTensorNpy(path.join(dir, file), t);
    return {file, name: model.outputNames[i], dtype: t.dtype, shape: t.shape};
  });
  return {
    id, dir: id, description,
    model_class: art.modelTopology.class_name,
    model_name: model.name,
    model_json: 'model.json', weights_bin: 'weights.bin',
    layers: model.layers.map((l) => ({name: l.name, class_name: l.getClassName()})),
    weights, inputs: inputEntries, outputs: outputEntries,
    tolerance: BASE_TOL,
    tfjs_notes: notes,
  };
}

const COMMON_MODEL_NOTES = [
  'model.json is the standard TF.js layers format; modelTopology is TF.js model.toJSON(): keras_version "tfjs-layers 4.22.0", backend "tensor_flow.js", layer entries in K2 key order {name, class_name, config, inbound_nodes}',
  'TF.js layer configs carry "dtype" only on layers that have batch_input_shape, and a functional model has class_name "Model"',
  'auto names are TF.js style: <snake>_<ClassName><globalN> (e.g. dense_Dense1), inputs input<N>, models model<N>/sequential_<N>',
  'default TF.js kernel initializer is glorotNormal, written as VarianceScaling{scale:1,mode:fan_avg,distribution:normal}; all weights here were set explicitly',
];

async function modelFixtures() {
  const rng = makeRng(7777);
  const models = [];

  models.push(await modelFixture(rng, {
    id: 'two_tower_cosine',
    description: 'two-tower recommender: user (None,6) and item (None,8) inputs, two Dense layers per tower, Dot(axes=1, normalize=true) cosine output (None,1)',
    inputShapes: [[4, 6], [4, 8]],
    build: () => {
      const user = tf.input({shape: [6], name: 'user_features'});
      const item = tf.input({shape: [8], name: 'item_features'});
      const u = tf.layers.dense({units: 8, activation: 'relu', name: 'user_hidden'}).apply(user);
      const ue = tf.layers.dense({units: 4, name: 'user_embedding'}).apply(u);
      const i1 = tf.layers.dense({units: 8, activation: 'relu'}).apply(item); // auto name
      const ie = tf.layers.dense({units: 4}).apply(i1); // auto name
      const cos = tf.layers.dot({axes: 1, normalize: true, name: 'cosine'}).apply([ue, ie]);
      return tf.model({inputs: [user, item], outputs: cos, name: 'two_tower'});
    },
    notes: [
      'Dot normalize: TF.js epsilon 1e-7 vs tf.keras 1e-12; the embeddings here are far from zero so the results agree',
      'model.layers (and so weightSpecs / weights.bin) interleave the towers by depth: user_hidden, dense_Dense1, user_embedding, dense_Dense2',
    ],
  }));

  models.push(await modelFixture(rng, {
    id: 'shared_dense_concat',
    description: 'one Dense(3, tanh) shared by two (None,5) inputs (one layer, two nodes); its outputs are concatenated with their sum and product, then Dense(2, sigmoid)',
    inputShapes: [[4, 5], [4, 5]],
    build: () => {
      const a = tf.input({shape: [5]}); // auto name
      const b = tf.input({shape: [5]}); // auto name
      const shared = tf.layers.dense({units: 3, activation: 'tanh', name: 'shared_dense'});
      const ha = shared.apply(a);
      const hb = shared.apply(b);
      const sum = tf.layers.add({name: 'sum'}).apply([ha, hb]);
      const product = tf.layers.multiply().apply([ha, hb]); // auto name
      const cat = tf.layers.concatenate({axis: -1, name: 'concat'}).apply([ha, hb, sum, product]);
      const out = tf.layers.dense({units: 2, activation: 'sigmoid', name: 'head'}).apply(cat);
      return tf.model({inputs: [a, b], outputs: out}); // auto model name
    },
    notes: ['shared_dense has two inbound nodes: the second call appears as node index 1 in the inbound_nodes of the layers that consume it'],
  }));

  models.push(await modelFixture(rng, {
    id: 'shared_dense_dot',
    description: 'one Dense(4, linear) shared by two (None,6) inputs, then Dot(axes=-1) -> (None,1); needs only Dense and Dot',
    inputShapes: [[4, 6], [4, 6]],
    build: () => {
      const a = tf.input({shape: [6], name: 'left'});
      const b = tf.input({shape: [6], name: 'right'});
      const shared = tf.layers.dense({units: 4, name: 'encoder'});
      const out = tf.layers.dot({axes: -1}).apply([shared.apply(a), shared.apply(b)]); // auto name
      return tf.model({inputs: [a, b], outputs: out, name: 'siamese'});
    },
  }));

  models.push(await modelFixture(rng, {
    id: 'dot_rank3',
    description: 'input a (None,4,6) -> Dense(3) on a rank-3 tensor -> (None,4,3); input b (None,5,3); Dot(axes=2) -> (None,4,5)',
    inputShapes: [[3, 4, 6], [3, 5, 3]],
    build: () => {
      const a = tf.input({shape: [4, 6], name: 'queries'});
      const b = tf.input({shape: [5, 3], name: 'keys'});
      const q = tf.layers.dense({units: 3, name: 'query_proj'}).apply(a);
      const out = tf.layers.dot({axes: 2, name: 'scores'}).apply([q, b]);
      return tf.model({inputs: [a, b], outputs: out, name: 'attention_scores'});
    },
    notes: ['the layer list is queries, query_proj, keys, scores: TF.js does not put all InputLayers first, so a loader must not assume it'],
  }));

  models.push(await modelFixture(rng, {
    id: 'multi_output',
    description: 'input (None,6) -> Dense(8, relu) trunk -> three heads: Dense(3, softmax), Dense(1, sigmoid), Dense(2, linear, auto name)',
    inputShapes: [[5, 6]],
    build: () => {
      const x = tf.input({shape: [6], name: 'features'});
      const h = tf.layers.dense({units: 8, activation: 'relu', name: 'trunk'}).apply(x);
      const probs = tf.layers.dense({units: 3, activation: 'softmax', name: 'class_probs'}).apply(h);
      const score = tf.layers.dense({units: 1, activation: 'sigmoid', name: 'score'}).apply(h);
      const reg = tf.layers.dense({units: 2}).apply(h); // auto name
      return tf.model({inputs: x, outputs: [probs, score, reg], name: 'multi_head'});
    },
  }));

  models.push(await modelFixture(rng, {
    id: 'sequential_mlp',
    description: 'Sequential: Dense(8, relu, input_shape=(5,)) -> Dense(6, tanh) -> Dense(2, softmax), all auto names',
    inputShapes: [[4, 5]],
    build: () => tf.sequential({layers: [
      tf.layers.dense({units: 8, activation: 'relu', inputShape: [5]}),
      tf.layers.dense({units: 6, activation: 'tanh'}),
      tf.layers.dense({units: 2, activation: 'softmax'}),
    ]}),
    notes: ['TF.js Sequential toJSON has no InputLayer entry: the first Dense carries batch_input_shape [null,5] and dtype "float32"'],
  }));

  return models;
}

// ---------------------------------------------------------------------------

async function main() {
  if (TFJS_VERSION !== PINNED_VERSION) {
    throw new Error(`expected @tensorflow/tfjs ${PINNED_VERSION}, found ${TFJS_VERSION}: run npm install --prefix tools/tfjs`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  // Only the generated sub-trees are replaced; README.md is kept.
  for (const sub of ['layers', 'models']) fs.rmSync(path.join(OUT_ROOT, sub), {recursive: true, force: true});
  fs.mkdirSync(OUT_ROOT, {recursive: true});

  // Models first so that their TF.js auto names (global counters) stay small
  // and do not depend on how many layer cases exist.
  const models = await modelFixtures();
  const {cases, quirks} = layerFixtures();

  const common = {
    generator: 'tools/tfjs/gen_goldens.js',
    tfjs_version: TFJS_VERSION,
    backend: tf.getBackend(),
    npy: 'format 1.0, little-endian, C order',
  };
  writeManifest(path.join(OUT_ROOT, 'layers', 'manifest.json'), {
    ...common,
    paths: 'dir is relative to this manifest; file names are relative to dir',
    tolerance_rule: '|got - want| <= atol + rtol * |want| elementwise',
    notes: [
      'config.json is the tf.keras 2.x legacy wrapper {class_name, config} with every tf.keras key in get_config order, converted from the TF.js model.toJSON() entry of the layer',
      'TF.js serialises its glorotUniform initializer as VarianceScaling{scale:1,mode:fan_avg,distribution:uniform}; config.json has the tf.keras form GlorotUniform{seed:null} instead (weights are explicit anyway)',
      'TF.js omits dtype for layers without batch_input_shape; config.json adds "dtype": "float32"',
      'Dense weights: w0.npy kernel (in, units), w1.npy bias (units) when use_bias; TF.js default initializers differ from Keras, so weights are always explicit',
      'TF.js Dot supports ranks 2 and 3 only (NotImplementedError above), so there are no rank-4 Dot cases',
    ],
    cases,
    quirks_comment: 'TF.js behaviour that differs from tf.keras 2.x; out.npy holds the TF.js result, keras_expected what tf.keras does. Not for generic loops.',
    quirks,
  });
  writeManifest(path.join(OUT_ROOT, 'models', 'manifest.json'), {
    ...common,
    paths: 'dir is relative to this manifest; file names are relative to dir',
    notes: COMMON_MODEL_NOTES,
    tolerance_rule: '|got - want| <= atol + rtol * |want| elementwise',
    models,
  });
  console.log(`wrote ${cases.length} layer cases, ${quirks.length} quirk cases, ${models.length} models under ${OUT_ROOT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
