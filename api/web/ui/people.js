// People in contact tracing, shown only to the keys that may act on them:
// regulators (the server gives each the people of the work done in its
// regions) and auditors see pseudonyms, roles and events; names and
// numbers appear only after an explicit open of a record's annex, which
// the server writes to its access log. Any other key sees nothing of them.

import { h, fill } from './dom.js';
import { t, word, when } from './i18n.js';
import { getJSON, me, enc } from './api.js';
import { sayError } from './common.js';

// maySeePeople reports whether the signed-in key may see people at all.
export function maySeePeople() {
  return ['regulator', 'auditor', 'admin'].includes(me()?.role);
}

// peopleSection lists the pseudonymous people of a recall, or nothing.
export function peopleSection(people) {
  if (!maySeePeople() || !people?.length) return null;
  return h('section', { class: 'card', id: 'people', 'aria-labelledby': 'pp-h' },
    h('h2', { id: 'pp-h' }, t('people.title', { n: people.length })),
    h('p', { class: 'hint' }, t('people.hint')),
    h('ul', { class: 'people' }, people.map((p) => h('li', { class: 'person', dataset: { pseudonym: p.pseudonym } },
      h('p', null, h('code', { class: 'pseudonym' }, p.pseudonym), ' · ', p.roles.map((r) => word('person', r)).join('、')),
      h('ul', { class: 'person-events' }, p.events.map((e) => h('li', null,
        '#', e.seq, ' ', word('kind', e.kind), ' · ', word('person', e.role), ' · ', when(e.at),
        e.lot ? [' · ', e.lot] : null, e.site ? [' · ', e.site] : null, ' ', annexButton(e.seq))))))));
}

// annexButton opens the annex of record seq in place, on request.
export function annexButton(seq) {
  if (!maySeePeople()) return null;
  const out = h('div', { class: 'annex', id: 'annex-' + seq, 'aria-live': 'polite' });
  const btn = h('button', { type: 'button', class: 'button-quiet annex-open', dataset: { seq } }, t('people.open'));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const a = await getJSON('/v1/events/' + enc(seq) + '/annex');
      for (const el of document.querySelectorAll('#annex-' + seq)) {
        fill(el, h('p', { class: 'hint' }, t('people.logged')),
          a.note ? h('p', { class: 'note' }, a.note) : null,
          h('ul', null, (a.people || []).map((p) => h('li', { class: 'annex-person' },
            word('person', p.role), '：', p.name, p.id_number ? ' · ' + p.id_number : '', p.phone ? ' · ' + p.phone : ''))));
      }
      btn.remove();
    } catch (err) {
      btn.disabled = false;
      sayError(err);
    }
  });
  return h('span', null, btn, out);
}
