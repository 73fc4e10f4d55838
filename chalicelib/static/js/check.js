/* Step 3, "Verify my identity": wait for photos still being prepared, ask
 * for a missing one, send both (POST ips {"dl", "selfie"}) and hand the
 * answer to the result panel. The button shows when it is busy. */

import { cameraSupported } from './camera.js';
import { ENDPOINT, MAX_BODY_CHARS, REQUEST_TIMEOUT_MS, SLOW_NOTICE_MS } from './config.js';
import { $, setFieldMessage } from './dom.js';
import { blobToBase64 } from './images.js';
import { postJson } from './request.js';
import { showError, showVerdict } from './result.js';
import { state } from './state.js';

function setBusy(on) {
  state.busy = on;
  const button = $('verify');
  if (on) {
    button.setAttribute('aria-disabled', 'true');
    button.setAttribute('aria-busy', 'true');
  } else {
    button.removeAttribute('aria-disabled');
    button.removeAttribute('aria-busy');
    $('status').className = 'status';
  }
}

/** A click while a photo is still being prepared: show that the page is
 * busy, wait for the photos, then verify, unless a photo was refused
 * (its message is already shown) or the person started over. */
function verifyWhenPrepared() {
  const jobs = [state.preparing.dl, state.preparing.selfie].filter(Boolean);
  const started = state.generation;
  setBusy(true);
  const status = $('status');
  status.className = 'status is-busy';
  status.textContent = 'Preparing your photos\u2026';
  Promise.all(jobs).then(function (results) {
    setBusy(false);
    status.textContent = '';
    if (started !== state.generation || results.indexOf(false) !== -1) return;
    verify();
  });
}

/** The answer of POST ips, shown: a verdict, or the error it names. */
function showAnswer(answer) {
  const body = answer.body;
  if (answer.ok && body && typeof body.similarity === 'number') {
    showVerdict(body);
  } else if (answer.ok) {
    showError('BAD_RESPONSE', null, answer.status, null, null);
  } else {
    showError(body && body.code, body && body.field, answer.status,
              answer.headers.get('Retry-After'),
              (body && body.request_id) || answer.headers.get('X-Request-Id'),
              body && typeof body.message === 'string' ? body.message : null);
  }
}

export function verify() {
  if (state.busy) return;
  if (state.preparing.dl || state.preparing.selfie) {
    verifyWhenPrepared();
    return;
  }
  const photos = state.photos;
  const missing = !photos.dl ? 'dl' : !photos.selfie ? 'selfie' : null;
  if (missing) {
    setFieldMessage(missing, missing === 'dl'
      ? 'Add a photo of your identity document first.'
      : 'Add a selfie first.', 'error');
    const target = $(missing === 'dl' ? 'dl-choose' : (cameraSupported && !$('selfie-camera-start').hidden ? 'selfie-camera-start' : 'selfie-choose'));
    target.focus();
    return;
  }
  setBusy(true);
  setFieldMessage('dl', '');
  setFieldMessage('selfie', '');
  $('result').hidden = true;
  const status = $('status');
  status.className = 'status is-busy';
  status.textContent = 'Checking your photos\u2026';
  const slow = setTimeout(function () {
    status.textContent = 'Still checking your photos; this can take a few seconds\u2026';
  }, SLOW_NOTICE_MS);

  Promise.all([blobToBase64(photos.dl.blob), blobToBase64(photos.selfie.blob)])
    .then(function (b64) {
      if (b64[0].length + b64[1].length > MAX_BODY_CHARS) {
        const tooLarge = new Error('too large');
        tooLarge.code = 'BODY_TOO_LARGE';
        throw tooLarge;
      }
      return postJson(ENDPOINT, { dl: b64[0], selfie: b64[1] }, REQUEST_TIMEOUT_MS);
    })
    .then(showAnswer)
    .catch(function (err) {
      showError(err && err.code ? err.code : 'NETWORK', null, 0, null, null);
    })
    .then(function () {
      clearTimeout(slow);
      setBusy(false);
    });
}
