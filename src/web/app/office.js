// The officers' screens: the dashboard of their area, the verification
// queue, and the reporting months; and what the audit trail and the
// exports screens (audit.js, exports.js) share with them: the address, the
// tabs, the units of the area. Loaded only when an officer (or an admin of
// an area above a village) opens them, so team members' phones never
// download this module.
//
// Every screen keeps what it shows in the address (after '#'), as
// `?unit=…&from=…`, so a reload, the back button and a shared link show
// the same figures.

import * as api from './api.js';
import { account, go } from './app.js';
import * as store from './store.js';
import { exportButtons } from './exports.js';
import { date, dateTime, entryName, field, h, num, t, today } from './ui.js';

// ---------------------------------------------------------------- the address

export function paramsOf(query) {
  return new URLSearchParams(query || '');
}

export function link(screen, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `/${screen}${s ? `?${s}` : ''}`;
}

// The unit a screen is about: the one in the address, else the account's.
export function unitOf(p) {
  const me = account();
  return p.get('unit') || (me.area ? me.area.id : '');
}

// The units above the one shown, down from the account's area, as
// `id~name` pairs joined by commas: the way back up.
function trailOf(p) {
  return (p.get('trail') || '')
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const i = x.indexOf('~');
      return i < 0 ? { id: x, name: x } : { id: x.slice(0, i), name: x.slice(i + 1) };
    });
}

function trailText(trail) {
  return trail.map((u) => `${u.id}~${u.name.replaceAll(',', ' ')}`).join(',');
}

// ---------------------------------------------------------------- periods

const pad = (x) => String(x).padStart(2, '0');
const iso = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

function lastDay(y, m) {
  return new Date(y, m + 1, 0);
}

// The dates of a named period: this month and this year up to today, the
// whole of last month.
export function periodDates(period, from, to) {
  const now = new Date();
  const y = now.getFullYear();
  const m = now.getMonth();
  if (period === 'last_month') return [iso(new Date(y, m - 1, 1)), iso(lastDay(y, m - 1))];
  if (period === 'this_year') return [`${y}-01-01`, today()];
  if (period === 'custom' && /^\d{4}-\d{2}-\d{2}$/.test(from || '') && /^\d{4}-\d{2}-\d{2}$/.test(to || '')) return [from, to];
  return [iso(new Date(y, m, 1)), today()];
}

// The period picker: this month, last month, this year up to today, or two
// dates of one's own (refused on screen when the first is after the
// second). `change` gets what goes in the address. Ids start with
// `prefix`.
export function periodPicker(prefix, period, from, to, change) {
  const select = h(
    'select',
    { name: 'period', id: `${prefix}period` },
    ['this_month', 'last_month', 'this_year', 'custom'].map((x) => h('option', { value: x, selected: x === period }, t(`office.period.${x}`))),
  );
  const fromIn = h('input', { type: 'date', name: 'from', id: `${prefix}from`, value: from, max: today() });
  const toIn = h('input', { type: 'date', name: 'to', id: `${prefix}to`, value: to });
  const custom = h('div', { class: 'custom-range', hidden: period !== 'custom' }, field('office.from', fromIn), field('office.to', toIn));
  const error = h('p', { class: 'error', id: `${prefix}range-error`, role: 'alert' });
  select.addEventListener('change', () => {
    if (select.value === 'custom') custom.hidden = false;
    else change({ period: select.value, from: null, to: null });
  });
  const apply = () => {
    if (!fromIn.value || !toIn.value || fromIn.value > toIn.value) {
      error.textContent = t('office.bad_range');
      return;
    }
    change({ period: 'custom', from: fromIn.value, to: toIn.value });
  };
  fromIn.addEventListener('change', apply);
  toIn.addEventListener('change', apply);
  return { field: field('office.period', select), custom, error };
}

export function monthNow() {
  return today().slice(0, 7);
}

function monthRange(month) {
  const [y, m] = month.split('-').map(Number);
  return [`${month}-01`, iso(lastDay(y, m - 1))];
}

// 2026-10 as 10/2026.
function monthText(month) {
  const [y, m] = month.split('-');
  return `${m}/${y}`;
}

// ---------------------------------------------------------------- figures

// The figures an officer reports, in the order shown, each a path into the
// summary's indicators.
const FIGURES = [
  'visits',
  'households_assisted',
  'trainings',
  'attendees.total',
  'information_access.reached',
  'information_access.poor_lacking',
  'teams_active',
  'members.total',
  'households.total',
  'households.with_smartphone',
];

// What the charts can show.
const CHARTED = ['poor_households_assisted', 'visits', 'households_assisted', 'trainings', 'attendees.total'];

function figure(indicators, path) {
  let v = indicators;
  for (const part of path.split('.')) v = v == null ? v : v[part];
  return typeof v === 'number' ? v : 0;
}

function share(x) {
  if (x === null || x === undefined) return '—';
  return `${(x * 100).toLocaleString('vi-VN', { maximumFractionDigits: 1 })} %`;
}

// ---------------------------------------------------------------- frame

export function tabs(active, p) {
  const keep = { unit: p.get('unit'), trail: p.get('trail') };
  const month = p.get('month') || (p.get('from') ? p.get('from').slice(0, 7) : null);
  const items = [
    ['dashboard', 'office.tab.dashboard', keep],
    ['queue', 'office.tab.queue', { ...keep, month }],
    ['months', 'office.tab.months', { ...keep, month }],
    ['audit', 'office.tab.audit', keep],
    ['exports', 'office.tab.exports', keep],
  ];
  return h(
    'nav',
    { class: 'tabs', 'aria-label': t('office.tabs') },
    items.map(([screen, key, params]) =>
      h('a', { class: `button small${screen === active ? ' primary' : ''}`, href: `#${link(screen, params)}`, id: `tab-${screen}`, 'aria-current': screen === active ? 'page' : null }, t(key)),
    ),
  );
}

export function problemText(err) {
  if (err instanceof api.Offline) return t('office.offline');
  if (err instanceof api.Problem) return err.body.detail || t('error.unexpected');
  return t('error.unexpected');
}

export function failure(err, p, screen) {
  return h(
    'section',
    { class: 'wide-screen' },
    tabs(screen, p),
    h('div', { class: 'problem', role: 'alert', id: 'office-error' }, h('p', {}, problemText(err))),
    h('button', { type: 'button', onclick: () => go(`/${screen}?${p.toString()}`) }, t('office.retry')),
  );
}

// An admin without an area picks a province first.
export async function pickProvince(screen) {
  const list = await api.all('/api/v1/units?level=province&limit=100');
  return h(
    'section',
    {},
    h('h1', {}, t('office.pick_province')),
    h(
      'ul',
      { class: 'households', id: 'provinces' },
      list.map((u) => h('li', {}, h('a', { class: 'row', href: `#${link(screen, { unit: u.id })}` }, h('span', { class: 'title' }, u.name)))),
    ),
  );
}

// ---------------------------------------------------------------- charts

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// One bar, as wide as `value` is of `max`.
function bar(value, max) {
  const w = max > 0 ? Math.max(value > 0 ? 1 : 0, Math.round((value / max) * 100)) : 0;
  return s('svg', { class: 'bar-svg', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' }, s('rect', { x: 0, y: 0, width: 100, height: 10, class: 'bar-bg' }), s('rect', { x: 0, y: 0, width: w, height: 10, class: 'bar-fg' }));
}

// Bars per child unit; tapping one shows that unit's figures.
function childBars(summary, path, onPick) {
  const rows = summary.rows.filter((r) => r.unit);
  const waiting = summary.unassigned && summary.unassigned.villages.length ? summary.unassigned : null;
  if (!rows.length && !waiting) return h('p', { class: 'hint', id: 'no-children' }, t('office.no_children'));
  const max = Math.max(1, ...rows.map((r) => figure(r, path)), waiting ? figure(waiting, path) : 0);
  const sorted = [...rows].sort((a, b) => figure(b, path) - figure(a, path) || a.unit.name.localeCompare(b.unit.name, 'vi'));
  const items = sorted.map((r) => {
    const value = figure(r, path);
    return h(
      'li',
      {},
      h(
        'button',
        { type: 'button', class: 'bar-row', 'data-unit': r.unit.id, 'data-value': String(value), onclick: () => onPick(r.unit), 'aria-label': `${r.unit.name}: ${num(value)}` },
        h('span', { class: 'bar-name' }, r.unit.name),
        h('span', { class: 'bar-value' }, num(value)),
        bar(value, max),
      ),
    );
  });
  if (waiting) {
    const value = figure(waiting, path);
    items.push(
      h(
        'li',
        {},
        h(
          'div',
          { class: 'bar-row static', id: 'unassigned-row', 'data-value': String(value) },
          h('span', { class: 'bar-name' }, t('office.unassigned', { n: num(waiting.villages.length) })),
          h('span', { class: 'bar-value' }, num(value)),
          bar(value, max),
        ),
      ),
    );
  }
  return h('ul', { class: 'bars', id: 'child-bars' }, items);
}

// A line through the months, with each month's figure written at its point.
function monthLine(summary, path) {
  const rows = summary.rows.filter((r) => r.month);
  if (!rows.length) return h('p', { class: 'hint' }, t('office.no_months'));
  // As wide as the screen allows, so that its text stays readable on a
  // phone; the month as 07/26 when space is short.
  const W = Math.round(Math.min(640, Math.max(300, window.innerWidth - 24)));
  const H = W < 500 ? 200 : 220;
  const label = (m) => (W < 500 ? `${m.slice(5)}/${m.slice(2, 4)}` : monthText(m));
  const left = 12;
  const right = 12;
  const top = 28;
  const bottom = 34;
  const max = Math.max(1, ...rows.map((r) => figure(r, path)));
  const step = rows.length > 1 ? (W - left - right) / (rows.length - 1) : 0;
  const x = (i) => (rows.length > 1 ? left + i * step : W / 2);
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  const points = rows.map((r, i) => `${x(i).toFixed(1)},${y(figure(r, path)).toFixed(1)}`).join(' ');
  const every = Math.ceil(rows.length / Math.floor(W / 64));
  const svg = s(
    'svg',
    { class: 'line-svg', id: 'month-line', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('office.by_month'), 'data-from': summary.from, 'data-to': summary.to },
    s('line', { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: 'axis' }),
    s('polyline', { points, class: 'line' }),
    ...rows.flatMap((r, i) => {
      const v = figure(r, path);
      const anchor = rows.length > 1 && i === 0 ? 'start' : rows.length > 1 && i === rows.length - 1 ? 'end' : 'middle';
      // Counted back from the last month, which is always labelled.
      const shown = (rows.length - 1 - i) % every === 0;
      return [
        s('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 5, class: 'dot', 'data-month': r.month, 'data-value': v }),
        shown ? s('text', { x: x(i).toFixed(1), y: (y(v) - 10).toFixed(1), 'text-anchor': anchor, class: 'value' }, num(v)) : null,
        shown ? s('text', { x: x(i).toFixed(1), y: H - 10, 'text-anchor': anchor, class: 'label' }, label(r.month)) : null,
      ];
    }),
  );
  return h('figure', { class: 'chart' }, svg, h('figcaption', { class: 'hint' }, t('office.months_from_to', { from: monthText(rows[0].month), to: monthText(rows[rows.length - 1].month) })));
}

// ---------------------------------------------------------------- dashboard

// The months the line shows: the period's, or the six months up to its end
// when the period is shorter than two months.
function lineRange(from, to) {
  if (from.slice(0, 7) !== to.slice(0, 7)) return [from, to];
  const [y, m] = to.split('-').map(Number);
  return [iso(new Date(y, m - 6, 1)), to];
}

function summaryUrl(unit, from, to, status, groupBy) {
  const q = new URLSearchParams({ unit_id: unit, from, to, status, group_by: groupBy });
  return `/api/v1/reports/summary?${q}`;
}

export async function dashboard(query) {
  const p = paramsOf(query);
  const unit = unitOf(p);
  if (!unit) return pickProvince('dashboard');
  const period = p.get('period') || 'this_month';
  const [from, to] = periodDates(period, p.get('from'), p.get('to'));
  const status = p.get('status') === 'all' ? 'all' : 'verified';
  const path = CHARTED.includes(p.get('show')) ? p.get('show') : CHARTED[0];
  const trail = trailOf(p);
  const [lineFrom, lineTo] = lineRange(from, to);
  let byChild;
  let byMonth;
  try {
    [byChild, byMonth] = await Promise.all([api.call('GET', summaryUrl(unit, from, to, status, 'child')), api.call('GET', summaryUrl(unit, lineFrom, lineTo, status, 'month'))]);
  } catch (err) {
    return failure(err, p, 'dashboard');
  }
  const totals = byChild.totals;
  const here = { unit, trail: p.get('trail'), period, from: period === 'custom' ? from : null, to: period === 'custom' ? to : null, status, show: path };
  const change = (next) => go(link('dashboard', { ...here, ...next }));

  // The period and status picker.
  const periodPick = periodPicker('', period, from, to, change);
  const statusSel = h(
    'select',
    { name: 'status', id: 'status' },
    ['verified', 'all'].map((x) => h('option', { value: x, selected: x === status }, t(`office.status.${x}`))),
  );
  const showSel = h(
    'select',
    { name: 'show', id: 'show' },
    CHARTED.map((x) => h('option', { value: x, selected: x === path }, t(`figure.${x}`))),
  );
  statusSel.addEventListener('change', () => change({ status: statusSel.value }));
  showSel.addEventListener('change', () => change({ show: showSel.value }));

  // Drill-down, one level at a time, and the way back up.
  const down = (child) => {
    const next = [...trail, { id: unit, name: byChild.unit.name }];
    go(link('dashboard', { ...here, unit: child.id, trail: trailText(next) }));
  };
  const up = trail.length
    ? h(
        'nav',
        { class: 'crumbs', id: 'crumbs', 'aria-label': t('office.crumbs') },
        trail.map((u, i) => h('a', { class: 'button small', href: `#${link('dashboard', { ...here, unit: u.id, trail: trailText(trail.slice(0, i)) })}`, 'data-unit': u.id }, `↑ ${u.name}`)),
      )
    : null;

  const poor = totals.poor_households_assisted;
  const headline = h(
    'div',
    { class: 'headline', id: 'headline' },
    h('p', { class: 'headline-q' }, t(`office.question.${period}`)),
    h('p', { class: 'headline-n' }, h('span', { 'data-figure': 'poor_households_assisted', 'data-value': String(poor) }, num(poor))),
    h(
      'p',
      {},
      t('office.of_poor', { n: num(totals.poor_households) }),
      ' · ',
      h('span', { 'data-figure': 'poor_reached_share', 'data-value': String(totals.poor_reached_share) }, share(totals.poor_reached_share)),
    ),
    h('span', { hidden: true, 'data-figure': 'poor_households', 'data-value': String(totals.poor_households) }),
  );
  const cards = h(
    'dl',
    { class: 'figures', id: 'figures' },
    FIGURES.map((f) => h('div', { class: 'figure' }, h('dt', {}, t(`figure.${f}`)), h('dd', { 'data-figure': f, 'data-value': String(figure(totals, f)) }, num(figure(totals, f))))),
  );
  const childLevel = t(`office.children.${byChild.unit.level}`);
  return h(
    'section',
    { class: 'wide-screen', id: 'dashboard', 'data-unit': unit, 'data-from': from, 'data-to': to, 'data-status': status, 'data-period': period, 'data-show': path },
    tabs('dashboard', p),
    up,
    h('h1', { id: 'unit-name' }, byChild.unit.name),
    h('p', { class: 'meta' }, t('office.period_text', { from: date(from), to: date(to) }), ' · ', t(`office.status.${status}`)),
    headline,
    h('div', { class: 'filters' }, periodPick.field, field('office.status', statusSel), field('office.show', showSel)),
    periodPick.custom,
    periodPick.error,
    cards,
    h('div', { class: 'charts' },
      h('section', { class: 'chart-box' }, h('h2', {}, t('office.by_child', { what: t(`figure.${path}`), level: childLevel })), byChild.unit.level !== 'village' ? h('p', { class: 'hint' }, t('office.tap_to_open')) : null, childBars(byChild, path, down)),
      h('section', { class: 'chart-box' }, h('h2', {}, t('office.by_month_of', { what: t(`figure.${path}`) })), monthLine(byMonth, path)),
    ),
    h('p', { class: 'hint', id: 'as-of' }, t('office.as_of', { at: dateTime(byChild.as_of) })),
    // The figures on screen (the totals and a row per child unit) as a file.
    exportButtons('summary', 'export.summary', summaryUrl(unit, from, to, status, 'child')),
  );
}

// ---------------------------------------------------------------- queue

const KINDS = {
  assistances: { day: 'visited_on', label: 'office.kind.assistances' },
  trainings: { day: 'held_on', label: 'office.kind.trainings' },
};

async function catalog() {
  const cached = await store.getMeta('catalog');
  if (cached && cached.kinds && cached.kinds.length) return cached;
  const [kinds, topics] = await Promise.all([api.call('GET', '/api/v1/catalog/assistance-kinds'), api.call('GET', '/api/v1/catalog/training-topics')]);
  const fresh = { kinds: kinds.items, topics: topics.items };
  await store.setMeta('catalog', fresh);
  return fresh;
}

// Who was visited, when the list carries it (`include=household`).
function householdText(r) {
  const hh = r.household;
  if (!hh) return null;
  const village = hh.village_name || (hh.village && hh.village.name);
  return [hh.head_name, village].filter(Boolean).join(' · ');
}

function describe(kind, r, cat) {
  if (kind === 'assistances') {
    const helps = (r.help || []).map((x) => `${entryName(cat.kinds.find((k) => k.code === x.kind)) || x.kind} (${t(`outcome.${x.outcome}`)})`);
    return {
      title: householdText(r) || t('office.household_id', { id: r.household_id.slice(-8) }),
      lines: [helps.join(', '), r.notes ? t('office.notes', { notes: r.notes }) : null],
    };
  }
  const topics = (r.topics || []).map((c) => entryName(cat.topics.find((k) => k.code === c)) || c);
  return {
    title: [topics.join(', '), r.place].filter(Boolean).join(' · '),
    lines: [t('office.attendees', { n: num(r.attendees ? r.attendees.total : 0) }), r.notes ? t('office.notes', { notes: r.notes }) : null],
  };
}

// Records a page of the queue shows unless the address says otherwise.
const PAGE = 50;

// A page of a month's submitted records of a unit, newest first in the
// server's order (`sort=-created_at`), after `cursor`.
function submittedPage(kind, unit, month, per, cursor) {
  const [from, to] = monthRange(month);
  const q = new URLSearchParams({ unit_id: unit, status: 'submitted', from, to, sort: '-created_at', limit: String(per) });
  // Who was visited, in the same page (one audited read of those households).
  if (kind === 'assistances') q.set('include', 'household');
  if (cursor) q.set('cursor', cursor);
  return api.call('GET', `/api/v1/${kind}?${q}`);
}

// Verifies or rejects `records` in calls of up to 500, each record with
// the version the officer saw; the answers, one per record.
async function decide(kind, action, records, reason) {
  const results = [];
  for (let i = 0; i < records.length; i += 500) {
    const body = { ids: records.slice(i, i + 500).map((r) => ({ id: r.id, version: r.version })) };
    if (reason) body.reason = reason;
    const answer = await api.call('POST', `/api/v1/${kind}/${action}`, body);
    for (const a of answer.results) {
      if (a.status === 'updated') results.push({ id: a.id, ok: true });
      else results.push({ id: a.id, ok: false, message: a.detail || t(`office.answer.${a.status}`) });
    }
  }
  return results;
}

export async function queue(query) {
  const p = paramsOf(query);
  const unit = unitOf(p);
  if (!unit) return pickProvince('queue');
  const kind = p.get('kind') === 'trainings' ? 'trainings' : 'assistances';
  const month = /^\d{4}-\d{2}$/.test(p.get('month') || '') ? p.get('month') : monthNow();
  const per = Math.min(500, Math.max(1, Math.floor(Number(p.get('per'))) || PAGE));
  const here = { unit, trail: p.get('trail'), kind, month, per: per === PAGE ? null : per };
  let first;
  let cat;
  let unitName;
  try {
    [first, cat, unitName] = await Promise.all([submittedPage(kind, unit, month, per, null), catalog(), nameOf(unit)]);
  } catch (err) {
    return failure(err, p, 'queue');
  }
  const records = [...first.items];
  let next = first.next_cursor;
  const selected = new Set();
  const message = h('div', { id: 'queue-result', 'aria-live': 'polite' });
  const count = h('span', { id: 'selected-count', 'data-count': '0' }, t('office.selected', { n: num(0) }));
  const verifyMany = h('button', { type: 'button', class: 'primary', id: 'verify-selected', disabled: true }, t('office.verify_selected'));
  const rejectMany = h('button', { type: 'button', class: 'danger', id: 'reject-selected', disabled: true }, t('office.reject_selected'));
  const reason = h('textarea', { name: 'reason', id: 'reject-reason', rows: 2, maxlength: 500 });
  const reasonField = field('office.reject_reason', reason, 'office.reject_reason_hint');
  const reasonError = reasonField.querySelector('.error');
  const boxes = [];
  const paintSelection = () => {
    count.textContent = t('office.selected', { n: num(selected.size) });
    count.dataset.count = String(selected.size);
    verifyMany.disabled = selected.size === 0;
    rejectMany.disabled = selected.size === 0;
    all.checked = selected.size > 0 && selected.size === records.length;
  };
  const all = h('input', { type: 'checkbox', id: 'select-all' });
  all.addEventListener('change', () => {
    for (const b of boxes) {
      b.checked = all.checked;
      if (all.checked) selected.add(b.value);
      else selected.delete(b.value);
    }
    paintSelection();
  });
  const run = async (action, ids, why) => {
    if (action === 'reject' && !why) {
      reasonError.textContent = t('office.reason_needed');
      reason.setAttribute('aria-invalid', 'true');
      reason.focus();
      return;
    }
    reasonError.textContent = '';
    reason.removeAttribute('aria-invalid');
    verifyMany.disabled = rejectMany.disabled = true;
    message.replaceChildren(h('p', { class: 'hint' }, t('office.working')));
    let results;
    try {
      results = await decide(kind, action, records.filter((r) => ids.includes(r.id)), why);
    } catch (err) {
      message.replaceChildren(h('div', { class: 'problem', role: 'alert' }, h('p', {}, problemText(err))));
      paintSelection();
      return;
    }
    const done = results.filter((r) => r.ok).length;
    const failed = results.filter((r) => !r.ok);
    sessionStorage.setItem(
      'banso-queue-result',
      JSON.stringify({
        action,
        done,
        failed: failed.map((f) => {
          const r = records.find((x) => x.id === f.id);
          return { id: f.id, title: r ? describe(kind, r, cat).title : f.id, message: f.message };
        }),
      }),
    );
    go(link('queue', here));
  };
  verifyMany.addEventListener('click', () => run('verify', [...selected]));
  rejectMany.addEventListener('click', () => run('reject', [...selected], reason.value.trim()));

  // What the last action did, kept across the redraw that follows it.
  const last = sessionStorage.getItem('banso-queue-result');
  if (last) {
    sessionStorage.removeItem('banso-queue-result');
    try {
      const r = JSON.parse(last);
      message.append(h('p', { class: 'saved', id: 'queue-done', 'data-done': String(r.done) }, t(`office.done.${r.action}`, { n: num(r.done) })));
      if (r.failed.length) message.append(h('div', { class: 'problem', role: 'alert', id: 'queue-failed' }, r.failed.map((f) => h('p', { 'data-id': f.id }, `${f.title}: ${f.message}`))));
    } catch {
      // A damaged note is dropped.
    }
  }

  const itemOf = (r) => {
    const d = describe(kind, r, cat);
    const box = h('input', { type: 'checkbox', id: `pick-${r.id}`, value: r.id, name: 'pick' });
    boxes.push(box);
    box.addEventListener('change', () => {
      if (box.checked) selected.add(r.id);
      else selected.delete(r.id);
      paintSelection();
    });
    return h(
      'li',
      { class: 'queue-item', 'data-id': r.id },
      h('div', { class: 'check' }, box, h('label', { for: box.id }, h('span', { class: 'title' }, d.title), h('span', { class: 'meta' }, date(r[KINDS[kind].day])))),
      h('div', { class: 'queue-body' }, d.lines.filter(Boolean).map((l) => h('p', {}, l)), h('p', { class: 'meta' }, t('office.recorded_at', { at: dateTime(r.recorded_at) }))),
      h(
        'div',
        { class: 'row-buttons' },
        h('button', { type: 'button', class: 'small verify-one', onclick: () => run('verify', [r.id]) }, t('office.verify')),
        h('button', { type: 'button', class: 'small danger reject-one', onclick: () => run('reject', [r.id], reason.value.trim()) }, t('office.reject')),
      ),
    );
  };
  const listEl = h('ul', { class: 'queue-list', id: 'queue-list' }, records.map(itemOf));
  const countText = h('p', { id: 'queue-count' });
  const section = h('section', { class: 'wide-screen', id: 'queue' });
  const more = h('button', { type: 'button', id: 'queue-more' }, t('office.more'));
  const paintCount = () => {
    section.dataset.count = String(records.length);
    countText.textContent = t(next ? 'office.waiting_more' : 'office.waiting_check', { n: num(records.length), month: monthText(month) });
    more.hidden = !next;
  };
  // The next page, in the same order, after the last record shown.
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await submittedPage(kind, unit, month, per, next);
      const fresh = page.items.filter((r) => !records.some((x) => x.id === r.id));
      records.push(...fresh);
      listEl.append(...fresh.map(itemOf));
      next = page.next_cursor;
      message.replaceChildren();
      paintCount();
      paintSelection();
    } catch (err) {
      message.replaceChildren(h('div', { class: 'problem', role: 'alert' }, h('p', {}, problemText(err))));
    } finally {
      more.disabled = false;
    }
  });
  paintCount();

  const monthIn = h('input', { type: 'month', name: 'month', id: 'queue-month', value: month, max: monthNow() });
  monthIn.addEventListener('change', () => /^\d{4}-\d{2}$/.test(monthIn.value) && go(link('queue', { ...here, month: monthIn.value })));
  const kindSel = h('select', { name: 'kind', id: 'queue-kind' }, Object.entries(KINDS).map(([k, v]) => h('option', { value: k, selected: k === kind }, t(v.label))));
  kindSel.addEventListener('change', () => go(link('queue', { ...here, kind: kindSel.value })));

  const body = [
    tabs('queue', p),
    h('h1', {}, t('office.queue_title', { area: unitName })),
    h('div', { class: 'filters' }, field('office.month', monthIn), field('office.kind', kindSel)),
    countText,
    message,
    records.length
      ? [
          h(
            'div',
            { class: 'bulk', id: 'bulk' },
            h('div', { class: 'check' }, all, h('label', { for: 'select-all' }, t('office.select_all'))),
            count,
            reasonField,
            h('div', { class: 'buttons' }, verifyMany, rejectMany),
          ),
          listEl,
          h('div', { class: 'buttons' }, more),
        ]
      : h('p', { class: 'hint', id: 'queue-empty' }, t('office.queue_empty')),
    h('a', { class: 'button', href: `#${link('months', { unit, trail: p.get('trail'), month })}`, id: 'to-months' }, t('office.to_months', { month: monthText(month) })),
  ];
  section.append(...body.flat());
  return section;
}

// ---------------------------------------------------------------- months

const names = new Map();

export async function nameOf(unit) {
  const me = account();
  if (me.area && me.area.id === unit) return me.area.name;
  if (!names.has(unit)) names.set(unit, (await api.call('GET', `/api/v1/units/${encodeURIComponent(unit)}`)).name);
  return names.get(unit);
}

// What is still unchecked in a month: all records less the verified ones.
async function unchecked(unit, month) {
  const [from, to] = monthRange(month);
  const [every, verified] = await Promise.all([api.call('GET', summaryUrl(unit, from, to, 'all', 'none')), api.call('GET', summaryUrl(unit, from, to, 'verified', 'none'))]);
  return { assistances: every.totals.visits - verified.totals.visits, trainings: every.totals.trainings - verified.totals.trainings };
}

export async function months(query) {
  const p = paramsOf(query);
  const unit = unitOf(p);
  if (!unit) return pickProvince('months');
  const month = /^\d{4}-\d{2}$/.test(p.get('month') || '') ? p.get('month') : monthNow();
  const here = { unit, trail: p.get('trail'), month };
  let locks;
  let open;
  let unitName;
  try {
    [locks, open, unitName] = await Promise.all([api.call('GET', `/api/v1/periods?unit_id=${encodeURIComponent(unit)}`), unchecked(unit, month), nameOf(unit)]);
  } catch (err) {
    return failure(err, p, 'months');
  }
  const lock = locks.items.find((l) => l.unit_id === unit && l.month === month);
  const message = h('div', { id: 'lock-result', 'aria-live': 'polite' });
  const reason = h('textarea', { name: 'reason', id: 'lock-reason', rows: 2, maxlength: 500 });
  const reasonField = field(lock ? 'office.unlock_reason' : 'office.lock_reason', reason, lock ? null : 'office.lock_reason_hint');
  const reasonError = reasonField.querySelector('.error');
  const needReason = () => {
    reasonError.textContent = t('office.reason_needed');
    reason.setAttribute('aria-invalid', 'true');
    reason.focus();
  };
  const act = async (path, body) => {
    message.replaceChildren(h('p', { class: 'hint' }, t('office.working')));
    try {
      await api.call('POST', path, body);
      go(link('months', here));
    } catch (err) {
      const left = err instanceof api.Problem && err.status === 409 && err.body.current && err.body.current.unchecked;
      if (!left) {
        message.replaceChildren(h('div', { class: 'problem', role: 'alert' }, h('p', {}, problemText(err))));
        return;
      }
      // Records still unchecked: say where, and offer the queue or a
      // forced lock with a reason.
      message.replaceChildren(
        h(
          'div',
          { class: 'warning', role: 'alert', id: 'lock-unchecked', 'data-assistances': String(left.assistances), 'data-trainings': String(left.trainings) },
          h('p', {}, t('office.still_unchecked', { v: num(left.assistances), s: num(left.trainings) })),
          h('ul', {}, left.by_unit.map((u) => h('li', {}, t('office.unchecked_in', { unit: u.unit_name, v: num(u.assistances), s: num(u.trainings) })))),
          h(
            'div',
            { class: 'buttons' },
            h('a', { class: 'button', id: 'unchecked-queue', href: `#${link('queue', { ...here, kind: left.assistances ? 'assistances' : 'trainings' })}` }, t('office.to_queue')),
            h('button', { type: 'button', class: 'danger', id: 'lock-force', onclick: () => (reason.value.trim() ? act(path, { force: true, reason: reason.value.trim() }) : needReason()) }, t('office.lock_anyway')),
          ),
        ),
      );
    }
  };
  const base = `/api/v1/periods/${encodeURIComponent(unit)}/${month}`;
  const monthIn = h('input', { type: 'month', name: 'month', id: 'lock-month', value: month });
  monthIn.addEventListener('change', () => /^\d{4}-\d{2}$/.test(monthIn.value) && go(link('months', { ...here, month: monthIn.value })));
  const state = lock
    ? h(
        'div',
        { class: 'lock-state locked', id: 'lock-state', 'data-locked': 'true' },
        h('p', {}, h('strong', {}, t('office.locked', { month: monthText(month) }))),
        h('p', { class: 'meta' }, t('office.locked_at', { at: dateTime(lock.locked_at) }), lock.reason ? ` · ${lock.reason}` : ''),
      )
    : h(
        'div',
        { class: 'lock-state', id: 'lock-state', 'data-locked': 'false' },
        h('p', {}, h('strong', {}, t('office.open', { month: monthText(month) }))),
        h(
          'p',
          { id: 'unchecked', 'data-assistances': String(open.assistances), 'data-trainings': String(open.trainings) },
          open.assistances + open.trainings ? t('office.still_unchecked', { v: num(open.assistances), s: num(open.trainings) }) : t('office.all_checked'),
        ),
        open.assistances + open.trainings ? h('a', { class: 'button small', href: `#${link('queue', here)}` }, t('office.to_queue')) : null,
      );
  const button = lock
    ? h('button', { type: 'button', class: 'danger', id: 'unlock', onclick: () => (reason.value.trim() ? act(`${base}/unlock`, { reason: reason.value.trim() }) : needReason()) }, t('office.unlock'))
    : h('button', { type: 'button', class: 'primary', id: 'lock', onclick: () => act(`${base}/lock`, reason.value.trim() ? { reason: reason.value.trim() } : {}) }, t('office.lock'));
  const recent = locks.items.slice(0, 24);
  return h(
    'section',
    { class: 'wide-screen', id: 'months' },
    tabs('months', p),
    h('h1', {}, t('office.months_title', { area: unitName })),
    field('office.month', monthIn),
    state,
    reasonField,
    h('div', { class: 'buttons' }, button),
    message,
    h('h2', {}, t('office.locks')),
    recent.length
      ? h(
          'ul',
          { class: 'locks', id: 'locks' },
          recent.map((l) => h('li', { 'data-unit': l.unit_id, 'data-month': l.month }, `${monthText(l.month)}: ${l.unit_id === unit ? unitName : l.unit_name || l.unit_id.slice(0, 8)}`, l.reason ? ` · ${l.reason}` : '')),
        )
      : h('p', { class: 'hint' }, t('office.no_locks')),
  );
}
