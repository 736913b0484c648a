// The trace chain of a lot drawn as a graph with cytoscape and the dagre
// layout (vendored in /ui/vendor): root batch -> child lots -> holders,
// each lot coloured by its status, each lot clickable.

import { h, fill } from '../dom.js';
import { t, kg } from '../i18n.js';
import { ApiError, getJSON, enc } from '../api.js';
import { badge, lotLink, nodeStatus, orgLabel, orgName } from '../common.js';

const colours = {
  cleared: ['#17652b', '#ffffff'],
  sealed: ['#b34700', '#ffffff'],
  positive: ['#a1231b', '#ffffff'],
  closed: ['#5f6368', '#ffffff'],
  pending: ['#ffd24d', '#1a1a1a'],
};

// loadTrace returns {root, lots, edges} for a lot: from the trace query, or,
// where the server has none, by walking the lots' children from the root.
export async function loadTrace(lot) {
  try {
    const data = await getJSON('/v1/lots/' + enc(lot.id) + '/trace?direction=both');
    return { root: data.root, lots: data.lots || [], edges: data.edges || [] };
  } catch (err) {
    if (!(err instanceof ApiError) || err.kind !== 'not_found' || !/no such path/.test(err.detail)) throw err;
  }
  const seen = new Map();
  const edges = [];
  const queue = [lot.root || lot.id];
  while (queue.length && seen.size < 500) {
    const id = queue.shift();
    if (seen.has(id)) continue;
    let l;
    try { l = await getJSON('/v1/lots/' + enc(id)); } catch { continue; }
    seen.set(id, l);
    for (const c of l.children || []) {
      edges.push({ from: id, to: c });
      queue.push(c);
    }
  }
  return { root: lot.root, lots: [...seen.values()], edges };
}

// traceGraph draws the trace chain of lot (as loadTrace answered it) into
// slot.
export async function traceGraph(slot, lot, traced) {
  const data = await traced;
  const lots = data.lots.length ? data.lots : [lot];
  const ids = new Set(lots.map((l) => l.id));
  const holders = [...new Set(lots.filter((l) => !l.hidden).map((l) => l.holder).filter(Boolean))];
  const elements = [];
  for (const l of lots) {
    if (l.hidden) {
      elements.push({ group: 'nodes', data: { id: l.id, code: l.trace_code, label: `${l.trace_code}\n${t('lot.graph.hidden')}` }, classes: 'lot hidden' });
      continue;
    }
    const st = nodeStatus(l);
    elements.push({
      group: 'nodes',
      data: { id: l.id, code: l.trace_code, label: `${l.trace_code}\n${l.product?.name || ''}\n${kg(l.quantity?.on_hand)} kg`, bg: colours[st][0], fg: colours[st][1] },
      classes: ['lot', st, l.id === lot.id ? 'current' : '', l.id === data.root ? 'root' : ''].join(' '),
    });
  }
  for (const o of holders) {
    elements.push({ group: 'nodes', data: { id: 'org:' + o, label: o }, classes: 'holder' });
  }
  const edgeKeys = new Set();
  for (const e of data.edges) {
    const key = e.from + '>' + e.to;
    if (!ids.has(e.from) || !ids.has(e.to) || edgeKeys.has(key)) continue;
    edgeKeys.add(key);
    elements.push({ group: 'edges', data: { id: 'e:' + key, source: e.from, target: e.to }, classes: 'flow' });
  }
  for (const l of lots) {
    if (l.holder) elements.push({ group: 'edges', data: { id: 'h:' + l.id, source: l.id, target: 'org:' + l.holder }, classes: 'held' });
  }

  const box = h('div', {
    id: 'graph', class: 'graph', role: 'img',
    'aria-label': `${t('lot.graph')}: ${lots.length} / ${holders.length}`,
    dataset: { nodes: String(lots.length + holders.length), lots: String(lots.length), holders: String(holders.length), edges: String(edgeKeys.size) },
  });
  const legend = h('ul', { class: 'legend' }, Object.keys(colours).map((s) =>
    h('li', null, h('span', { class: 'swatch swatch-' + s, 'aria-hidden': 'true' }), t('status.' + s))),
  h('li', null, h('span', { class: 'swatch swatch-holder', 'aria-hidden': 'true' }), t('holder')));
  const list = h('details', { class: 'graph-list' },
    h('summary', null, t('lot.graph.list')),
    h('ul', null, lots.map((l) => h('li', null, lotLink(l.trace_code), ' ',
      l.hidden ? t('lot.graph.hidden') : [l.product?.name || '', ' · ', badge(nodeStatus(l)), ' · ', t('holder'), ' ', l.holder ? orgLabel(l.holder) : '—']))));
  fill(slot, legend, box, list);

  const cytoscape = window.cytoscape;
  if (typeof cytoscape !== 'function') {
    fill(box, h('p', { class: 'empty' }, t('lot.graph.none')));
    box.dataset.drawn = 'false';
    return;
  }
  const cy = cytoscape({
    container: box,
    elements,
    wheelSensitivity: 0.3,
    minZoom: 0.2,
    maxZoom: 3,
    boxSelectionEnabled: false,
    style: [
      {
        selector: 'node',
        style: {
          label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'center', 'text-halign': 'center',
          'font-size': 11, 'font-family': 'system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei", "LXGW WenKai", sans-serif',
          shape: 'round-rectangle', width: 150, height: 58, 'border-width': 1, 'border-color': '#1a1a1a',
        },
      },
      { selector: 'node.lot', style: { 'background-color': 'data(bg)', color: 'data(fg)' } },
      { selector: 'node.hidden', style: { 'background-color': '#f0f0f0', color: '#4d4d4d', 'border-style': 'dashed', 'border-color': '#6b6b6b' } },
      { selector: 'node.positive', style: { 'border-width': 4, 'border-color': '#4a0000' } },
      { selector: 'node.current', style: { 'border-width': 5, 'border-color': '#1f6feb' } },
      { selector: 'node.holder', style: { shape: 'round-rectangle', width: 150, height: 46, 'background-color': '#e8eef3', color: '#0f3d5c', 'border-color': '#0f3d5c', 'border-style': 'dotted', 'border-width': 2, 'text-max-width': 136, 'text-overflow-wrap': 'anywhere' } },
      { selector: 'edge', style: { 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 2, 'line-color': '#444', 'target-arrow-color': '#444' } },
      { selector: 'edge.held', style: { 'line-style': 'dashed', 'line-color': '#7a8a99', 'target-arrow-color': '#7a8a99', width: 1.5 } },
    ],
    layout: { name: 'dagre', rankDir: 'LR', nodeSep: 24, rankSep: 70, padding: 16 },
  });
  // A small graph fitted to the box would be drawn huge: cap the zoom.
  cy.one('layoutstop', () => {
    if (cy.zoom() > 1.1) {
      cy.zoom(1.1);
      cy.center();
    }
  });
  if (cy.zoom() > 1.1) {
    cy.zoom(1.1);
    cy.center();
  }
  cy.on('tap', 'node.lot', (e) => { location.hash = '#/lot/' + enc(e.target.data('code')); });
  cy.on('mouseover', 'node.lot', () => { box.style.cursor = 'pointer'; });
  cy.on('mouseout', 'node.lot', () => { box.style.cursor = ''; });
  for (const o of holders) {
    orgName(o).then((n) => cy.getElementById('org:' + o).data('label', n));
  }
  box.dataset.drawn = 'true';
  window.coldtraceGraph = cy; // for the browser test and the curious
}
