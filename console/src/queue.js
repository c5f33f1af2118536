// 待办: the centre's open cases by deadline, live countdown, filters, search, live updates.
import { api, countdown, esc, fillNames, fmtTime, regionSpan, session } from './api.js';
import { label, NETWORKS, PRIORITIES, STATES, TIERS } from './labels.js';
import { every, onLive } from './main.js';

let groups = null; // 大类 from the Open311 service list: [{prefix, name}]

async function categoryGroups() {
  if (groups) return groups;
  const res = await fetch('/open311/v2/services.json');
  const services = res.ok ? await res.json() : [];
  const seen = new Map();
  for (const s of services) seen.set(s.service_code.slice(0, 4), s.group);
  groups = [...seen].map(([prefix, name]) => ({ prefix, name }));
  return groups;
}

const options = (table) => Object.entries(table).map(([v, t]) => `<option value="${v}">${esc(t)}</option>`).join('');

export async function renderQueue(main) {
  const me = session.me;
  const cats = await categoryGroups();
  main.innerHTML = `
    <h1 class="sr-only">待办</h1>
    <form id="filters" class="filters" role="search" aria-label="筛选待办">
      ${me.supervising ? `<fieldset class="scope"><legend class="sr-only">范围</legend>
        <label><input type="radio" name="scope" value="all" checked /> 全部</label>
        <label><input type="radio" name="scope" value="mine" /> 本中心承办</label>
        <label><input type="radio" name="scope" value="below" /> 下级承办</label></fieldset>` : ''}
      <label>状态 <select name="state"><option value="open">全部未结</option>${options(STATES)}</select></label>
      <label>类别 <select name="category"><option value="">全部</option>${cats.map((c) => `<option value="${c.prefix}">${esc(c.name)}</option>`).join('')}</select></label>
      <label>来源 <select name="network"><option value="">全部</option>${options(NETWORKS)}</select></label>
      ${me.supervising ? `<label>层级 <select name="tier"><option value="">全部</option>${options(TIERS)}</select></label>` : ''}
      <label>搜索 <input name="q" type="search" placeholder="标题关键词或案件编号" /></label>
    </form>
    <p id="queue-count" class="muted" aria-live="polite"></p>
    <table class="queue" aria-describedby="queue-count">
      <thead><tr><th scope="col">期限</th><th scope="col">剩余时间</th><th scope="col">标题</th><th scope="col">类别</th>
        <th scope="col">紧急程度</th><th scope="col">状态</th><th scope="col">承办</th><th scope="col">来源</th></tr></thead>
      <tbody id="queue-rows"></tbody>
    </table>`;
  const form = main.querySelector('#filters');
  const fresh = new Set();
  let cases = [];

  async function load() {
    const f = new FormData(form);
    const params = new URLSearchParams({ limit: '200' });
    for (const k of ['state', 'category', 'tier', 'q']) if (f.get(k)) params.set(k, f.get(k));
    const page = await api(`/v1/centres/${me.region.code}/cases?${params}`);
    const scope = f.get('scope') || 'all';
    const network = f.get('network');
    cases = page.cases.filter((c) => (scope === 'all' || (scope === 'mine') === (c.holder === me.region.code))
      && (!network || c.networks.includes(network)));
    draw();
  }

  function draw() {
    const rows = main.querySelector('#queue-rows');
    if (!rows) return;
    main.querySelector('#queue-count').textContent = `共 ${cases.length} 件`;
    rows.innerHTML = cases.map((c) => {
      const cd = countdown(c.closed ? null : c.deadline);
      const cls = [c.overdue ? 'sla-overdue' : cd.cls, c.priority === 'critical' ? 'critical' : '', fresh.has(c.case_id) ? 'fresh' : ''].join(' ');
      return `<tr class="${cls}" data-case="${esc(c.case_id)}" data-state="${esc(c.state)}">
        <td>${fmtTime(c.deadline)}</td><td class="countdown" data-deadline="${esc(c.deadline || '')}">${c.closed ? '—' : esc(cd.text)}</td>
        <td><a href="#/case/${encodeURIComponent(c.case_id)}">${esc(c.title || c.case_id)}</a></td>
        <td>${esc(c.category || '—')}</td><td><span class="prio prio-${esc(c.priority)}">${esc(label(PRIORITIES, c.priority))}</span></td>
        <td><span class="state state-${esc(c.state)}">${esc(label(STATES, c.state))}</span></td>
        <td>${regionSpan(c.holder)}</td>
        <td>${c.networks.map((n) => esc(label(NETWORKS, n))).join('、')}</td></tr>`;
    }).join('') || '<tr><td colspan="8" class="muted">暂无待办</td></tr>';
    fillNames(rows);
  }

  let pending = null;
  const reload = () => { clearTimeout(pending); pending = setTimeout(() => load().catch(() => {}), 300); };
  form.addEventListener('input', reload);
  form.addEventListener('submit', (e) => { e.preventDefault(); reload(); });
  onLive((entry) => {
    fresh.add(entry.case_id);
    reload();
  });
  every(1000, () => {
    main.querySelectorAll('td.countdown').forEach((td) => {
      if (!td.dataset.deadline) return;
      const cd = countdown(td.dataset.deadline);
      td.textContent = cd.text;
      const tr = td.parentElement;
      tr.classList.remove('sla-normal', 'sla-warned', 'sla-overdue', 'sla-none');
      tr.classList.add(cd.cls);
    });
  });
  await load();
}
