// The recall scope of a positive batch: what to seal where, by region, with
// a CSV download of the list.

import { h, fill, table } from '../dom.js';
import { t, when, kg } from '../i18n.js';
import { getJSON, saveBlob, enc } from '../api.js';
import { loading, lotLink, orgLabel, orgName, sayError, siteInfo, siteLabel, view } from '../common.js';
import { peopleSection } from '../people.js';

export async function recallView(code) {
  const main = view(t('recall.title', { code }), loading());
  let lot, rc;
  try {
    lot = await getJSON('/v1/lots/' + enc(code));
    rc = await getJSON('/v1/lots/' + enc(lot.id) + '/recall');
  } catch (err) {
    fill(main, h('h1', { tabindex: '-1', id: 'view-title' }, t('recall.title', { code })), h('p', { class: 'empty' }, err.describe ? err.describe() : String(err)));
    sayError(err);
    return;
  }
  const rows = await recallRows(rc);
  const byRegion = new Map();
  for (const r of rows) {
    if (!byRegion.has(r.region)) byRegion.set(r.region, []);
    byRegion.get(r.region).push(r);
  }
  const regions = [...byRegion.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  const tot = rc.totals || {};
  const rootCode = rows.find((r) => r.id === rc.root)?.trace_code || rc.root;
  const anyPositive = rows.some((r) => r.positive) || !!lot.status?.positive || !!lot.status?.positive_seq;

  const csv = h('button', { type: 'button', id: 'recall-csv' }, t('recall.csv'));
  csv.addEventListener('click', () => {
    saveBlob(new Blob(['\ufeff' + toCSV(rows)], { type: 'text/csv;charset=utf-8' }), `recall-${lot.trace_code}.csv`);
  });

  view(t('recall.title', { code: lot.trace_code }),
    h('p', { class: 'intro' }, t('recall.intro', { code: lot.trace_code, root: rootCode })),
    anyPositive ? null : h('p', { class: 'warn' }, t('recall.notpositive')),
    rc.scope?.note ? h('p', { class: 'hint' }, t('recall.scope_note', { n: rc.scope.hidden_lots || 0 })) : null,
    h('div', { class: 'card recall-summary' },
      h('p', { class: 'big' }, t('recall.total', { onhand: kg(tot.on_hand), transit: kg(tot.in_transit), sold: kg((tot.sold || 0) + (tot.consumed || 0)), lots: tot.lots ?? rows.length })),
      h('p', { class: 'actions' }, csv, h('a', { href: '#/lot/' + enc(lot.trace_code), class: 'button button-quiet' }, lot.trace_code))),
    progressSection(regions, byRegion),
    regions.map((region) => regionSection(region, byRegion.get(region), rc.by_region?.[region])),
    (rc.sites || []).length ? h('section', { class: 'card', 'aria-labelledby': 'rs-h' },
      h('h2', { id: 'rs-h' }, t('recall.sites')),
      table(null, [t('col.site'), t('col.org'), t('col.region'), t('recall.from'), t('recall.to'), t('col.on_hand')],
        rc.sites.map((s) => [siteLabel(s.id), orgLabel(s.org), s.region || '', when(s.from), s.to ? when(s.to) : t('recall.now'), kg(s.on_hand)]))) : null,
    (rc.vehicles || []).length ? h('section', { class: 'card', 'aria-labelledby': 'rv-h' },
      h('h2', { id: 'rv-h' }, t('recall.vehicles')),
      table(null, [t('col.plate'), t('col.org'), t('recall.from'), t('recall.to')],
        rc.vehicles.map((v) => [v.plate, v.carrier ? orgLabel(v.carrier) : '—', when(v.from), v.to ? when(v.to) : t('recall.now')]))) : null,
    (rc.contacts || []).length ? h('section', { class: 'card', 'aria-labelledby': 'rc-h' },
      h('h2', { id: 'rc-h' }, t('recall.contacts', { n: rc.contacts.length })),
      h('p', { class: 'hint' }, t('recall.contacts_hint')),
      table(null, [t('col.code'), t('recall.why'), t('recall.from'), t('recall.to')],
        rc.contacts.map((c) => [lotLink(c.trace_code), c.plate ? t('recall.why.plate', { plate: c.plate }) : h('span', null, t('recall.why.site', { site: '' }), siteLabel(c.site)),
          when(c.from), c.to ? when(c.to) : t('recall.now')]))) : null,
    peopleSection(rc.people));
}

// progress sums rows: grams on hand, sealed on hand, in transit, disposed
// of, and the share dealt with.
function progress(rows) {
  const s = { onhand: 0, sealed: 0, transit: 0, disposed: 0, holders: new Set() };
  for (const r of rows) {
    s.onhand += r.on_hand;
    if (r.sealed) s.sealed += r.on_hand;
    s.transit += r.in_transit;
    s.disposed += r.destroyed + r.returned;
    if (r.holder && r.on_hand + r.in_transit > 0) s.holders.add(r.holder);
  }
  const whole = s.onhand + s.transit + s.disposed;
  s.pct = whole ? Math.round((100 * (s.sealed + s.disposed)) / whole) + '%' : '—';
  return s;
}

// progressSection is one row a region: who holds how much, how much of it
// is sealed, and the share dealt with.
function progressSection(regions, byRegion) {
  return h('section', { class: 'card', id: 'recall-progress', 'aria-labelledby': 'rp-h' },
    h('h2', { id: 'rp-h' }, t('recall.byregion')),
    h('p', { class: 'hint' }, t('recall.progress_hint')),
    table(null, [t('col.region'), t('recall.holders'), t('col.on_hand'), t('recall.sealed_onhand'), t('q.in_transit'), t('recall.progress')],
      regions.map((region) => {
        const s = progress(byRegion.get(region));
        return [region || t('lot.transit'), h('span', null, [...s.holders].flatMap((o, i) => (i ? [', ', orgLabel(o)] : [orgLabel(o)]))),
          kg(s.onhand), kg(s.sealed), kg(s.transit), h('strong', { class: 'progress' }, s.pct)];
      })));
}

function regionSection(region, rows, part) {
  const id = 'r-' + (region || 'transit');
  return h('section', { class: 'card region', 'aria-labelledby': id },
    h('h2', { id }, region ? t('recall.region', { region }) : t('lot.transit')),
    part ? h('p', { class: 'hint' }, t('recall.region_sum', { onhand: kg(part.on_hand), transit: kg(part.in_transit), sold: kg((part.sold || 0) + (part.consumed || 0)) })) : null,
    h('p', { class: 'region-progress' }, (() => { const s = progress(rows); return t('recall.progress_sum', { onhand: kg(s.onhand), sealed: kg(s.sealed), pct: s.pct }); })()),
    table(t('recall.lots'),
      [t('col.site'), t('col.holder'), t('col.code'), t('col.product'), t('col.on_hand'), t('recall.sealed'), t('q.in_transit'), t('col.sold'), t('recall.action')],
      rows.map((r) => [r.site ? siteLabel(r.site) : '—', r.holder ? orgLabel(r.holder) : '—', lotLink(r.trace_code), r.product,
        kg(r.on_hand), r.on_hand > 0 ? h('span', { class: r.sealed ? 'sealed' : 'bad strong' }, t(r.sealed ? 'recall.sealed.yes' : 'recall.sealed.no')) : '—',
        kg(r.in_transit), kg(r.sold + r.consumed), actionCell(r)])));
}

function action(r) {
  const a = [];
  if (r.on_hand > 0) a.push(r.sealed ? 'keep_sealed' : 'seal');
  if (r.in_transit > 0) a.push('stop_transit');
  if (r.sold + r.consumed > 0) a.push('trace_sold');
  return a.length ? a : ['none'];
}

function actionCell(r) {
  const words = action(r).map((a) => h('span', { class: a === 'seal' || a === 'stop_transit' ? 'bad strong' : a === 'trace_sold' ? 'warn-text' : '' }, t('recall.act.' + a)));
  return h('span', { class: 'actions-cell' }, words.flatMap((x, i) => (i ? [' · ', x] : [x])));
}

// recallRows flattens the recall scope into one row a lot, with the names
// of its site and holder.
async function recallRows(rc) {
  const rows = [];
  for (const l of rc.lots || []) {
    const site = l.site ? await siteInfo(l.site) : null;
    const region = l.region || l.transit?.to_region || site?.region || '';
    rows.push({
      id: l.id, trace_code: l.trace_code, product: typeof l.product === 'string' ? l.product : (l.product?.name || ''),
      holder: l.holder || '', holder_name: l.holder ? await orgName(l.holder) : '',
      site: l.site || '', site_name: site?.name || '', region,
      on_hand: l.on_hand || 0, in_transit: l.in_transit || 0, sold: l.sold || 0, consumed: l.consumed || 0,
      destroyed: l.destroyed || 0, returned: l.returned || 0,
      sealed: !!l.sealed, positive: !!l.positive,
    });
  }
  rows.sort((a, b) => a.region.localeCompare(b.region) || a.site.localeCompare(b.site) || a.trace_code.localeCompare(b.trace_code));
  return rows;
}

function cell(v) {
  const s = String(v ?? '');
  // Quote every field; neutralise spreadsheet formulas.
  return '"' + (/^[=+\-@\t\r]/.test(s) ? "'" + s : s).replace(/"/g, '""') + '"';
}

function toCSV(rows) {
  const head = ['region', 'site', 'site_name', 'holder', 'holder_name', 'trace_code', 'product', 'on_hand_kg', 'in_transit_kg', 'sold_kg', 'consumed_kg', 'sealed', 'positive', 'action'];
  const lines = [head.map(cell).join(',')];
  for (const r of rows) {
    lines.push([r.region, r.site, r.site_name, r.holder, r.holder_name, r.trace_code, r.product,
      r.on_hand / 1000, r.in_transit / 1000, r.sold / 1000, r.consumed / 1000, r.sealed, r.positive, action(r).join('+')].map(cell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
