// Search by trace code, container number or customs declaration number.

import { h, fill, table } from '../dom.js';
import { t, kg } from '../i18n.js';
import { ApiError, getJSON, enc } from '../api.js';
import { lotBadges, lotLink, orgLabel, sayError, siteLabel, view } from '../common.js';

// kindOf tells what a typed query is.
export function kindOf(q) {
  const s = q.toUpperCase().replace(/\s+/g, '');
  if (/^[A-Z]{4}\d{7}$/.test(s)) return ['container', s];
  if (/^\d{18}$/.test(s)) return ['declaration', s];
  return ['code', q.trim()];
}

export function searchView(params) {
  const q = params.get('q') || '';
  const input = h('input', {
    id: 'q', name: 'q', type: 'search', value: q, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'q-hint', enterkeyhint: 'search',
  });
  const results = h('section', { id: 'results', 'aria-live': 'polite', 'aria-label': t('search.title') });
  const form = h('form', { role: 'search', class: 'card search' },
    h('label', { for: 'q' }, t('search.label')),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, t('search.submit'))),
    h('p', { id: 'q-hint', class: 'hint' }, t('search.hint')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.trim();
    if (!v) {
      fill(results, h('p', { class: 'empty' }, t('search.empty')));
      input.focus();
      return;
    }
    const next = '#/search?q=' + enc(v);
    if (location.hash === next) run(v, results);
    else location.hash = next;
  });
  view(t('search.title'), form, results);
  if (q) run(q, results);
  else input.focus();
}

async function run(q, results) {
  const [kind, value] = kindOf(q);
  fill(results, h('p', { class: 'loading', role: 'status' }, t('search.searching')));
  try {
    if (kind === 'code') {
      const lot = await getJSON('/v1/lots/' + enc(value));
      location.hash = '#/lot/' + enc(lot.trace_code);
      return;
    }
    const data = await getJSON(`/v1/lots?${kind}=${enc(value)}&limit=200`);
    const lots = Array.isArray(data) ? data : (data.lots || []);
    if (lots.length === 0) {
      fill(results, h('p', { class: 'empty' }, t('search.none', { q: value })));
      return;
    }
    fill(results,
      h('h2', null, t('search.results', { kind: t('search.kind.' + kind), q: value, n: lots.length })),
      table(null,
        [t('col.code'), t('col.product'), t('col.holder'), t('col.site'), t('col.on_hand'), t('col.status')],
        lots.map((l) => [lotLink(l.trace_code), l.product?.name || '', orgLabel(l.holder), l.site ? siteLabel(l.site) : '—',
          kg(l.quantity?.on_hand), lotBadges(l)])));
    results.querySelector('a')?.focus();
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'not_found' && kind === 'code') {
      const msg = /neither/.test(err.detail) ? t('search.notcode', { q: value }) : t('search.none', { q: value });
      fill(results, h('p', { class: 'empty', role: 'alert' }, msg));
      return;
    }
    fill(results);
    sayError(err);
  }
}
