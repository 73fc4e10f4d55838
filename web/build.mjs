// Builds the Face Liveness island into chalicelib/static/liveness/ (git-ignored):
// the bundle and its CSS (esbuild), the TF.js WASM binaries, and the
// BlazeFace face-detection model converted from the TFLite file that
// @mediapipe/face_detection ships (face-model.mjs). `make liveness` runs it;
// make run, test and package depend on that target.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, '..', 'chalicelib', 'static', 'liveness');
const MODULES = join(HERE, 'node_modules');

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const result = await build({
  entryPoints: { island: join(HERE, 'src', 'island.js') },
  outdir: OUT,
  bundle: true,
  format: 'esm',
  splitting: false,
  minify: true,
  target: ['es2020'],
  platform: 'browser',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  legalComments: 'external',
  metafile: true,
  logLevel: 'warning',
});

for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm',
                    'tfjs-backend-wasm-threaded-simd.wasm']) {
  copyFileSync(join(MODULES, '@tensorflow', 'tfjs-backend-wasm', 'dist', name), join(OUT, name));
}

const { convertFaceModel } = await import('./face-model.mjs');
convertFaceModel(join(MODULES, '@mediapipe', 'face_detection', 'face_detection_short_range.tflite'),
                 join(OUT, 'face-model.json'), 'face-model.bin');

const sizes = Object.entries(result.metafile.outputs).map(([file, out]) => `${file.split('/').pop()} ${out.bytes} B`);
writeFileSync(join(OUT, 'BUILT'), sizes.join('\n') + '\n');
console.log('liveness island:', sizes.join(', '));
