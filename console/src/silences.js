// 静默（屏蔽）: the known matters (已知事项) in the centre's scope: list, create, extend, expire
// over /v1/silences (docs/silences.md). A silence's matching reports join one known-matter
// case held by its centre instead of opening cases or escalating.
import { api, esc, fillNames, fmtTime, regionSpan, session } from './api.js';
import { label, NETWORKS, SILENCE_KINDS, SILENCE_STATES } from './labels.js';
import { refusalText } from './main.js';

// Leading digits a centre shares with every region below it (the city: none).
const SUBTREE = { city: 0, county: 6, town: 9, village: 12 };
const HOUR = 3600;

const options = (table, selected) =>
  Object.entries(table).map(([v, t]) => `<option value="${v}"${v === selected ? ' selected' : ''}>${esc(t)}</option>`).join('');

// What a silence matches, in the duty officer's words (HTML: every value escaped).
function matchers(m) {
  const parts = [];
  if (m.categories?.length) parts.push(`类别 ${esc(m.categories.join('、'))}`);
  if (m.region_prefix) parts.push(`区域编码 ${esc(m.region_prefix)}*`);
  if (m.networks?.length) parts.push(`来源 ${m.networks.map((n) => esc(label(NETWORKS, n))).join('、')}`);
  if (m.text?.length) parts.push(`关键词 ${esc(m.text.join('、'))}`);
  if (m.near) parts.push(`${esc(m.near.radius_m)} 米内（${esc(m.near.lat.toFixed(5))}, ${esc(m.near.lon.toFixed(5))}）`);
  return parts.join('；') || '—';
}

const words = (text) => text.split(/[,，、\s]+/).map((w) => w.trim()).filter(Boolean);

export async function renderSilences(main) {
  const me = session.me;
  const prefix = me.region.code.slice(0, SUBTREE[me.region.tier] ?? 12);
  const mayManage = (s) => s.center_code.startsWith(prefix);
  main.innerHTML = `
    <h1>静默（屏蔽）· 已知事项</h1>
    <p class="muted">施工许可、故障抢修、登记的公共活动等已知事项：时间窗内匹配的上报并入静默承办中心的一件“已知事项”案件，不另立案、不升级，照常计数。生效于写入 5 秒之后。</p>
    <div class="filters">
      <label>状态 <select id="silence-state">${options({ current: '生效中及未开始', active: '生效中', pending: '未开始', expired: '已结束', all: '全部' }, 'current')}</select></label>
      <span id="silence-count" class="muted" aria-live="polite"></span>
    </div>
    <table class="silences" aria-describedby="silence-count">
      <thead><tr><th scope="col">编号</th><th scope="col">状态</th><th scope="col">类型</th><th scope="col">承办中心</th>
        <th scope="col">开始</th><th scope="col">结束</th><th scope="col">匹配条件</th><th scope="col">登记人</th>
        <th scope="col">说明</th><th scope="col">操作</th></tr></thead>
      <tbody id="silence-rows"></tbody>
    </table>
    <p id="silence-message" role="status" aria-live="polite"></p>
    <section aria-labelledby="silence-new-title">
      <h2 id="silence-new-title">新建静默</h2>
      <form id="silence-form" class="silence-form">
        <label>类型 <select name="kind">${options(SILENCE_KINDS, 'construction')}</select></label>
        <label>承办中心编码 <input name="center_code" value="${esc(me.region.code)}" pattern="[0-9]{12}" required /></label>
        <label>类别（代码或大类，多个用逗号分隔） <input name="categories" placeholder="SJ03" /></label>
        <label>区域前缀 <input name="region_prefix" pattern="[0-9]{2,12}" placeholder="${esc(prefix || '50')}" /></label>
        <label>关键词 <input name="text" placeholder="施工 围挡" /></label>
        <fieldset><legend>位置范围（可选）</legend>
          <label>纬度 <input name="lat" type="number" step="any" min="-90" max="90" /></label>
          <label>经度 <input name="lon" type="number" step="any" min="-180" max="180" /></label>
          <label>半径（米） <input name="radius_m" type="number" min="1" step="1" /></label>
        </fieldset>
        <div class="duration"><label>时长 <input name="amount" type="number" min="1" value="30" required /></label>
          <label>单位 <select name="unit">${options({ 86400: '天', 3600: '小时' }, '86400')}</select></label></div>
        <label class="wide">说明（许可证号、工单号或活动登记） <input name="comment" required placeholder="地铁 18 号线施工许可 2026-118" /></label>
        <div class="buttons"><button type="submit">新建静默</button></div>
        <p id="silence-form-error" class="error" role="alert"></p>
      </form>
    </section>`;
  const rowsEl = main.querySelector('#silence-rows');
  const stateEl = main.querySelector('#silence-state');
  const message = main.querySelector('#silence-message');
  let silences = [];

  async function load() {
    silences = await api(`/v1/silences?state=${stateEl.value}`);
    main.querySelector('#silence-count').textContent = `共 ${silences.length} 项`;
    rowsEl.innerHTML = silences.map(({ silence: s, state }) => {
      const open = state !== 'expired' && mayManage(s);
      return `<tr data-silence="${esc(s.silence_id)}" data-state="${esc(state)}" class="silence-${esc(state)}">
        <td><code>${esc(s.silence_id)}</code></td>
        <td><span class="state silence-state-${esc(state)}">${esc(label(SILENCE_STATES, state))}</span></td>
        <td>${esc(label(SILENCE_KINDS, s.kind))}</td><td>${regionSpan(s.center_code)}</td>
        <td>${fmtTime(s.starts_at)}</td><td>${fmtTime(s.ends_at)}</td><td>${matchers(s.matchers)}</td>
        <td>${esc(s.author)}${s.revision ? `<br><span class="muted">${esc(s.change === 'expired' ? '解除' : '延长')}：${esc(s.changed_by)}</span>` : ''}</td>
        <td>${esc(s.comment)}</td>
        <td>${open ? `<form class="silence-change" data-id="${esc(s.silence_id)}">
            <label class="sr-only" for="note-${esc(s.silence_id)}">说明</label>
            <input id="note-${esc(s.silence_id)}" name="note" placeholder="说明（可选）" />
            <label>延长 <input name="days" type="number" min="1" value="7" aria-label="延长天数" /> 天</label>
            <button type="submit" name="do" value="extend">延长</button>
            <button type="submit" name="do" value="expire" class="danger">解除</button></form>` : '—'}</td></tr>`;
    }).join('') || '<tr><td colspan="10" class="muted">暂无静默</td></tr>';
    fillNames(rowsEl);
  }

  rowsEl.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const id = form.dataset.id;
    const action = ev.submitter?.value || 'extend';
    const note = form.elements.note.value.trim();
    const body = action === 'extend' ? { duration_s: Number(form.elements.days.value) * 86400 } : {};
    if (note) body.comment = note;
    form.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    let done;
    try {
      done = await api(`/v1/silences/${encodeURIComponent(id)}/${action}`, { method: 'POST', body });
    } catch (err) {
      message.className = 'error';
      message.textContent = refusalText(err);
      form.querySelectorAll('button').forEach((b) => { b.disabled = false; });
      return;
    }
    const said = action === 'extend'
      ? `已延长静默 ${id} 至 ${fmtTime(done.silence.ends_at)}`
      : `已解除静默 ${id}：5 秒后匹配的上报恢复正常立案`;
    await showDone(said);
  });

  // The list first, then the word that it is done: a duty officer (or a test) reading the
  // message finds the table already showing the change. A list that fails to reload says
  // so beside what was done, so nobody makes the same silence twice.
  async function showDone(said) {
    try {
      await load();
    } catch (err) {
      message.className = 'error';
      message.textContent = `${said}；列表刷新失败（${refusalText(err)}），请稍后刷新`;
      return;
    }
    message.className = '';
    message.textContent = said;
  }

  const form = main.querySelector('#silence-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const m = { categories: words(f.categories.value), text: words(f.text.value) };
    if (f.region_prefix.value.trim()) m.region_prefix = f.region_prefix.value.trim();
    if (f.lat.value && f.lon.value && f.radius_m.value) {
      m.near = { lat: Number(f.lat.value), lon: Number(f.lon.value), radius_m: Number(f.radius_m.value) };
    }
    const body = {
      kind: f.kind.value,
      center_code: f.center_code.value.trim(),
      matchers: m,
      duration_s: Number(f.amount.value) * Number(f.unit.value || HOUR),
      comment: f.comment.value.trim(),
    };
    const error = main.querySelector('#silence-form-error');
    error.textContent = '';
    let made;
    try {
      made = await api('/v1/silences', { method: 'POST', body });
    } catch (err) {
      error.textContent = refusalText(err);
      return;
    }
    form.reset();
    f.center_code.value = me.region.code;
    await showDone(`已新建静默 ${made.silence.silence_id}（${label(SILENCE_KINDS, made.silence.kind)}），至 ${fmtTime(made.silence.ends_at)}`);
  });
  stateEl.addEventListener('change', () => load().catch((err) => { message.textContent = refusalText(err); }));
  await load();
}
