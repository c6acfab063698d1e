// Sending what waits, and reading back what became of it.
//
// A record's `state` on the phone:
//   draft     being filled in; saved on every change, never sent
//   waiting   to be sent through /api/v1/sync
//   sent      the server has it (created, already had, or updated)
//   verified  an officer verified it
//   rejected  an officer sent it back, with `status_reason`; correcting it
//             makes it `waiting` again, as an update of the stored record
//   conflict  the server refused it as it is (a likely duplicate household,
//             a locked month, a stale version): `problem` says why
//   invalid   the server found fields to correct: `problem.errors`
//   failed    not allowed or not found: `problem.detail`
//
// A record leaves `waiting` only on the server's answer for that very item,
// so a lost answer means the same items are sent again, which the server
// recognises by their ids and stores once.
//
// Sync runs on load, when the browser says it is online again, when the
// app comes back to the foreground, and on a timer: every 30 s while
// something waits and the last try worked, backing off from 15 s to 10 min
// while tries fail, and every 5 min otherwise to read states back.

import * as api from './api.js';
import * as store from './store.js';

const CHUNK = 100;
const IDLE_MS = 5 * 60 * 1000;
const BUSY_MS = 30 * 1000;
const FIRST_BACKOFF_MS = 15 * 1000;
const MAX_BACKOFF_MS = 10 * 60 * 1000;

let running = null;
let again = false;
let failures = 0;
let timer = null;
const status = { online: navigator.onLine, lastOk: null, lastError: null, running: false };
const listeners = new Set();

export function onChange(f) {
  listeners.add(f);
}

export function state() {
  return { ...status };
}

function changed() {
  for (const f of listeners) f(state());
}

// The sync item that sends `rec`.
export function item(rec) {
  if (rec.op === 'update') {
    return { type: rec.type, op: 'update', id: rec.id, version: rec.server.version, data: patchOf(rec) };
  }
  return { type: rec.type, op: 'create', id: rec.id, data: rec.data };
}

// The writable fields of a stored record: an update sends them all, so the
// server's copy becomes what the phone shows. A cleared optional field is
// sent as null, which removes it.
function patchOf(rec) {
  const d = rec.data;
  if (rec.type === 'assistance') {
    return { visited_on: d.visited_on, help: d.help, notes: d.notes ?? null, position: d.position ?? null };
  }
  if (rec.type === 'training') {
    return {
      team_id: d.team_id,
      held_on: d.held_on,
      duration_minutes: d.duration_minutes,
      place: d.place ?? null,
      topics: d.topics,
      attendees: d.attendees,
      notes: d.notes ?? null,
    };
  }
  const { confirm_new: _c, village_id: _v, ...rest } = d;
  return rest;
}

const ORDER = { household: 0, assistance: 1, training: 2 };

function serverPart(record) {
  return {
    version: record.version,
    status: record.status ?? null,
    status_reason: record.status_reason ?? null,
    updated_at: record.updated_at,
  };
}

function stateOf(record) {
  if (record.status === 'verified') return 'verified';
  if (record.status === 'rejected') return 'rejected';
  return 'sent';
}

// What the answer for one item does to its record.
function apply(rec, result) {
  const next = { ...rec, problem: null };
  switch (result.status) {
    case 'created':
    case 'already_had':
    case 'updated':
      next.server = serverPart(result.record);
      next.state = stateOf(result.record);
      next.op = 'update';
      next.sent_at = new Date().toISOString();
      break;
    case 'conflict':
      next.state = 'conflict';
      next.problem = { detail: result.detail, current: result.current ?? null };
      break;
    case 'invalid':
      next.state = 'invalid';
      next.problem = { detail: result.detail ?? null, errors: result.errors ?? [] };
      break;
    default:
      next.state = 'failed';
      next.problem = { detail: result.detail ?? result.status };
  }
  return next;
}

async function push(me) {
  const recs = (await store.all('records'))
    .filter((r) => r.state === 'waiting' && r.user_id === me.id)
    .sort((a, b) => ORDER[a.type] - ORDER[b.type] || a.saved_at.localeCompare(b.saved_at));
  for (let i = 0; i < recs.length; i += CHUNK) {
    const chunk = recs.slice(i, i + CHUNK);
    const answer = await api.call('POST', '/api/v1/sync', { items: chunk.map(item) }, 120000);
    for (const result of answer.results) {
      const sent = chunk[result.index];
      if (!sent) continue;
      const next = await store.update(sent.id, (rec) => {
        if (!rec) return null;
        if (rec.saved_at !== sent.saved_at) {
          // Changed on the phone while the answer travelled: it keeps
          // waiting, and goes next as an update of what the server has.
          if (!result.record) return null;
          return { ...rec, op: 'update', server: serverPart(result.record) };
        }
        return apply(rec, result);
      });
      if (next && next.type === 'household' && result.record) {
        await store.put('households', result.record);
      }
    }
  }
}

// Reads back what officers did to the records sent from this phone.
async function readStates(me) {
  const recs = (await store.all('records')).filter(
    (r) => r.user_id === me.id && (r.state === 'sent' || r.state === 'verified' || r.state === 'rejected'),
  );
  if (!recs.some((r) => r.type !== 'household')) return;
  const byId = new Map(recs.map((r) => [r.id, r]));
  const marks = (await store.getMeta('states_since')) || {};
  for (const [type, path] of [
    ['assistance', '/api/v1/assistances'],
    ['training', '/api/v1/trainings'],
  ]) {
    const mine = recs.filter((r) => r.type === type);
    if (mine.length === 0) continue;
    const since =
      marks[type] || mine.map((r) => r.server.updated_at).sort()[0] || new Date(0).toISOString();
    const items = await api.all(
      `${path}?include_archived=true&limit=500&updated_since=${encodeURIComponent(since)}`,
    );
    let newest = since;
    for (const record of items) {
      if (record.updated_at > newest) newest = record.updated_at;
      const local = byId.get(record.id);
      if (!local) continue;
      await store.update(record.id, (rec) => {
        if (!rec || !['sent', 'verified', 'rejected'].includes(rec.state)) return null;
        return { ...rec, state: stateOf(record), server: serverPart(record) };
      });
    }
    marks[type] = newest;
  }
  await store.setMeta('states_since', marks);
}

// Brings the phone's copies of the catalogue, the teams and the village's
// households up to date.
export async function refreshCaches(me) {
  const now = Date.now();
  const caches = (await store.getMeta('caches')) || {};
  if (!caches.catalog || now - caches.catalog > 6 * 3600 * 1000) {
    const [kinds, topics] = await Promise.all([
      api.call('GET', '/api/v1/catalog/assistance-kinds'),
      api.call('GET', '/api/v1/catalog/training-topics'),
    ]);
    await store.setMeta('catalog', { kinds: kinds.items, topics: topics.items });
    caches.catalog = now;
  }
  // Officers record nothing on the phone: the catalogue (names in the
  // queue) is all they keep.
  if (!me.area || me.role === 'officer') {
    await store.setMeta('caches', caches);
    return;
  }
  const area = encodeURIComponent(me.area.id);
  if (!caches.teams || now - caches.teams > 3600 * 1000) {
    const teams = await api.all(`/api/v1/teams?unit_id=${area}&limit=500`);
    await store.setMeta('teams', teams);
    caches.teams = now;
  }
  if (me.area.level === 'village') {
    if (!caches.households_since) {
      const list = await api.all(`/api/v1/households?unit_id=${area}&limit=500`);
      await store.replaceHouseholds(list);
      caches.households_since = newestOf(list, new Date(0).toISOString());
    } else {
      const list = await api.all(
        `/api/v1/households?unit_id=${area}&limit=500&include_archived=true&updated_since=${encodeURIComponent(caches.households_since)}`,
      );
      const gone = list.filter((x) => x.archived_at || x.erased_at).map((x) => x.id);
      await store.putMany('households', list.filter((x) => !x.archived_at && !x.erased_at));
      await store.removeMany('households', gone);
      caches.households_since = newestOf(list, caches.households_since);
    }
  }
  await store.setMeta('caches', caches);
}

function newestOf(list, since) {
  return list.reduce((m, x) => (x.updated_at > m ? x.updated_at : m), since);
}

async function once() {
  const me = await store.getMeta('me');
  if (!me || !api.hasSession()) return;
  await push(me);
  await refreshCaches(me);
  await readStates(me);
}

// Sends what waits now. Calls made while a run is going fold into one more
// run after it.
export function syncNow() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    status.running = true;
    changed();
    try {
      do {
        again = false;
        await once();
      } while (again);
      failures = 0;
      status.lastOk = new Date().toISOString();
      status.lastError = null;
      status.online = true;
    } catch (e) {
      failures += 1;
      status.lastError = e instanceof api.Offline ? 'offline' : e instanceof api.LoggedOut ? 'logged_out' : 'error';
      if (e instanceof api.Offline) status.online = false;
    } finally {
      status.running = false;
      running = null;
      changed();
      schedule();
    }
  })();
  return running;
}

async function schedule() {
  clearTimeout(timer);
  const waiting = (await store.all('records')).some((r) => r.state === 'waiting');
  let delay = IDLE_MS;
  if (failures > 0) delay = Math.min(FIRST_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS);
  else if (waiting) delay = BUSY_MS;
  delay = delay * (0.8 + Math.random() * 0.4);
  timer = setTimeout(syncNow, delay);
}

// Starts the triggers. No Background Sync: the app sends while it is open.
export function start() {
  window.addEventListener('online', () => {
    status.online = true;
    failures = 0;
    syncNow();
  });
  window.addEventListener('offline', () => {
    status.online = false;
    changed();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') syncNow();
  });
  syncNow();
}
