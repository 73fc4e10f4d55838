/* The camera of each step: start it (rear camera for the document, front
 * for the selfie), show the live preview with its guide, take the frame,
 * stop it; say why when there is no camera, it is refused or busy. The frame
 * taken is handed to the caller (capture.js), which prepares it. */

import { SELFIE_FROM_FILE } from './config.js';
import { $, setFieldMessage } from './dom.js';
import { hideResult } from './result.js';
import { state } from './state.js';

const cameras = {};   // field -> MediaStream
let cameraRequest = 0;   // bumped by every start and stop: late answers are dropped
export const cameraSupported = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);

function cameraErrorMessage(field, err) {
  const name = err && err.name;
  const orFile = field === 'selfie' && !SELFIE_FROM_FILE ? '' : ' Or choose a photo file instead.';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return 'Camera access was refused. Allow the camera for this page in your browser settings.' + orFile;
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') {
    return 'No camera was found.' + orFile;
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return 'The camera is in use by another application or could not start. Close it and try again.' + orFile;
  }
  return 'The camera could not be started.' + orFile;
}

function noCamera(field, message) {
  const start = $(field + '-camera-start');
  if (field === 'selfie' && !SELFIE_FROM_FILE) {
    start.disabled = true;
    setFieldMessage(field, 'A camera is needed to take the selfie, and none can be used here. ' +
                    'Try another device or browser.', 'error');
    return;
  }
  start.hidden = true;
  const choose = $(field + '-choose');
  choose.classList.add('btn-primary');
  setFieldMessage(field, message, 'info');
}

function startCamera(field) {
  const facing = field === 'selfie' ? 'user' : 'environment';
  const video = $(field + '-video');
  const shoot = $(field + '-shoot');
  stopCamera('dl');
  stopCamera('selfie');
  hideResult();
  setFieldMessage(field, 'Starting the camera\u2026', 'info');
  shoot.disabled = true;
  const request = ++cameraRequest;
  const cancelled = new Error('cancelled');
  return navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: { ideal: facing }, width: { ideal: 1920 }, height: { ideal: 1080 } }
  }).then(function (stream) {
    if (request !== cameraRequest) {      // cancelled or replaced meanwhile
      stream.getTracks().forEach(function (t) { t.stop(); });
      throw cancelled;
    }
    cameras[field] = stream;
    video.srcObject = stream;
    $(field + '-camera').hidden = false;
    $(field + '-preview').hidden = true;
    $(field + '-actions').hidden = true;
    return video.play();
  }).then(function () {
    if (request !== cameraRequest) throw cancelled;
    shoot.disabled = false;
    setFieldMessage(field, field === 'selfie'
      ? 'Look at the camera, fit your face inside the oval, then press \u201cTake selfie\u201d.'
      : 'Hold the document inside the frame, then press \u201cTake photo\u201d.', 'info');
    shoot.focus();
  }).catch(function (err) {
    if (err === cancelled || request !== cameraRequest) return;
    stopCamera(field);
    setFieldMessage(field, cameraErrorMessage(field, err), 'error');
    const choose = $(field + '-choose');
    (choose.hidden ? $(field + '-camera-start') : choose).focus();
  });
}

export function stopCamera(field) {
  cameraRequest++;
  const stream = cameras[field];
  if (stream) {
    stream.getTracks().forEach(function (t) { t.stop(); });
    delete cameras[field];
  }
  const video = $(field + '-video');
  video.srcObject = null;
  $(field + '-camera').hidden = true;
  $(field + '-actions').hidden = false;
  if (state.photos[field]) $(field + '-preview').hidden = false;
}

/** The frame as the camera sees it: the selfie preview is mirrored by CSS
 * only, so the photo sent is not mirrored (like the document). */
function takeFrame(field) {
  const video = $(field + '-video');
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return null;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d').drawImage(video, 0, 0, w, h);
  stopCamera(field);
  return { canvas: canvas, width: w, height: h };
}

/** The camera buttons of a step; onFrame(field, {canvas, width, height})
 * gets each photo taken. */
export function wireCamera(field, onFrame) {
  function cancel() {
    stopCamera(field);
    setFieldMessage(field, '');
    $(field + '-camera-start').focus();
  }
  $(field + '-camera-start').addEventListener('click', function () { startCamera(field); });
  $(field + '-shoot').addEventListener('click', function () {
    const frame = takeFrame(field);
    if (frame) onFrame(field, frame);
  });
  $(field + '-camera-cancel').addEventListener('click', cancel);
  $(field + '-camera').addEventListener('keydown', function (e) {
    if (e.key === 'Escape') cancel();
  });
  if (!cameraSupported) {
    noCamera(field, window.isSecureContext === false
      ? 'The camera needs a secure (https) page here; choose a photo file instead.'
      : 'This browser cannot use a camera here; choose a photo file instead.');
  }
}

/** No camera at all on this device: offer the files instead. */
export function checkCameraPresent() {
  if (!cameraSupported || !navigator.mediaDevices.enumerateDevices) return;
  navigator.mediaDevices.enumerateDevices().then(function (devices) {
    const hasVideo = devices.some(function (d) { return d.kind === 'videoinput'; });
    if (!hasVideo) {
      ['dl', 'selfie'].forEach(function (f) {
        noCamera(f, f === 'selfie' ? 'No camera was found on this device; choose a photo of your face instead.' : '');
      });
    }
  }).catch(function () { /* unknown: keep the camera buttons */ });
}
