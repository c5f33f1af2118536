// 考核: per county, department or centre and window, the KPIs of docs/kpis.md as numbers and small charts.
import { api, esc, fmtTime, session } from './api.js';
import { label, NETWORKS } from './labels.js';
import { echarts } from './map.js';

const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;

// Every count of a KPI record (docs/kpis.md), summed per row before any rate is computed.
const COUNTS = ['events_in', 'cases_opened', 'cases_closed', 'closed_on_time', 'merges', 'reworks', 'extensions',
  'escalations', 'dispatches', 'returns', 'accepted', 'accepted_on_time', 'verifications', 'verified_on_time',
  'deadlines', 'overdue', 'revisits', 'satisfied', 'basically_satisfied', 'unsatisfied'];
const ratio = (a, b) => (b ? a / b : 0);
// The formulas of docs/kpis.md, from summed counts (never an average of rates).
function rates(c) {
  return {
    closeRate: ratio(c.cases_closed, c.cases_opened), onTimeRate: ratio(c.closed_on_time, c.cases_closed),
    reworkRate: ratio(c.reworks, c.cases_closed), extRate: ratio(c.extensions, c.cases_closed),
    escRate: ratio(c.escalations, c.cases_opened), overdueRate: ratio(c.overdue, c.deadlines),
    acceptRate: ratio(c.accepted_on_time, c.accepted), verifyRate: ratio(c.verified_on_time, c.verifications),
    validRate: ratio(c.cases_opened, c.events_in), dispatchRate: ratio(Math.max(0, c.dispatches - c.returns), c.dispatches),
    satisfaction: ratio(c.satisfied + c.basically_satisfied, c.revisits),
  };
}
const KEY = { county: 'region_code', department: 'department', centre: 'centre' };
const HEAD = { county: '区县', department: '责任部门', centre: '指挥中心' };

export async function renderKpi(main) {
  const me = session.me;
  // Records are per county: a town or village centre reads its own and lower centres' figures.
  const countyLevel = me.region.tier === 'city' || me.region.tier === 'county';
  main.innerHTML = `
    <h1 class="sr-only">考核</h1>
    <form class="filters" id="kpi-form" aria-label="考核窗口">
      <label>维度 <select name="by">${countyLevel ? '<option value="county">按区县</option><option value="department">按责任部门</option>' : ''}<option value="centre">按指挥中心</option></select></label>
      <label>窗口 <select name="window"><option value="1h">按小时</option><option value="1m">按分钟</option></select></label>
      <label>时间范围 <select name="span"><option value="6">最近 6 小时</option><option value="24" selected>最近 24 小时</option><option value="168">最近 7 天</option></select></label>
    </form>
    <div class="kpi-charts"><div id="kpi-compare" class="chart" role="img" aria-label="结案率与满意度对比"></div>
      <div id="kpi-trend" class="chart" role="img" aria-label="立案与结案趋势"></div></div>
    <table class="kpi"><thead><tr><th scope="col" id="kpi-head">区县</th><th scope="col">立案数</th><th scope="col">结案数</th><th scope="col">结案率</th>
      <th scope="col">按期结案率</th><th scope="col">返工率</th><th scope="col">延期率</th><th scope="col">升级率</th>
      <th scope="col">超期率</th><th scope="col">按时受理率</th><th scope="col">及时核查率</th><th scope="col">有效上报率</th>
      <th scope="col">准确派遣率</th><th scope="col">群众满意度</th><th scope="col">合并率（按网络）</th></tr></thead>
      <tbody id="kpi-rows"></tbody></table>`;
  const compare = echarts.init(main.querySelector('#kpi-compare'));
  const trend = echarts.init(main.querySelector('#kpi-trend'));
  const names = new Map([[me.region.code, me.centre_name || me.region.name], ...me.above.map((r) => [r.code, r.name])]);
  const county = me.region.tier === 'county' ? me.region : me.above.find((r) => r.tier === 'county');
  if (me.region.tier === 'city') for (const r of (await api(`/v1/regions/${me.region.code}`)).children) names.set(r.code, r.name);
  else if (county) {
    names.set(county.code, county.name);
    for (const r of (await api(`/v1/regions/${me.region.code}`)).children) names.set(r.code, r.name);
  }

  async function load() {
    const f = new FormData(main.querySelector('#kpi-form'));
    const by = f.get('by');
    const from = new Date(Date.now() - Number(f.get('span')) * 3600 * 1000).toISOString();
    const params = new URLSearchParams({ window: f.get('window'), from, by });
    if (me.region.tier === 'county') params.set('county', me.region.code);
    const answer = await api(`/v1/kpis?${params}`);
    main.querySelector('#kpi-head').textContent = HEAD[by];
    const per = new Map();
    for (const w of answer.windows) {
      const key = w[KEY[by]];
      const s = per.get(key) || { ...Object.fromEntries(COUNTS.map((c) => [c, 0])), reports: {}, merged: {} };
      for (const c of COUNTS) s[c] += w[c] || 0;
      for (const [n, v] of Object.entries(w.reports_by_network)) s.reports[n] = (s.reports[n] || 0) + v;
      for (const [n, v] of Object.entries(w.merged_by_network)) s.merged[n] = (s.merged[n] || 0) + v;
      per.set(key, s);
    }
    const rows = [...per].map(([code, s]) => ({ code, name: names.get(code) || code, ...s, ...rates(s) }))
      .sort((a, b) => b.cases_opened + b.dispatches - a.cases_opened - a.dispatches);
    main.querySelector('#kpi-rows').innerHTML = rows.map((r) => `<tr><th scope="row">${esc(r.name)}</th><td>${r.cases_opened}</td><td>${r.cases_closed}</td>
      <td>${pct(r.closeRate)}</td><td>${pct(r.onTimeRate)}</td><td>${pct(r.reworkRate)}</td><td>${pct(r.extRate)}</td><td>${pct(r.escRate)}</td>
      <td>${pct(r.overdueRate)}</td><td>${pct(r.acceptRate)}</td><td>${pct(r.verifyRate)}</td><td>${pct(r.validRate)}</td>
      <td>${pct(r.dispatchRate)}</td><td>${r.revisits ? pct(r.satisfaction) : '—'}</td>
      <td>${Object.entries(r.reports).map(([n, v]) => `${esc(label(NETWORKS, n))} ${pct((r.merged[n] || 0) / v)}`).join('，') || '—'}</td></tr>`).join('')
      || '<tr><td colspan="15" class="muted">此时间范围内暂无考核数据</td></tr>';
    const top = rows.slice(0, 20);
    compare.setOption({
      title: { text: '结案率 / 按期结案率 / 群众满意度', textStyle: { fontSize: 14 } }, tooltip: { trigger: 'axis' }, legend: { right: 0, top: 20 },
      grid: { left: 40, right: 10, bottom: 60, top: 50 }, xAxis: { type: 'category', data: top.map((r) => r.name), axisLabel: { rotate: 40 } },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: [{ name: '结案率', type: 'bar', data: top.map((r) => +(100 * Math.min(1, r.closeRate)).toFixed(1)) },
        { name: '按期结案率', type: 'bar', data: top.map((r) => +(100 * r.onTimeRate).toFixed(1)) },
        { name: '群众满意度', type: 'bar', data: top.map((r) => +(100 * r.satisfaction).toFixed(1)) }],
    }, true);
    const byWindow = new Map();
    for (const w of answer.windows) {
      const s = byWindow.get(w.window_start) || { opened: 0, closed: 0 };
      s.opened += w.cases_opened; s.closed += w.cases_closed; byWindow.set(w.window_start, s);
    }
    const ws = [...byWindow.keys()].sort();
    trend.setOption({
      title: { text: '立案数与结案数', textStyle: { fontSize: 14 } }, tooltip: { trigger: 'axis' }, legend: { right: 0 },
      grid: { left: 40, right: 10, bottom: 60 }, xAxis: { type: 'category', data: ws.map((w) => fmtTime(w).slice(5, 16)) }, yAxis: { type: 'value' },
      series: [{ name: '立案数', type: 'line', data: ws.map((w) => byWindow.get(w).opened) }, { name: '结案数', type: 'line', data: ws.map((w) => byWindow.get(w).closed) }],
    }, true);
  }
  main.querySelector('#kpi-form').addEventListener('change', () => load().catch(() => {}));
  window.addEventListener('resize', () => { compare.resize(); trend.resize(); });
  await load();
}
