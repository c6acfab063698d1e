// Bản Số in the browser: start-up, the screens' routes, the frame around
// them, the login screen and the service worker's update rule.
//
// Routes are the part of the address after '#', so the one page `/` serves
// every screen, offline too. Each route names the roles that see it and
// whether it is a form (a new version of the app never takes over while a
// form is open). The screens of the field are in field.js, loaded after the
// login screen is up; the officers' screens are in office.js, audit.js and
// exports.js, loaded only when an officer opens one, so team members never
// download them.

import * as api from './api.js';
import * as store from './store.js';
import { h, setLang, lang, t, num } from './ui.js';

const FIELD = ['team_leader', 'member', 'admin'];
const EVERYONE = ['team_leader', 'member', 'admin', 'officer'];
const OFFICE = ['officer', 'admin'];
const field = () => import('./field.js');
const office = () => import('./office.js');
const trail = () => import('./audit.js');
const files = () => import('./exports.js');

const routes = [
  { path: /^\/login$/, public: true, view: async () => loginView },
  { path: /^\/$/, roles: EVERYONE, view: async () => homeFor },
  { path: /^\/households$/, roles: FIELD, view: async () => (await field()).households },
  { path: /^\/visit\/([\w-]+)$/, roles: FIELD, form: true, view: async () => (await field()).visitForm },
  { path: /^\/training\/([\w-]+)$/, roles: FIELD, form: true, view: async () => (await field()).trainingForm },
  { path: /^\/household\/([\w-]+)$/, roles: FIELD, form: true, view: async () => (await field()).householdForm },
  { path: /^\/dashboard(?:\?(.*))?$/, roles: OFFICE, view: async () => (await office()).dashboard },
  { path: /^\/queue(?:\?(.*))?$/, roles: OFFICE, view: async () => (await office()).queue },
  { path: /^\/months(?:\?(.*))?$/, roles: OFFICE, view: async () => (await office()).months },
  { path: /^\/audit(?:\?(.*))?$/, roles: OFFICE, view: async () => (await trail()).audit },
  { path: /^\/exports(?:\?(.*))?$/, roles: OFFICE, view: async () => (await files()).exports },
];

let current = null;
let me = null;
let sync = null;
const routeListeners = new Set();

export function account() {
  return me;
}

export function go(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = `#${path}`;
}

// Whether a form is on screen (read by the service worker's update rule).
export function formOpen() {
  return Boolean(current && current.form);
}

function frame(content, wide) {
  const main = h('main', { id: 'main', class: wide ? 'main wide' : 'main' }, content);
  const other = lang() === 'vi' ? 'en' : 'vi';
  const bar = h(
    'header',
    { class: 'bar' },
    h('a', { class: 'brand', href: '#/' }, 'Bản Số'),
    h('button', { type: 'button', class: 'small', id: 'lang', onclick: switchLang, lang: other, 'aria-label': t('lang.switch'), title: t('lang.switch') }, other.toUpperCase()),
    me
      ? h('button', { type: 'button', class: 'small', id: 'logout', onclick: logout }, t('auth.logout'))
      : null,
  );
  const strip = h('div', { class: 'strip', id: 'strip', 'aria-live': 'polite' }, h('span', { class: 'net', id: 'net' }));
  document.getElementById('app').replaceChildren(bar, strip, main);
  paintStatus();
}

// The waiting count and the network state, always in view.
export async function paintStatus() {
  const net = document.getElementById('net');
  if (!net) return;
  const s = sync ? sync.state() : { online: navigator.onLine };
  const online = s.online && navigator.onLine;
  net.textContent = online ? t('net.online') : t('net.offline');
  net.dataset.online = String(online);
  const strip = document.getElementById('strip');
  // Officers record nothing on the phone: no waiting count.
  if (!strip || !me || atOffice()) return;
  strip.querySelectorAll(':scope > :not(#net)').forEach((el) => el.remove());
  const recs = (await store.all('records')).filter((r) => r.user_id === me.id);
  const waiting = recs.filter((r) => r.state === 'waiting').length;
  const fix = recs.filter((r) => ['conflict', 'invalid', 'failed', 'rejected'].includes(r.state)).length;
  strip.append(
    h('span', { id: 'waiting-count', 'data-count': String(waiting) }, t('sync.waiting', { n: num(waiting) })),
    h('span', { class: 'fix', id: 'fix-count', 'data-count': String(fix), hidden: fix === 0 }, t('sync.to_fix', { n: num(fix) })),
    h(
      'button',
      { type: 'button', class: 'small', id: 'sync-now', disabled: s.running, onclick: () => sync && sync.syncNow() },
      s.running ? t('sync.running') : t('sync.now'),
    ),
  );
}

async function switchLang() {
  const next = lang() === 'vi' ? 'en' : 'vi';
  await setLang(next);
  await store.setMeta('lang', next);
  render();
}

async function logout() {
  const waiting = (await store.all('records')).filter((r) => r.state === 'waiting' && r.user_id === me.id).length;
  if (waiting && !window.confirm(t('auth.logout_waiting', { n: num(waiting) }))) return;
  await api.logout();
  me = null;
  go('/login');
}

function loginView() {
  const user = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('auth.login'));
  const form = h(
    'form',
    { class: 'card', id: 'login', novalidate: true },
    h('h1', {}, t('auth.title')),
    h('p', { class: 'hint' }, t('auth.intro')),
    h('div', { class: 'field' }, h('label', { for: 'username' }, t('auth.username')), user),
    h('div', { class: 'field' }, h('label', { for: 'password' }, t('auth.password')), pass),
    message,
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    message.textContent = '';
    if (!user.value.trim() || !pass.value) {
      message.textContent = t('auth.missing');
      return;
    }
    submit.disabled = true;
    try {
      me = await api.login(user.value.trim(), pass.value);
      startSync();
      go('/');
    } catch (err) {
      if (err instanceof api.Offline) message.textContent = t('auth.offline');
      else if (err instanceof api.Problem && err.status === 429) message.textContent = t('auth.throttled');
      else if (err instanceof api.Problem && err.status === 401) message.textContent = t('auth.wrong');
      else message.textContent = t('error.unexpected');
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// Whether the account works at an office: an officer, or an admin whose
// area is not a village.
function atOffice() {
  return me.role === 'officer' || (me.role === 'admin' && !(me.area && me.area.level === 'village'));
}

// The first screen after login: the field's for team members and leaders,
// the dashboard for officers.
async function homeFor() {
  if (atOffice()) return (await office()).dashboard('');
  if (me.area && me.area.level === 'village') return (await field()).home();
  return h('section', { class: 'card' }, h('p', {}, t('office.no_screen')));
}

// Asks for a sync now (after a save).
export function kick() {
  startSync();
}

async function render() {
  const path = location.hash.replace(/^#/, '') || '/';
  const route = routes.find((r) => r.path.test(path));
  if (!route) {
    go('/');
    return;
  }
  if (!route.public && !me) {
    go('/login');
    return;
  }
  if (route.public && me) {
    go('/');
    return;
  }
  if (route.roles && me && !route.roles.includes(me.role)) {
    go('/');
    return;
  }
  current = route;
  const params = path.match(route.path).slice(1);
  const view = await route.view();
  const content = await view(...params);
  frame(content, !route.public && atOffice());
  document.documentElement.dataset.screen = path === '/' ? 'home' : path.split(/[/?]/)[1];
  for (const f of routeListeners) f();
}

function startSync() {
  if (sync) {
    sync.syncNow();
    return;
  }
  import('./sync.js').then((m) => {
    sync = m;
    m.onChange(() => {
      paintStatus();
      window.dispatchEvent(new CustomEvent('banso:synced'));
    });
    m.start();
  });
}

// The service worker keeps the app for offline use. A new version installs
// beside the old one and takes over only when no window of the app has a
// form open; records live in IndexedDB, which every version shares.
function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;
  // Whether a version controls this page: not yet on the first visit,
  // when the first version claims it (and no reload is needed).
  let controlled = Boolean(sw.controller);
  let reloadWanted = false;
  sw.addEventListener('message', (e) => {
    if (e.data === 'form-open?' && e.ports[0]) e.ports[0].postMessage(formOpen());
  });
  sw.addEventListener('controllerchange', () => {
    if (!controlled) {
      controlled = true;
      return;
    }
    reloadWanted = true;
    if (!formOpen()) location.reload();
  });
  sw.register('/sw.js', { scope: '/' }).then((reg) => {
    const offer = () => {
      if (reloadWanted && !formOpen()) location.reload();
      else if (reg.waiting && sw.controller && !formOpen()) reg.waiting.postMessage('take-over');
    };
    reg.addEventListener('updatefound', () => {
      const w = reg.installing;
      if (w) w.addEventListener('statechange', () => w.state === 'installed' && offer());
    });
    routeListeners.add(offer);
    offer();
    setInterval(() => reg.update().catch(() => {}), 3600 * 1000);
  });
}

export async function boot() {
  const saved = await store.getMeta('lang');
  if (saved) await setLang(saved);
  await api.loadSession();
  me = api.hasSession() ? await store.getMeta('me') : null;
  api.onLoggedOut(() => {
    me = null;
    go('/login');
  });
  window.addEventListener('hashchange', render);
  await render();
  document.documentElement.dataset.ready = 'true';
  window.bansoReadyAt = performance.now();
  if (me) startSync();
  if (document.readyState === 'complete') registerWorker();
  else window.addEventListener('load', registerWorker);
}

boot();
