// Findings and alerts, newest first, each rule explained in plain words.

import { h, fill } from '../dom.js';
import { t, word, wordList } from '../i18n.js';
import { getJSON } from '../api.js';
import { loading, sayError, view } from '../common.js';
import { findingItem } from './lot.js';

export function findingsView(params) {
  const rule = params.get('rule') || '';
  const openOnly = params.get('open') !== 'false';
  const select = h('select', { id: 'f-rule', name: 'rule' },
    h('option', { value: '' }, t('findings.all_rules')),
    wordList('rule').map((r) => h('option', { value: r, selected: r === rule }, word('rule', r))));
  const check = h('input', { id: 'f-open', name: 'open', type: 'checkbox', checked: openOnly });
  const form = h('form', { class: 'card filters' },
    h('div', { class: 'field' }, h('label', { for: 'f-rule' }, t('findings.rule')), select),
    h('div', { class: 'field check' }, check, h('label', { for: 'f-open' }, t('findings.open_only'))),
    h('button', { type: 'submit' }, t('findings.apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (select.value) q.set('rule', select.value);
    q.set('open', check.checked ? 'true' : 'false');
    location.hash = '#/findings?' + q;
  });
  const list = h('ol', { class: 'findings', id: 'findings-list', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true, id: 'findings-more' }, t('findings.more'));
  const status = h('div', null, loading());
  view(t('findings.title'), form, status, list, more);

  let cursor = '';
  async function page() {
    const q = new URLSearchParams({ limit: '50' });
    if (rule) q.set('rule', rule);
    if (openOnly) q.set('open', 'true');
    if (cursor) q.set('cursor', cursor);
    more.disabled = true;
    try {
      const data = await getJSON('/v1/findings?' + q);
      const fs = data.findings || [];
      for (const f of fs) list.append(findingItem(f));
      cursor = data.next_cursor || '';
      more.hidden = !cursor;
      fill(status, list.children.length ? null : h('p', { class: 'empty' }, t('findings.none')));
    } catch (err) {
      fill(status);
      sayError(err);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', page);
  page();
}
