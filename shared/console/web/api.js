// The admin API on the console's own origin. The staff token lives in
// sessionStorage only: it goes out in the Authorization header, never in
// a URL, a cookie or a log line.
import { t } from './i18n.js';

const tokenKey = 'wxchannel.console.token';

// takeToken moves a token handed over in the URL fragment
// (/console/#token=...) into sessionStorage and removes it from the
// address bar and the history entry.
export function takeToken() {
  const frag = new URLSearchParams(location.hash.replace(/^#\/?/, ''));
  const token = frag.get('token');
  if (token) {
    sessionStorage.setItem(tokenKey, token);
    history.replaceState(null, '', location.pathname + location.search + '#/channel');
  }
  return sessionStorage.getItem(tokenKey) || '';
}

export function hasToken() {
  return !!sessionStorage.getItem(tokenKey);
}

// ApiError is an answer outside 2xx, with the API's envelope
// {"error": {code, message, details, request_id}}.
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || t('err.status', { status }));
    this.status = status;
    this.code = e.code || '';
    this.details = e.details || {};
    this.requestId = e.request_id || '';
  }
}

// call sends one request and answers the decoded JSON (null for 204), or
// a Blob when asBlob is set.
export async function call(method, path, body, { asBlob = false } = {}) {
  const headers = { Accept: asBlob ? '*/*' : 'application/json' };
  const token = sessionStorage.getItem(tokenKey);
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    const err = new Error(t('err.network'));
    err.code = 'network';
    throw err;
  }
  if (!resp.ok) {
    let parsed = null;
    try { parsed = await resp.json(); } catch { /* not JSON: the status says it */ }
    throw new ApiError(resp.status, parsed);
  }
  if (asBlob) return resp.blob();
  if (resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const put = (path, body) => call('PUT', path, body);
export const del = (path) => call('DELETE', path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}
