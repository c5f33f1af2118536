// The console's shell: sign-in, header, hash routes, the live stream shared by every screen.
import './style.css';
import { api, ApiError, esc, follow, session } from './api.js';
import { label, REFUSALS } from './labels.js';
import { renderQueue } from './queue.js';
import { renderCase } from './case.js';
import { renderMap } from './map.js';
import { renderKpi } from './kpi.js';
import { renderSilences } from './silences.js';

const main = document.getElementById('main');
const listeners = new Set();
let stopStream = null;
let ticker = null;

// Screens subscribe to live timeline entries; the subscription ends with the screen.
export function onLive(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export function every(ms, fn) { clearInterval(ticker); ticker = setInterval(fn, ms); }

export function showAlert(text) {
  const el = document.getElementById('alert');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(showAlert.timer);
  showAlert.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

export function refusalText(err) {
  if (err instanceof ApiError) return `${label(REFUSALS, err.reason)}（${err.reason}）：${err.message}`;
  return String(err);
}

// 催办 addressed to this centre for a case another centre handles (it supervises it under
// 督办, or verifies it): a banner, so the supervising side sees the deadline coming.
function urge(entry) {
  const rec = entry.record || {};
  const me = session.me?.region?.code;
  if (entry.action !== 'sla_warning' || entry.center_code !== me || !rec.holder || rec.holder === me) return;
  const role = rec.supervisor === me ? '督办' : '核查';
  showAlert(`催办（${role}）：${rec.title || entry.case_id} 即将到期`);
}

// A critical case arriving or escalated here: a banner on every screen and a short tone.
function cue(entry) {
  urge(entry);
  const rec = entry.record || {};
  if (rec.priority !== 'critical' || !['dispatch', 'escalate'].includes(entry.action)) return;
  showAlert(`特急案件：${rec.title || entry.case_id}（点击待办查看）`);
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
  } catch { /* no audio device: the banner is the cue */ }
}

function renderLogin(message = '') {
  document.getElementById('top').hidden = true;
  main.innerHTML = `
    <section class="login" aria-labelledby="login-title">
      <h1 id="login-title">指挥中心登录</h1>
      <p>请输入本中心的访问令牌（由运维通过 <code>gridflow api token</code> 发放）。</p>
      <form id="login-form">
        <label for="token">访问令牌</label>
        <input id="token" name="token" type="password" autocomplete="off" required autofocus />
        <button type="submit">登录</button>
        <p id="login-error" class="error" role="alert">${esc(message)}</p>
      </form>
    </section>`;
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = document.getElementById('token').value.trim();
    try {
      session.me = await api('/v1/me', { token });
      session.token = token;
      await start();
    } catch (err) {
      const msg = err instanceof ApiError && err.status === 401 ? '令牌无效，登录被拒绝' : refusalText(err);
      document.getElementById('login-error').textContent = msg;
    }
  });
}

async function start() {
  if (!session.me) session.me = await api('/v1/me');
  const me = session.me;
  if (me.role !== 'centre') {
    session.token = null;
    renderLogin('此令牌不属于指挥中心，不能登录控制台');
    return;
  }
  const cal = await api('/v1/calendar?days=21');
  session.calendar = cal.periods.map((p) => ({ start: Date.parse(p.start), end: Date.parse(p.end) }));
  document.getElementById('top').hidden = false;
  document.getElementById('centre-name').textContent = me.centre_name;
  document.getElementById('centre-tier').textContent = me.tier_name;
  if (stopStream) stopStream();
  const live = document.getElementById('live');
  stopStream = follow(me.region.code, (entry) => { cue(entry); listeners.forEach((fn) => fn(entry)); }, (up) => {
    live.textContent = up ? '● 实时' : '○ 重连中';
    live.className = up ? 'live up' : 'live';
  });
  if (!location.hash || location.hash === '#/login') location.hash = '#/queue';
  else route();
}

function route() {
  if (!session.token || !session.me) { renderLogin(); return; }
  listeners.clear();
  clearInterval(ticker);
  const [, screen, arg] = location.hash.split('/');
  document.querySelectorAll('[data-nav]').forEach((a) => {
    if (a.dataset.nav === screen) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  const views = { queue: renderQueue, case: renderCase, map: renderMap, kpi: renderKpi, silences: renderSilences };
  const view = views[screen] || renderQueue;
  Promise.resolve(view(main, decodeURIComponent(arg || ''))).catch((err) => {
    if (err instanceof ApiError && err.status === 401) { signOut('登录已失效，请重新登录'); return; }
    main.innerHTML = `<p class="error" role="alert">${esc(refusalText(err))}</p>`;
  });
  main.focus({ preventScroll: true });
}

function signOut(message = '') {
  session.token = null;
  session.me = null;
  if (stopStream) stopStream();
  stopStream = null;
  location.hash = '#/login';
  renderLogin(message);
}

document.getElementById('signout').addEventListener('click', () => signOut());
window.addEventListener('hashchange', route);
if (session.token) start().catch(() => signOut('登录已失效，请重新登录'));
else renderLogin();
