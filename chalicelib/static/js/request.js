/* One JSON POST to the service, as every step of the page sends it: same
 * origin credentials, no cache, a time limit, optional extra headers (a
 * session's bearer token). Resolves to {ok, status, body (parsed JSON or
 * null), headers}; rejects with an Error whose code is NETWORK (no answer)
 * or TIMEOUT (no answer in time). */

export function postJson(url, payload, timeoutMs, headers) {
  const controller = typeof AbortController === 'function' ? new AbortController() : null;
  const timer = controller ? setTimeout(function () { controller.abort(); }, timeoutMs) : null;
  return fetch(url, {
    method: 'POST',
    headers: Object.assign({ 'Content-Type': 'application/json', 'Accept': 'application/json' },
                           headers || {}),
    body: JSON.stringify(payload),
    credentials: 'same-origin',
    cache: 'no-store',
    signal: controller ? controller.signal : undefined
  }).then(function (res) {
    return res.text().then(function (text) {
      let body = null;
      try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
      return { ok: res.ok, status: res.status, body: body, headers: res.headers };
    });
  }).catch(function (err) {
    const failure = new Error('request failed');
    failure.code = err && err.name === 'AbortError' ? 'TIMEOUT' : 'NETWORK';
    throw failure;
  }).finally(function () {
    if (timer) clearTimeout(timer);
  });
}
