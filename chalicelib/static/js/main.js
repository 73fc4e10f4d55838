/* ips verification page: capture two photos, downscale them on this device,
 * POST them to the service and show the answer. Plain JavaScript modules,
 * no build step, no dependencies; copy them into your own front end as they
 * are (docs/web-page.md).
 *
 * The request goes to the URL in <meta name="ips-endpoint"> (default "ips",
 * relative, so the page works under an API Gateway stage prefix). This page
 * never holds an API key: in production point the endpoint at your own back
 * end, which adds the key.
 *
 * This module only wires the steps together:
 *   capture.js  the document and selfie steps (files, camera frames)
 *   camera.js   the live camera of a step
 *   images.js   decode, downscale, JPEG, base64 on this device
 *   document.js what was read from the document ("Is this you?", result panel)
 *   check.js    step 3: send both photos
 *   liveness.js the cloud liveness step (a session's; loads the island on use)
 *   request.js  one JSON POST with a time limit
 *   result.js   the result panel
 *   messages.js the words for every error and reason code
 *   config.js, dom.js, state.js: settings, DOM helpers, shared state */

import { checkCameraPresent, stopCamera } from './camera.js';
import { resetCapture, wireCapture } from './capture.js';
import { verify } from './check.js';
import { DOCUMENTS_ENDPOINT, ENDPOINT, SELFIE_FROM_FILE } from './config.js';
import { $ } from './dom.js';
import { runLiveness } from './liveness.js';
import { describeError, describeReason } from './messages.js';

function restart() {
  resetCapture();
  $('dl-choose').focus();
}

['dl', 'selfie'].forEach(wireCapture);
if (!SELFIE_FROM_FILE) $('selfie-choose').hidden = true;
checkCameraPresent();
$('verify').addEventListener('click', verify);
$('retry').addEventListener('click', verify);
$('restart').addEventListener('click', restart);
window.addEventListener('pagehide', function () { stopCamera('dl'); stopCamera('selfie'); });

// For tests and integrators: the messages this page shows per error code,
// and the liveness step (docs/web-page.md, "The liveness island").
window.ips = { describeError: describeError, describeReason: describeReason,
               endpoint: ENDPOINT, documentsEndpoint: DOCUMENTS_ENDPOINT,
               runLiveness: runLiveness };
