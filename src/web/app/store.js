// What the phone keeps, in IndexedDB. Every write waits for a strict
// (flushed to disk) commit, so a record the screen says is saved survives
// a closed browser or a dead battery.
//
// Stores:
//   meta        key → value: the session, the account, the catalogue, the
//               teams, the language, the sync marks.
//   records     what was recorded on this phone, by id: drafts, records
//               waiting to be sent, and the ones sent, with their state.
//   households  the households of the account's village, as last read.
//
// A new version of the app may add stores or indexes in `upgrade`; it never
// drops one, so records that wait survive every update.

const NAME = 'banso';
const VERSION = 1;

let opening = null;

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore('meta');
    db.createObjectStore('records', { keyPath: 'id' });
    db.createObjectStore('households', { keyPath: 'id' });
  }
}

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(NAME, VERSION);
      req.onupgradeneeded = (e) => upgrade(req.result, e.oldVersion);
      req.onsuccess = () => {
        const db = req.result;
        // A newer version of the app in another tab wants to upgrade: let it.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      req.onerror = () => {
        opening = null;
        reject(req.error);
      };
    });
  }
  return opening;
}

// Runs `work(tx)` in one transaction and resolves with its result once the
// transaction has committed.
async function run(stores, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode, { durability: mode === 'readwrite' ? 'strict' : 'default' });
    let result;
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
    Promise.resolve(work(tx)).then((r) => {
      result = r;
    }, reject);
  });
}

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export function getMeta(key) {
  return run(['meta'], 'readonly', (tx) => req(tx.objectStore('meta').get(key)));
}

export function setMeta(key, value) {
  return run(['meta'], 'readwrite', (tx) => {
    const s = tx.objectStore('meta');
    if (value === undefined || value === null) s.delete(key);
    else s.put(value, key);
  });
}

export function all(store) {
  return run([store], 'readonly', (tx) => req(tx.objectStore(store).getAll()));
}

export function get(store, id) {
  return run([store], 'readonly', (tx) => req(tx.objectStore(store).get(id)));
}

export function put(store, value) {
  return run([store], 'readwrite', (tx) => {
    tx.objectStore(store).put(value);
  });
}

export function putMany(store, values) {
  return run([store], 'readwrite', (tx) => {
    const s = tx.objectStore(store);
    for (const v of values) s.put(v);
  });
}

export function remove(store, id) {
  return run([store], 'readwrite', (tx) => {
    tx.objectStore(store).delete(id);
  });
}

export function removeMany(store, ids) {
  return run([store], 'readwrite', (tx) => {
    const s = tx.objectStore(store);
    for (const id of ids) s.delete(id);
  });
}

// Reads the record `id`, lets `change` alter it, and writes it back in the
// same transaction, so two changes never overwrite each other.
export function update(id, change) {
  return run(['records'], 'readwrite', async (tx) => {
    const s = tx.objectStore('records');
    const rec = await req(s.get(id));
    const next = change(rec);
    if (next) s.put(next);
    return next;
  });
}

// Replaces the whole households store (a first full read).
export function replaceHouseholds(list) {
  return run(['households'], 'readwrite', (tx) => {
    const s = tx.objectStore('households');
    s.clear();
    for (const v of list) s.put(v);
  });
}

// Asks the browser, once, to keep this site's data even when space runs low.
export async function persist() {
  if (await getMeta('persist_asked')) return;
  await setMeta('persist_asked', true);
  if (navigator.storage && navigator.storage.persist) {
    try {
      await navigator.storage.persist();
    } catch {
      // Refused or unsupported: the records are still saved.
    }
  }
}
