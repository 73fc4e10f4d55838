/* Photos on this device: decode a file (EXIF orientation applied), downscale
 * and encode it as JPEG, or pass an undecodable one through; base64 for the
 * request. */

import { JPEG_QUALITY, MAX_JPEG_BYTES, MAX_PASSTHROUGH_BYTES, MAX_SIDE, PASSTHROUGH_TYPES } from './config.js';

export const NOT_A_PHOTO = 'This file could not be read as a photo. Choose a JPEG or PNG image.';

/** Decode a File with its EXIF orientation applied. createImageBitmap's
 * imageOrientation 'from-image' does so; <img> does so by default
 * (CSS image-orientation: from-image) in current browsers. */
function decodeFile(file) {
  function viaImg() {
    return new Promise(function (resolve, reject) {
      const url = URL.createObjectURL(file);
      const img = new Image();
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
export function toJpeg(source, width, height) {
  let scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  let quality = JPEG_QUALITY;
  function attempt(n) {
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
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

/** A file this browser cannot decode: send the original when the service
 * can convert its format (HEIC, AVIF, WebP, ...) and it is small enough. */
function passThrough(file) {
  const err = new Error('undecodable');
  if (!PASSTHROUGH_TYPES.test(file.type || '') && !PASSTHROUGH_TYPES.test(file.name || '')) {
    err.userMessage = NOT_A_PHOTO;
    throw err;
  }
  if (file.size > MAX_PASSTHROUGH_BYTES) {
    err.userMessage = 'This browser cannot read this photo format, and the file is too large to ' +
      'send as it is. Choose a JPEG or PNG photo, or a smaller one.';
    throw err;
  }
  return { blob: file, width: null, height: null, original: true };
}

/** A chosen file as the photo to send: {blob, width, height, original?}. */
export function photoFromFile(file) {
  return decodeFile(file).then(function (img) {
    return toJpeg(img.source, img.width, img.height).then(function (r) {
      img.close();
      return r;
    }, function (e) { img.close(); throw e; });
  }, function () {
    return passThrough(file);
  });
}

export function blobToBase64(blob) {
  return new Promise(function (resolve, reject) {
    const reader = new FileReader();
    reader.onload = function () {
      const s = String(reader.result);
      resolve(s.slice(s.indexOf(',') + 1));   // drop the data:...;base64, prefix
    };
    reader.onerror = function () { reject(reader.error); };
    reader.readAsDataURL(blob);
  });
}

export function kb(bytes) {
  return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MB' : Math.round(bytes / 1024) + ' KB';
}
