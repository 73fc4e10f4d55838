/* The few DOM helpers every step uses. Nothing here writes HTML: text from
 * the service or a document is only ever put into the page as textContent. */

export function $(id) { return document.getElementById(id); }

/** Untrusted text (read from a document, or a code from the service),
 * trimmed and bounded, for textContent only. */
export function text(value) {
  return typeof value === 'string' ? value.trim().slice(0, 200) : '';
}

/** The message under a step (dl or selfie); kind is info or error, and an
 * error outlines the step in red. */
export function setFieldMessage(field, message, kind) {
  const el = $(field + '-message');
  el.textContent = message || '';
  el.className = 'field-message' + (message ? ' is-' + (kind || 'info') : '');
  $('step-' + field).classList.toggle('is-invalid', kind === 'error' && !!message);
}
