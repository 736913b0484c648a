// Calls to the coldtrace JSON API with the key from session storage. The
// key travels only in the Authorization header, never in a URL.

import { t } from './i18n.js';

const KEY = 'coldtrace.key';
const ME = 'coldtrace.me';

export function apiKey() {
  try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; }
}

export function signIn(key, me) {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(ME, JSON.stringify(me));
}

export function signOut() {
  try {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ME);
  } catch { /* storage disabled */ }
}

export function me() {
  try { return JSON.parse(sessionStorage.getItem(ME) || 'null'); } catch { return null; }
}

// An ApiError is a failed call, with the kind of failure a person can act
// on: network (no answer), or the problem document's code.
export class ApiError extends Error {
  constructor(kind, status, detail) {
    super(detail || kind);
    this.kind = kind;
    this.status = status;
    this.detail = detail || '';
  }

  // message is the failure in words, in the current language.
  describe() {
    const v = { detail: this.detail, status: this.status };
    switch (this.kind) {
      case 'network': return t('err.network');
      case 'unauthenticated': return t('err.unauthenticated');
      case 'forbidden': return t('err.forbidden', v);
      case 'not_found': return t('err.not_found', v);
      case 'invalid': return t('err.invalid', v);
      case 'rate_limited': return t('err.rate_limited');
      case 'unavailable': return t('err.unavailable', v);
      case 'internal': case 'tampered': return t('err.internal');
      default: return t('err.other', v);
    }
  }
}

// Listeners told when a call finds the key no longer valid.
const onUnauthenticated = [];
export function whenUnauthenticated(fn) { onUnauthenticated.push(fn); }

// call sends a request (opts.body, if any, as JSON) and returns the
// response, or throws an ApiError.
export async function call(path, opts = {}) {
  const headers = { Accept: opts.accept || 'application/json' };
  const key = opts.key ?? apiKey();
  if (key) headers.Authorization = 'Bearer ' + key;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let resp;
  try {
    resp = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch (e) {
    throw new ApiError('network', 0, String(e));
  }
  if (resp.ok) return resp;
  let p = null;
  try { p = await resp.json(); } catch { /* not a problem document */ }
  let kind = p?.code;
  if (!kind) {
    kind = { 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 429: 'rate_limited', 502: 'unavailable', 503: 'unavailable', 504: 'unavailable' }[resp.status]
      || (resp.status >= 500 ? 'internal' : 'other');
  }
  let detail = p?.detail || resp.statusText;
  if (p?.errors?.length) detail += ' — ' + p.errors.map((e) => (e.field ? e.field + ': ' : '') + e.message).join('; ');
  const err = new ApiError(kind, resp.status, detail);
  if (kind === 'unauthenticated' && !opts.key) onUnauthenticated.forEach((fn) => fn(err));
  throw err;
}

export async function getJSON(path, opts) {
  const resp = await call(path, opts);
  return resp.json();
}

// saveBlob hands a blob to the browser as a download named name.
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// download fetches path with the key and saves it, under the name the
// server gives (Content-Disposition) or fallback.
export async function download(path, fallback, accept = '*/*') {
  const resp = await call(path, { accept });
  const cd = resp.headers.get('Content-Disposition') || '';
  const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) || /filename="?([^";]+)"?/i.exec(cd);
  let name = fallback;
  if (m) {
    try { name = decodeURIComponent(m[1]); } catch { name = m[1]; }
  }
  const blob = await resp.blob();
  const ext = { 'application/pdf': '.pdf', 'image/png': '.png', 'image/jpeg': '.jpg', 'text/csv': '.csv',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': '.xlsx' }[blob.type.split(';')[0]];
  if (!/\.\w+$/.test(name) && ext) name += ext;
  saveBlob(blob, name);
  return name;
}

// enc encodes a path segment.
export const enc = encodeURIComponent;
