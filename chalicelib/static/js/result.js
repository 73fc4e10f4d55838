/* The result panel: the decision in words, the similarity gauge, both
 * photos with the compared face outlined, what was read from the document,
 * one sentence per reason; or the error message, with "Try again" when only
 * a retry can help. Focus moves to the result heading. */

import { renderDocument } from './document.js';
import { $, setFieldMessage } from './dom.js';
import { describeError, describeReason, RETRYABLE, WHAT } from './messages.js';
import { state } from './state.js';

export function hideResult() {
  $('result').hidden = true;
  if (!state.busy) $('status').textContent = '';
}

function pct(v) { return Math.max(0, Math.min(100, Number(v) || 0)); }

function placeMark(el, value) {
  el.style.left = value + '%';
  el.classList.toggle('edge-left', value < 8);
  el.classList.toggle('edge-right', value > 92);
}

function drawGauge(similarity, threshold, floor) {
  const s = pct(similarity), t = pct(threshold);
  const f = floor === null || floor === undefined ? null : pct(floor);
  const low = f === null ? t : f;
  $('zone-no').style.cssText = 'left:0;width:' + low + '%';
  $('zone-review').style.cssText = 'left:' + low + '%;width:' + (t - low) + '%';
  $('zone-review').hidden = f === null;
  $('zone-match').style.cssText = 'left:' + t + '%;width:' + (100 - t) + '%';
  $('legend-review').hidden = f === null;
  $('legend-review-text').hidden = f === null;
  placeMark($('gauge-threshold'), t);
  $('gauge-threshold-label').textContent = 'threshold ' + fmt(t);
  placeMark($('gauge-needle'), s);
  $('gauge-needle-label').textContent = fmt(s);
  const label = 'Similarity ' + fmt(s) + ' out of 100; a match needs ' + fmt(t) + ' or more' +
    (f !== null ? '; from ' + fmt(f) + ' to ' + fmt(t) + ' a person reviews it' : '') + '.';
  $('gauge-track').setAttribute('aria-label', label);
  $('gauge').hidden = false;
}

function fmt(n) {
  const v = Math.round(Number(n) * 10) / 10;
  return String(v);
}

function drawFace(field, face) {
  const img = $('result-' + field + '-img');
  const box = $('result-' + field + '-box');
  const caption = $('result-' + field + '-caption');
  const photo = state.photos[field];
  const shown = !!(photo && photo.shown);
  img.parentNode.hidden = !shown;
  if (shown) img.src = photo.url; else img.removeAttribute('src');
  const bb = face && face.bounding_box;
  if (bb && !shown) {
    caption.textContent = (field === 'dl' ? 'Document' : 'Selfie') + ': face found' +
      ' (this browser cannot show the photo)';
  } else if (bb) {
    const left = pct(bb.left * 100), top = pct(bb.top * 100);
    box.style.left = left + '%';
    box.style.top = top + '%';
    box.style.width = Math.min(pct(bb.width * 100), 100 - left) + '%';
    box.style.height = Math.min(pct(bb.height * 100), 100 - top) + '%';
    box.hidden = false;
    img.alt = (field === 'dl' ? 'Your identity document' : 'Your selfie') +
      ', with the face that was compared outlined';
    caption.textContent = (field === 'dl' ? 'Document' : 'Selfie') + ': face found' +
      (face.confidence !== undefined ? ' (detector confidence ' + fmt(face.confidence) + '%)' : '');
  } else {
    box.hidden = true;
    img.alt = field === 'dl' ? 'Your identity document' : 'Your selfie';
    caption.textContent = field === 'dl' ? 'Document' : 'Selfie';
  }
}

function showResult(outcome, title, message, reference) {
  const result = $('result');
  result.setAttribute('data-outcome', outcome);
  $('result-title').textContent = title;
  $('result-message').textContent = message;
  $('result-reference').textContent = reference || '';
  result.hidden = false;
  $('result-title').focus();
}

export function showVerdict(body) {
  const decision = body.decision || (body.verified ? 'match' : 'no_match');
  const s = fmt(body.similarity), t = fmt(body.threshold);
  const reasons = reasonCodes(body.reasons);
  // A face match downgraded by a document check (issue 9): say so, not
  // "below the threshold".
  const facesMatch = typeof body.threshold === 'number' && body.similarity >= body.threshold;
  let outcome, title, message;
  if (decision === 'match' && body.verified !== false) {
    outcome = 'verified';
    title = 'Verified';
    message = 'The selfie matches the photo on the identity document: similarity ' + s +
      ', at or above the threshold of ' + t + '.';
  } else if (decision === 'review' && facesMatch && reasons.length) {
    outcome = 'review';
    title = 'Needs a manual review';
    message = 'The selfie matches the photo on the identity document (similarity ' + s +
      ', threshold ' + t + '), but a person will review your document before a decision ' +
      'is made, for the reasons below.';
  } else if (decision === 'review') {
    outcome = 'review';
    title = 'Needs a manual review';
    message = 'The similarity, ' + s + ', is just below the threshold of ' + t +
      '. A person will review your photos before a decision is made.';
  } else if (facesMatch && reasons.length) {
    outcome = 'not-verified';
    title = 'Not verified';
    message = 'The selfie matches the photo on the identity document (similarity ' + s +
      ', threshold ' + t + '), but the document did not pass the checks below.';
  } else {
    outcome = 'not-verified';
    title = 'Not verified';
    message = 'The selfie does not match the photo on the identity document: similarity ' + s +
      ', below the threshold of ' + t + '. If this is you, retake both photos in good light.';
  }
  drawGauge(body.similarity, body.threshold, body.review_floor);
  drawFace('dl', body.document_face);
  drawFace('selfie', body.selfie_face);
  $('faces').hidden = false;
  renderDocument(body.document);
  renderReasons(reasons);
  $('retry').hidden = true;
  showResult(outcome, title, message,
    'Reference: ' + (body.request_id || 'none') + (body.engine ? ' \u00b7 engine: ' + body.engine : ''));
  $('status').textContent = title + '. Similarity ' + s + ', threshold ' + t + '.';
}

export function showError(code, field, status, retryAfter, requestId, serverMessage) {
  const message = describeError(code, field, status, retryAfter, serverMessage);
  $('gauge').hidden = true;
  $('faces').hidden = true;
  $('result-document').hidden = true;
  $('result-reasons-box').hidden = true;
  $('retry').hidden = !RETRYABLE[code] && !(status >= 500 || status === 429);
  if (field && WHAT[field]) {
    setFieldMessage(field, message, 'error');
  }
  showResult('error', 'We could not check your photos', message,
    'Error code: ' + (code || 'HTTP ' + status) + (requestId ? ' \u00b7 reference: ' + requestId : ''));
  $('status').textContent = 'Not checked: ' + message;
}


function reasonCodes(reasons) {
  if (!Array.isArray(reasons)) return [];
  return reasons.map(function (r) {
    return typeof r === 'string' ? r : r && typeof r.code === 'string' ? r.code : '';
  }).filter(Boolean);
}

function renderReasons(codes) {
  const list = $('result-reasons');
  list.textContent = '';
  codes.forEach(function (code) {
    const li = document.createElement('li');
    li.textContent = describeReason(code);
    li.setAttribute('data-code', code);
    list.appendChild(li);
  });
  $('result-reasons-box').hidden = !codes.length;
}

