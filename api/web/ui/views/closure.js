// The closure dashboard for the key's regions: batches by status, the
// violating and open batches, positive batches and how far their recall has
// got, and the report downloads (CSV, XLSX, PDF).

import { h, fill, table } from '../dom.js';
import { t, when, kg, word } from '../i18n.js';
import { ApiError, download, getJSON, me } from '../api.js';
import { badge, loading, lotLink, orgLabel, sayError, siteLabel, view } from '../common.js';

export async function closureView() {
  const who = me() || {};
  const scope = who.regions?.length ? who.regions.join(', ') : t('closure.all');
  const downloads = h('div', { class: 'downloads' },
    h('span', null, t('closure.download')),
    ['csv', 'xlsx', 'pdf'].map((f) => {
      const b = h('button', { type: 'button', id: 'report-' + f }, f.toUpperCase());
      b.addEventListener('click', async () => {
        b.disabled = true;
        try { await download('/v1/reports/closure?format=' + f, `closure-report.${f}`); } catch (err) { sayError(err); } finally { b.disabled = false; }
      });
      return b;
    }));
  const body = h('div', { id: 'closure-body' }, loading());
  view(t('closure.title'), h('p', { class: 'intro' }, t('closure.scope', { regions: scope })), h('div', { class: 'card' }, downloads), body);
  let rep;
  try {
    rep = await getJSON('/v1/reports/closure?format=json');
  } catch (err) {
    if (err instanceof ApiError && err.kind === 'not_found' && /no such path/.test(err.detail)) {
      fill(body, h('p', { class: 'empty' }, t('closure.unsupported')));
      return;
    }
    fill(body, h('p', { class: 'empty' }, err.describe ? err.describe() : String(err)));
    sayError(err);
    return;
  }
  const tot = rep.totals || {};
  // The API lists the open and violating root batches as "lots".
  const batches = rep.lots || rep.batches || [];
  const positive = rep.positive || [];
  const violating = batches.filter((b) => b.status === 'violation');
  const open = batches.filter((b) => b.status === 'open');
  const card = (cls, n, label) => h('li', { class: 'count count-' + cls }, h('span', { class: 'n' }, String(n)), h('span', null, label));
  fill(body,
    h('section', { class: 'card', 'aria-labelledby': 'c-counts' },
      h('h2', { id: 'c-counts' }, t('closure.counts')),
      h('ul', { class: 'counts' },
        card('batches', tot.batches ?? 0, t('closure.batches')),
        card('closed', tot.closed ?? 0, t('status.closed')),
        card('open', tot.open ?? 0, t('status.open')),
        card('violation', tot.violation ?? 0, t('status.violation')),
        card('positive', positive.length, t('closure.positive')),
        card('findings', tot.open_findings ?? 0, t('closure.findings'))),
      h('p', { class: 'hint' }, t('closure.quantities', {
        declared: kg(tot.declared), onhand: kg(tot.on_hand), transit: kg(tot.in_transit), sold: kg(tot.sold), consumed: kg(tot.consumed), destroyed: kg((tot.destroyed || 0) + (tot.returned || 0)),
      }), ' · ', t('closure.generated', { at: when(rep.generated_at), size: rep.tree_size ?? '' }))),
    section('c-viol', t('closure.violation'), violating, batchTable),
    section('c-pos', t('closure.positive'), positive, positiveTable),
    section('c-open', t('closure.open'), open, batchTable),
    (rep.by_region || []).length ? h('section', { class: 'card', 'aria-labelledby': 'c-reg' },
      h('h2', { id: 'c-reg' }, t('closure.by_region')),
      table(null, [t('col.region'), t('closure.batches'), t('status.closed'), t('status.open'), t('status.violation'), t('col.on_hand')],
        rep.by_region.map((r) => [r.region, r.batches, r.closed, r.open, r.violation, kg(r.on_hand)]))) : null);
}

function section(id, title, rows, render) {
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, `${title} (${rows.length})`),
    rows.length ? render(rows) : h('p', { class: 'empty' }, t('closure.none')));
}

function batchTable(rows) {
  return table(null, [t('col.code'), t('col.product'), t('lot.importer'), t('lot.declared_at'), t('col.region'), t('col.on_hand'), t('col.status'), t('closure.reasons')],
    rows.map((b) => [lotLink(b.trace_code), b.product, orgLabel(b.importer), when(b.declared_at), (b.regions || [b.region]).join(', '),
      kg(b.on_hand), badge(b.status), reasons(b)]));
}

// reasons says why a batch is not closed.
function reasons(b) {
  const rs = b.reasons || [];
  const items = rs.slice(0, 4).map((r) => h('li', null, reasonText(r)));
  const more = rs.length - items.length + (b.more_reasons || 0);
  return h('ul', { class: 'reasons' }, items, more > 0 ? h('li', null, t('closure.more', { n: more })) : null);
}

function reasonText(r) {
  const code = r.trace_code ? lotLink(r.trace_code) : '';
  switch (r.kind) {
    case 'on_hand':
      return [t('closure.reason.on_hand', { kg: kg(r.grams) }), ' ', code, r.site ? [' @ ', siteLabel(r.site)] : ''];
    case 'in_transit':
      return [t('closure.reason.in_transit', { kg: kg(r.grams) }), ' ', code, r.to_site ? [' → ', siteLabel(r.to_site)] : ''];
    case 'finding':
      return [t('closure.reason.finding'), ' ', code, r.rule ? ` · ${word('rule', r.rule)}` : ''];
    default:
      return [r.kind, ' ', code];
  }
}

function positiveTable(rows) {
  return table(null, [t('col.code'), t('col.product'), t('closure.positive_at'), t('closure.lots'), t('closure.sealed_on_hand'), t('closure.reached'), t('closure.progress'), ''],
    rows.map((p) => [lotLink(p.trace_code), p.product, when(p.positive_at), `${p.sealed_lots}/${p.lots}`,
      `${kg(p.sealed_on_hand)} / ${kg(p.on_hand)} kg`, `${kg(p.reached_consumers)} kg`, progress(p.progress),
      h('a', { href: `#/lot/${encodeURIComponent(p.trace_code)}/recall` }, t('lot.recall'))]));
}

function progress(x) {
  const pct = Math.round((x || 0) * 100);
  return h('span', { class: 'progress' }, h('progress', { max: '100', value: String(pct), 'aria-label': t('closure.progress') }), ` ${pct}%`);
}
