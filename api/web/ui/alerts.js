// Live alerts: the findings of the key's regions as they are recorded, read
// from GET /v1/findings/stream (server-sent events over fetch, so that the
// key travels in the Authorization header, never in a URL), each with an
// acknowledge button for regulators.

import { apiKey, me } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

let running = null; // the key the stream runs for

// startAlerts opens the stream once per signed-in key.
export function startAlerts() {
  const key = apiKey();
  const m = me();
  if (!key || running === key || !m || !['regulator', 'auditor', 'admin'].includes(m.role)) return;
  running = key;
  stream(key, m.role === 'regulator', '');
}

function box() {
  let el = document.getElementById('alerts');
  if (!el) {
    el = h('aside', { id: 'alerts', class: 'alerts', 'aria-live': 'polite', 'aria-label': t('alerts.title') },
      h('h2', null, t('alerts.title')), h('ul', { id: 'alerts-list' }));
    document.body.append(el);
  }
  return document.getElementById('alerts-list');
}

async function stream(key, mayAck, last) {
  let cursor = last;
  try {
    const headers = { Accept: 'text/event-stream', Authorization: 'Bearer ' + key };
    if (cursor) headers['Last-Event-ID'] = cursor;
    const resp = await fetch('/v1/findings/stream', { headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    if (!resp.ok || !resp.body) throw new Error('stream ' + resp.status);
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done || apiKey() !== key) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) cursor = line.slice(4);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) show(JSON.parse(data), key, mayAck);
      }
    }
  } catch { /* the stream broke: try again below */ }
  if (apiKey() === key) setTimeout(() => stream(key, mayAck, cursor), 3000);
  else running = null;
}

// show adds (or updates) one finding event at the top of the list.
function show(ev, key, mayAck) {
  const f = ev.finding;
  const list = box();
  const id = 'alert-' + f.id;
  document.getElementById(id)?.remove();
  const state = h('span', { class: 'alert-state' }, ev.type.replace('finding.', ''));
  const item = h('li', { id, class: 'alert alert-' + (f.severity || 'medium'), dataset: { finding: f.id } },
    h('strong', null, (f.severity || '') + ' · ' + f.rule + ' · ' + (f.region || '')), ' ', state,
    h('p', null, f.detail));
  if (f.ack_seq) item.append(h('span', { class: 'alert-acked' }, t('alerts.acked') + (f.ack_by ? ' · ' + f.ack_by : '')));
  else if (mayAck && f.open) {
    const btn = h('button', { type: 'button', class: 'button-quiet alert-ack' }, t('alerts.ack'));
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const resp = await fetch('/v1/events', { method: 'POST', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: 'Bearer ' + key },
          body: JSON.stringify({ kind: 'finding_acknowledged', finding: f.id }) });
        if (!resp.ok) throw new Error(String(resp.status));
        btn.replaceWith(h('span', { class: 'alert-acked' }, t('alerts.acked')));
      } catch {
        btn.disabled = false;
        state.textContent = t('alerts.ackfailed');
      }
    });
    item.append(btn);
  }
  list.prepend(item);
  while (list.children.length > 20) list.lastElementChild.remove();
}
