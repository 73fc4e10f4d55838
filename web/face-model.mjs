// Converts MediaPipe's short-range BlazeFace (face_detection_short_range.tflite,
// Apache-2.0, shipped by the npm package @mediapipe/face_detection) into the
// TF.js graph model that @tensorflow-models/face-detection's tfjs runtime
// loads (what Amazon's liveness component otherwise fetches from its CDN):
// input [1,128,128,3] in [-1,1], output "Identity:0" [1,896,17] = the score
// logit followed by the 16 box and keypoint regressors of each anchor.
//
// A small, exact reader of the TFLite flatbuffer (schema.fbs field order)
// and a writer of the graph: Conv2D/DepthwiseConv2dNative + BiasAdd (+ Relu),
// AddV2 (+ Relu), Relu, MaxPool, Pad, Reshape, ConcatV2, Const. Weights stay
// float32 (FLOAT16 buffers are widened). Anything else is refused, loudly.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

// ------------------------------------------------------------ flatbuffers

class Table {
  constructor(buf, pos) {
    this.buf = buf;
    this.pos = pos;
    this.vtable = pos - buf.readInt32LE(pos);
    this.vsize = buf.readUInt16LE(this.vtable);
  }
  offset(field) {
    const at = 4 + 2 * field;
    return at < this.vsize ? this.buf.readUInt16LE(this.vtable + at) : 0;
  }
  scalar(field, kind, fallback = 0) {
    const o = this.offset(field);
    if (!o) return fallback;
    const p = this.pos + o;
    switch (kind) {
      case 'int8': return this.buf.readInt8(p);
      case 'uint8': return this.buf.readUInt8(p);
      case 'int32': return this.buf.readInt32LE(p);
      case 'uint32': return this.buf.readUInt32LE(p);
      default: throw new Error('kind ' + kind);
    }
  }
  target(field) {
    const o = this.offset(field);
    if (!o) return 0;
    const p = this.pos + o;
    return p + this.buf.readUInt32LE(p);
  }
  table(field) {
    const t = this.target(field);
    return t ? new Table(this.buf, t) : null;
  }
  string(field) {
    const t = this.target(field);
    return t ? this.buf.toString('utf8', t + 4, t + 4 + this.buf.readUInt32LE(t)) : '';
  }
  tables(field) {
    const t = this.target(field);
    if (!t) return [];
    const n = this.buf.readUInt32LE(t);
    return Array.from({ length: n }, (_, i) => {
      const p = t + 4 + 4 * i;
      return new Table(this.buf, p + this.buf.readUInt32LE(p));
    });
  }
  ints(field) {
    const t = this.target(field);
    if (!t) return [];
    const n = this.buf.readUInt32LE(t);
    return Array.from({ length: n }, (_, i) => this.buf.readInt32LE(t + 4 + 4 * i));
  }
  bytes(field) {
    const t = this.target(field);
    return t ? this.buf.subarray(t + 4, t + 4 + this.buf.readUInt32LE(t)) : null;
  }
}

// BuiltinOperator codes used by BlazeFace.
const OPS = { 0: 'ADD', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D',
              6: 'DEQUANTIZE', 17: 'MAX_POOL_2D', 19: 'RELU', 22: 'RESHAPE', 34: 'PAD' };
const TYPES = { 0: 'float32', 1: 'float16', 2: 'int32' };

export function readTflite(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 4, 8) !== 'TFL3') throw new Error(path + ': not a TFLite model');
  const model = new Table(buf, buf.readUInt32LE(0));
  const codes = model.tables(1).map((c) => Math.max(c.scalar(0, 'int8'), c.scalar(3, 'int32')));
  const buffers = model.tables(4).map((b) => b.bytes(0));
  const graphs = model.tables(2);
  if (graphs.length !== 1) throw new Error('expected one subgraph');
  const g = graphs[0];
  const tensors = g.tables(0).map((t) => ({
    shape: t.ints(0), type: TYPES[t.scalar(1, 'int8')], buffer: buffers[t.scalar(2, 'uint32')],
    name: t.string(3),
  }));
  const operators = g.tables(3).map((op) => ({
    op: OPS[codes[op.scalar(0, 'uint32')]] || 'code ' + codes[op.scalar(0, 'uint32')],
    inputs: op.ints(1), outputs: op.ints(2), options: op.table(4),
  }));
  return { tensors, operators, inputs: g.ints(1), outputs: g.ints(2) };
}

// ------------------------------------------------------------ values

function float16(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function values(tensor) {
  const b = tensor.buffer;
  if (!b || !b.length) return null;
  if (tensor.type === 'float32') return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  if (tensor.type === 'int32') return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  if (tensor.type === 'float16') {
    const out = new Float32Array(b.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = float16(b.readUInt16LE(2 * i));
    return out;
  }
  throw new Error('tensor type ' + tensor.type);
}

/** Reorder a row-major array of shape `shape` by `perm` (like transpose). */
function transpose(data, shape, perm) {
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new data.constructor(data.length);
  const idx = new Array(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < perm.length; k++) src += idx[k] * strides[perm[k]];
    out[o] = data[src];
    for (let k = perm.length - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return { data: out, shape: outShape };
}

// ------------------------------------------------------------ graph

const PADDING = { 0: 'SAME', 1: 'VALID' };
const ACTIVATION = { 0: null, 1: 'Relu' };

export function convert(tflite) {
  const nodes = [];
  const weights = [];   // {name, shape, dtype, data}
  const produced = new Map();   // tensor index -> node name
  const constants = new Map();  // tensor index -> Float32Array/Int32Array (after DEQUANTIZE)
  const { tensors } = tflite;
  const nameOf = (i) => produced.get(i) || constName(i);
  const dtypeAttr = (t) => ({ type: t === 'int32' ? 'DT_INT32' : 'DT_FLOAT' });
  const list = (xs) => ({ list: { i: xs.map(String) } });

  function constant(name, data, shape, dtype = 'float32') {
    nodes.push({ name, op: 'Const', attr: { dtype: dtypeAttr(dtype), value: { tensor: {
      dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT',
      tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } } } } });
    weights.push({ name, shape, dtype, data });
    return name;
  }
  function constName(i) {
    const data = constants.get(i) || values(tensors[i]);
    if (!data) throw new Error('tensor ' + tensors[i].name + ' is neither computed nor constant');
    const name = 'const_' + i;
    if (!nodes.some((n) => n.name === name)) {
      constant(name, data, tensors[i].shape, data instanceof Int32Array ? 'int32' : 'float32');
    }
    return name;
  }
  function op(name, type, inputs, attr = {}) {
    nodes.push({ name, op: type, input: inputs, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
    return name;
  }
  function activate(name, fused, out) {
    const act = ACTIVATION[fused];
    if (act === undefined) throw new Error('fused activation ' + fused);
    produced.set(out, act ? op(name + '/relu', act, [name]) : name);
  }

  const input = tflite.inputs[0];
  nodes.push({ name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' },
    shape: { shape: { dim: tensors[input].shape.map((s) => ({ size: String(s) })) } } } });
  produced.set(input, 'input');

  tflite.operators.forEach((o, n) => {
    const name = 'op' + n;
    const opt = o.options;
    const [a, b, c] = o.inputs;
    switch (o.op) {
      case 'DEQUANTIZE':
        constants.set(o.outputs[0], values(tensors[a]));
        return;
      case 'CONV_2D': {
        // TFLite OHWI -> TF HWIO
        const w = transpose(constants.get(b) || values(tensors[b]), tensors[b].shape, [1, 2, 3, 0]);
        const conv = op(name, 'Conv2D', [nameOf(a), constant(name + '/w', w.data, w.shape)], {
          strides: list([1, opt.scalar(2, 'int32'), opt.scalar(1, 'int32'), 1]),
          padding: { s: Buffer.from(PADDING[opt.scalar(0, 'int8')]).toString('base64') },
          dilations: list([1, opt.scalar(5, 'int32', 1), opt.scalar(4, 'int32', 1), 1]),
          data_format: { s: Buffer.from('NHWC').toString('base64') } });
        const bias = op(name + '/bias', 'BiasAdd', [conv, nameOf(c)],
                        { data_format: { s: Buffer.from('NHWC').toString('base64') } });
        activate(bias, opt.scalar(3, 'int8'), o.outputs[0]);
        return;
      }
      case 'DEPTHWISE_CONV_2D': {
        // TFLite [1,H,W,C*M] -> TF [H,W,C,M]; BlazeFace uses multiplier 1.
        if (opt.scalar(3, 'int32', 1) !== 1) throw new Error('depth multiplier');
        const shape = tensors[b].shape;
        const data = constants.get(b) || values(tensors[b]);
        const conv = op(name, 'DepthwiseConv2dNative', [nameOf(a), constant(name + '/w', data, [shape[1], shape[2], shape[3], 1])], {
          strides: list([1, opt.scalar(2, 'int32'), opt.scalar(1, 'int32'), 1]),
          padding: { s: Buffer.from(PADDING[opt.scalar(0, 'int8')]).toString('base64') },
          dilations: list([1, opt.scalar(6, 'int32', 1), opt.scalar(5, 'int32', 1), 1]),
          data_format: { s: Buffer.from('NHWC').toString('base64') } });
        const bias = op(name + '/bias', 'BiasAdd', [conv, nameOf(c)],
                        { data_format: { s: Buffer.from('NHWC').toString('base64') } });
        activate(bias, opt.scalar(4, 'int8'), o.outputs[0]);
        return;
      }
      case 'ADD':
        activate(op(name, 'AddV2', [nameOf(a), nameOf(b)]), opt ? opt.scalar(0, 'int8') : 0, o.outputs[0]);
        return;
      case 'RELU':
        produced.set(o.outputs[0], op(name, 'Relu', [nameOf(a)]));
        return;
      case 'MAX_POOL_2D':
        if (opt.scalar(5, 'int8')) throw new Error('fused activation on a pool');
        produced.set(o.outputs[0], op(name, 'MaxPool', [nameOf(a)], {
          ksize: list([1, opt.scalar(4, 'int32'), opt.scalar(3, 'int32'), 1]),
          strides: list([1, opt.scalar(2, 'int32'), opt.scalar(1, 'int32'), 1]),
          padding: { s: Buffer.from(PADDING[opt.scalar(0, 'int8')]).toString('base64') },
          data_format: { s: Buffer.from('NHWC').toString('base64') } }));
        return;
      case 'PAD':
        produced.set(o.outputs[0], op(name, 'Pad', [nameOf(a), nameOf(b)], { Tpaddings: { type: 'DT_INT32' } }));
        return;
      case 'RESHAPE': {
        const shape = tensors[o.outputs[0]].shape;
        produced.set(o.outputs[0], op(name, 'Reshape', [nameOf(a),
          constant(name + '/shape', new Int32Array(shape), [shape.length], 'int32')], { Tshape: { type: 'DT_INT32' } }));
        return;
      }
      case 'CONCATENATION': {
        if (opt.scalar(1, 'int8')) throw new Error('fused activation on a concatenation');
        const axis = constant(name + '/axis', new Int32Array([opt.scalar(0, 'int32')]), [], 'int32');
        produced.set(o.outputs[0], op(name, 'ConcatV2', [...o.inputs.map(nameOf), axis],
                                      { N: { i: String(o.inputs.length) }, Tidx: { type: 'DT_INT32' } }));
        return;
      }
      default:
        throw new Error('unsupported TFLite operator ' + o.op);
    }
  });

  // The detector's one output: [score logit | 16 regressors] per anchor.
  const [first, second] = tflite.outputs.map((i) => ({ i, shape: tensors[i].shape }));
  const [scores, boxes] = first.shape[2] === 1 ? [first, second] : [second, first];
  if (scores.shape[2] !== 1 || boxes.shape[2] !== 16) throw new Error('unexpected outputs');
  const axis = constant('output/axis', new Int32Array([2]), [], 'int32');
  op('output', 'ConcatV2', [nameOf(scores.i), nameOf(boxes.i), axis], { N: { i: '2' }, Tidx: { type: 'DT_INT32' } });
  op('Identity', 'Identity', ['output']);
  return { nodes, weights };
}

/** Writes model.json and its weights file (named weightsName, beside it). */
export function convertFaceModel(tflitePath, modelPath, weightsName) {
  const { nodes, weights } = convert(readTflite(tflitePath));
  const data = Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  writeFileSync(modelPath.replace(/[^/]+$/, weightsName), data);
  writeFileSync(modelPath, JSON.stringify({
    format: 'graph-model',
    generatedBy: 'MediaPipe ' + basename(tflitePath),
    convertedBy: 'ips web/face-model.mjs',
    modelTopology: { node: nodes, versions: { producer: 1 } },
    weightsManifest: [{ paths: [weightsName],
                        weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }],
  }));
  return { nodes: nodes.length, bytes: data.length };
}
