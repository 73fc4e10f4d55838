/* The cloud liveness step (issue 20): a Rekognition Face Liveness check of
 * the person in front of the camera, for a session that requires it. The
 * session flow calls runLiveness; on success it sends the capture with
 * {dl, liveness_session_id} instead of a selfie.
 *
 *   1. POST <verification>/liveness (the session's bearer token) answers
 *      {session_id, region, credentials: {access_key_id, secret_access_key,
 *      session_token, expiration}}: short-lived credentials that can only
 *      stream this one liveness session.
 *   2. The island (static/liveness/island.js, React, bundled from web/) is
 *      loaded only now, with import(), and mounted in the container: it
 *      shows the camera, the oval and the coloured lights, and streams the
 *      video to Rekognition in that region.
 *   3. When Rekognition has analysed the video, the promise resolves to the
 *      liveness session id. The page never sees a score.
 *
 * Failures reject with an Error whose code is the API's (for step 1), or
 * NETWORK/TIMEOUT, or LIVENESS_CHECK_ERROR (the island's error, its state
 * in err.state), or LIVENESS_CANCELLED (the person cancelled). */

import { postJson } from './request.js';

const ISLAND = new URL('../liveness/island.js', import.meta.url).href;
const START_TIMEOUT_MS = 30000;

function failure(code, extra) {
  return Object.assign(new Error(code), { code: code }, extra || {});
}

/** The liveness credentials of POST .../liveness in the island's shape,
 * or null when the answer is not what the contract says. */
function credentialsOf(body) {
  const c = body && body.credentials;
  if (!c || typeof body.session_id !== 'string' || typeof body.region !== 'string' ||
      typeof c.access_key_id !== 'string' || typeof c.secret_access_key !== 'string') return null;
  return { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key,
           sessionToken: c.session_token,
           expiration: c.expiration ? new Date(c.expiration) : undefined };
}

/** Run the check in container (an empty element). options: verification
 * (the verification's URL, relative, e.g. "verifications/<id>"), token (the
 * capture token), endpointOverride (a stand-in streaming endpoint; tests
 * only). Resolves to the liveness session id once analysed. */
export function runLiveness(container, options) {
  return postJson(options.verification + '/liveness', {}, START_TIMEOUT_MS,
                  { Authorization: 'Bearer ' + options.token }).then(function (answer) {
    const credentials = answer.ok ? credentialsOf(answer.body) : null;
    if (!credentials) {
      throw failure((answer.body && answer.body.code) || 'BAD_RESPONSE',
                    { status: answer.status, field: answer.body && answer.body.field });
    }
    return import(ISLAND).then(function (island) {
      return new Promise(function (resolve, reject) {
        let handle = null;
        function finish(settle, value) {
          if (handle) handle.unmount();
          handle = null;
          settle(value);
        }
        handle = island.mountLiveness(container, {
          sessionId: answer.body.session_id,
          region: answer.body.region,
          credentialProvider: function () { return Promise.resolve(credentials); },
          endpointOverride: options.endpointOverride,
          onAnalysisComplete: function () {
            finish(resolve, answer.body.session_id);
            return Promise.resolve();
          },
          onError: function (error) {
            finish(reject, failure('LIVENESS_CHECK_ERROR', { state: error && error.state }));
          },
          onUserCancel: function () { finish(reject, failure('LIVENESS_CANCELLED')); }
        });
      });
    });
  });
}
