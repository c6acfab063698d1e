// The screens of team members and leaders: the records on this phone, the
// village's households, and the three forms (assistance visit, training
// session, new household). Every change to a form is saved at once as the
// record's `data`, in the API's own shape; "Save" marks it `waiting`.

import { account, go, kick, paintStatus } from './app.js';
import * as store from './store.js';
import { date, dateTime, entryName, field, fold, h, num, showErrors, stateChip, t, today } from './ui.js';

const EDITABLE = ['draft', 'waiting', 'invalid', 'conflict', 'rejected', 'failed'];
const DELETABLE = ['draft', 'invalid', 'failed'];

async function catalog() {
  return (await store.getMeta('catalog')) || { kinds: [], topics: [] };
}

// The village's households: those read from the server, and those made on
// this phone that the server does not have yet.
async function householdList() {
  const me = account();
  const [stored, recs] = await Promise.all([store.all('households'), store.all('records')]);
  const known = new Set(stored.map((x) => x.id));
  const local = recs
    .filter((r) => r.type === 'household' && r.user_id === me.id && !known.has(r.id) && r.state !== 'draft')
    .map((r) => ({ id: r.id, ...r.data, local: r.state }));
  return [...stored, ...local]
    .map((x) => ({ ...x, folded: fold(`${x.head_name} ${x.code || ''}`) }))
    .sort((a, b) => a.head_name.localeCompare(b.head_name, 'vi'));
}

function matching(list, query) {
  const q = fold(query);
  if (!q) return list;
  return list.filter((x) => x.folded.includes(q));
}

function newId() {
  return crypto.randomUUID();
}

function blank(type, id, data) {
  const me = account();
  return { id, type, op: 'create', state: 'draft', data, user_id: me.id, saved_at: new Date().toISOString(), server: null, problem: null };
}

// ---------------------------------------------------------------- home

function titleOf(rec, households, cat) {
  if (rec.type === 'assistance') {
    const hh = households.get(rec.data.household_id);
    return `${t('visit.short')}: ${hh ? hh.head_name : t('visit.no_household')}`;
  }
  if (rec.type === 'training') {
    const names = (rec.data.topics || []).map((c) => entryName(cat.topics.find((x) => x.code === c)) || c);
    return `${t('training.short')}: ${names.join(', ') || '—'}`;
  }
  return `${t('household.short')}: ${rec.data.head_name || '—'}`;
}

function dayOf(rec) {
  return rec.data.visited_on || rec.data.held_on || rec.saved_at;
}

async function recordList() {
  const me = account();
  const [recs, households, cat] = await Promise.all([store.all('records'), householdList(), catalog()]);
  const byId = new Map(households.map((x) => [x.id, x]));
  const mine = recs.filter((r) => r.user_id === me.id).sort((a, b) => b.saved_at.localeCompare(a.saved_at));
  if (mine.length === 0) return h('p', { class: 'hint', id: 'records-empty' }, t('home.none'));
  return h(
    'ul',
    { class: 'records', id: 'records' },
    mine.map((rec) => {
      const reason = rec.state === 'rejected' && rec.server && rec.server.status_reason;
      const problem = rec.problem && (rec.problem.detail || (rec.problem.errors || []).map((e) => e.message).join('; '));
      return h(
        'li',
        { 'data-id': rec.id, 'data-state': rec.state },
        h(
          'a',
          { href: `#/${rec.type === 'assistance' ? 'visit' : rec.type}/${rec.id}` },
          h('span', { class: 'title' }, titleOf(rec, byId, cat)),
          h('span', { class: 'meta' }, date(dayOf(rec)), ' ', stateChip(rec.state)),
          reason ? h('span', { class: 'reason' }, t('record.reason', { reason })) : null,
          !reason && problem ? h('span', { class: 'reason' }, problem) : null,
        ),
      );
    }),
  );
}

export async function home() {
  const me = account();
  const teams = (await store.getMeta('teams')) || [];
  const box = h('div', { id: 'records-box' }, await recordList());
  const refresh = async () => {
    if (!document.body.contains(box)) {
      window.removeEventListener('banso:synced', refresh);
      return;
    }
    box.replaceChildren(await recordList());
    const known = (await store.getMeta('teams')) || [];
    const training = document.getElementById('new-training');
    if (training) training.hidden = known.length === 0;
  };
  window.addEventListener('banso:synced', refresh);
  return h(
    'section',
    {},
    h('h1', {}, me.area ? me.area.name : 'Bản Số'),
    h(
      'nav',
      { class: 'actions' },
      h('a', { class: 'button primary', href: '#/visit/new', id: 'new-visit' }, t('home.new_visit')),
      h('a', { class: 'button', href: '#/training/new', id: 'new-training', hidden: teams.length === 0 }, t('home.new_training')),
      me.role !== 'member' ? h('a', { class: 'button', href: '#/household/new', id: 'new-household' }, t('home.new_household')) : null,
      h('a', { class: 'button', href: '#/households', id: 'find-household' }, t('home.households')),
    ),
    h('h2', {}, t('home.records')),
    box,
  );
}

// ---------------------------------------------------------------- households

export async function households() {
  const list = await householdList();
  const results = h('ul', { class: 'households', id: 'household-results' });
  const search = h('input', { name: 'q', type: 'search', autocomplete: 'off', inputmode: 'search' });
  const paint = () => {
    const found = matching(list, search.value).slice(0, 100);
    results.replaceChildren(
      ...(found.length
        ? found.map((x) =>
            h(
              'li',
              {},
              h(
                'button',
                { type: 'button', class: 'row', onclick: () => startVisit(x.id) },
                h('span', { class: 'title' }, x.head_name),
                h('span', { class: 'meta' }, [x.code, t('household.people', { n: num(x.size) }), t(`poverty.${x.poverty_status}`)].filter(Boolean).join(' · ')),
                x.local ? stateChip(x.local) : null,
              ),
            ),
          )
        : [h('li', { class: 'hint' }, t('households.none'))]),
    );
  };
  search.addEventListener('input', paint);
  paint();
  return h(
    'section',
    {},
    h('h1', {}, t('households.title')),
    h('p', { class: 'hint' }, t('households.count', { n: num(list.length) })),
    field('households.search', search),
    results,
  );
}

async function startVisit(householdId) {
  const id = newId();
  await store.put('records', blank('assistance', id, { household_id: householdId, visited_on: today(), help: [] }));
  go(`/visit/${id}`);
}

// ---------------------------------------------------------------- forms

// What every form shares: loading or making the record, saving each change,
// the problem the server gave, and the buttons.
async function openRecord(type, id, initial) {
  if (id === 'new') {
    const fresh = blank(type, newId(), initial());
    history.replaceState(null, '', `#/${type === 'assistance' ? 'visit' : type}/${fresh.id}`);
    return { rec: fresh, stored: false };
  }
  const rec = await store.get('records', id);
  if (!rec) return { rec: null };
  return { rec, stored: true };
}

function notFound() {
  return h('section', { class: 'card' }, h('p', {}, t('record.not_found')), h('a', { class: 'button', href: '#/' }, t('nav.home')));
}

function problemBox(rec) {
  const box = h('div', { class: 'problem', id: 'problem', role: 'alert', hidden: true });
  if (rec.state === 'rejected' && rec.server && rec.server.status_reason) {
    box.append(h('p', {}, h('strong', {}, t('state.rejected')), ': ', rec.server.status_reason), h('p', { class: 'hint' }, t('record.fix_rejected')));
    box.hidden = false;
  } else if (rec.problem && (rec.problem.detail || (rec.problem.errors || []).length)) {
    if (rec.problem.detail) box.append(h('p', {}, rec.problem.detail));
    box.hidden = false;
  }
  return box;
}

// Wires the autosave and the save button of `form` for `rec`.
// `collect()` reads the form into the API's shape; `check(data)` returns
// the errors found on the phone, as {field, message}.
function wire(form, rec, stored, { title, collect, check, errorFields = (e) => e }) {
  let saved = stored;
  const summary = h('div', { class: 'problem', id: 'errors', role: 'alert', hidden: true });
  const status = h('p', { class: 'saved', id: 'saved', 'aria-live': 'polite' }, stored ? t('record.saved_on_phone') : '');
  const editable = EDITABLE.includes(rec.state);
  const autosave = async () => {
    const data = collect();
    const next = await store.update(rec.id, (old) => {
      const base = old || rec;
      if (!EDITABLE.includes(base.state)) return null;
      return { ...base, data, saved_at: new Date().toISOString() };
    });
    if (!saved && !next) {
      // First change of a new record: write it.
      await store.put('records', { ...rec, data, saved_at: new Date().toISOString() });
    }
    saved = true;
    status.textContent = t('record.saved_on_phone');
    await store.persist();
  };
  if (editable) {
    form.addEventListener('input', autosave);
    form.addEventListener('change', autosave);
  } else {
    form.querySelectorAll('input, select, textarea, button.pick').forEach((el) => (el.disabled = true));
  }
  if (rec.problem && rec.problem.errors) showErrors(form, summary, errorFields(rec.problem.errors, rec.data));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = collect();
    const errors = check(data);
    showErrors(form, summary, errors);
    if (errors.length) {
      summary.hidden = false;
      if (!summary.childNodes.length) summary.append(h('p', {}, t('form.fix_fields')));
      return;
    }
    await store.update(rec.id, (old) => {
      const base = old || rec;
      const next = { ...base, data, state: 'waiting', problem: null, saved_at: new Date().toISOString() };
      const current = base.problem && base.problem.current;
      // A stale version: send the correction over the version the server has.
      if (base.op === 'update' && current && current.version && base.server) next.server = { ...base.server, version: current.version };
      return next;
    });
    await store.persist();
    kick();
    go('/');
  });
  const buttons = h('div', { class: 'buttons' });
  if (editable) {
    buttons.append(h('button', { type: 'submit', class: 'primary', id: 'save' }, rec.state === 'rejected' ? t('record.resend') : t('record.save')));
  }
  // Only a record the server does not have may leave the phone.
  if (rec.op === 'create' && (DELETABLE.includes(rec.state) || (rec.state === 'conflict' && rec.type === 'household'))) {
    buttons.append(
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          id: 'discard',
          onclick: async () => {
            if (!window.confirm(t('record.discard_confirm'))) return;
            await store.remove('records', rec.id);
            paintStatus();
            go('/');
          },
        },
        t('record.discard'),
      ),
    );
  }
  buttons.append(h('a', { class: 'button', href: '#/' }, t('nav.back')));
  return { top: [header(rec, title), problemBox(rec), summary], status, buttons };
}

function header(rec, titleKey) {
  return h('div', { class: 'form-head' }, h('h1', {}, t(titleKey)), stateChip(rec.state), rec.sent_at ? h('p', { class: 'hint' }, t('record.sent_at', { at: dateTime(rec.sent_at) })) : null);
}

// A date field, with the chosen date written out as dd/mm/yyyy under it
// (the phone's own picker shows the phone's format).
function dateInput(name, value) {
  const max = new Date(Date.now() + 86400000);
  const p = (x) => String(x).padStart(2, '0');
  const input = h('input', { type: 'date', name, value: value || today(), min: '2020-01-01', max: `${max.getFullYear()}-${p(max.getMonth() + 1)}-${p(max.getDate())}`, required: true });
  const readout = h('span', { class: 'hint date-readout', 'data-for': name });
  const paint = () => {
    readout.textContent = input.value ? `${t(`weekday.${new Date(`${input.value}T00:00:00`).getDay()}`)}, ${date(input.value)}` : '';
  };
  input.addEventListener('input', paint);
  paint();
  input.readout = readout;
  return input;
}

function numberInput(name, value, min, max) {
  return h('input', { type: 'number', name, inputmode: 'numeric', min, max, step: 1, value: value ?? '', autocomplete: 'off' });
}

function textInput(name, value, extra = {}) {
  return h('input', { type: 'text', name, value: value ?? '', autocomplete: 'off', ...extra });
}

function textArea(name, value) {
  return h('textarea', { name, rows: 3, maxlength: 2000, autocomplete: 'off' }, value ?? '');
}

function select(name, value, options) {
  return h(
    'select',
    { name },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
  );
}

const required = (field, msgKey = 'form.required') => ({ field, message: t(msgKey) });

// ---------------------------------------------------------------- visit

export async function visitForm(id) {
  const { rec } = await openRecord('assistance', id, () => ({ household_id: null, visited_on: today(), help: [] }));
  if (!rec) return notFound();
  const stored = id !== 'new';
  const cat = await catalog();
  const list = await householdList();
  const form = h('form', { class: 'card', id: 'visit-form', novalidate: true });
  let householdId = rec.data.household_id;

  // Household: chosen from the phone's list, searchable without accents.
  const hidden = h('input', { type: 'hidden', name: 'household_id', value: householdId || '' });
  const chosen = h('div', { class: 'chosen', id: 'chosen-household' });
  const search = h('input', { type: 'search', name: 'q', autocomplete: 'off' });
  const results = h('ul', { class: 'households compact', id: 'visit-household-results' });
  const picker = h('div', {}, field('households.search', search), results);
  const paintHousehold = () => {
    const hh = list.find((x) => x.id === householdId);
    chosen.replaceChildren(
      hh
        ? h('p', {}, h('strong', {}, hh.head_name), ' ', h('span', { class: 'meta' }, [hh.code, t('household.people', { n: num(hh.size) })].filter(Boolean).join(' · ')))
        : h('p', { class: 'hint' }, t('visit.choose_household')),
      hh && rec.op === 'create' && EDITABLE.includes(rec.state)
        ? h('button', { type: 'button', class: 'small pick', onclick: () => { householdId = null; hidden.value = ''; paintHousehold(); } }, t('visit.change_household'))
        : null,
    );
    picker.hidden = Boolean(hh);
    const found = matching(list, search.value).slice(0, 8);
    results.replaceChildren(
      ...found.map((x) =>
        h('li', {}, h('button', {
          type: 'button',
          class: 'row pick',
          onclick: () => {
            householdId = x.id;
            hidden.value = x.id;
            search.value = '';
            paintHousehold();
            form.dispatchEvent(new Event('change'));
          },
        }, h('span', { class: 'title' }, x.head_name), h('span', { class: 'meta' }, x.code || ''))),
      ),
    );
  };
  search.addEventListener('input', (e) => {
    e.stopPropagation();
    paintHousehold();
  });
  paintHousehold();

  // Kinds of help, each with its outcome.
  const help = new Map((rec.data.help || []).map((x) => [x.kind, x]));
  const kinds = cat.kinds.filter((k) => !k.retired_at || help.has(k.code));
  const helpRows = kinds.map((k) => {
    const given = help.get(k.code);
    const box = h('input', { type: 'checkbox', name: 'help', value: k.code, id: `help-${k.code}`, checked: Boolean(given) });
    const outcome = h('div', { class: 'outcome', role: 'radiogroup', 'aria-label': t('visit.outcome') });
    for (const o of ['done', 'partly', 'not_done']) {
      const id = `help-${k.code}-${o}`;
      outcome.append(
        h('span', { class: 'radio' },
          h('input', { type: 'radio', name: `help.${k.code}.outcome`, value: o, id, checked: (given ? given.outcome : 'done') === o }),
          h('label', { for: id }, t(`outcome.${o}`))),
      );
    }
    const reason = textInput(`help.${k.code}.reason`, given && given.reason, { maxlength: 500 });
    const reasonField = field('visit.reason', reason);
    const row = h('div', { class: 'help-row', 'data-kind': k.code },
      h('span', { class: 'check' }, box, h('label', { for: box.id }, entryName(k))),
      outcome, reasonField);
    const paint = () => {
      outcome.hidden = !box.checked;
      const o = form.querySelector(`[name="help.${k.code}.outcome"]:checked`);
      reasonField.hidden = !box.checked || !o || o.value !== 'not_done';
    };
    row.addEventListener('change', paint);
    queueMicrotask(paint);
    return row;
  });

  const visited = dateInput('visited_on', rec.data.visited_on);
  const notes = textArea('notes', rec.data.notes);
  let position = rec.data.position || null;
  const where = h('p', { class: 'meta', id: 'position-text' });
  const paintPosition = () => {
    where.textContent = position
      ? t('visit.position_at', { lat: position.latitude.toFixed(5).replace('.', ','), lon: position.longitude.toFixed(5).replace('.', ','), acc: position.accuracy_m ? num(Math.round(position.accuracy_m)) : '?' })
      : t('visit.no_position');
  };
  paintPosition();
  const locate = h('button', {
    type: 'button',
    class: 'small pick',
    id: 'take-position',
    onclick: () => {
      if (!navigator.geolocation) return;
      where.textContent = t('visit.locating');
      navigator.geolocation.getCurrentPosition(
        (p) => {
          position = { latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: Math.min(p.coords.accuracy, 100000) };
          paintPosition();
          form.dispatchEvent(new Event('change'));
        },
        () => {
          where.textContent = t('visit.no_position_found');
        },
        { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 },
      );
    },
  }, t('visit.take_position'));
  const unlocate = h('button', { type: 'button', class: 'small pick', id: 'clear-position', onclick: () => { position = null; paintPosition(); form.dispatchEvent(new Event('change')); } }, t('visit.clear_position'));

  const collect = () => {
    const helpOut = [];
    for (const k of kinds) {
      if (!form.querySelector(`#help-${k.code}`).checked) continue;
      const o = form.querySelector(`[name="help.${k.code}.outcome"]:checked`);
      const item = { kind: k.code, outcome: o ? o.value : 'done' };
      const reason = form.querySelector(`[name="help.${k.code}.reason"]`).value.trim();
      if (item.outcome === 'not_done' || reason) item.reason = reason || null;
      if (item.reason === null) delete item.reason;
      helpOut.push(item);
    }
    const data = { household_id: householdId, visited_on: visited.value, help: helpOut };
    if (notes.value.trim()) data.notes = notes.value.trim();
    if (position) data.position = position;
    if (rec.data.recorded_at) data.recorded_at = rec.data.recorded_at;
    else data.recorded_at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    rec.data.recorded_at = data.recorded_at;
    return data;
  };
  const check = (d) => {
    const errors = [];
    if (!d.household_id) errors.push(required('household_id', 'visit.need_household'));
    if (!d.visited_on) errors.push(required('visited_on'));
    if (d.help.length === 0) errors.push({ field: '', message: t('visit.need_help') });
    for (const x of d.help) if (x.outcome === 'not_done' && !x.reason) errors.push(required(`help.${x.kind}.reason`));
    return errors;
  };
  // The server names help items by position: help[1].reason.
  const errorFields = (errors, data) =>
    errors.map((e) => {
      const m = /^help\[(\d+)\]\.(\w+)$/.exec(e.field);
      const item = m && data.help && data.help[Number(m[1])];
      return item ? { ...e, field: `help.${item.kind}.${m[2]}` } : e;
    });
  const { top, status, buttons } = wire(form, rec, stored, { title: 'visit.title', collect, check, errorFields });
  form.append(
    ...top,
    h('fieldset', {}, h('legend', {}, t('visit.household')), hidden, chosen, picker, h('p', { class: 'error', id: 'household-error' })),
    field('visit.visited_on', visited),
    visited.readout,
    h('fieldset', { class: 'help' }, h('legend', {}, t('visit.help')), helpRows),
    field('form.notes', notes),
    h('fieldset', {}, h('legend', {}, t('visit.position')), where, h('div', { class: 'row-buttons' }, locate, unlocate)),
    status,
    buttons,
  );
  hidden.id = 'household';
  return form;
}

// ---------------------------------------------------------------- training

export async function trainingForm(id) {
  const teams = ((await store.getMeta('teams')) || []).filter((x) => x.status === 'active' || !x.status);
  const { rec } = await openRecord('training', id, () => ({
    team_id: teams.length ? teams[0].id : null,
    held_on: today(),
    duration_minutes: 60,
    topics: [],
    attendees: { total: 0, women: 0, ethnic_minority: 0, poor: 0 },
  }));
  if (!rec) return notFound();
  const stored = id !== 'new';
  const cat = await catalog();
  const d = rec.data;
  const form = h('form', { class: 'card', id: 'training-form', novalidate: true });
  const team = select('team_id', d.team_id, teams.map((x) => [x.id, x.name]));
  const held = dateInput('held_on', d.held_on);
  const duration = numberInput('duration_minutes', d.duration_minutes, 1, 1440);
  const place = textInput('place', d.place, { maxlength: 200 });
  const topics = cat.topics
    .filter((x) => !x.retired_at || (d.topics || []).includes(x.code))
    .map((x) => {
      const box = h('input', { type: 'checkbox', name: 'topics', value: x.code, id: `topic-${x.code}`, checked: (d.topics || []).includes(x.code) });
      return h('span', { class: 'check' }, box, h('label', { for: box.id }, entryName(x)));
    });
  const a = d.attendees || {};
  const counts = ['total', 'women', 'ethnic_minority', 'poor'].map((k) => [k, numberInput(`attendees.${k}`, a[k] ?? 0, 0, 10000)]);
  const notes = textArea('notes', d.notes);
  const int = (el) => (el.value === '' ? null : Number(el.value));
  const collect = () => {
    const data = {
      team_id: team.value || null,
      held_on: held.value,
      duration_minutes: int(duration),
      topics: [...form.querySelectorAll('[name="topics"]:checked')].map((x) => x.value),
      attendees: Object.fromEntries(counts.map(([k, el]) => [k, int(el) ?? 0])),
    };
    if (place.value.trim()) data.place = place.value.trim();
    if (notes.value.trim()) data.notes = notes.value.trim();
    data.recorded_at = rec.data.recorded_at || new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    rec.data.recorded_at = data.recorded_at;
    return data;
  };
  const check = (x) => {
    const errors = [];
    if (!x.team_id) errors.push(required('team_id'));
    if (!x.held_on) errors.push(required('held_on'));
    if (!x.duration_minutes || x.duration_minutes < 1 || x.duration_minutes > 1440) errors.push({ field: 'duration_minutes', message: t('training.duration_range') });
    if (x.topics.length === 0) errors.push({ field: '', message: t('training.need_topic') });
    for (const k of ['women', 'ethnic_minority', 'poor']) {
      if (x.attendees[k] > x.attendees.total) errors.push({ field: `attendees.${k}`, message: t('training.more_than_total') });
    }
    return errors;
  };
  const { top, status, buttons } = wire(form, rec, stored, { title: 'training.title', collect, check });
  form.append(
    ...top,
    field('training.team', team),
    field('training.held_on', held),
    held.readout,
    field('training.duration', duration),
    field('training.place', place),
    h('fieldset', {}, h('legend', {}, t('training.topics')), topics),
    h('fieldset', { class: 'counts' }, h('legend', {}, t('training.attendees')), counts.map(([k, el]) => field(`attendees.${k}`, el))),
    field('form.notes', notes),
    status,
    buttons,
  );
  return form;
}

// ---------------------------------------------------------------- household

export async function householdForm(id) {
  const me = account();
  const { rec } = await openRecord('household', id, () => ({
    village_id: me.area.id,
    head_name: '',
    size: 1,
    poverty_status: 'not_poor',
    has_smartphone: 'unknown',
    has_internet: 'unknown',
  }));
  if (!rec) return notFound();
  const stored = id !== 'new';
  const d = rec.data;
  const list = await householdList();
  const form = h('form', { class: 'card', id: 'household-form', novalidate: true });
  const head = textInput('head_name', d.head_name, { maxlength: 200, autocomplete: 'name', required: true });
  const size = numberInput('size', d.size, 1, 50);
  const poverty = select('poverty_status', d.poverty_status, ['poor', 'near_poor', 'not_poor'].map((x) => [x, t(`poverty.${x}`)]));
  const code = textInput('code', d.code, { maxlength: 30 });
  const phone = h('input', { type: 'tel', name: 'phone', value: d.phone ?? '', autocomplete: 'tel', inputmode: 'tel' });
  const ethnicity = textInput('ethnicity', d.ethnicity, { maxlength: 50 });
  const yesNo = (name) => select(name, d[name] || 'unknown', ['yes', 'no', 'unknown'].map((x) => [x, t(`yesno.${x}`)]));
  const smartphone = yesNo('has_smartphone');
  const internet = yesNo('has_internet');
  const likely = h('div', { class: 'warning', id: 'likely-duplicates', role: 'status', hidden: true });
  const paintLikely = (candidates, fromServer) => {
    likely.replaceChildren();
    if (!candidates.length) {
      likely.hidden = true;
      return;
    }
    likely.hidden = false;
    likely.append(
      h('p', {}, h('strong', {}, t('household.likely_duplicate'))),
      h('ul', {}, candidates.map((c) => h('li', {}, c.head_name, c.code ? ` (${c.code})` : '', c.reason ? ` · ${t(`duplicate.${c.reason}`)}` : ''))),
    );
    if (fromServer && candidates.every((c) => c.reason !== 'same_code')) {
      likely.append(
        h('button', {
          type: 'button',
          class: 'primary',
          id: 'confirm-new',
          onclick: async () => {
            await store.update(rec.id, (old) => ({ ...old, data: { ...old.data, confirm_new: true }, state: 'waiting', problem: null, saved_at: new Date().toISOString() }));
            kick();
            go('/');
          },
        }, t('household.confirm_new')),
      );
    } else if (fromServer) {
      likely.append(h('p', { class: 'hint' }, t('household.fix_code')));
    }
  };
  const current = rec.problem && rec.problem.current;
  if (current && current.candidates) paintLikely(current.candidates, true);
  const localCheck = () => {
    if (current && current.candidates) return;
    const name = fold(head.value);
    paintLikely(name ? list.filter((x) => x.id !== rec.id && fold(x.head_name) === name).map((x) => ({ ...x, reason: 'same_head_name' })) : [], false);
  };
  head.addEventListener('input', localCheck);
  const opt = (el) => (el.value.trim() ? el.value.trim() : undefined);
  const collect = () => {
    const data = {
      village_id: d.village_id,
      head_name: head.value.trim(),
      size: size.value === '' ? null : Number(size.value),
      poverty_status: poverty.value,
      has_smartphone: smartphone.value,
      has_internet: internet.value,
    };
    for (const [k, el] of [['code', code], ['phone', phone], ['ethnicity', ethnicity]]) if (opt(el)) data[k] = opt(el);
    if (rec.data.confirm_new) data.confirm_new = true;
    return data;
  };
  const check = (x) => {
    const errors = [];
    if (!x.head_name) errors.push(required('head_name'));
    if (!x.size || x.size < 1 || x.size > 50) errors.push({ field: 'size', message: t('household.size_range') });
    return errors;
  };
  const { top, status, buttons } = wire(form, rec, stored, { title: 'household.title', collect, check });
  form.append(
    ...top,
    field('household.head_name', head),
    likely,
    field('household.size', size),
    field('household.poverty_status', poverty),
    field('household.code', code),
    field('household.phone', phone),
    field('household.ethnicity', ethnicity),
    field('household.has_smartphone', smartphone),
    field('household.has_internet', internet),
    status,
    buttons,
  );
  return form;
}
