// What the views share: the message banner, status badges, names of orgs
// and sites, and view headings.

import { h, fill } from './dom.js';
import { t, word } from './i18n.js';
import { ApiError, getJSON, enc } from './api.js';

const msg = () => document.getElementById('msg');

// say shows a message a person can act on (role=alert), until dismissed or
// the next view.
export function say(text, kind = 'error') {
  const m = msg();
  fill(m, h('p', null, text), h('button', { type: 'button', class: 'dismiss', onclick: quiet }, t('dismiss')));
  m.className = 'msg msg-' + kind;
  m.hidden = false;
}

// sayAcross is say for a message that must survive the navigation it
// causes (signed out, key refused).
let keep = false;
export function sayAcross(text, kind = 'error') {
  say(text, kind);
  keep = true;
}

// navigated clears the banner when the view changes, unless it was said
// across the change.
export function navigated() {
  if (keep) keep = false;
  else quiet();
}

export function quiet() {
  const m = msg();
  m.hidden = true;
  m.replaceChildren();
}

// sayError shows what went wrong in words.
export function sayError(err) {
  if (err instanceof ApiError) say(err.describe());
  else say(t('err.other', { status: '-', detail: String(err?.message || err) }));
  console.error(err);
}

// view replaces the main area with a titled view and moves focus to its
// heading, so that keyboard and screen-reader users land on it.
export function view(title, ...children) {
  const main = document.getElementById('main');
  const h1 = h('h1', { tabindex: '-1', id: 'view-title' }, title);
  fill(main, h1, ...children);
  document.title = `${typeof title === 'string' ? title : h1.textContent} · coldtrace`;
  h1.focus({ preventScroll: false });
  return main;
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('loading'));
}

// badges lists the status words of a lot.
export function lotBadges(lot) {
  const s = lot.status || {};
  const out = [];
  if (s.positive) out.push(badge('positive'));
  if (s.sealed) out.push(badge('sealed'));
  if (s.cleared) out.push(badge('cleared'));
  else if (!s.closed) out.push(badge('pending'));
  out.push(badge(s.closed ? 'closed' : 'open'));
  if (lot.open_findings > 0) out.push(h('span', { class: 'badge badge-violation' }, t('status.findings', { n: lot.open_findings })));
  return h('span', { class: 'badges' }, out);
}

export function badge(status) {
  return h('span', { class: 'badge badge-' + status }, t('status.' + status));
}

// nodeStatus is the one status a lot is coloured by: positive, sealed,
// closed, cleared or pending, in that order of precedence.
export function nodeStatus(lot) {
  const s = lot.status || {};
  if (s.positive) return 'positive';
  if (s.sealed) return 'sealed';
  if (s.closed) return 'closed';
  if (s.cleared) return 'cleared';
  return 'pending';
}

const orgs = new Map();
const sites = new Map();

// orgName returns the registered name of an org (its code if unknown).
export function orgName(uscc) {
  if (!uscc) return Promise.resolve('');
  if (!orgs.has(uscc)) {
    orgs.set(uscc, getJSON('/v1/orgs/' + enc(uscc)).then((o) => o.name, () => uscc));
  }
  return orgs.get(uscc);
}

// siteInfo returns a registered site ({id, name, org, region, type}).
export function siteInfo(id) {
  if (!id) return Promise.resolve(null);
  if (!sites.has(id)) {
    sites.set(id, getJSON('/v1/sites/' + enc(id)).catch(() => ({ id, name: id })));
  }
  return sites.get(id);
}

// names fills in org and site names once they are known.
export function orgLabel(uscc) {
  const el = h('span', { class: 'org', title: uscc }, uscc);
  orgName(uscc).then((n) => { el.textContent = n; });
  return el;
}

export function siteLabel(id) {
  const el = h('span', { class: 'site', title: id }, id);
  siteInfo(id).then((s) => { if (s?.name) el.textContent = `${s.name} (${id})`; });
  return el;
}

export function lotLink(code, label) {
  return h('a', { href: '#/lot/' + enc(code), class: 'mono' }, label || code);
}

export function wordOf(group, w) { return word(group, w); }
