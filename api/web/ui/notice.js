// Rectification notices (整改通知书) from the console. A regulator may issue
// one on an open finding about one operator (the server's rule: POST
// /v1/findings/{id}/notice answers 403 to any other key and refuses a
// finding without an operator); the notice is a PDF, downloaded with the
// key like any document, never by a URL that carries it.

import { h } from './dom.js';
import { t, when } from './i18n.js';
import { call, download, enc, me } from './api.js';
import { sayError } from './common.js';

// noticePart is the finding's notices, each a download, and for a
// regulator on an open violation of an operator a form that issues one.
export function noticePart(f) {
  const links = h('ul', { class: 'notices' }, (f.notices || []).map((n) => noticeLink(f, n.sha256, n.deadline)));
  const mayIssue = me()?.role === 'regulator' && f.open && f.org;
  if (!mayIssue && !f.notices?.length) return null;
  const part = h('div', { class: 'notice-part' }, links);
  if (!mayIssue) return part;
  const id = 'notice-deadline-' + f.id;
  const input = h('input', { id, name: 'deadline', type: 'datetime-local', required: true });
  const button = h('button', { type: 'submit' }, t('notice.issue'));
  const form = h('form', { class: 'notice-form', dataset: { finding: f.id } },
    h('label', { for: id }, t('notice.deadline')), ' ', input, ' ', button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const at = new Date(input.value);
    if (Number.isNaN(at.getTime())) {
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      const resp = await call('/v1/findings/' + enc(f.id) + '/notice', { method: 'POST', body: { deadline: at.toISOString() } });
      const { sha256 } = await resp.json();
      links.append(noticeLink(f, sha256, at.toISOString()));
      form.replaceWith(h('p', { class: 'notice-done', role: 'status' }, t('notice.issued')));
    } catch (err) {
      sayError(err);
    } finally {
      button.disabled = false;
    }
  });
  part.append(form);
  return part;
}

// noticeLink downloads one notice's PDF with the key.
function noticeLink(f, sha256, deadline) {
  const path = '/v1/attachments/' + enc(sha256);
  const a = h('a', { href: '#', class: 'notice-pdf', dataset: { path } }, t('notice.pdf', { deadline: when(deadline) }));
  a.addEventListener('click', async (e) => {
    e.preventDefault();
    try {
      await download(path, 'notice-' + f.id + '.pdf', 'application/pdf');
    } catch (err) {
      sayError(err);
    }
  });
  return h('li', null, a);
}
