// Runs the converted face model (chalicelib/static/liveness/face-model.*) on
// TF.js's CPU backend, as the liveness component does in the browser, on one
// input: a raw float32 file of [1,128,128,3] in [-1,1]. Prints
// {"shape", "best_score", "best_anchor", "box"} as JSON. Used by
// tests/system/test_liveness_face_model.py.
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const { loadGraphModel } = require('@tensorflow/tfjs-converter');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const DIR = join(__dirname, '..', 'chalicelib', 'static', 'liveness');

(async () => {
  const model = JSON.parse(readFileSync(join(DIR, 'face-model.json'), 'utf8'));
  const bin = readFileSync(join(DIR, model.weightsManifest[0].paths[0]));
  tf.env().set('IS_NODE', false);   // no "install tfjs-node" banner on stdout
  await tf.setBackend('cpu');
  const graph = await loadGraphModel({ load: async () => ({
    modelTopology: model.modelTopology, format: model.format,
    weightSpecs: model.weightsManifest.flatMap((g) => g.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length) }) });
  const raw = readFileSync(process.argv[2]);
  const input = tf.tensor(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)), [1, 128, 128, 3]);
  const out = graph.execute(input, 'Identity:0');
  const y = out.dataSync();
  let best = 0;
  for (let i = 1; i < out.shape[1]; i++) if (y[i * 17] > y[best * 17]) best = i;
  process.stdout.write(JSON.stringify({ shape: out.shape, best_score: 1 / (1 + Math.exp(-y[best * 17])),
                                        best_anchor: best, box: Array.from(y.slice(best * 17 + 1, best * 17 + 5)) }) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
