// Exports as files (CSV and Excel): the buttons the dashboard and the
// exports screen show, and the exports screen itself (the lists of the
// area: visits, sessions, households, members, teams). Loaded with the
// officers' screens only.
//
// The access token travels in a header, which a plain link cannot carry:
// the file is fetched with it, kept as a Blob and saved under the name the
// server gives it (what it holds and when, in Vietnamese).

import * as api from './api.js';
import { go } from './app.js';
import { failure, link, nameOf, paramsOf, periodDates, periodPicker, pickProvince, tabs, unitOf } from './office.js';
import { date, field, h, lang, num, t, today } from './ui.js';

const FORMATS = [
  ['xlsx', 'export.xlsx'],
  ['csv', 'export.csv'],
];

// What went wrong, in the language on screen.
function why(err) {
  if (err instanceof api.Offline) return t('export.offline');
  if (err instanceof api.Problem) {
    const own = { 403: 'export.forbidden', 406: 'export.not_acceptable' }[err.status];
    const detail = err.body.detail || '';
    return own ? `${t(own)}${detail ? ` (${detail})` : ''}` : detail || t('error.unexpected');
  }
  return t('error.unexpected');
}

function size(bytes) {
  return bytes < 1024 ? `${num(bytes)} B` : `${num(Math.round(bytes / 1024))} KB`;
}

// Fetches `path` as `format` and saves it, saying how far it got in
// `status`.
export async function download(path, format, status, buttons) {
  const q = new URLSearchParams({ format });
  if (lang() === 'en') q.set('lang', 'en');
  const url = `${path}${path.includes('?') ? '&' : '?'}${q}`;
  for (const b of buttons) b.disabled = true;
  status.className = 'hint export-status';
  status.dataset.state = 'working';
  status.textContent = t('export.working');
  try {
    const got = await api.file(url, (bytes, total) => {
      status.textContent = total ? t('export.progress_of', { got: size(bytes), total: size(total) }) : t('export.progress', { got: size(bytes) });
    });
    const name = got.name || `ban-so-${today()}.${format}`;
    const href = URL.createObjectURL(got.blob);
    const a = h('a', { href, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60000);
    status.className = 'saved export-status';
    status.dataset.state = 'done';
    status.dataset.file = name;
    status.textContent = t('export.done', { name, size: size(got.bytes) });
  } catch (err) {
    status.className = 'error export-status';
    status.dataset.state = 'failed';
    status.setAttribute('role', 'alert');
    status.textContent = why(err);
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

// "Xuất Excel" and "Xuất CSV" for the file at `path` (the API's list or
// summary address with its filters), titled `key`.
export function exportButtons(id, key, path) {
  const status = h('p', { class: 'hint export-status', id: `export-${id}-status`, 'aria-live': 'polite' });
  const buttons = FORMATS.map(([format, label]) => h('button', { type: 'button', class: 'small', id: `export-${id}-${format}`, 'data-format': format }, t(label)));
  for (const b of buttons) b.addEventListener('click', () => download(path, b.dataset.format, status, buttons));
  return h('div', { class: 'export', id: `export-${id}`, 'data-path': path }, h('h2', {}, t(key)), h('div', { class: 'row-buttons' }, buttons), status);
}

// The lists, each with the filters its route takes.
const LISTS = [
  { id: 'assistances', key: 'export.assistances', dated: true },
  { id: 'trainings', key: 'export.trainings', dated: true },
  { id: 'households', key: 'export.households' },
  { id: 'members', key: 'export.members' },
  { id: 'teams', key: 'export.teams' },
];

const STATUSES = ['', 'verified', 'submitted', 'rejected'];

export async function exports(query) {
  const p = paramsOf(query);
  const unit = unitOf(p);
  if (!unit) return pickProvince('exports');
  const period = p.get('period') || 'this_month';
  const [from, to] = periodDates(period, p.get('from'), p.get('to'));
  const status = STATUSES.includes(p.get('status') || '') ? p.get('status') || '' : '';
  let unitName;
  try {
    unitName = await nameOf(unit);
  } catch (err) {
    return failure(err, p, 'exports');
  }
  const here = { unit, trail: p.get('trail'), period, from: period === 'custom' ? from : null, to: period === 'custom' ? to : null, status };
  const change = (next) => go(link('exports', { ...here, ...next }));

  const periodPick = periodPicker('export-', period, from, to, change);
  const statusSel = h(
    'select',
    { name: 'status', id: 'export-status' },
    STATUSES.map((x) => h('option', { value: x, selected: x === status }, t(`export.status.${x || 'any'}`))),
  );
  statusSel.addEventListener('change', () => change({ status: statusSel.value }));

  const rows = LISTS.map((l) => {
    const q = new URLSearchParams({ unit_id: unit });
    if (l.dated) {
      q.set('from', from);
      q.set('to', to);
      if (status) q.set('status', status);
    }
    const box = exportButtons(l.id, l.key, `/api/v1/${l.id}?${q}`);
    box.append(h('p', { class: 'meta' }, l.dated ? t('export.dated', { from: date(from), to: date(to), status: t(`export.status.${status || 'any'}`) }) : t('export.whole', { area: unitName })));
    return h('li', {}, box);
  });
  return h(
    'section',
    { class: 'wide-screen', id: 'exports', 'data-unit': unit, 'data-from': from, 'data-to': to },
    tabs('exports', p),
    h('h1', {}, t('export.title', { area: unitName })),
    h('p', { class: 'hint' }, t('export.intro')),
    h('div', { class: 'filters' }, periodPick.field, field('export.status', statusSel)),
    periodPick.custom,
    periodPick.error,
    h('ul', { class: 'exports', id: 'export-lists' }, rows),
    h('p', { class: 'hint' }, t('export.personal')),
  );
}
