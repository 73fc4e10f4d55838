/* The words the person reads for each answer of the service: one
 * sentence per error code of the API (the catalogue, chalicelib's Code and
 * openapi.yaml; tests/routes/test_web_page_routes.py ties them together) and
 * per reason code of a decision. English only: translate here. */

import { text } from './dom.js';

export const WHAT = { dl: 'identity document', selfie: 'selfie' };
const WHAT_CAP = { dl: 'The identity document', selfie: 'The selfie' };

/** A person-readable explanation for every error code the API returns,
 * plus the gateway's own errors (which have no code) by HTTP status. */
export function describeError(code, field, status, retryAfter, serverMessage) {
  const what = WHAT[field] || 'photo';
  const What = WHAT_CAP[field] || 'A photo';
  const retry = retryAfter ? ' Try again in ' + retryAfter + ' second' + (retryAfter === '1' ? '' : 's') + '.' : ' Try again in a moment.';
  const broken = 'The page sent a request the service could not read. Reload the page and try again; ' +
               'if it keeps happening, contact support.';
  switch (code) {
    case 'EMPTY_BODY':
    case 'INVALID_JSON':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'MALFORMED_REQUEST':
    case 'LENGTH_REQUIRED':
    case 'HEADERS_TOO_LARGE':
    case 'CLIENT_GONE':  // never sent (the client has gone); listed for completeness
      return broken;
    case 'MISSING_FIELD':
      return field ? 'The ' + what + ' photo was not sent. Add it again and retry.' : broken;
    case 'INVALID_FIELD_TYPE':
    case 'INVALID_BASE64':
      return field ? 'The ' + what + ' photo was damaged on the way. Add it again and retry.' : broken;
    case 'BODY_TOO_LARGE':
      return 'The photos are too large to send together. Use smaller photos (under 2 MB each).';
    case 'IMAGE_TOO_LARGE':
    case 'IMAGE_TOO_MANY_PIXELS':
      return What + ' photo is too large. Use a smaller photo.';
    case 'UNSUPPORTED_IMAGE_FORMAT':
      return What + ' is not in a photo format we can read. Use a JPEG, PNG, HEIC or WebP photo.';
    case 'INVALID_IMAGE':
      return What + ' photo could not be read; the file may be damaged. Choose another photo.';
    case 'IMAGE_TOO_SMALL':
      return What + ' photo is too small (it must be at least 80 \u00d7 80 pixels). Use a larger, sharper photo.';
    case 'NO_FACE':
      return field === 'dl'
        ? 'No face was found on the identity document. Photograph the side with your photo, flat and well lit, filling the frame.'
        : 'No face was found in the selfie. Face the camera in good light with your whole face inside the oval.';
    case 'MULTIPLE_FACES':
      return field === 'dl'
        ? 'More than one face was found on the identity document. Photograph only your own document.'
        : 'More than one face is in the selfie. Make sure only you are in the picture, then retake it.';
    case 'FACE_TOO_SMALL':
      return field === 'dl'
        ? 'The face on the identity document is too small. Move closer so the document fills the photo.'
        : 'Your face is too small in the selfie. Move closer so your face fills the oval.';
    case 'FACE_TOO_BLURRY':
      return What + ' is too blurred to compare. Hold still, use good light and take the photo again.';
    case 'ENGINE_BUSY':
      return 'The verification service is busy.' + retry;
    case 'ENGINE_TIMEOUT':
      return 'The check took too long to finish. Please try again.';
    case 'ENGINE_ERROR':
      return 'The face comparison failed on our side. Please try again in a few minutes.';
    case 'ENGINE_UNAVAILABLE':
      return 'The verification service is not available right now. Please try again later.';
    case 'INTERNAL_ERROR':
      return 'Something went wrong on our side. Please try again later.';
    case 'UNAUTHORIZED':
      return 'This page is not allowed to use the verification service. If you run this site: ' +
             'the page must call your own back end, which adds the API key (see docs/web-page.md).';
    case 'SCOPE_MISSING':
      return 'This site\'s key is not allowed to run this check. If you run this site: give its key the scope the route needs (see docs/deploy-access.md).';
    case 'HOST_NOT_ALLOWED':
      return 'The verification service does not answer under this address. If you run this site: add its host name to IPS_ALLOWED_HOSTS.';
    case 'TENANTS_UNAVAILABLE':
      return 'The verification service cannot check who is calling right now.' + retry;
    case 'NETWORK':
      return 'The verification service could not be reached. Check your internet connection and try again.';
    case 'TIMEOUT':
      return 'No answer came from the verification service in time. Please try again.';
    case 'BAD_RESPONSE':
      return 'The verification service gave an answer this page does not understand. Please try again later.';
  }
  // No code we know: API Gateway's own answers (no code), or a code added
  // to the API after this page was written (its own message is the best).
  if (code && serverMessage) return serverMessage;
  if (status === 401 || status === 403) return describeError('UNAUTHORIZED');
  if (status === 413) return describeError('BODY_TOO_LARGE');
  if (status === 429) return 'Too many attempts in a short time.' + retry;
  if (status === 504) return describeError('ENGINE_TIMEOUT');
  if (status === 503) return describeError('ENGINE_UNAVAILABLE');
  if (status >= 500) return describeError('INTERNAL_ERROR');
  return 'The photos could not be checked. Please check them and try again.';
}

// Which codes are worth simply retrying (no change of photo needed).
export const RETRYABLE = { ENGINE_BUSY: 1, ENGINE_TIMEOUT: 1, ENGINE_ERROR: 1, ENGINE_UNAVAILABLE: 1,
                                  INTERNAL_ERROR: 1, TENANTS_UNAVAILABLE: 1, NETWORK: 1, TIMEOUT: 1, BAD_RESPONSE: 1 };

/** A person-readable sentence for each reason code of the /ips answer. */
export function describeReason(code) {
  switch (code) {
    case 'DOCUMENT_EXPIRED':
      return 'The identity document has expired. Use a document that is still valid.';
    case 'DOCUMENT_CHECK_DIGITS':
      return 'The machine-readable lines of the document did not check out. Retake the photo ' +
             'flat, sharp and without glare, or use another document.';
    case 'UNDER_MINIMUM_AGE':
      return 'According to the document, you are under the minimum age for this service.';
    case 'EXPECTED_DATA_MISMATCH':
      return 'The name or date of birth on the document does not match the details you entered.';
    case 'DOCUMENT_UNREADABLE':
      return 'The text on the document could not be read. Retake the photo flat, in good ' +
             'light and filling the frame, with the text in focus.';
    case 'DUPLICATE_FACE':
      return 'This face is already registered for another account. A person will look into it.';
  }
  return 'Another check did not pass (' + text(code) + ').';
}
