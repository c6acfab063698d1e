// The audit trail of the officer's area (Nhật ký thay đổi), from
// `GET /api/v1/audit`: newest first, filtered by period, kind of record,
// action, who acted and unit, paged by the server's cursor. Loaded with
// the officers' screens only.
//
// The filters are kept in the address (`#/audit?unit=…&from=…`), so a
// reload or a shared link shows the same events.

import * as api from './api.js';
import { account, go } from './app.js';
import { failure, link, paramsOf, pickProvince, problemText, tabs, unitOf } from './office.js';
import { dateTime, field, h, num, t, today } from './ui.js';

// What events say happened, and to what: the names `GET /audit` takes,
// in the order the pickers show them (`src/audit/kinds.rs` has them all).
export const ACTIONS = [
  'create', 'update', 'archive', 'verify', 'reject', 'reopen', 'lock', 'unlock',
  'move_out', 'move_in', 'consent', 'erase', 'import', 'read', 'read_consents', 'export',
  'login', 'login_failed', 'logout', 'token', 'token_failed', 'set_password',
  'password_change_failed', 'hashing_changed', 'rotate_secret', 'revoke', 'delete',
];
export const ENTITIES = ['assistance', 'training', 'household', 'member', 'team', 'period', 'user', 'unit', 'catalog_entry', 'client', 'webhook', 'audit'];

const PAGE = 50;
const day = /^\d{4}-\d{2}-\d{2}$/;

// A day's first instant in Vietnam, and the next day's: what `from` and
// `to` (exclusive) of the trail take.
function startOf(d) {
  return `${d}T00:00:00+07:00`;
}

function dayAfter(d) {
  const [y, m, x] = d.split('-').map(Number);
  const next = new Date(Date.UTC(y, m - 1, x + 1));
  return next.toISOString().slice(0, 10);
}

function trailUrl(f, cursor) {
  const q = new URLSearchParams({ unit_id: f.unit, limit: String(f.per) });
  if (f.from) q.set('from', startOf(f.from));
  if (f.to) q.set('to', startOf(dayAfter(f.to)));
  for (const k of ['entity', 'action', 'actor']) if (f[k]) q.set(k, f[k]);
  if (cursor) q.set('cursor', cursor);
  return `/api/v1/audit?${q}`;
}

// The units an officer picks from: the area, and each unit directly under
// it; the one in the address too, when it is deeper down.
async function unitChoices(unit) {
  const me = account();
  // An admin without an area works in the province picked first.
  const area = me.area || (await api.call('GET', `/api/v1/units/${encodeURIComponent(unit)}`));
  const children = await api.call('GET', `/api/v1/units/${encodeURIComponent(area.id)}/children?limit=500`);
  const list = [{ id: area.id, name: t('audit.whole_area', { area: area.name }) }, ...children.items.map((u) => ({ id: u.id, name: u.name }))];
  if (!list.some((u) => u.id === unit)) {
    const u = await api.call('GET', `/api/v1/units/${encodeURIComponent(unit)}`);
    list.push({ id: u.id, name: u.name });
  }
  return list;
}

// Who acted, as a person reads it.
function who(e) {
  if (e.actor_kind === 'system') return t('audit.system', { task: e.actor_name || '' });
  if (e.actor_kind === 'anonymous') return t('audit.anonymous', { name: e.actor_name || '' });
  return e.actor_username || (e.actor_id ? e.actor_id.slice(0, 8) : '—');
}

// What the event adds that a person needs: a reason, how many households
// a list read or exported.
function detail(e) {
  const after = e.after && typeof e.after === 'object' ? e.after : {};
  const lines = [];
  if (typeof after.reason === 'string' && after.reason) lines.push(t('audit.reason', { reason: after.reason }));
  if (Array.isArray(after.ids)) lines.push(t('audit.read_many', { n: num(after.ids.length) }));
  if (typeof after.rows === 'number') lines.push(t('audit.rows', { n: num(after.rows), format: String(after.format || '').toUpperCase() }));
  return lines;
}

function row(e) {
  // A record's id, shortened as the queue shows ids.
  const record = e.entity_id ? t('audit.record', { id: e.entity_id.length > 20 ? `…${e.entity_id.slice(-8)}` : e.entity_id }) : null;
  const where = e.unit_name ? t('audit.where', { unit: e.unit_name }) : null;
  return h(
    'li',
    { class: 'audit-item', 'data-id': String(e.id), 'data-action': e.action, 'data-entity': e.entity },
    h('p', { class: 'title' }, `${t(`audit.action.${e.action}`)} · ${t(`audit.entity.${e.entity}`)}`),
    h('p', {}, t('audit.by', { who: who(e), at: dateTime(e.at) })),
    where || record ? h('p', { class: 'meta' }, [where, record].filter(Boolean).join(' · ')) : null,
    detail(e).map((l) => h('p', { class: 'meta' }, l)),
  );
}

export async function audit(query) {
  const p = paramsOf(query);
  const unit = unitOf(p);
  if (!unit) return pickProvince('audit');
  const pick = (k, allowed) => (allowed.includes(p.get(k)) ? p.get(k) : '');
  const f = {
    unit,
    from: day.test(p.get('from') || '') ? p.get('from') : '',
    to: day.test(p.get('to') || '') ? p.get('to') : '',
    entity: pick('entity', ENTITIES),
    action: pick('action', ACTIONS),
    actor: (p.get('actor') || '').trim().toLowerCase(),
    per: Math.min(500, Math.max(1, Math.floor(Number(p.get('per'))) || PAGE)),
  };
  let first;
  let units;
  try {
    [first, units] = await Promise.all([api.call('GET', trailUrl(f, null)), unitChoices(unit)]);
  } catch (err) {
    return failure(err, p, 'audit');
  }
  const events = [...first.items];
  let next = first.next_cursor;

  const unitSel = h('select', { name: 'unit', id: 'audit-unit' }, units.map((u) => h('option', { value: u.id, selected: u.id === unit }, u.name)));
  const fromIn = h('input', { type: 'date', name: 'from', id: 'audit-from', value: f.from, max: today() });
  const toIn = h('input', { type: 'date', name: 'to', id: 'audit-to', value: f.to, max: today() });
  const entitySel = h('select', { name: 'entity', id: 'audit-entity' }, h('option', { value: '' }, t('audit.any_entity')), ENTITIES.map((x) => h('option', { value: x, selected: x === f.entity }, t(`audit.entity.${x}`))));
  const actionSel = h('select', { name: 'action', id: 'audit-action' }, h('option', { value: '' }, t('audit.any_action')), ACTIONS.map((x) => h('option', { value: x, selected: x === f.action }, t(`audit.action.${x}`))));
  const actorIn = h('input', { name: 'actor', id: 'audit-actor', value: f.actor, autocapitalize: 'none', spellcheck: 'false', autocomplete: 'off' });
  const formError = h('p', { class: 'error', id: 'audit-error', role: 'alert' });
  const form = h(
    'form',
    { id: 'audit-filters', novalidate: true },
    h(
      'div',
      { class: 'filters' },
      field('audit.unit', unitSel),
      field('office.from', fromIn),
      field('office.to', toIn),
      field('audit.entity', entitySel),
      field('audit.action', actionSel),
      field('audit.actor', actorIn, 'audit.actor_hint'),
    ),
    formError,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', id: 'audit-apply' }, t('audit.apply')), h('a', { class: 'button', href: `#${link('audit', {})}`, id: 'audit-clear' }, t('audit.clear'))),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (fromIn.value && toIn.value && fromIn.value > toIn.value) {
      formError.textContent = t('office.bad_range');
      return;
    }
    const actor = actorIn.value.trim().toLowerCase();
    if (actor && !/^[a-z0-9._-]{3,64}$/.test(actor)) {
      formError.textContent = t('audit.bad_actor');
      return;
    }
    go(link('audit', { unit: unitSel.value, from: fromIn.value, to: toIn.value, entity: entitySel.value, action: actionSel.value, actor, per: f.per === PAGE ? null : f.per }));
  });

  // What it shows, as the address says it (tests wait on it).
  const section = h('section', { class: 'wide-screen', id: 'audit', 'data-query': query || '' });
  const listEl = h('ul', { class: 'audit-list', id: 'audit-list' }, events.map(row));
  const countText = h('p', { id: 'audit-count' });
  const message = h('div', { id: 'audit-result', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', id: 'audit-more' }, t('office.more'));
  const paint = () => {
    section.dataset.count = String(events.length);
    countText.textContent = events.length ? t(next ? 'audit.count_more' : 'audit.count', { n: num(events.length) }) : t('audit.none');
    more.hidden = !next;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await api.call('GET', trailUrl(f, next));
      events.push(...page.items);
      listEl.append(...page.items.map(row));
      next = page.next_cursor;
      message.replaceChildren();
      paint();
    } catch (err) {
      message.replaceChildren(h('div', { class: 'problem', role: 'alert' }, h('p', {}, problemText(err))));
    } finally {
      more.disabled = false;
    }
  });
  paint();
  section.append(tabs('audit', p), h('h1', {}, t('audit.title')), form, countText, message, listEl, h('div', { class: 'buttons' }, more));
  return section;
}
