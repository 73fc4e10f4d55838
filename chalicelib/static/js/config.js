/* The page's settings: the limits it enforces before sending, and what the
 * <meta> tags of index.html say (endpoints, whether a selfie may be a file).
 * The only tuning knobs of the page (docs/web-page.md). */

// Longest side sent, in pixels. Plenty for face comparison, and two such
// JPEGs stay far under the service's 6 MB request limit.
export const MAX_SIDE = 1600;
export const JPEG_QUALITY = 0.88;
// Per image, before base64 (x4/3): two images stay under ~4 MB of JSON.
export const MAX_JPEG_BYTES = 1.5 * 1024 * 1024;
// A photo this browser cannot decode (HEIC in Chrome, say) is sent as it is
// when it is an image type the service converts and no larger than this.
export const MAX_PASSTHROUGH_BYTES = 3 * 1024 * 1024;
export const PASSTHROUGH_TYPES = /^image\/(heic|heif|avif|webp)$|\.(heic|heif|avif|webp)$/i;
// Lambda's request limit is 6 MB; the page refuses to send more than this.
export const MAX_BODY_CHARS = 5.8 * 1024 * 1024;
export const REQUEST_TIMEOUT_MS = 90000;
export const SLOW_NOTICE_MS = 8000;
export const DOCUMENT_TIMEOUT_MS = 30000;

function meta(name) {
  const el = document.querySelector('meta[name="' + name + '"]');
  return el ? el.content : null;
}

// <meta name="ips-endpoint">: where {"dl", "selfie"} is posted (default
// "ips", relative, so the page works under an API Gateway stage prefix).
export const ENDPOINT = meta('ips-endpoint') || 'ips';

// <meta name="ips-selfie-file" content="no"> requires a live camera selfie.
export const SELFIE_FROM_FILE = meta('ips-selfie-file') !== 'no';

// <meta name="ips-documents-endpoint">: where the document alone is read
// (POST {"dl"}) to show the person what was read before the selfie step.
// Optional; content="" turns it off.
const documents = meta('ips-documents-endpoint');
export const DOCUMENTS_ENDPOINT = documents === null ? 'documents' : documents;
