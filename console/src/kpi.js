// 考核: per county and window, the KPIs of docs/kpis.md as numbers and small charts.
import { api, esc, fmtTime, session } from './api.js';
import { label, NETWORKS } from './labels.js';
import { echarts } from './map.js';

const pct = (x) => `${(100 * (x || 0)).toFixed(1)}%`;

export async function renderKpi(main) {
  const me = session.me;
  main.innerHTML = `
    <h1 class="sr-only">考核</h1>
    <form class="filters" id="kpi-form" aria-label="考核窗口">
      <label>窗口 <select name="window"><option value="1h">按小时</option><option value="1m">按分钟</option></select></label>
      <label>时间范围 <select name="span"><option value="6">最近 6 小时</option><option value="24" selected>最近 24 小时</option><option value="168">最近 7 天</option></select></label>
    </form>
    <div class="kpi-charts"><div id="kpi-compare" class="chart" role="img" aria-label="各区县结案率对比"></div>
      <div id="kpi-trend" class="chart" role="img" aria-label="立案与结案趋势"></div></div>
    <table class="kpi"><thead><tr><th scope="col">区县</th><th scope="col">立案数</th><th scope="col">结案数</th><th scope="col">结案率</th>
      <th scope="col">按期结案率</th><th scope="col">返工率</th><th scope="col">延期率</th><th scope="col">升级率</th><th scope="col">合并率（按网络）</th></tr></thead>
      <tbody id="kpi-rows"></tbody></table>`;
  const compare = echarts.init(main.querySelector('#kpi-compare'));
  const trend = echarts.init(main.querySelector('#kpi-trend'));
  const names = new Map();
  const scopeRegion = me.region.tier === 'city' ? me.region.code : (me.region.tier === 'county' ? me.region.code : me.above.find((r) => r.tier === 'county').code);
  if (me.region.tier === 'city') for (const r of (await api(`/v1/regions/${me.region.code}`)).children) names.set(r.code, r.name);
  else names.set(scopeRegion, (me.region.tier === 'county' ? me.region : me.above.find((r) => r.tier === 'county')).name);

  async function load() {
    const f = new FormData(main.querySelector('#kpi-form'));
    const from = new Date(Date.now() - Number(f.get('span')) * 3600 * 1000).toISOString();
    const params = new URLSearchParams({ window: f.get('window'), from });
    if (me.region.tier !== 'city') params.set('county', scopeRegion);
    const answer = await api(`/v1/kpis?${params}`);
    const per = new Map();
    for (const w of answer.windows) {
      const s = per.get(w.region_code) || { opened: 0, closed: 0, onTime: 0, reworks: 0, ext: 0, esc: 0, reports: {}, merged: {} };
      s.opened += w.cases_opened; s.closed += w.cases_closed; s.onTime += w.closed_on_time;
      s.reworks += w.reworks; s.ext += w.extensions; s.esc += w.escalations;
      for (const [n, v] of Object.entries(w.reports_by_network)) s.reports[n] = (s.reports[n] || 0) + v;
      for (const [n, v] of Object.entries(w.merged_by_network)) s.merged[n] = (s.merged[n] || 0) + v;
      per.set(w.region_code, s);
    }
    // Rates from the summed counts, as docs/kpis.md defines them (never an average of rates).
    const rows = [...per].map(([code, s]) => ({
      code, name: names.get(code) || code, ...s,
      closeRate: s.opened ? s.closed / s.opened : 0, onTimeRate: s.closed ? s.onTime / s.closed : 0,
      reworkRate: s.closed ? s.reworks / s.closed : 0, extRate: s.opened ? s.ext / s.opened : 0, escRate: s.opened ? s.esc / s.opened : 0,
    })).sort((a, b) => b.opened - a.opened);
    main.querySelector('#kpi-rows').innerHTML = rows.map((r) => `<tr><th scope="row">${esc(r.name)}</th><td>${r.opened}</td><td>${r.closed}</td>
      <td>${pct(r.closeRate)}</td><td>${pct(r.onTimeRate)}</td><td>${pct(r.reworkRate)}</td><td>${pct(r.extRate)}</td><td>${pct(r.escRate)}</td>
      <td>${Object.entries(r.reports).map(([n, v]) => `${esc(label(NETWORKS, n))} ${pct((r.merged[n] || 0) / v)}`).join('，')}</td></tr>`).join('')
      || '<tr><td colspan="9" class="muted">此时间范围内暂无考核数据</td></tr>';
    compare.setOption({
      title: { text: '结案率 / 按期结案率', textStyle: { fontSize: 14 } }, tooltip: { trigger: 'axis' }, legend: { right: 0 },
      grid: { left: 40, right: 10, bottom: 60 }, xAxis: { type: 'category', data: rows.map((r) => r.name), axisLabel: { rotate: 40 } },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: [{ name: '结案率', type: 'bar', data: rows.map((r) => +(100 * r.closeRate).toFixed(1)) },
        { name: '按期结案率', type: 'bar', data: rows.map((r) => +(100 * r.onTimeRate).toFixed(1)) }],
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
