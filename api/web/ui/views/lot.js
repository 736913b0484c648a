// A lot: its state, documents, trace graph, timeline and findings.

import { h, fill, dl, table } from '../dom.js';
import { t, word, when, kg, country } from '../i18n.js';
import { getJSON, download, enc } from '../api.js';
import { loading, lotBadges, lotLink, orgLabel, sayError, siteLabel, view } from '../common.js';
import { loadTrace, traceGraph } from './graph.js';
import { annexButton, maySeePeople } from '../people.js';
import { noticePart } from '../notice.js';

export async function lotView(code) {
  const main = view(code, loading());
  let lot, events, findings;
  try {
    [lot, events, findings] = await Promise.all([
      getJSON('/v1/lots/' + enc(code)),
      getJSON('/v1/lots/' + enc(code) + '/events'),
      getJSON('/v1/lots/' + enc(code) + '/findings').catch(() => ({ findings: [] })),
    ]);
  } catch (err) {
    fill(main, h('h1', { tabindex: '-1', id: 'view-title' }, code), h('p', { class: 'empty' }, err.describe ? err.describe() : String(err)));
    sayError(err);
    return;
  }
  const traced = loadTrace(lot);
  traced.catch(() => {});
  const records = events.events || [];
  const voidedBy = events.voided_by || {};
  const title = h('span', null, lot.product?.name || '', ' ', h('span', { class: 'mono code' }, lot.trace_code));
  const graphSection = h('section', { class: 'card', 'aria-labelledby': 'graph-h' },
    h('h2', { id: 'graph-h' }, t('lot.graph')),
    h('p', { class: 'hint' }, t('lot.graph.hint')),
    h('div', { id: 'graph-slot' }, loading()));
  view(title,
    h('div', { class: 'lot-head' },
      lotBadges(lot),
      h('nav', { class: 'actions', 'aria-label': lot.trace_code },
        h('a', { href: `#/lot/${enc(lot.trace_code)}/recall`, class: 'button' + (lot.status?.positive || lot.status?.sealed ? ' button-danger' : ''), id: 'recall-link' }, t('lot.recall')),
        h('a', { href: '/t/' + enc(lot.trace_code), class: 'button button-quiet', target: '_blank', rel: 'noopener' }, t('lot.consumer')))),
    h('div', { class: 'lot-grid' },
      h('section', { class: 'card', 'aria-labelledby': 'sum-h' }, h('h2', { id: 'sum-h' }, t('lot.summary')), summary(lot, traced)),
      h('figure', { class: 'card qr' },
        h('img', { src: '/t/' + enc(lot.trace_code) + '.png', alt: t('lot.qr') + ' ' + lot.trace_code, width: 164, height: 164 }),
        h('figcaption', null, t('lot.qr')))),
    h('section', { class: 'card', 'aria-labelledby': 'qty-h' }, h('h2', { id: 'qty-h' }, t('lot.quantity')), quantities(lot.quantity || {})),
    findingsSection(findings.findings || []),
    documentsSection(lot),
    graphSection,
    timelineSection(records, voidedBy));
  traceGraph(document.getElementById('graph-slot'), lot, traced).catch(sayError);
}

function summary(lot, traced) {
  const p = lot.product || {};
  const tr = lot.transit;
  return dl([
    [t('lot.code'), h('span', { class: 'mono' }, lot.trace_code)],
    [t('lot.id'), h('span', { class: 'mono small' }, lot.id)],
    [t('lot.product'), p.name],
    [t('lot.category'), p.category ? word('category', p.category) : ''],
    [t('lot.hs'), p.hs_code],
    [t('lot.origin'), country(p.origin_country)],
    [t('lot.spec'), p.spec],
    [t('lot.production'), p.production_date],
    [t('lot.shelf'), p.shelf_life_days ? t('lot.days', { n: p.shelf_life_days }) : ''],
    [t('lot.producer'), p.producer],
    [t('lot.importer'), lot.importer ? orgLabel(lot.importer) : ''],
    [t('lot.declaration'), lot.declaration_no ? h('span', { class: 'mono' }, lot.declaration_no) : ''],
    [t('lot.containers'), (lot.containers || []).map((c) => c.number + (c.seal ? ` (${c.seal})` : '')).join(', ')],
    [t('lot.declared_at'), when(lot.declared_at)],
    [t('lot.holder'), lot.holder ? orgLabel(lot.holder) : ''],
    [t('lot.site'), lot.site ? siteLabel(lot.site) : ''],
    [t('lot.region'), lot.region],
    [t('lot.transit'), tr ? h('span', null, kg(tr.quantity) + ' kg → ', orgLabel(tr.to_org), ' · ', siteLabel(tr.to_site), ' · ' + t('lot.due', { deadline: when(tr.deadline) })) : ''],
    [t('lot.seal_reason'), lot.status?.sealed ? lot.status.seal_reason : ''],
    [t('lot.parents'), (lot.parents || []).length ? lotRefs(lot.parents, traced) : ''],
    [t('lot.children'), (lot.children || []).length ? lotRefs(lot.children, traced) : ''],
  ]);
}

// lotRefs links lot ids, showing their trace codes once the trace is
// known (lots outside the key's scope are named but not linked).
function lotRefs(ids, traced) {
  return h('span', { class: 'refs' }, ids.map((id) => {
    const a = h('span', { class: 'mono small' }, id.slice(0, 8) + '…');
    traced.then((tr) => {
      const l = tr.lots.find((x) => x.id === id);
      if (!l) return;
      a.replaceWith(l.hidden ? h('span', { class: 'mono small', title: t('lot.graph.hidden') }, l.trace_code + ' ' + t('lot.graph.hidden')) : lotLink(l.trace_code));
    }, () => {});
    return [a, ' '];
  }));
}

const buckets = ['declared', 'on_hand', 'in_transit', 'sold', 'consumed', 'destroyed', 'returned', 'lost', 'split', 'transformed'];

function quantities(q) {
  const shown = buckets.filter((b) => b === 'declared' || b === 'on_hand' || q[b]);
  return table(null, shown.map((b) => t('q.' + b)), [shown.map((b) => kg(q[b]))], 'grid quantities');
}

// missingForMarket is what the "four no" rule still needs, as the ledger
// judges it: the parts of cleared it answers (policy version 1), else the
// four marks of a ledger under the older rules.
function missingForMarket(lot) {
  if (lot.cleared_parts) {
    const lang = document.documentElement.dataset.lang;
    return lot.cleared_parts.filter((p) => !p.met).map((p) => (lang === 'en' ? p.text_en : p.text));
  }
  const m = [];
  if (!(lot.documents || []).includes('quarantine_certificate')) m.push('quarantine certificate');
  if (!lot.last_test || lot.last_test.result !== 'negative' || lot.status?.positive) m.push('negative nucleic-acid test');
  if (!lot.last_disinfection) m.push('disinfection');
  if (!lot.release) m.push('release from the supervision warehouse');
  return m;
}

// documentsSection lists the lot's papers as the ledger answers them: its
// own and those inherited from the lots it came from (索证索票), each with
// its issuer and record, downloadable where the key may open it.
function documentsSection(lot) {
  const docs = lot.papers || [];
  const missing = missingForMarket(lot);
  const list = docs.length === 0
    ? h('p', { class: 'empty' }, t('lot.documents.none'))
    : h('ul', { class: 'docs' }, docs.map((d) => {
      let btn = h('span', { class: 'hint' }, t('lot.documents.locked'));
      if (d.can_open) {
        btn = h('button', { type: 'button', class: 'button-small', 'aria-label': `${t('lot.download')} ${word('doc', d.type)} ${d.sha256.slice(0, 12)}` }, t('lot.download'));
        btn.addEventListener('click', () => download('/v1/attachments/' + d.sha256, `${d.type}-${d.sha256.slice(0, 12)}`).catch(sayError));
      }
      const from = d.lot === lot.id ? '' : ` · ${t('lot.documents.from')}`;
      return h('li', null,
        h('span', { class: 'doc-type' }, word('doc', d.type)),
        h('span', { class: 'doc-meta' }, `${word('kind', d.kind)} #${d.seq} · ${d.issuer} · ${when(d.at)}${from} · `, h('span', { class: 'mono small', title: d.sha256 }, d.sha256.slice(0, 12) + '…')),
        btn);
    }));
  return h('section', { class: 'card', 'aria-labelledby': 'doc-h' },
    h('h2', { id: 'doc-h' }, t('lot.documents')),
    missing.length
      ? h('p', { class: 'warn' }, t('lot.documents.missing', { list: missing.map((m) => word('missing', m)).join('、') }))
      : h('p', { class: 'ok' }, t('lot.documents.complete')),
    list,
    (lot.parents || []).length ? h('p', { class: 'hint' }, t('lot.documents.inherited')) : null);
}

function findingsSection(findings) {
  const open = findings.filter((f) => f.open);
  const closed = findings.filter((f) => !f.open);
  return h('section', { class: 'card', 'aria-labelledby': 'find-h' },
    h('h2', { id: 'find-h' }, t('lot.findings')),
    open.length ? h('ul', { class: 'findings' }, open.map(findingItem)) : h('p', { class: 'ok' }, t('lot.findings.none')),
    closed.length ? h('details', null, h('summary', null, t('lot.findings.closed', { n: closed.length })), h('ul', { class: 'findings' }, closed.map(findingItem))) : null);
}

// findingItem shows a finding with its rule explained in plain words.
export function findingItem(f) {
  const explanation = document.documentElement.dataset.lang === 'en' ? f.explanation_en : f.explanation;
  return h('li', { class: 'finding' + (f.open ? ' finding-open' : '') },
    h('p', { class: 'finding-head' },
      h('strong', null, word('rule', f.rule)),
      ' · ', h('span', { class: 'badge badge-' + (f.open ? 'violation' : 'closed') }, f.open ? t('findings.open') : t('status.closed')),
      ' · ', t('findings.opened'), ' ', when(f.opened_at)),
    explanation ? h('p', { class: 'explain' }, explanation) : null,
    h('p', { class: 'detail' }, f.detail),
    f.people?.length ? h('p', { class: 'meta people-line' }, t('people.in_finding'), ' ', f.people.map((p) => p.pseudonym + ' (' + p.roles.map((r) => word('person', r)).join('、') + ')').join(', ')) : null,
    h('p', { class: 'meta' },
      f.trace_code ? [t('findings.lot'), ' ', lotLink(f.trace_code), ' · '] : null,
      f.site ? [t('findings.site'), ' ', siteLabel(f.site), ' · '] : null,
      f.region ? [t('findings.region'), ' ', f.region, ' · '] : null,
      t('findings.record'), ' #', f.seq,
      !f.open && f.closed_reason ? [' · ', t('findings.closed', { reason: f.closed_reason })] : null),
    noticePart(f));
}

function timelineSection(records, voidedBy) {
  const items = [...records].sort((a, b) => a.seq - b.seq).map((r) => {
    const voided = voidedBy[String(r.seq)];
    return h('li', { class: 'event' + (voided ? ' voided' : ''), id: 'ev-' + r.seq },
      h('time', { datetime: r.at }, when(r.at)),
      h('div', null,
        h('p', { class: 'event-head' }, h('strong', null, word('kind', r.kind)), ' #', r.seq, ' · ', t('lot.by'), ' ', r.actor?.org ? orgLabel(r.actor.org) : '—',
          voided ? h('span', { class: 'badge badge-closed' }, t('lot.voided', { seq: voided })) : null),
        h('p', { class: 'event-body' }, describe(r)),
        r.note ? h('p', { class: 'note' }, r.note) : null,
        r.annex ? annexLine(r) : null));
  });
  return h('section', { class: 'card', 'aria-labelledby': 'tl-h' },
    h('h2', { id: 'tl-h' }, t('lot.timeline')),
    items.length ? h('ol', { class: 'timeline' }, items) : h('p', { class: 'empty' }, t('lot.timeline.none')));
}

// annexLine offers the record's annex to the keys that may see people
// (people.js): the roles it names, and names only on an explicit open.
function annexLine(r) {
  if (!maySeePeople()) return null;
  return h('p', { class: 'annex-line' }, t('lot.annex'), (r.annex.roles || []).length ? ' · ' + r.annex.roles.map((x) => word('person', x)).join('、') : '', ' ', annexButton(r.seq));
}

const qty = (q) => (q ? `${kg(q.grams)} kg${q.pieces ? ` / ${q.pieces}` : ''}` : '');
const temp = (c) => (c === undefined || c === null ? '' : ` · ${c} °C`);

// describe says in a line what a record did.
function describe(r) {
  const parts = [];
  switch (r.kind) {
    case 'declared':
      parts.push(qty(r.quantity), r.declaration_no ? ` · ${r.declaration_no}` : '',
        r.containers?.length ? ` · ${r.containers.map((c) => c.number).join(', ')}` : '', r.site ? [' · ', siteLabel(r.site)] : '');
      break;
    case 'tested':
      parts.push(h('strong', { class: r.result === 'positive' ? 'bad' : 'good' }, word('result', r.result)),
        ` · ${r.samples || 0} × ${(r.scope || []).join(', ')}`, r.retest_of ? ` · retest of #${r.retest_of}` : '');
      break;
    case 'disinfected':
      parts.push((r.scope || []).join(', '), r.agent ? ` · ${r.agent}` : '');
      break;
    case 'shipped':
      parts.push(qty(r.quantity), ' → ', orgLabel(r.to_org), ' · ', siteLabel(r.to_site), r.vehicle?.plate ? ` · ${r.vehicle.plate}` : '', temp(r.temperature_c),
        (r.created_lots || []).length ? [' · ', r.created_lots.map((c) => lotLink(c.trace_code))] : '');
      break;
    case 'received':
      parts.push(qty(r.quantity), ' @ ', siteLabel(r.site), temp(r.temperature_c));
      break;
    case 'transformed':
      parts.push((r.inputs || []).map((i) => qty(i.quantity)).join(' + '), ' → ',
        (r.outputs || []).map((o, i) => [o.product?.name || '', ' ', qty(o.quantity), ' ', r.created_lots?.[i] ? lotLink(r.created_lots[i].trace_code) : '', ' ']));
      break;
    case 'sold': case 'consumed':
      parts.push(qty(r.quantity), r.channel ? ` · ${r.channel}` : '');
      break;
    case 'destroyed':
      parts.push(qty(r.quantity), r.method ? ` · ${r.method}` : '', r.order ? ` · ${r.order}` : '');
      break;
    case 'sealed': case 'unsealed':
      parts.push(r.reason || '');
      break;
    case 'temperature_recorded':
      parts.push(`${r.min_c ?? '?'} … ${r.max_c ?? '?'} °C · ${r.readings || 0}`);
      break;
    case 'voided':
      parts.push(`#${r.voids} · ${r.reason || ''}`);
      break;
    case 'finding_closed':
      parts.push(`${r.finding} · ${r.reason || ''}`);
      break;
    default:
      break;
  }
  if (r.attachments?.length) parts.push(' · ', r.attachments.map((a) => word('doc', a.type)).join(', '));
  return parts;
}
