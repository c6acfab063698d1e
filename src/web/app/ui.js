// Texts, formats and the small DOM helpers every screen uses.
//
// Every text the app shows is a key of the language tables in lang/: one
// table per language, Vietnamese first. English is loaded when chosen.

import vi from './lang/vi.js';

let table = vi;
let current = 'vi';

export function lang() {
  return current;
}

export async function setLang(code) {
  if (code === 'en') {
    table = (await import('./lang/en.js')).default;
    current = 'en';
  } else {
    table = vi;
    current = 'vi';
  }
  document.documentElement.lang = current;
}

// The text of `key`, with {name} replaced from `params`.
export function t(key, params) {
  let text = table[key] ?? vi[key] ?? key;
  if (params) {
    for (const [k, v] of Object.entries(params)) text = text.replaceAll(`{${k}}`, String(v));
  }
  return text;
}

// The name of a catalogue entry in the current language.
export function entryName(entry) {
  if (!entry) return '';
  return (current === 'en' ? entry.name_en : entry.name_vi) || entry.name_vi || entry.code;
}

const numbers = new Intl.NumberFormat('vi-VN');

// Numbers as the provinces write them: a dot for thousands.
export function num(n) {
  return numbers.format(n);
}

// 2026-12-01 (or an RFC 3339 instant) as 01/12/2026.
export function date(iso) {
  if (!iso) return '';
  const d = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? null : new Date(iso);
  if (d && !Number.isNaN(d.getTime())) {
    const p = (x) => String(x).padStart(2, '0');
    return `${p(d.getDate())}/${p(d.getMonth() + 1)}/${d.getFullYear()}`;
  }
  const [y, m, day] = iso.slice(0, 10).split('-');
  return `${day}/${m}/${y}`;
}

// An instant as 01/12/2026 14:05, local time.
export function dateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (x) => String(x).padStart(2, '0');
  return `${date(iso)} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

// Today on this phone, as YYYY-MM-DD.
export function today() {
  const d = new Date();
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// Lower case, no diacritics, đ as d, single spaces: what search compares,
// as the server's own search does.
export function fold(text) {
  return String(text ?? '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

// h('p', {class: 'x', onclick: f}, 'text', child…): an element. Attributes
// starting with "on" are listeners; false and null attributes are left out.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;

// A labelled field: the label, the control, and a place for its error.
export function field(labelKey, control, hintKey) {
  if (!control.id) control.id = `f${++uid}`;
  const error = h('p', { class: 'error', id: `${control.id}-error`, role: 'alert' });
  control.setAttribute('aria-describedby', error.id);
  return h(
    'div',
    { class: 'field', 'data-name': control.name || '' },
    h('label', { for: control.id }, t(labelKey)),
    hintKey ? h('p', { class: 'hint' }, t(hintKey)) : null,
    control,
    error,
  );
}

// Shows each {field, message} next to the control of that name, and the
// rest in `summary`.
export function showErrors(form, summary, errors) {
  for (const el of form.querySelectorAll('.error')) el.textContent = '';
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  summary.replaceChildren();
  const rest = [];
  for (const e of errors) {
    const control = form.querySelector(`[name="${CSS.escape(e.field)}"]`);
    const box = control && form.querySelector(`#${CSS.escape(control.id)}-error`);
    if (box) {
      box.textContent = e.message;
      control.setAttribute('aria-invalid', 'true');
    } else {
      rest.push(e);
    }
  }
  for (const e of rest) summary.append(h('p', {}, e.field ? `${e.field}: ${e.message}` : e.message));
  summary.hidden = rest.length === 0;
}

// The state of a record as a short coloured label.
export function stateChip(state) {
  return h('span', { class: `chip chip-${state}`, 'data-state': state }, t(`state.${state}`));
}
