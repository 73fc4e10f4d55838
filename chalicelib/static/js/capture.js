/* The two photo steps (document, selfie): a file or a camera frame becomes
 * the photo to send (prepared on this device), shown with its size; a new
 * document photo starts the "Is this you?" reading. "Start over" empties
 * them. */

import { stopCamera, wireCamera } from './camera.js';
import { cancelDocumentPreview, previewDocument } from './document.js';
import { $, setFieldMessage } from './dom.js';
import { kb, NOT_A_PHOTO, photoFromFile, toJpeg } from './images.js';
import { hideResult } from './result.js';
import { state } from './state.js';

function setPhoto(field, result, from) {
  const old = state.photos[field];
  if (old) URL.revokeObjectURL(old.url);
  const url = URL.createObjectURL(result.blob);
  state.photos[field] = { blob: result.blob, url: url, width: result.width,
                          height: result.height, from: from, shown: !result.original };
  const img = $(field + '-img');
  if (result.original) {
    // Not decodable here: sent as it is, converted by the service.
    img.removeAttribute('src');
    img.hidden = true;
    $(field + '-info').textContent = 'Ready: ' + (result.blob.name || 'photo') + ', ' +
      kb(result.blob.size) + '. This browser cannot show this format; the photo will be sent as it is.';
  } else {
    img.hidden = false;
    img.src = url;
    $(field + '-info').textContent = 'Ready: ' + result.width + ' \u00d7 ' + result.height +
      ' px, ' + kb(result.blob.size) + (from === 'camera' ? ', from the camera' : '');
  }
  $(field + '-preview').hidden = false;
  $('step-' + field).classList.add('is-done');
  setFieldMessage(field, '');
  if (field === 'dl') previewDocument(result.blob);
  $(field + '-choose').textContent = 'Choose another file';
  $(field + '-camera-start').textContent = field === 'dl' ? 'Retake with the camera' : 'Retake selfie';
  hideResult();
}

/** Prepare a photo (promise of {blob, width, height, original?}) for a
 * step; resolves to true once it is ready, false when refused or dropped
 * by "Start over" meanwhile. */
function prepare(field, promise, from) {
  setFieldMessage(field, 'Preparing the photo\u2026', 'info');
  const started = state.generation;
  const job = promise.then(function (result) {
    if (started !== state.generation) return false;
    setPhoto(field, result, from);
    return true;
  }).catch(function (err) {
    if (started !== state.generation) return false;
    setFieldMessage(field, err && err.userMessage || NOT_A_PHOTO, 'error');
    return false;
  }).then(function (ok) {
    if (state.preparing[field] === job) state.preparing[field] = null;
    return ok;
  });
  state.preparing[field] = job;
  return job;
}

function wireFile(field) {
  const input = $(field + '-file');
  $(field + '-choose').addEventListener('click', function () {
    stopCamera(field);
    input.click();
  });
  input.addEventListener('change', function () {
    const file = input.files && input.files[0];
    if (!file) return;
    input.value = '';   // choosing the same file again still fires change
    prepare(field, photoFromFile(file), 'file');
  });
}

/** A camera photo: prepare it, then move focus to what comes next. */
function onFrame(field, frame) {
  prepare(field, toJpeg(frame.canvas, frame.width, frame.height), 'camera').then(function () {
    const next = field === 'dl' ? (state.photos.selfie ? 'verify' : 'selfie-camera-start') : 'verify';
    const el = $(next);
    if (el && !el.hidden) el.focus(); else $('verify').focus();
  });
}

export function wireCapture(field) {
  wireFile(field);
  wireCamera(field, onFrame);
}

/** "Start over": both steps empty again; late work for the old photos is
 * dropped (state.generation). */
export function resetCapture() {
  state.generation++;
  cancelDocumentPreview();
  ['dl', 'selfie'].forEach(function (field) {
    state.preparing[field] = null;
    stopCamera(field);
    if (state.photos[field]) URL.revokeObjectURL(state.photos[field].url);
    state.photos[field] = null;
    $(field + '-preview').hidden = true;
    $(field + '-img').removeAttribute('src');
    $(field + '-img').hidden = false;
    $('step-' + field).classList.remove('is-done');
    setFieldMessage(field, '');
    $(field + '-choose').textContent = 'Choose a photo file';
    $(field + '-camera-start').textContent = 'Use the camera';
  });
  hideResult();
}
