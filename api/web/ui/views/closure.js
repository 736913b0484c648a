// The closure dashboard for the key's regions: lots by status, the open and
// violating lots, positive batches, and the report downloads.

import { h, fill, table } from '../dom.js';
import { t, kg } from '../i18n.js';
import { ApiError, download, getJSON, me } from '../api.js';
import { badge, loading, lotBadges, lotLink, orgLabel, sayError, siteLabel, view } from '../common.js';

export async function closureView() {
  const who = me() || {};
  const scope = who.regions?.length ? who.regions.join(', ') : t('closure.all');
  const downloads = h('div', { class: 'downloads' },
    h('span', null, t('closure.download'), ' '),
    ['csv', 'xlsx', 'pdf'].map((f) => {
      const b = h('button', { type: 'button', id: 'report-' + f }, f.toUpperCase());
      b.addEventListener('click', async () => {
        b.disabled = true;
        try { await download('/v1/reports/closure?format=' + f, `closure-report.${f}`); } catch (err) { sayError(err); } finally { b.disabled = false; }
      });
      return [b, ' '];
    }));
  const body = h('div', null, loading());
  view(t('closure.title'), h('p', { class: 'intro' }, t('closure.scope', { regions: scope })), h('div', { class: 'card' }, downloads), body);
  let rep;
  try {
    rep = await getJSON('/v1/reports/closure?format=json');
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'not_found' && /no such path/.test(err.detail)) {
      fill(body, h('p', { class: 'empty' }, t('closure.unsupported')));
      return;
    }
    fill(body);
    sayError(err);
    return;
  }
  const counts = rep.counts || rep.by_status || {};
  const lots = rep.lots || [];
  const open = rep.open || lots.filter((l) => (l.closure?.status || l.status) === 'open');
  const violating = rep.violations || rep.violating || lots.filter((l) => (l.closure?.status || l.status) === 'violation');
  const positive = rep.positive || rep.positive_batches || [];
  fill(body,
    h('section', { class: 'card', 'aria-labelledby': 'c-counts' },
      h('h2', { id: 'c-counts' }, t('closure.counts')),
      h('ul', { class: 'counts' }, Object.entries(counts).map(([k, n]) => h('li', { class: 'count count-' + k }, h('span', { class: 'n' }, String(n)), h('span', null, statusWord(k)))))),
    lotTable('c-viol', t('closure.violation'), violating),
    lotTable('c-pos', t('closure.positive'), positive),
    lotTable('c-open', t('closure.open'), open));
}

function statusWord(k) {
  const w = t('status.' + k);
  return w === 'status.' + k ? k : w;
}

function lotTable(id, title, lots) {
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, `${title} (${lots.length})`),
    lots.length
      ? table(null, [t('col.code'), t('col.product'), t('col.holder'), t('col.site'), t('col.on_hand'), t('col.status')],
        lots.map((l) => [lotLink(l.trace_code), l.product?.name || l.product || '', l.holder ? orgLabel(l.holder) : '—', l.site ? siteLabel(l.site) : '—',
          kg(l.quantity?.on_hand ?? l.on_hand), l.status && typeof l.status === 'object' ? lotBadges(l) : badge(l.status || 'open')]))
      : h('p', { class: 'empty' }, t('closure.none')));
}
