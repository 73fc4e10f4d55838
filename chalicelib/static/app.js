/* ips verification page: capture two photos, downscale them on this device,
 * POST them to the service and show the answer. Plain JavaScript, no build
 * step, no dependencies; copy it into your own front end as it is.
 *
 * The request goes to the URL in <meta name="ips-endpoint"> (default "ips",
 * relative, so the page works under an API Gateway stage prefix). This page
 * never holds an API key: in production point the endpoint at your own back
 * end, which adds the key (see docs/web-page.md). */
(function () {
  'use strict';

  // Longest side sent, in pixels. Plenty for face comparison, and two such
  // JPEGs stay far under the service's 6 MB request limit.
  var MAX_SIDE = 1600;
  var JPEG_QUALITY = 0.88;
  // Per image, before base64 (x4/3): two images stay under ~4 MB of JSON.
  var MAX_JPEG_BYTES = 1.5 * 1024 * 1024;
  // A photo this browser cannot decode (HEIC in Chrome, say) is sent as it is
  // when it is an image type the service converts and no larger than this.
  var MAX_PASSTHROUGH_BYTES = 3 * 1024 * 1024;
  var PASSTHROUGH_TYPES = /^image\/(heic|heif|avif|webp|gif|bmp|tiff)$|\.(heic|heif|avif|webp|gif|bmp|tiff?)$/i;
  // Lambda's request limit is 6 MB; the page refuses to send more than this.
  var MAX_BODY_CHARS = 5.8 * 1024 * 1024;
  var REQUEST_TIMEOUT_MS = 90000;
  var SLOW_NOTICE_MS = 8000;

  var endpointMeta = document.querySelector('meta[name="ips-endpoint"]');
  var ENDPOINT = (endpointMeta && endpointMeta.content) || 'ips';

  // <meta name="ips-selfie-file" content="no"> requires a live camera selfie.
  var selfieFileMeta = document.querySelector('meta[name="ips-selfie-file"]');
  var SELFIE_FROM_FILE = !(selfieFileMeta && selfieFileMeta.content === 'no');

  // <meta name="ips-documents-endpoint">: where the document alone is read
  // (POST {"dl"}) to show the person what was read before the selfie step.
  // Optional; content="" turns it off.
  var documentsMeta = document.querySelector('meta[name="ips-documents-endpoint"]');
  var DOCUMENTS_ENDPOINT = documentsMeta ? documentsMeta.content : 'documents';
  var DOCUMENT_TIMEOUT_MS = 30000;

  var WHAT = { dl: 'identity document', selfie: 'selfie' };
  var WHAT_CAP = { dl: 'The identity document', selfie: 'The selfie' };

  function $(id) { return document.getElementById(id); }

  // ---------------------------------------------------------------- images

  /** Decode a File with its EXIF orientation applied. createImageBitmap's
   * imageOrientation 'from-image' does so; <img> does so by default
   * (CSS image-orientation: from-image) in current browsers. */
  function decodeFile(file) {
    function viaImg() {
      return new Promise(function (resolve, reject) {
        var url = URL.createObjectURL(file);
        var img = new Image();
        img.onload = function () {
          resolve({ source: img, width: img.naturalWidth, height: img.naturalHeight,
                    close: function () { URL.revokeObjectURL(url); } });
        };
        img.onerror = function () { URL.revokeObjectURL(url); reject(new Error('decode')); };
        img.src = url;
      });
    }
    if (typeof window.createImageBitmap === 'function') {
      return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bmp) {
        return { source: bmp, width: bmp.width, height: bmp.height,
                 close: function () { if (bmp.close) bmp.close(); } };
      }, viaImg);
    }
    return viaImg();
  }

  function canvasToBlob(canvas, quality) {
    return new Promise(function (resolve, reject) {
      canvas.toBlob(function (blob) {
        if (blob) resolve(blob); else reject(new Error('encode'));
      }, 'image/jpeg', quality);
    });
  }

  /** Draw a decoded image (or video frame) scaled so its longest side is at
   * most MAX_SIDE, and encode it as JPEG; shrink further in the rare case the
   * JPEG is still over MAX_JPEG_BYTES. */
  function toJpeg(source, width, height) {
    var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    var quality = JPEG_QUALITY;
    function attempt(n) {
      var w = Math.max(1, Math.round(width * scale));
      var h = Math.max(1, Math.round(height * scale));
      var canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      var ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';            // transparent PNG areas become white, not black
      ctx.fillRect(0, 0, w, h);
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(source, 0, 0, w, h);
      return canvasToBlob(canvas, quality).then(function (blob) {
        if (blob.size <= MAX_JPEG_BYTES || n >= 5) {
          return { blob: blob, width: w, height: h };
        }
        scale *= 0.8;
        quality = Math.max(0.7, quality - 0.05);
        return attempt(n + 1);
      });
    }
    return attempt(0);
  }

  function blobToBase64(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var s = String(reader.result);
        resolve(s.slice(s.indexOf(',') + 1));   // drop the data:...;base64, prefix
      };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(blob);
    });
  }

  function kb(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MB' : Math.round(bytes / 1024) + ' KB';
  }

  // ---------------------------------------------------------------- state

  var photos = { dl: null, selfie: null };   // {blob, url, width, height, from}
  // A photo being prepared (decoded and downscaled; a few hundred ms for a
  // phone photo): field -> promise of true (ready) or false (refused). A
  // click on "Verify" meanwhile waits for it instead of asking for it again.
  var preparing = { dl: null, selfie: null };
  var busy = false;
  var generation = 0;   // bumped by "Start over": late work for the old photos is dropped

  function setFieldMessage(field, text, kind) {
    var el = $(field + '-message');
    el.textContent = text || '';
    el.className = 'field-message' + (text ? ' is-' + (kind || 'info') : '');
    $('step-' + field).classList.toggle('is-invalid', kind === 'error' && !!text);
  }

  function setPhoto(field, result, from) {
    var old = photos[field];
    if (old) URL.revokeObjectURL(old.url);
    var url = URL.createObjectURL(result.blob);
    photos[field] = { blob: result.blob, url: url, width: result.width,
                      height: result.height, from: from, shown: !result.original };
    var img = $(field + '-img');
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

  function prepare(field, promise, from) {
    setFieldMessage(field, 'Preparing the photo\u2026', 'info');
    var started = generation;
    var job = promise.then(function (result) {
      if (started !== generation) return false;
      setPhoto(field, result, from);
      return true;
    }).catch(function (err) {
      if (started !== generation) return false;
      setFieldMessage(field, err && err.userMessage ||
        'This file could not be read as a photo. Choose a JPEG or PNG image.', 'error');
      return false;
    }).then(function (ok) {
      if (preparing[field] === job) preparing[field] = null;
      return ok;
    });
    preparing[field] = job;
    return job;
  }

  // ---------------------------------------------------------------- files

  function wireFile(field) {
    var input = $(field + '-file');
    $(field + '-choose').addEventListener('click', function () {
      stopCamera(field);
      input.click();
    });
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      if (!file) return;
      input.value = '';   // choosing the same file again still fires change
      prepare(field, decodeFile(file).then(function (img) {
        return toJpeg(img.source, img.width, img.height).then(function (r) {
          img.close();
          return r;
        }, function (e) { img.close(); throw e; });
      }, function () {
        return passThrough(file);
      }), 'file');
    });
  }

  /** A file this browser cannot decode: send the original when the service
   * can convert its format (HEIC, AVIF, WebP, ...) and it is small enough. */
  function passThrough(file) {
    var err = new Error('undecodable');
    if (!PASSTHROUGH_TYPES.test(file.type || '') && !PASSTHROUGH_TYPES.test(file.name || '')) {
      err.userMessage = 'This file could not be read as a photo. Choose a JPEG or PNG image.';
      throw err;
    }
    if (file.size > MAX_PASSTHROUGH_BYTES) {
      err.userMessage = 'This browser cannot read this photo format, and the file is too large to ' +
        'send as it is. Choose a JPEG or PNG photo, or a smaller one.';
      throw err;
    }
    return { blob: file, width: null, height: null, original: true };
  }

  // ---------------------------------------------------------------- camera

  var cameras = {};   // field -> MediaStream
  var cameraRequest = 0;   // bumped by every start and stop: late answers are dropped
  var cameraSupported = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);

  function cameraErrorMessage(field, err) {
    var name = err && err.name;
    var orFile = field === 'selfie' && !SELFIE_FROM_FILE ? '' : ' Or choose a photo file instead.';
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

  function noCamera(field, text) {
    var start = $(field + '-camera-start');
    if (field === 'selfie' && !SELFIE_FROM_FILE) {
      start.disabled = true;
      setFieldMessage(field, 'A camera is needed to take the selfie, and none can be used here. ' +
                      'Try another device or browser.', 'error');
      return;
    }
    start.hidden = true;
    var choose = $(field + '-choose');
    choose.classList.add('btn-primary');
    setFieldMessage(field, text, 'info');
  }

  function startCamera(field) {
    var facing = field === 'selfie' ? 'user' : 'environment';
    var video = $(field + '-video');
    var shoot = $(field + '-shoot');
    stopCamera('dl');
    stopCamera('selfie');
    hideResult();
    setFieldMessage(field, 'Starting the camera\u2026', 'info');
    shoot.disabled = true;
    var request = ++cameraRequest;
    var cancelled = new Error('cancelled');
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
      var choose = $(field + '-choose');
      (choose.hidden ? $(field + '-camera-start') : choose).focus();
    });
  }

  function stopCamera(field) {
    cameraRequest++;
    var stream = cameras[field];
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      delete cameras[field];
    }
    var video = $(field + '-video');
    video.srcObject = null;
    $(field + '-camera').hidden = true;
    $(field + '-actions').hidden = false;
    if (photos[field]) $(field + '-preview').hidden = false;
  }

  function shoot(field) {
    var video = $(field + '-video');
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return;
    // The frame as the camera sees it: the selfie preview is mirrored by CSS
    // only, so the photo sent is not mirrored (like the document).
    var canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    canvas.getContext('2d').drawImage(video, 0, 0, w, h);
    stopCamera(field);
    prepare(field, toJpeg(canvas, w, h), 'camera').then(function () {
      var next = field === 'dl' ? (photos.selfie ? 'verify' : 'selfie-camera-start') : 'verify';
      var el = $(next);
      if (el && !el.hidden) el.focus(); else $('verify').focus();
    });
  }

  function wireCamera(field) {
    $(field + '-camera-start').addEventListener('click', function () { startCamera(field); });
    $(field + '-shoot').addEventListener('click', function () { shoot(field); });
    $(field + '-camera-cancel').addEventListener('click', function () {
      stopCamera(field);
      setFieldMessage(field, '');
      $(field + '-camera-start').focus();
    });
    $(field + '-camera').addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { stopCamera(field); setFieldMessage(field, ''); $(field + '-camera-start').focus(); }
    });
    if (!cameraSupported) {
      noCamera(field, window.isSecureContext === false
        ? 'The camera needs a secure (https) page here; choose a photo file instead.'
        : 'This browser cannot use a camera here; choose a photo file instead.');
    }
  }

  function checkCameraPresent() {
    if (!cameraSupported || !navigator.mediaDevices.enumerateDevices) return;
    navigator.mediaDevices.enumerateDevices().then(function (devices) {
      var hasVideo = devices.some(function (d) { return d.kind === 'videoinput'; });
      if (!hasVideo) {
        ['dl', 'selfie'].forEach(function (f) {
          noCamera(f, f === 'selfie' ? 'No camera was found on this device; choose a photo of your face instead.' : '');
        });
      }
    }).catch(function () { /* unknown: keep the camera buttons */ });
  }

  // ---------------------------------------------------------------- document

  // Everything read from a document is untrusted text: it is only ever put
  // into the page with textContent, never as HTML.
  function text(value) {
    return typeof value === 'string' ? value.trim().slice(0, 200) : '';
  }

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

  var documentRequest = 0;   // bumped by every new document photo and "Start over"

  // data-state on #dl-read: pending, shown or none (nothing to show); the
  // browser tests wait on it.
  function hideDocumentPreview(state) {
    $('dl-read').setAttribute('data-state', state || 'none');
    $('dl-read').hidden = true;
    $('dl-read-question').textContent = '';
    $('dl-read-note').textContent = '';
  }

  /** Read the document alone (POST documents {"dl"}) and show the person who
   * it names. Optional in every way: any error, a service without the
   * endpoint, a slow or unreadable answer shows nothing, and verification
   * never waits for it. */
  function previewDocument(blob) {
    var request = ++documentRequest;
    if (!DOCUMENTS_ENDPOINT || typeof fetch !== 'function') return hideDocumentPreview();
    hideDocumentPreview('pending');
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, DOCUMENT_TIMEOUT_MS) : null;
    blobToBase64(blob).then(function (b64) {
      if (request !== documentRequest || b64.length > MAX_BODY_CHARS) return null;
      return fetch(DOCUMENTS_ENDPOINT, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify({ dl: b64 }),
        credentials: 'same-origin',
        cache: 'no-store',
        signal: controller ? controller.signal : undefined
      });
    }).then(function (res) {
      return res && res.ok ? res.json() : null;
    }).then(function (body) {
      if (request === documentRequest) showDocumentPreview(body && body.document);
    }).catch(function () { /* optional: say nothing */ }).then(function () {
      if (timer) clearTimeout(timer);
      if (request === documentRequest && $('dl-read').hidden) hideDocumentPreview();
    });
  }

  function showDocumentPreview(doc) {
    var fields = readFields(doc);
    if (!fields) return;
    var name = personName(fields);
    var born = text(fields.date_of_birth);
    if (!name && !born) return;
    $('dl-read-question').textContent = name
      ? 'Is this you? ' + name + (born ? ', born ' + born : '')
      : 'Is this your date of birth? ' + born;
    var c = checks(doc);
    var notes = [];
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

  var DOCUMENT_TYPES = { passport: 'Passport', id_card: 'Identity card',
                         driving_licence: 'Driving licence' };

  function addRow(list, term, value) {
    if (!value) return;
    var dt = document.createElement('dt');
    var dd = document.createElement('dd');
    dt.textContent = term;
    dd.textContent = value;
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function checkWord(value, good, bad) {
    return passed(value) ? good : failed(value) ? bad : '';
  }

  /** The /ips answer's optional "document": what was read and its checks. */
  function renderDocument(doc) {
    var box = $('result-document');
    var list = $('result-document-fields');
    list.textContent = '';
    box.hidden = true;
    if (!doc || typeof doc !== 'object') return;
    var fields = readFields(doc);
    if (!fields) {
      if (doc.read === false) {
        addRow(list, 'Document', 'The text on the document could not be read.');
        box.hidden = false;
      }
      return;
    }
    var c = checks(doc);
    var expiry = text(fields.expiry_date);
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

  /** A person-readable sentence for each reason code of the /ips answer. */
  function describeReason(code) {
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

  function reasonCodes(reasons) {
    if (!Array.isArray(reasons)) return [];
    return reasons.map(function (r) {
      return typeof r === 'string' ? r : r && typeof r.code === 'string' ? r.code : '';
    }).filter(Boolean);
  }

  function renderReasons(codes) {
    var list = $('result-reasons');
    list.textContent = '';
    codes.forEach(function (code) {
      var li = document.createElement('li');
      li.textContent = describeReason(code);
      li.setAttribute('data-code', code);
      list.appendChild(li);
    });
    $('result-reasons-box').hidden = !codes.length;
  }

  // ---------------------------------------------------------------- errors

  /** A person-readable explanation for every error code the API returns,
   * plus the gateway's own errors (which have no code) by HTTP status. */
  function describeError(code, field, status, retryAfter, serverMessage) {
    var what = WHAT[field] || 'photo';
    var What = WHAT_CAP[field] || 'A photo';
    var retry = retryAfter ? ' Try again in ' + retryAfter + ' second' + (retryAfter === '1' ? '' : 's') + '.' : ' Try again in a moment.';
    var broken = 'The page sent a request the service could not read. Reload the page and try again; ' +
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
  var RETRYABLE = { ENGINE_BUSY: 1, ENGINE_TIMEOUT: 1, ENGINE_ERROR: 1, ENGINE_UNAVAILABLE: 1,
                    INTERNAL_ERROR: 1, NETWORK: 1, TIMEOUT: 1, BAD_RESPONSE: 1 };

  // ---------------------------------------------------------------- result

  function hideResult() {
    $('result').hidden = true;
    if (!busy) $('status').textContent = '';
  }

  function pct(v) { return Math.max(0, Math.min(100, Number(v) || 0)); }

  function placeMark(el, value) {
    el.style.left = value + '%';
    el.classList.toggle('edge-left', value < 8);
    el.classList.toggle('edge-right', value > 92);
  }

  function drawGauge(similarity, threshold, floor) {
    var s = pct(similarity), t = pct(threshold);
    var f = floor === null || floor === undefined ? null : pct(floor);
    var low = f === null ? t : f;
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
    var label = 'Similarity ' + fmt(s) + ' out of 100; a match needs ' + fmt(t) + ' or more' +
      (f !== null ? '; from ' + fmt(f) + ' to ' + fmt(t) + ' a person reviews it' : '') + '.';
    $('gauge-track').setAttribute('aria-label', label);
    $('gauge').hidden = false;
  }

  function fmt(n) {
    var v = Math.round(Number(n) * 10) / 10;
    return String(v);
  }

  function drawFace(field, face) {
    var img = $('result-' + field + '-img');
    var box = $('result-' + field + '-box');
    var caption = $('result-' + field + '-caption');
    var photo = photos[field];
    var shown = !!(photo && photo.shown);
    img.parentNode.hidden = !shown;
    if (shown) img.src = photo.url; else img.removeAttribute('src');
    var bb = face && face.bounding_box;
    if (bb && !shown) {
      caption.textContent = (field === 'dl' ? 'Document' : 'Selfie') + ': face found' +
        ' (this browser cannot show the photo)';
    } else if (bb) {
      var left = pct(bb.left * 100), top = pct(bb.top * 100);
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
    var result = $('result');
    result.setAttribute('data-outcome', outcome);
    $('result-title').textContent = title;
    $('result-message').textContent = message;
    $('result-reference').textContent = reference || '';
    result.hidden = false;
    $('result-title').focus();
  }

  function showVerdict(body) {
    var decision = body.decision || (body.verified ? 'match' : 'no_match');
    var s = fmt(body.similarity), t = fmt(body.threshold);
    var reasons = reasonCodes(body.reasons);
    // A face match downgraded by a document check (issue 9): say so, not
    // "below the threshold".
    var facesMatch = typeof body.threshold === 'number' && body.similarity >= body.threshold;
    var outcome, title, message;
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

  function showError(code, field, status, retryAfter, requestId, serverMessage) {
    var message = describeError(code, field, status, retryAfter, serverMessage);
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

  // ---------------------------------------------------------------- request

  function setBusy(on) {
    busy = on;
    var button = $('verify');
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
    var jobs = [preparing.dl, preparing.selfie].filter(Boolean);
    var started = generation;
    setBusy(true);
    var status = $('status');
    status.className = 'status is-busy';
    status.textContent = 'Preparing your photos\u2026';
    Promise.all(jobs).then(function (results) {
      setBusy(false);
      status.textContent = '';
      if (started !== generation || results.indexOf(false) !== -1) return;
      verify();
    });
  }

  function verify() {
    if (busy) return;
    if (preparing.dl || preparing.selfie) {
      verifyWhenPrepared();
      return;
    }
    var missing = !photos.dl ? 'dl' : !photos.selfie ? 'selfie' : null;
    if (missing) {
      setFieldMessage(missing, missing === 'dl'
        ? 'Add a photo of your identity document first.'
        : 'Add a selfie first.', 'error');
      var target = $(missing === 'dl' ? 'dl-choose' : (cameraSupported && !$('selfie-camera-start').hidden ? 'selfie-camera-start' : 'selfie-choose'));
      target.focus();
      return;
    }
    setBusy(true);
    setFieldMessage('dl', '');
    setFieldMessage('selfie', '');
    $('result').hidden = true;
    var status = $('status');
    status.className = 'status is-busy';
    status.textContent = 'Checking your photos\u2026';
    var slow = setTimeout(function () {
      status.textContent = 'Still checking your photos; this can take a few seconds\u2026';
    }, SLOW_NOTICE_MS);
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;

    Promise.all([blobToBase64(photos.dl.blob), blobToBase64(photos.selfie.blob)])
      .then(function (b64) {
        if (b64[0].length + b64[1].length > MAX_BODY_CHARS) {
          var tooLarge = new Error('too large');
          tooLarge.code = 'BODY_TOO_LARGE';
          throw tooLarge;
        }
        return fetch(ENDPOINT, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
          body: JSON.stringify({ dl: b64[0], selfie: b64[1] }),
          credentials: 'same-origin',
          cache: 'no-store',
          signal: controller ? controller.signal : undefined
        });
      })
      .then(function (res) {
        return res.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
          if (res.ok && body && typeof body.similarity === 'number') {
            showVerdict(body);
          } else if (res.ok) {
            showError('BAD_RESPONSE', null, res.status, null, null);
          } else {
            showError(body && body.code, body && body.field, res.status,
                      res.headers.get('Retry-After'),
                      (body && body.request_id) || res.headers.get('X-Request-Id'),
                      body && typeof body.message === 'string' ? body.message : null);
          }
        });
      })
      .catch(function (err) {
        showError(err && err.code ? err.code : err && err.name === 'AbortError' ? 'TIMEOUT' : 'NETWORK',
                  null, 0, null, null);
      })
      .then(function () {
        clearTimeout(slow);
        if (timer) clearTimeout(timer);
        setBusy(false);
      });
  }

  function restart() {
    generation++;
    documentRequest++;
    hideDocumentPreview();
    ['dl', 'selfie'].forEach(function (field) {
      preparing[field] = null;
      stopCamera(field);
      if (photos[field]) URL.revokeObjectURL(photos[field].url);
      photos[field] = null;
      $(field + '-preview').hidden = true;
      $(field + '-img').removeAttribute('src');
      $(field + '-img').hidden = false;
      $('step-' + field).classList.remove('is-done');
      setFieldMessage(field, '');
      $(field + '-choose').textContent = 'Choose a photo file';
      $(field + '-camera-start').textContent = 'Use the camera';
    });
    hideResult();
    $('dl-choose').focus();
  }

  // ---------------------------------------------------------------- start

  ['dl', 'selfie'].forEach(function (field) {
    wireFile(field);
    wireCamera(field);
  });
  if (!SELFIE_FROM_FILE) $('selfie-choose').hidden = true;
  checkCameraPresent();
  $('verify').addEventListener('click', verify);
  $('retry').addEventListener('click', verify);
  $('restart').addEventListener('click', restart);
  window.addEventListener('pagehide', function () { stopCamera('dl'); stopCamera('selfie'); });

  // For tests and integrators: the messages this page shows per error code.
  window.ips = { describeError: describeError, describeReason: describeReason,
                 endpoint: ENDPOINT, documentsEndpoint: DOCUMENTS_ENDPOINT };
})();
