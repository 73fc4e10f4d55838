/* The Face Liveness island: Amazon's FaceLivenessDetectorCore (React) mounted
 * inside the plain-JS capture page, self-hosted. Bundled by esbuild
 * (web/build.mjs) into chalicelib/static/liveness/island.js; the page loads
 * it with import() only when a session needs the check (docs/web-page.md).
 *
 * Nothing comes from a CDN: the TF.js WASM binary and the face-detection
 * model are files beside this bundle, served by ips. Both are fetched here
 * with an explicit Accept header naming their binary type, because API
 * Gateway returns a binary body only when the request's first Accept type
 * is one of the API's binary media types (a browser's own fetch accepts
 * any type). */

import { FaceLivenessDetectorCore } from '@aws-amplify/ui-react-liveness';
import '@aws-amplify/ui-react-liveness/styles.css';
import '@tensorflow/tfjs-backend-wasm';   // registers the WASM_HAS_* flags read below
import { env } from '@tensorflow/tfjs-core';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';

export const VERSION = '3.6.8';   // @aws-amplify/ui-react-liveness, as bundled

const HERE = new URL('./', import.meta.url);
const WASM_NAMES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm',
                    'tfjs-backend-wasm-threaded-simd.wasm'];
const FACE_MODEL = 'face-model.json';

async function fetchOwn(name, accept) {
  const res = await fetch(new URL(name, HERE), { headers: { Accept: accept },
                                                 credentials: 'same-origin' });
  if (!res.ok) throw new Error('liveness asset ' + name + ': HTTP ' + res.status);
  return res;
}

/** setWasmPaths' file map: the one binary TF.js will pick here (SIMD or
 * not; threads need a cross-origin-isolated page, which this is not), as a
 * blob: URL of the bytes fetched from ips. */
async function wasmFileMap() {
  const [simd, threads] = await Promise.all([env().getAsync('WASM_HAS_SIMD_SUPPORT'),
                                             env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]);
  const name = WASM_NAMES[simd && threads ? 2 : simd ? 1 : 0];
  const bytes = await (await fetchOwn(name, 'application/wasm')).arrayBuffer();
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/wasm' }));
  return Object.fromEntries(WASM_NAMES.map((n) => [n, url]));
}

/** A TF.js IOHandler for the BlazeFace model beside this bundle (what
 * faceModelUrl accepts besides a URL): model.json, then its one weights
 * file. */
const faceModel = {
  async load() {
    const model = await (await fetchOwn(FACE_MODEL, 'application/json')).json();
    const manifest = model.weightsManifest;
    const weights = await Promise.all(manifest.flatMap((group) => group.paths).map(
      (path) => fetchOwn(path, 'application/octet-stream').then((res) => res.arrayBuffer())));
    const weightData = new Uint8Array(weights.reduce((n, w) => n + w.byteLength, 0));
    weights.reduce((offset, w) => { weightData.set(new Uint8Array(w), offset); return offset + w.byteLength; }, 0);
    return {
      modelTopology: model.modelTopology,
      format: model.format,
      generatedBy: model.generatedBy,
      convertedBy: model.convertedBy,
      weightSpecs: manifest.flatMap((group) => group.weights),
      weightData: weightData.buffer,
    };
  },
};

/** Mount the check in element. options: sessionId, region (from POST
 * /verifications/{id}/liveness), credentialProvider (async () =>
 * {accessKeyId, secretAccessKey, sessionToken, expiration}),
 * onAnalysisComplete (async), onError(error), onUserCancel, and, for a
 * stand-in of the streaming service only, endpointOverride.
 * element.dataset.state says where it is: loading, mounted or failed.
 * Returns {unmount}. */
export function mountLiveness(element, options) {
  const root = createRoot(element);
  let live = true;
  element.dataset.state = 'loading';
  wasmFileMap().then((binaryPath) => {
    if (!live) return;
    root.render(createElement(FaceLivenessDetectorCore, {
      sessionId: options.sessionId,
      region: options.region,
      onAnalysisComplete: options.onAnalysisComplete,
      onError: options.onError,
      onUserCancel: options.onUserCancel,
      config: {
        credentialProvider: options.credentialProvider,
        binaryPath,
        faceModelUrl: faceModel,
        endpointOverride: options.endpointOverride,
      },
    }));
    element.dataset.state = 'mounted';
  }, (error) => {
    element.dataset.state = 'failed';
    if (options.onError) options.onError({ state: 'ASSETS_UNAVAILABLE', error });
  });
  return {
    unmount() {
      live = false;
      root.unmount();
    },
  };
}
