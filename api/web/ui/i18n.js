// Words of the console in Chinese (the default) and English. The choice is
// kept in localStorage.

const KEY = 'coldtrace.lang';

const zh = {
  'console': '监管控制台',
  'skip': '跳到主要内容',
  'nav.label': '主导航',
  'nav.search': '查询',
  'nav.findings': '发现与预警',
  'nav.closure': '闭环看板',
  'signout': '退出登录',
  'lang.other': 'English',
  'loading': '正在加载…',
  'noscript': '本控制台需要启用 JavaScript。',

  'signin.title': '登录监管控制台',
  'signin.key': 'API 密钥',
  'signin.hint': '密钥只保存在本浏览器标签页的会话存储中，关闭标签页即清除；它不会出现在网址中。',
  'signin.submit': '登录',
  'signin.checking': '正在核对密钥…',
  'signin.empty': '请输入 API 密钥。',
  'signin.out': '已退出登录。',

  'search.title': '查询货物',
  'search.label': '追溯码、集装箱号或报关单号',
  'search.hint': '例如追溯码 K7Q2-9XMD-4HTE、集装箱号 CSQU3054383 或 18 位报关单号。按回车查询。',
  'search.submit': '查询',
  'search.searching': '正在查询…',
  'search.empty': '请输入追溯码、集装箱号或报关单号。',
  'search.none': '没有找到与 {q} 相符的货物。',
  'search.results': '{kind} {q} 的货物：{n} 批',
  'search.kind.container': '集装箱',
  'search.kind.declaration': '报关单',
  'search.notcode': '{q} 不是有效的追溯码（12 位字母数字，末位为校验码），也不是集装箱号（4 个字母 + 7 位数字）或 18 位报关单号。',

  'lot.code': '追溯码',
  'lot.id': '批次 ID',
  'lot.product': '品名',
  'lot.hs': 'HS 编码',
  'lot.category': '类别',
  'lot.origin': '原产国',
  'lot.spec': '规格',
  'lot.production': '生产日期',
  'lot.shelf': '保质期',
  'lot.days': '{n} 天',
  'lot.producer': '生产企业',
  'lot.importer': '进口商',
  'lot.declaration': '报关单号',
  'lot.containers': '集装箱',
  'lot.declared_at': '申报时间',
  'lot.holder': '当前持有人',
  'lot.site': '所在场所',
  'lot.region': '地区',
  'lot.transit': '运输中',
  'lot.due': '期限 {deadline}',
  'lot.parents': '来源批次',
  'lot.children': '分装/加工批次',
  'lot.seal_reason': '封存原因',
  'lot.summary': '概况',
  'lot.quantity': '数量（千克）',
  'lot.documents': '单证',
  'lot.documents.none': '尚无上传的单证。',
  'lot.documents.missing': '上市仍缺：{list}',
  'lot.documents.complete': '“四不”所需证明齐全。',
  'lot.documents.inherited': '含从来源批次继承的单证（索证索票）。',
  'lot.documents.from': '来源批次',
  'lot.documents.locked': '无权查看',
  'lot.download': '下载',
  'lot.graph': '追溯图',
  'lot.graph.hint': '根批次 → 分装或加工的子批次 → 持有人。点击批次节点打开该批次。',
  'lot.graph.list': '图中节点（文字版）',
  'lot.graph.none': '无法绘制追溯图：图形库未加载。',
  'lot.graph.hidden': '（不在本密钥辖区）',
  'lot.timeline': '事件时间线',
  'lot.timeline.none': '没有事件。',
  'lot.findings': '未关闭的发现',
  'lot.findings.none': '没有未关闭的发现。',
  'lot.findings.closed': '已关闭的发现（{n}）',
  'lot.recall': '召回范围',
  'lot.consumer': '消费者页面',
  'lot.qr': '消费者页面二维码',
  'lot.voided': '已被记录 #{seq} 作废',
  'lot.by': '记录人',

  'q.declared': '申报',
  'q.on_hand': '在库',
  'q.in_transit': '在途',
  'q.sold': '已售',
  'q.consumed': '已消耗',
  'q.destroyed': '已销毁',
  'q.returned': '已退运',
  'q.lost': '损耗',
  'q.split': '已分出',
  'q.transformed': '已加工',

  'status.cleared': '已放行',
  'status.sealed': '已封存',
  'status.positive': '阳性',
  'status.closed': '已闭环',
  'status.open': '未闭环',
  'status.pending': '未放行',
  'status.violation': '有违规',
  'status.findings': '{n} 项未关闭发现',
  'holder': '持有人',

  'recall.title': '召回范围：{code}',
  'recall.intro': '批次 {code} 所属根批次 {root} 及其全部子批次：按地区列出需就地封存的库存、在途货物、已售出的数量、曾经持有的场所、运输车辆和同场所接触的其他批次。',
  'recall.notpositive': '该批次所属批次没有阳性检测结果；以下仍列出同根批次的全部货物。',
  'recall.scope_note': '只列出本密钥辖区内的批次、场所和地区（另有 {n} 个批次不在辖区内）。',
  'recall.region': '地区 {region}',
  'recall.region_sum': '在库 {onhand} 千克，运往本地区 {transit} 千克，已售出或消耗 {sold} 千克',
  'recall.act.seal': '就地封存',
  'recall.act.keep_sealed': '保持封存',
  'recall.act.stop_transit': '拦截在途',
  'recall.act.trace_sold': '追查已售',
  'recall.act.none': '无库存',
  'recall.lots': '需处置的批次',
  'recall.sites': '曾持有的场所',
  'recall.vehicles': '运输车辆',
  'recall.contacts': '同场所接触的其他批次（{n}）',
  'recall.contacts_hint': '这些批次不属于该批次，但曾与其同时存放在同一场所。',
  'recall.csv': '下载召回清单（CSV）',
  'recall.action': '处置',
  'recall.from': '自',
  'recall.to': '至',
  'recall.now': '至今',
  'recall.total': '共 {lots} 批：在库 {onhand} 千克待封存，在途 {transit} 千克待拦截，已售出或消耗 {sold} 千克待追查',

  'closure.title': '闭环看板',
  'closure.scope': '范围：{regions}',
  'closure.all': '全部地区',
  'closure.counts': '根批次闭环情况',
  'closure.batches': '根批次',
  'closure.findings': '未关闭发现',
  'closure.quantities': '申报 {declared} 千克：在库 {onhand}，在途 {transit}，已售 {sold}，已消耗 {consumed}，销毁或退运 {destroyed}（千克）',
  'closure.generated': '生成于 {at}（账本记录数 {size}）',
  'closure.open': '未闭环批次',
  'closure.violation': '违规批次',
  'closure.positive': '阳性批次',
  'closure.by_region': '按地区',
  'closure.reasons': '未闭环原因',
  'closure.more': '另有 {n} 项',
  'closure.reason.on_hand': '在库 {kg} 千克',
  'closure.reason.in_transit': '在途 {kg} 千克',
  'closure.reason.finding': '未关闭的发现',
  'closure.positive_at': '阳性时间',
  'closure.lots': '已封存/批次',
  'closure.sealed_on_hand': '已封存/在库',
  'closure.reached': '已到达消费者',
  'closure.progress': '召回进度',
  'closure.download': '下载报告：',
  'closure.none': '无',
  'closure.unsupported': '此服务器尚未提供闭环报告。',

  'findings.title': '发现与预警',
  'findings.rule': '规则',
  'findings.all_rules': '全部规则',
  'findings.open_only': '只看未关闭',
  'findings.apply': '筛选',
  'findings.more': '加载更多',
  'findings.none': '没有符合条件的发现。',
  'findings.opened': '发现于',
  'findings.closed': '已关闭：{reason}',
  'findings.open': '未关闭',
  'findings.lot': '批次',
  'findings.site': '场所',
  'findings.region': '地区',
  'findings.record': '记录',

  'col.code': '追溯码',
  'col.product': '品名',
  'col.holder': '持有人',
  'col.site': '场所',
  'col.status': '状态',
  'col.on_hand': '在库（千克）',
  'col.sold': '已售（千克）',
  'col.consumed': '已消耗（千克）',
  'col.region': '地区',
  'col.org': '单位',
  'col.plate': '车牌',
  'col.time': '时间',
  'col.event': '事件',
  'col.count': '数量',

  'err.network': '无法连接到 coldtrace 服务器。请检查网络连接，或稍后重试。',
  'err.unauthenticated': 'API 密钥无效、已被吊销或已失效。请重新登录。',
  'err.forbidden': '此密钥无权执行该操作：{detail}',
  'err.not_found': '未找到：{detail}',
  'err.invalid': '输入有误：{detail}',
  'err.rate_limited': '请求过于频繁，请稍等片刻再试。',
  'err.unavailable': '服务器暂时不可用（{detail}）。请稍后重试。',
  'err.internal': '服务器出错，请稍后重试；如果问题持续，请联系管理员。',
  'err.other': '请求失败（{status}）：{detail}',
  'err.nolib': '追溯图所需的图形库未能加载。',
  'dismiss': '关闭提示',
  'alerts.title': '实时预警',
  'alerts.ack': '确认接收',
  'alerts.acked': '已确认',
  'alerts.ackfailed': '确认失败',
};

const en = {
  'console': 'regulator console',
  'skip': 'Skip to main content',
  'nav.label': 'Main',
  'nav.search': 'Search',
  'nav.findings': 'Findings and alerts',
  'nav.closure': 'Closure dashboard',
  'signout': 'Sign out',
  'lang.other': '中文',
  'loading': 'Loading…',
  'noscript': 'This console needs JavaScript.',

  'signin.title': 'Sign in to the regulator console',
  'signin.key': 'API key',
  'signin.hint': 'The key is kept only in this browser tab’s session storage and is gone when the tab closes; it never appears in a URL.',
  'signin.submit': 'Sign in',
  'signin.checking': 'Checking the key…',
  'signin.empty': 'Enter an API key.',
  'signin.out': 'Signed out.',

  'search.title': 'Find goods',
  'search.label': 'Trace code, container number or declaration number',
  'search.hint': 'For example trace code K7Q2-9XMD-4HTE, container CSQU3054383 or an 18-digit customs declaration number. Press Enter to search.',
  'search.submit': 'Search',
  'search.searching': 'Searching…',
  'search.empty': 'Enter a trace code, container number or declaration number.',
  'search.none': 'No goods match {q}.',
  'search.results': 'Goods of {kind} {q}: {n} lot(s)',
  'search.kind.container': 'container',
  'search.kind.declaration': 'declaration',
  'search.notcode': '{q} is not a valid trace code (12 letters and digits, the last a check character), container number (4 letters and 7 digits) or 18-digit declaration number.',

  'lot.code': 'Trace code',
  'lot.id': 'Lot id',
  'lot.product': 'Product',
  'lot.hs': 'HS code',
  'lot.category': 'Category',
  'lot.origin': 'Country of origin',
  'lot.spec': 'Specification',
  'lot.production': 'Production date',
  'lot.shelf': 'Shelf life',
  'lot.days': '{n} days',
  'lot.producer': 'Producer',
  'lot.importer': 'Importer',
  'lot.declaration': 'Declaration number',
  'lot.containers': 'Containers',
  'lot.declared_at': 'Declared',
  'lot.holder': 'Holder',
  'lot.site': 'Site',
  'lot.region': 'Region',
  'lot.transit': 'In transit',
  'lot.due': 'due {deadline}',
  'lot.parents': 'From lots',
  'lot.children': 'Split or processed into',
  'lot.seal_reason': 'Sealed because',
  'lot.summary': 'Summary',
  'lot.quantity': 'Quantity (kg)',
  'lot.documents': 'Documents',
  'lot.documents.none': 'No documents uploaded yet.',
  'lot.documents.missing': 'Still missing for market: {list}',
  'lot.documents.complete': 'All papers of the “four no” rule are on record.',
  'lot.documents.inherited': 'Includes the papers inherited from the lots it came from.',
  'lot.documents.from': 'from a source lot',
  'lot.documents.locked': 'not for this key',
  'lot.download': 'Download',
  'lot.graph': 'Trace graph',
  'lot.graph.hint': 'Root batch → split or processed child lots → holders. Click a lot to open it.',
  'lot.graph.list': 'Nodes of the graph (as text)',
  'lot.graph.none': 'The trace graph cannot be drawn: the graph library did not load.',
  'lot.graph.hidden': '(outside this key’s scope)',
  'lot.timeline': 'Timeline',
  'lot.timeline.none': 'No events.',
  'lot.findings': 'Open findings',
  'lot.findings.none': 'No open findings.',
  'lot.findings.closed': 'Closed findings ({n})',
  'lot.recall': 'Recall scope',
  'lot.consumer': 'Consumer page',
  'lot.qr': 'QR code of the consumer page',
  'lot.voided': 'voided by record #{seq}',
  'lot.by': 'by',

  'q.declared': 'declared',
  'q.on_hand': 'on hand',
  'q.in_transit': 'in transit',
  'q.sold': 'sold',
  'q.consumed': 'consumed',
  'q.destroyed': 'destroyed',
  'q.returned': 'returned',
  'q.lost': 'lost',
  'q.split': 'split off',
  'q.transformed': 'processed',

  'status.cleared': 'cleared',
  'status.sealed': 'sealed',
  'status.positive': 'positive',
  'status.closed': 'closed',
  'status.open': 'open',
  'status.pending': 'not cleared',
  'status.violation': 'violation',
  'status.findings': '{n} open finding(s)',
  'holder': 'holder',

  'recall.title': 'Recall scope: {code}',
  'recall.intro': 'Root batch {root} of lot {code} and every lot made from it: by region, the stock to seal where it is, the goods on their way, what was sold, the sites that held it, the vehicles that carried it and the other lots that shared its sites.',
  'recall.notpositive': 'Nothing in this batch tested positive; every lot of the batch is listed all the same.',
  'recall.scope_note': 'Only the lots, sites and regions within this key’s regions are shown ({n} more lots are outside them).',
  'recall.region': 'Region {region}',
  'recall.region_sum': '{onhand} kg on hand, {transit} kg on the way here, {sold} kg sold or consumed',
  'recall.act.seal': 'seal in place',
  'recall.act.keep_sealed': 'keep sealed',
  'recall.act.stop_transit': 'stop in transit',
  'recall.act.trace_sold': 'trace what was sold',
  'recall.act.none': 'nothing left',
  'recall.lots': 'Lots to act on',
  'recall.sites': 'Sites that held it',
  'recall.vehicles': 'Vehicles',
  'recall.contacts': 'Other lots that shared its sites ({n})',
  'recall.contacts_hint': 'These lots are not of this batch but were kept at the same site at the same time.',
  'recall.csv': 'Download the recall list (CSV)',
  'recall.action': 'Action',
  'recall.from': 'From',
  'recall.to': 'To',
  'recall.now': 'now',
  'recall.total': '{lots} lots: {onhand} kg on hand to seal, {transit} kg in transit to stop, {sold} kg sold or consumed to trace',

  'closure.title': 'Closure dashboard',
  'closure.scope': 'Scope: {regions}',
  'closure.all': 'all regions',
  'closure.counts': 'Closure of the root batches',
  'closure.batches': 'batches',
  'closure.findings': 'open findings',
  'closure.quantities': '{declared} kg declared: {onhand} on hand, {transit} in transit, {sold} sold, {consumed} consumed, {destroyed} destroyed or returned (kg)',
  'closure.generated': 'generated {at} (ledger size {size})',
  'closure.open': 'Open batches',
  'closure.violation': 'Batches with violations',
  'closure.positive': 'Positive batches',
  'closure.by_region': 'By region',
  'closure.reasons': 'Why not closed',
  'closure.more': '{n} more',
  'closure.reason.on_hand': '{kg} kg on hand',
  'closure.reason.in_transit': '{kg} kg in transit',
  'closure.reason.finding': 'open finding',
  'closure.positive_at': 'Positive',
  'closure.lots': 'Sealed/lots',
  'closure.sealed_on_hand': 'Sealed/on hand',
  'closure.reached': 'Reached consumers',
  'closure.progress': 'Recall progress',
  'closure.download': 'Download the report:',
  'closure.none': 'None',
  'closure.unsupported': 'This server does not offer the closure report yet.',

  'findings.title': 'Findings and alerts',
  'findings.rule': 'Rule',
  'findings.all_rules': 'All rules',
  'findings.open_only': 'Open only',
  'findings.apply': 'Filter',
  'findings.more': 'Load more',
  'findings.none': 'No findings match.',
  'findings.opened': 'Opened',
  'findings.closed': 'Closed: {reason}',
  'findings.open': 'open',
  'findings.lot': 'Lot',
  'findings.site': 'Site',
  'findings.region': 'Region',
  'findings.record': 'Record',

  'col.code': 'Trace code',
  'col.product': 'Product',
  'col.holder': 'Holder',
  'col.site': 'Site',
  'col.status': 'Status',
  'col.on_hand': 'On hand (kg)',
  'col.sold': 'Sold (kg)',
  'col.consumed': 'Consumed (kg)',
  'col.region': 'Region',
  'col.org': 'Organisation',
  'col.plate': 'Plate',
  'col.time': 'Time',
  'col.event': 'Event',
  'col.count': 'Count',

  'err.network': 'Cannot reach the coldtrace server. Check the network connection or try again later.',
  'err.unauthenticated': 'The API key is wrong, was revoked or is no longer valid. Sign in again.',
  'err.forbidden': 'This key may not do that: {detail}',
  'err.not_found': 'Not found: {detail}',
  'err.invalid': 'Check the input: {detail}',
  'err.rate_limited': 'Too many requests; wait a moment and try again.',
  'err.unavailable': 'The server is unavailable for now ({detail}). Try again later.',
  'err.internal': 'The server failed; try again later, and tell the administrator if it goes on.',
  'err.other': 'The request failed ({status}): {detail}',
  'err.nolib': 'The graph library of the trace graph did not load.',
  'dismiss': 'Dismiss',
  'alerts.title': 'Live alerts',
  'alerts.ack': 'Acknowledge',
  'alerts.acked': 'acknowledged',
  'alerts.ackfailed': 'acknowledgement failed',
};

// Vocabularies of the ledger, each word in both languages.
const words = {
  kind: {
    declared: ['报关申报', 'declared'], tested: ['核酸检测', 'tested'], disinfected: ['消毒', 'disinfected'],
    released: ['出仓放行', 'released'], shipped: ['发货', 'shipped'], received: ['收货', 'received'],
    transformed: ['加工', 'processed'], sold: ['销售', 'sold'], consumed: ['消耗', 'consumed'],
    destroyed: ['销毁/退运', 'destroyed or returned'], sealed: ['封存', 'sealed'], unsealed: ['解封', 'unsealed'],
    temperature_recorded: ['温度记录', 'temperature recorded'], site_tested: ['场所检测', 'site tested'],
    site_disinfected: ['场所消毒', 'site disinfected'], voided: ['作废', 'voided'],
    finding_closed: ['关闭发现', 'finding closed'], transit_overdue: ['运输超时', 'transit overdue'], findings_overdue: ['发现逾期未确认', 'findings overdue'],
  },
  doc: {
    customs_declaration: ['报关单', 'customs declaration'], quarantine_certificate: ['检验检疫证明', 'quarantine certificate'],
    test_report: ['核酸检测报告', 'test report'], disinfection_certificate: ['消毒证明', 'disinfection certificate'],
    release_certificate: ['出仓证明', 'release certificate'], temperature_log: ['温度记录', 'temperature log'],
    destruction_certificate: ['销毁证明', 'destruction certificate'], other: ['其他', 'other'],
  },
  rule: {
    four_no: ['“四不”违规', '“four no” breach'], sealed_moved: ['封存货物被移动', 'sealed lot moved'],
    transit_overdue: ['运输超时', 'transit overdue'], short_receipt: ['签收短少', 'short receipt'],
    temperature_excursion: ['温度超标', 'temperature excursion'], positive_test: ['核酸阳性', 'positive test'],
    site_positive: ['场所阳性', 'positive site'], untested_after_arrival: ['到达后未检测', 'untested after arrival'],
  },
  category: { frozen: ['冷冻', 'frozen'], chilled: ['冷藏', 'chilled'], non_cold_chain: ['非冷链', 'not cold-chain'] },
  result: { negative: ['阴性', 'negative'], positive: ['阳性', 'positive'] },
  role: {
    admin: ['管理员', 'admin'], regulator: ['监管部门', 'regulator'], importer: ['进口商', 'importer'],
    cold_store: ['冷库', 'cold store'], supervision_warehouse: ['集中监管仓', 'supervision warehouse'],
    carrier: ['承运人', 'carrier'], lab: ['检测机构', 'lab'], disinfector: ['消毒机构', 'disinfector'],
    processor: ['加工企业', 'processor'], wholesaler: ['批发商', 'wholesaler'], retailer: ['零售商', 'retailer'],
    caterer: ['餐饮', 'caterer'],
  },
  missing: {
    'quarantine certificate': ['检验检疫证明', 'quarantine certificate'],
    'negative nucleic-acid test': ['核酸检测阴性', 'negative nucleic-acid test'],
    'disinfection': ['消毒证明', 'disinfection'],
    'release from the supervision warehouse': ['出仓证明', 'release from the supervision warehouse'],
  },
};

let current = 'zh';
try { current = localStorage.getItem(KEY) === 'en' ? 'en' : 'zh'; } catch { /* storage disabled */ }

export function lang() { return current; }

export function setLang(l) {
  current = l === 'en' ? 'en' : 'zh';
  try { localStorage.setItem(KEY, current); } catch { /* storage disabled */ }
  document.documentElement.lang = current === 'en' ? 'en' : 'zh-CN';
  document.documentElement.dataset.lang = current;
}

// t returns the text of key with {name} replaced from vars.
export function t(key, vars) {
  const s = (current === 'en' ? en : zh)[key] ?? zh[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

// word returns a ledger word (a kind, document type, rule, ...) in the
// current language, or the word itself if it is unknown.
export function word(group, w) {
  const e = words[group]?.[w];
  return e ? e[current === 'en' ? 1 : 0] : w;
}

export function wordList(group) { return Object.keys(words[group]); }

// applyStatic translates the elements of root that carry data-i18n
// (text) or data-i18n-attr ("attr:key").
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    const [attr, key] = el.dataset.i18nAttr.split(':');
    el.setAttribute(attr, t(key));
  }
}

const locale = () => (current === 'en' ? 'en-GB' : 'zh-CN');

// when formats a time in China Standard Time.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Shanghai' }).format(d);
}

// kg formats grams as kilograms.
export function kg(grams) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 3 }).format((grams || 0) / 1000);
}

// country returns the name of an ISO 3166 country code.
export function country(code) {
  if (!code) return '';
  try {
    return `${new Intl.DisplayNames([locale()], { type: 'region' }).of(code)} (${code})`;
  } catch {
    return code;
  }
}
