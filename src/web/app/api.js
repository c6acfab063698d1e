// The client of Bản Số's API: the session (access and refresh tokens, kept
// in IndexedDB so a phone stays logged in across days), one refresh at a
// time across tabs, and errors as values the screens can show.

import * as store from './store.js';
import { lang } from './ui.js';

// A problem+json answer (RFC 9457) from the server.
export class Problem extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// No answer: no network, the server away, or too slow to answer.
export class Offline extends Error {}

// The session is over (the refresh token is no longer valid): log in again.
export class LoggedOut extends Error {}

let session = null;
const listeners = new Set();

// `f` is called when the session ends by itself (refresh refused).
export function onLoggedOut(f) {
  listeners.add(f);
}

export async function loadSession() {
  session = (await store.getMeta('session')) || null;
  return session;
}

export function hasSession() {
  return Boolean(session && session.refresh_token);
}

async function saveTokens(answer) {
  session = {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    access_until: Date.now() + (answer.expires_in - 30) * 1000,
  };
  await store.setMeta('session', session);
}

async function endSession() {
  session = null;
  await store.setMeta('session', null);
  for (const f of listeners) f();
}

async function send(method, path, body, token, timeoutMs) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  // Problems come back in the language on screen.
  const headers = { Accept: 'application/json', 'Accept-Language': lang() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl.signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new Offline('no answer');
  } finally {
    clearTimeout(timer);
  }
}

async function read(res) {
  const text = await res.text().catch(() => {
    throw new Offline('the answer was cut');
  });
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) {
    if (res.status >= 500 || res.status === 0) throw new Offline(`HTTP ${res.status}`);
    throw new Problem(res.status, body);
  }
  return body;
}

export async function login(username, password) {
  const res = await send('POST', '/api/v1/auth/login', { username, password }, null, 30000);
  const answer = await read(res);
  await saveTokens(answer);
  const me = await call('GET', '/api/v1/me');
  await store.setMeta('me', me);
  return me;
}

export async function logout() {
  const old = session;
  await endSessionQuietly();
  if (old && old.refresh_token) {
    try {
      await send('POST', '/api/v1/auth/logout', { refresh_token: old.refresh_token }, null, 10000);
    } catch {
      // Offline: the refresh token expires by itself.
    }
  }
}

async function endSessionQuietly() {
  session = null;
  await store.setMeta('session', null);
  await store.setMeta('me', null);
}

// A refresh token works once: two tabs refreshing together would lock the
// account out, so refreshes take a lock shared by every tab, and a tab that
// finds the stored tokens already renewed by another one uses those.
async function refresh(stale) {
  const work = async () => {
    const stored = await store.getMeta('session');
    if (!stored) throw new LoggedOut();
    if (stored.access_token !== stale && stored.access_until > Date.now()) {
      session = stored;
      return;
    }
    const res = await send('POST', '/api/v1/auth/refresh', { refresh_token: stored.refresh_token }, null, 30000);
    if (res.status === 401) {
      await endSession();
      throw new LoggedOut();
    }
    await saveTokens(await read(res));
  };
  if (navigator.locks) return navigator.locks.request('banso-refresh', work);
  return work();
}

// Calls the API with the access token, renewing it when it has expired.
export async function call(method, path, body, timeoutMs = 30000) {
  if (!session) throw new LoggedOut();
  if (session.access_until <= Date.now()) await refresh(session.access_token);
  let res = await send(method, path, body, session.access_token, timeoutMs);
  if (res.status === 401) {
    await refresh(session.access_token);
    res = await send(method, path, body, session.access_token, timeoutMs);
  }
  return read(res);
}

// The name a `Content-Disposition` gives a file: the plain one, which the
// server writes without diacritics (`luot-ho-tro-2026-12-01-1834.csv`), so
// that every phone and desktop can save it as it is (a browser on a system
// without a UTF-8 locale saves a name it cannot write as "download").
function fileName(disposition) {
  const plain = /filename="([^"]+)"/i.exec(disposition || '');
  return plain ? plain[1] : null;
}

// A file from the API (an export), with the access token in the header a
// plain link cannot carry; `progress(bytes, total)` as it arrives (`total`
// is 0 when the server streams it without a length). Answers the file as
// a Blob with the name the server gave it.
export async function file(path, progress) {
  if (!session) throw new LoggedOut();
  if (session.access_until <= Date.now()) await refresh(session.access_token);
  // Up to ten minutes for the head: an XLSX is answered once it is written.
  let res = await send('GET', path, undefined, session.access_token, 600000);
  if (res.status === 401) {
    await refresh(session.access_token);
    res = await send('GET', path, undefined, session.access_token, 600000);
  }
  if (!res.ok) await read(res);
  const total = Number(res.headers.get('Content-Length')) || 0;
  const chunks = [];
  let bytes = 0;
  try {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      if (progress) progress(bytes, total);
    }
  } catch {
    // A transfer cut short is never taken for a whole file.
    throw new Offline('the file was cut');
  }
  const type = res.headers.get('Content-Type') || 'application/octet-stream';
  return { blob: new Blob(chunks, { type }), name: fileName(res.headers.get('Content-Disposition')), bytes };
}

// Every page of a list, following `next_cursor`.
export async function all(path) {
  const items = [];
  let cursor = null;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const url = cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path;
    const page = await call('GET', url);
    items.push(...page.items);
    if (!page.next_cursor) return items;
    cursor = page.next_cursor;
  }
}
