// 案件详情: facts, provenance (多网合一), the full timeline, rule, and the actions allowed now.
import { api, countdown, esc, fillNames, fmtTime, regionSpan } from './api.js';
import { ACTIONS, ACTOR, label, NETWORKS, PRIORITIES, REFUSALS, SATISFACTION, STATE_REASONS, STATES, STEPS, TIERS, TOLD } from './labels.js';
import { onLive, refusalText, showAlert } from './main.js';

function stepText(e) {
  if (e.kind === 'refusal') return `反馈被拒绝：${label(ACTIONS, e.action)}`;
  // 催办: a warning addressed to the supervisor (督办) or the verifier, not the handler.
  if (e.action === 'sla_warning' && e.record?.holder && e.center_code !== e.record.holder) return '催办';
  if (e.action === 'state') return label(STATE_REASONS, e.reason);
  return label(STEPS, e.action);
}

// Who acted (the centre whose feedback caused the step, carried as data: acted_by), then
// who was told when that is another centre. A step no centre took (a report, a timer)
// names only who was told. The target alone would credit the town's 核查 to the village.
function whoText(e) {
  const actor = e.acted_by ? `<span class="actor" data-actor="${esc(e.acted_by)}">${ACTOR}：${regionSpan(e.acted_by)}</span>` : '';
  const told = e.center_code && e.center_code !== e.acted_by ? ` <span class="muted told">${TOLD}：${regionSpan(e.center_code)}</span>` : '';
  return actor + told;
}

function provenance(timeline) {
  const rows = [];
  let events = [], networks = [];
  for (const e of timeline) {
    if (e.kind !== 'disposition' || !['dispatch', 'merge'].includes(e.action)) continue;
    const rec = e.record;
    const added = (rec.events || []).filter((id) => !events.includes(id));
    const newNets = (rec.networks || []).filter((n) => !networks.includes(n));
    if (!added.length) continue;
    rows.push({ at: e.at, ids: added, networks: newNets.length ? newNets : null, reason: e.action === 'dispatch' ? '首报立案' : e.reason });
    events = rec.events || events;
    networks = rec.networks || networks;
  }
  return rows;
}

let unsubscribe = () => {};

export async function renderCase(main, caseId) {
  const [c, allowed] = await Promise.all([
    api(`/v1/cases/${encodeURIComponent(caseId)}`),
    api(`/v1/cases/${encodeURIComponent(caseId)}/actions`),
  ]);
  const last = [...c.timeline].reverse().find((e) => e.kind === 'disposition')?.record || {};
  const cd = countdown(c.closed ? null : c.deadline);
  const prov = provenance(c.timeline);
  main.innerHTML = `
    <p><a href="#/queue">← 返回待办</a></p>
    <h1>${esc(c.title || c.case_id)} <span class="state state-${esc(c.state)}" id="case-state">${esc(label(STATES, c.state))}</span></h1>
    <div class="case-grid">
      <section aria-labelledby="facts-h"><h2 id="facts-h">案件信息</h2>
        <dl class="facts">
          <dt>案件编号</dt><dd>${esc(c.case_id)}</dd>
          <dt>类别</dt><dd>${esc(c.category || '—')}（大类 ${esc((c.category || '').slice(0, 4) || '—')}，小类 ${esc(c.category || '—')}）</dd>
          <dt>紧急程度</dt><dd><span class="prio prio-${esc(c.priority)}">${esc(label(PRIORITIES, c.priority))}</span></dd>
          <dt>责任部门</dt><dd>${esc(c.department || '—')}</dd>
          <dt>承办中心</dt><dd id="case-holder" data-code="${esc(c.holder)}">${regionSpan(c.holder)}（${esc(label(TIERS, c.tier))}）</dd>
          ${c.supervisor ? `<dt>督办中心</dt><dd id="case-supervisor" data-code="${esc(c.supervisor)}">${regionSpan(c.supervisor)}</dd>` : ''}
          ${c.verifier ? `<dt>核查中心</dt><dd id="case-verifier" data-code="${esc(c.verifier)}">${regionSpan(c.verifier)}</dd>` : ''}
          <dt>期限</dt><dd>${fmtTime(c.deadline)} <span class="${c.overdue ? 'sla-overdue' : cd.cls}">${esc(c.closed ? '' : cd.text)}</span></dd>
          <dt>发生地</dt><dd>${regionSpan(c.region_code)}（${esc(c.region_code)}）${c.grid_code ? `，网格 ${esc(c.grid_code)}` : ''}${c.lat != null ? `，坐标 ${c.lat.toFixed(5)}, ${c.lon.toFixed(5)}` : ''}</dd>
          <dt>路由规则</dt><dd>${esc(last.rule || '—')}（规则版本 ${esc(last.rules_version || '—')}）</dd>
        </dl>
      </section>
      <section aria-labelledby="act-h"><h2 id="act-h">可办理操作</h2>
        <form id="act" class="actions">
          <label>办理意见 <input name="note" maxlength="500" placeholder="可选" /></label>
          ${allowed.actions.includes('extend') ? '<label>延期至 <input name="until" type="datetime-local" /></label>' : ''}
          ${allowed.actions.includes('revisit') ? `<label>回访结果 <select name="satisfaction">${Object.entries(SATISFACTION).map(([v, t]) => `<option value="${v}">${esc(t)}</option>`).join('')}</select></label>` : ''}
          ${allowed.actions.includes('return') ? `<label>退回给 <select name="target">${allowed.return_targets.map((t) => `<option value="${t.code}">${esc(t.name)}（${esc(label(TIERS, t.tier))}）</option>`).join('')}</select></label>` : ''}
          <div class="buttons">${allowed.actions.map((a) => `<button type="button" data-action="${a}">${esc(label(ACTIONS, a))}</button>`).join('') || '<span class="muted">本中心当前无可办理操作</span>'}</div>
          <p id="act-result" role="status" aria-live="polite"></p>
        </form>
      </section>
    </div>
    <section aria-labelledby="prov-h"><h2 id="prov-h">多网合一：合并的上报（${c.events} 条）</h2>
      <table><thead><tr><th scope="col">时间</th><th scope="col">上报编号</th><th scope="col">来源网络</th><th scope="col">说明</th></tr></thead>
      <tbody>${prov.map((p) => `<tr><td>${fmtTime(p.at)}</td><td>${p.ids.map(esc).join('、')}</td><td>${p.networks ? p.networks.map((n) => esc(label(NETWORKS, n))).join('、') : '（已有网络）'}</td><td>${esc(p.reason || '')}</td></tr>`).join('')}</tbody></table>
      <p class="muted">来源网络：${c.networks.map((n) => esc(label(NETWORKS, n))).join('、')}</p>
    </section>
    <section aria-labelledby="tl-h"><h2 id="tl-h">办理过程</h2>
      <ol class="timeline" id="timeline">${c.timeline.map((e) => `
        <li class="tl-${esc(e.kind)} tl-${esc(e.action)}"><time>${fmtTime(e.at)}</time>
          <strong>${esc(stepText(e))}</strong> ${whoText(e)}
          ${e.kind === 'refusal' ? `<div class="error">原因：${esc(label(REFUSALS, e.reason))}（${esc(e.reason)}）${esc(e.record?.detail || '')}</div>` : e.reason && e.action !== 'state' ? `<div>${esc(e.reason)}</div>` : ''}
          ${e.record?.state && e.kind === 'disposition' ? `<span class="tag">${esc(label(STATES, e.record.state))}</span>` : ''}
        </li>`).join('')}</ol>
    </section>`;

  fillNames(main);
  main.querySelectorAll('[data-action]').forEach((btn) => btn.addEventListener('click', async () => {
    const form = main.querySelector('#act');
    const f = new FormData(form);
    const body = { action: btn.dataset.action };
    if (f.get('note')) body.note = f.get('note');
    if (body.action === 'extend') {
      if (!f.get('until')) { showAlert('延期请先选择日期'); return; }
      body.until = new Date(f.get('until')).toISOString();
    }
    if (body.action === 'return') body.target_center = f.get('target');
    if (body.action === 'revisit') body.satisfaction = f.get('satisfaction');
    const out = main.querySelector('#act-result');
    out.textContent = `正在提交：${label(ACTIONS, body.action)}…`;
    main.querySelectorAll('[data-action]').forEach((b) => { b.disabled = true; });
    try {
      const res = await api(`/v1/cases/${encodeURIComponent(caseId)}/feedback?wait=10`, { method: 'POST', body });
      if (res.status === 'refused') {
        const text = `${label(ACTIONS, body.action)}被拒绝：${label(REFUSALS, res.reason)}（${res.reason}）${res.detail || ''}`;
        showAlert(text);
        out.textContent = text;
      } else {
        out.textContent = res.status === 'applied' ? `已办理：${label(ACTIONS, body.action)}` : '已提交，等待处理结果';
      }
      await renderCase(main, caseId);
      if (res.status === 'refused') main.querySelector('#act-result').textContent = out.textContent;
    } catch (err) {
      const text = refusalText(err);
      showAlert(text);
      out.textContent = text;
      main.querySelectorAll('[data-action]').forEach((b) => { b.disabled = false; });
    }
  }));
  unsubscribe();
  unsubscribe = onLive((entry) => { if (entry.case_id === caseId) renderCase(main, caseId).catch(() => {}); });
}
