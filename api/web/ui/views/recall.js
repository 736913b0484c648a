// The recall scope of a positive batch: what to seal where, by region, with
// a CSV download of the list.

import { h, fill, table } from '../dom.js';
import { t, when, kg } from '../i18n.js';
import { getJSON, saveBlob, enc } from '../api.js';
import { loading, lotLink, orgLabel, orgName, sayError, siteInfo, siteLabel, view } from '../common.js';

export async function recallView(code) {
  const main = view(t('recall.title', { code }), loading());
  let lot, rc;
  try {
    [lot, rc] = await Promise.all([
      getJSON('/v1/lots/' + enc(code)),
      getJSON('/v1/lots/' + enc(code) + '/recall'),
    ]);
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
  const regions = [...byRegion.keys()].sort();
  const onHand = rows.reduce((s, r) => s + r.on_hand, 0);
  const sold = rows.reduce((s, r) => s + r.sold, 0);
  const rootCode = rows.find((r) => r.id === rc.root)?.trace_code || rc.root;

  const csv = h('button', { type: 'button', id: 'recall-csv' }, t('recall.csv'));
  csv.addEventListener('click', () => {
    saveBlob(new Blob(['\ufeff' + toCSV(rows)], { type: 'text/csv;charset=utf-8' }), `recall-${lot.trace_code}.csv`);
  });

  view(t('recall.title', { code: lot.trace_code }),
    h('p', { class: 'intro' }, t('recall.intro', { code: lot.trace_code, root: rootCode })),
    lot.status?.positive || lot.status?.positive_seq ? null : h('p', { class: 'warn' }, t('recall.notpositive')),
    h('div', { class: 'card recall-summary' },
      h('p', { class: 'big' }, t('recall.total', { onhand: kg(onHand), sold: kg(sold) })),
      h('p', null, csv, ' ', h('a', { href: '#/lot/' + enc(lot.trace_code), class: 'button button-quiet' }, lot.trace_code))),
    regions.map((region) => h('section', { class: 'card region', 'aria-labelledby': 'r-' + region },
      h('h2', { id: 'r-' + region }, region ? t('recall.region', { region }) : t('lot.transit')),
      table(t('recall.lots'),
        [t('col.site'), t('col.holder'), t('col.code'), t('col.on_hand'), t('col.sold'), t('col.consumed'), t('recall.action')],
        byRegion.get(region).map((r) => [r.site ? siteLabel(r.site) : '—', orgLabel(r.holder), lotLink(r.trace_code),
          kg(r.on_hand), kg(r.sold), kg(r.consumed), actionCell(r)])))),
    (rc.sites || []).length ? h('section', { class: 'card', 'aria-labelledby': 'rs-h' },
      h('h2', { id: 'rs-h' }, t('recall.sites')),
      table(null, [t('col.site'), t('col.org'), t('col.region'), t('recall.from'), t('recall.to')],
        rc.sites.map((s) => [siteLabel(s.id), orgLabel(s.org), s.region || '', when(s.from), s.to ? when(s.to) : t('recall.now')]))) : null,
    (rc.vehicles || []).length ? h('section', { class: 'card', 'aria-labelledby': 'rv-h' },
      h('h2', { id: 'rv-h' }, t('recall.vehicles')),
      table(null, [t('col.plate'), t('recall.from'), t('recall.to')],
        rc.vehicles.map((v) => [v.plate, when(v.from), v.to ? when(v.to) : t('recall.now')]))) : null);
}

function actionCell(r) {
  const a = [];
  if (r.on_hand > 0) a.push(h('strong', { class: 'bad' }, t('recall.seal')));
  if (r.sold > 0) a.push(h('span', { class: 'warn-text' }, t('recall.trace_sold')));
  if (!a.length) a.push(t('recall.none_left'));
  return h('span', { class: 'actions-cell' }, a.flatMap((x, i) => (i ? [' · ', x] : [x])));
}

// recallRows flattens the recall scope into one row a lot, with the region
// and the names of its site and holder.
async function recallRows(rc) {
  const siteRegion = new Map((rc.sites || []).map((s) => [s.id, s.region]));
  const rows = [];
  for (const l of rc.lots || []) {
    let region = l.region || siteRegion.get(l.site) || '';
    const site = l.site ? await siteInfo(l.site) : null;
    if (!region && site?.region) region = site.region;
    rows.push({
      id: l.id, trace_code: l.trace_code, holder: l.holder || '', holder_name: await orgName(l.holder),
      site: l.site || '', site_name: site?.name || '', region,
      on_hand: l.on_hand || 0, sold: l.sold || 0, consumed: l.consumed || 0,
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
  const head = ['region', 'site', 'site_name', 'holder', 'holder_name', 'trace_code', 'on_hand_kg', 'sold_kg', 'consumed_kg', 'action'];
  const lines = [head.map(cell).join(',')];
  for (const r of rows) {
    const action = [r.on_hand > 0 ? 'seal' : '', r.sold > 0 ? 'trace_sold' : ''].filter(Boolean).join('+') || 'none';
    lines.push([r.region, r.site, r.site_name, r.holder, r.holder_name, r.trace_code,
      (r.on_hand / 1000).toString(), (r.sold / 1000).toString(), (r.consumed / 1000).toString(), action].map(cell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
