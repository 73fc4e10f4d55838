/* What was read from the identity document: the "Is this you?" preview
 * after the document photo (POST documents {"dl"}), and the document panel
 * of the result. Everything read from a document is untrusted text: it is
 * only ever put into the page with textContent, never as HTML. */

import { DOCUMENTS_ENDPOINT, DOCUMENT_TIMEOUT_MS, MAX_BODY_CHARS } from './config.js';
import { $, text } from './dom.js';
import { blobToBase64 } from './images.js';
import { postJson } from './request.js';

function personName(fields) {
  return [text(fields.surname), text(fields.given_names)].filter(Boolean).join(' ');
}

function readFields(doc) {
  return doc && typeof doc === 'object' && doc.read === true && doc.fields &&
    typeof doc.fields === 'object' ? doc.fields : null;
}

function checks(doc) {
  return doc && doc.checks && typeof doc.checks === 'object' ? doc.checks : {};
}

function failed(value) { return value === 'fail' || value === false; }
function passed(value) { return value === 'pass' || value === true; }

let documentRequest = 0;   // bumped by every new document photo and "Start over"

// data-state on #dl-read: pending, shown or none (nothing to show); the
// browser tests wait on it.
function hideDocumentPreview(state) {
  $('dl-read').setAttribute('data-state', state || 'none');
  $('dl-read').hidden = true;
  $('dl-read-question').textContent = '';
  $('dl-read-note').textContent = '';
}

/** "Start over": forget the preview, and drop any reading still in flight. */
export function cancelDocumentPreview() {
  documentRequest++;
  hideDocumentPreview();
}

/** Read the document alone (POST documents {"dl"}) and show the person who
 * it names. Optional in every way: any error, a service without the
 * endpoint, a slow or unreadable answer shows nothing, and verification
 * never waits for it. */
export function previewDocument(blob) {
  const request = ++documentRequest;
  if (!DOCUMENTS_ENDPOINT || typeof fetch !== 'function') return hideDocumentPreview();
  hideDocumentPreview('pending');
  blobToBase64(blob).then(function (b64) {
    if (request !== documentRequest || b64.length > MAX_BODY_CHARS) return null;
    return postJson(DOCUMENTS_ENDPOINT, { dl: b64 }, DOCUMENT_TIMEOUT_MS);
  }).then(function (answer) {
    if (request === documentRequest) showDocumentPreview(answer && answer.ok && answer.body && answer.body.document);
  }).catch(function () { /* optional: say nothing */ }).then(function () {
    if (request === documentRequest && $('dl-read').hidden) hideDocumentPreview();
  });
}

function showDocumentPreview(doc) {
  const fields = readFields(doc);
  if (!fields) return;
  const name = personName(fields);
  const born = text(fields.date_of_birth);
  if (!name && !born) return;
  $('dl-read-question').textContent = name
    ? 'Is this you? ' + name + (born ? ', born ' + born : '')
    : 'Is this your date of birth? ' + born;
  const c = checks(doc);
  const notes = [];
  if (c.expired === true) {
    notes.push('This document has expired' +
      (text(fields.expiry_date) ? ' (' + text(fields.expiry_date) + ')' : '') +
      '; you may need one that is still valid.');
  }
  if (failed(c.check_digits)) {
    notes.push('Some characters may have been misread.');
  }
  notes.push('If this is not right, take the photo again: flat, sharp and without glare.');
  $('dl-read-note').textContent = notes.join(' ');
  $('dl-read').hidden = false;
  $('dl-read').setAttribute('data-state', 'shown');
}

const DOCUMENT_TYPES = { passport: 'Passport', id_card: 'Identity card',
                         driving_licence: 'Driving licence' };

function addRow(list, term, value) {
  if (!value) return;
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = value;
  list.appendChild(dt);
  list.appendChild(dd);
}

function checkWord(value, good, bad) {
  return passed(value) ? good : failed(value) ? bad : '';
}

/** The /ips answer's optional "document": what was read and its checks. */
export function renderDocument(doc) {
  const box = $('result-document');
  const list = $('result-document-fields');
  list.textContent = '';
  box.hidden = true;
  if (!doc || typeof doc !== 'object') return;
  const fields = readFields(doc);
  if (!fields) {
    if (doc.read === false) {
      addRow(list, 'Document', 'The text on the document could not be read.');
      box.hidden = false;
    }
    return;
  }
  const c = checks(doc);
  const expiry = text(fields.expiry_date);
  addRow(list, 'Name', personName(fields));
  addRow(list, 'Date of birth', text(fields.date_of_birth));
  addRow(list, 'Document', DOCUMENT_TYPES[doc.type] || '');
  addRow(list, 'Document number', text(fields.document_number));
  addRow(list, 'Nationality', text(fields.nationality));
  addRow(list, 'Issued by', text(fields.issuing_country));
  addRow(list, 'Expiry date', expiry && (expiry + (c.expired === true ? ' (expired)' : '')));
  addRow(list, 'Sex', text(fields.sex));
  addRow(list, 'Check digits', checkWord(c.check_digits, 'correct', 'wrong'));
  addRow(list, 'Minimum age', checkWord(c.minimum_age, 'met', 'not met'));
  addRow(list, 'Your details', checkWord(c.expected_data, 'match the document',
                                         'do not match the document'));
  box.hidden = !list.firstChild;
}
