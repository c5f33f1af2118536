// The console talks only to gridflow's /v1 API (docs/api.md) with the centre's bearer token.
import { fetchEventSource } from '@microsoft/fetch-event-source';

const KEY = 'gridflow.token';
export const session = {
  get token() { return sessionStorage.getItem(KEY); },
  set token(value) { if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY); },
  me: null,
  calendar: [],
};

export class ApiError extends Error {
  constructor(status, reason, detail) {
    super(detail || reason);
    this.status = status;
    this.reason = reason;
  }
}

export async function api(path, { method = 'GET', body, token = session.token } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data.reason || String(res.status), data.detail);
  return data;
}

// Server-Sent Events need the Authorization header, which EventSource cannot send:
// fetch-event-source reads the stream through fetch and reconnects with Last-Event-ID.
export function follow(code, onEntry, onState) {
  const ctrl = new AbortController();
  fetchEventSource(`/v1/centres/${code}/stream`, {
    headers: { Authorization: `Bearer ${session.token}` },
    signal: ctrl.signal,
    openWhenHidden: true,
    async onopen(res) {
      if (!res.ok) throw new ApiError(res.status, 'stream', '实时推送连接失败');
      onState(true);
    },
    onmessage(msg) {
      if (msg.event === 'timeline' && msg.data) onEntry(JSON.parse(msg.data));
    },
    onerror(err) {
      onState(false);
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) throw err;
      return 2000; // retry in 2 s, resuming after the last event id
    },
    onclose() { onState(false); },
  }).catch(() => onState(false));
  return () => ctrl.abort();
}

// Working time left until `deadline` (ms): the overlap of [now, deadline] with the working
// periods the API's calendar gave. Wall time when the span holds no working period at all
// (a wall-clock SLA, or compressed demo deadlines).
export function countdown(deadline, now = Date.now()) {
  if (!deadline) return { text: '无时限', cls: 'sla-none' };
  const end = Date.parse(deadline);
  if (end <= now) return { text: `已超期 ${duration(now - end)}`, cls: 'sla-overdue' };
  let working = 0;
  for (const p of session.calendar) {
    const s = Math.max(now, p.start), e = Math.min(end, p.end);
    if (e > s) working += e - s;
  }
  const warn = end - now < 30 * 60 * 1000;
  if (working > 0) return { text: `剩余 ${duration(working)}（工作时间）`, cls: warn ? 'sla-warned' : 'sla-normal' };
  return { text: `剩余 ${duration(end - now)}（自然时间）`, cls: warn ? 'sla-warned' : 'sla-normal' };
}

export function duration(ms) {
  const min = Math.floor(ms / 60000);
  if (min < 1) return `${Math.max(0, Math.floor(ms / 1000))} 秒`;
  const h = Math.floor(min / 60), m = min % 60;
  if (h >= 24) return `${Math.floor(h / 24)} 天 ${h % 24} 小时`;
  return h ? `${h} 小时 ${m} 分` : `${m} 分`;
}

export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '—');
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

// Centre names: a region's code is shown as <span data-region=code> and named once known.
const names = new Map();
export const regionSpan = (code) => `<span data-region="${esc(code)}">${esc(names.get(code) || code)}</span>`;
export function fillNames(root) {
  for (const r of [session.me?.region, ...(session.me?.above || [])]) if (r) names.set(r.code, r.name);
  const wanted = new Set([...root.querySelectorAll('[data-region]')].map((el) => el.dataset.region));
  for (const code of wanted) {
    const known = names.get(code);
    if (known) { paint(root, code, known); continue; }
    if (names.has(code)) continue; // asked already
    names.set(code, null);
    api(`/v1/regions/${code}`).then((r) => { names.set(code, r.name); paint(document, code, r.name); }).catch(() => {});
  }
}
function paint(root, code, name) {
  root.querySelectorAll(`[data-region="${code}"]`).forEach((el) => { el.textContent = name; });
}
