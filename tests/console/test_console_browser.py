"""The console in a real browser: Debian's chromium driven by Playwright, against
``gridflow api`` and a worker on the embedded broker.

A village centre sees a case arrive live, accepts and resolves it; the town verifies and
closes it; state and timeline change on screen; the map draws Chongqing's counties and the
case's point; a wrong token is refused. Screenshots go to docs/screenshots/ (the README
shows one). Skips, saying why, where chromium or the built console is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_harness import TOKENS, ApiProcess
from harness import Deployment, WorkerProcess, wait_until

from gridflow.api.console import CONSOLE_DIST

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
VILLAGE = "500103001003"
TOWN = "500103001000"
#: Playwright's own browser download cannot work here: Debian's chromium, these flags.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser(api: ApiProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # After ``api``: Playwright's sync API keeps an event loop running in this thread,
    # and the deployment's set-up uses asyncio.run.
    executable = _chromium()
    if executable is None:
        pytest.skip("Debian's chromium is not installed (deploy/install-tools.sh installs it)")
    if not (CONSOLE_DIST / "index.html").is_file():
        pytest.skip("the console is not built: run 'make console' (needs Node 20.19+ and npm)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1366, "height": 768},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(WAIT_MS)
        yield context
        context.close()


@pytest.fixture(scope="module")
def api(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    dep = Deployment(kafka_bootstrap, tmp_path_factory.mktemp("console"))
    dep.create_topics()
    worker = WorkerProcess(dep).start().wait_ready()
    a = ApiProcess(dep).start().wait_ready()
    yield a
    a.stop()
    worker.stop()


def sign_in(context: Any, api: ApiProcess, token: str, hash_: str = "") -> Any:
    page = context.new_page()  # a tab of its own: the token lives in sessionStorage
    page.goto(f"{api.url}/console/{hash_}")
    page.fill("#token", token)
    page.press("#token", "Enter")  # keyboard, not the mouse
    page.wait_for_selector("#top:not([hidden])")
    return page


def report(api: ApiProcess, event_id: str, **extra: Any) -> str:
    event = {
        "event_id": event_id,
        "source_network": "chengguan",
        "reported_at": datetime.now(UTC).isoformat(),
        "region_code": VILLAGE,
        "location": {"lat": 29.5565, "lon": 106.5735},
        "title": "菜市场旁垃圾堆积无人清运",
        "category": "SJ0102",
        **extra,
    }
    with httpx.Client(base_url=api.url, timeout=15) as http:
        r = http.post("/v1/events", json=event, headers={"Authorization": "Bearer tok-app"})
        assert r.status_code == 202, r.text

        def case_id() -> str | None:
            found = http.get(
                f"/v1/events/{event_id}", headers={"Authorization": "Bearer tok-village"}
            )
            return found.json()["case_id"] if found.status_code == 200 else None

        return str(wait_until(case_id, 30, f"a case for {event_id}", interval=0.2))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_a_wrong_token_is_refused(browser: Any, api: ApiProcess) -> None:
    page = browser.new_page()
    page.goto(f"{api.url}/console/")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:has-text('令牌无效')")
    assert page.is_hidden("#top")
    shot(page, "login-refused")
    page.close()


def test_village_accepts_and_resolves_town_verifies_and_closes(
    browser: Any, api: ApiProcess
) -> None:
    village = sign_in(browser, api, TOKENS["village"][0])
    assert village.inner_text("#centre-name").endswith("综治中心")
    assert village.inner_text("#centre-tier") == "村（社区）级"
    village.wait_for_selector("#live.up")  # the SSE stream is open before the case comes
    case_id = report(api, "console-e1")
    row = village.wait_for_selector(f"tr[data-case='{case_id}']")  # arrived live, no reload
    assert "剩余" in row.inner_text() or "已超期" in row.inner_text()
    shot(village, "queue")

    village.click(f"tr[data-case='{case_id}'] a")
    village.wait_for_selector("#case-state")
    assert village.inner_text("#case-state") == "已派遣"
    buttons = village.eval_on_selector_all("[data-action]", "bs => bs.map(b => b.dataset.action)")
    assert buttons == ["accept", "return", "escalate", "extend", "cancel"]
    village.click("[data-action=accept]")
    village.wait_for_selector("#case-state:has-text('处置中')")
    village.click("[data-action=resolve]")
    village.wait_for_selector("#case-state:has-text('待核查')")
    assert village.locator("#timeline li").count() >= 3

    town = sign_in(browser, api, TOKENS["town"][0], f"#/case/{case_id}")
    town.wait_for_selector("#case-state:has-text('待核查')")
    town_actions = town.eval_on_selector_all("[data-action]", "bs => bs.map(b => b.dataset.action)")
    assert town_actions == ["verify", "reject_resolution"]  # 监管分离: checked from above
    town.click("[data-action=verify]")
    town.wait_for_selector("#case-state:has-text('核查通过')")
    town.click("[data-action=close]")
    town.wait_for_selector("#case-state:has-text('已结案')")
    steps = town.inner_text("#timeline")
    for step in ("派遣", "受理", "处置完成", "核查通过", "结案"):
        assert step in steps, steps
    # Each step names the centre that took it (acted_by), not only the one told: the
    # town's 核查通过 and 结案 are the town's, sent to the village holding the case.
    actors = town.eval_on_selector_all(
        "#timeline li.tl-state",
        "lis => lis.map(li => [li.querySelector('strong').textContent, "
        "li.querySelector('[data-actor]')?.dataset.actor ?? null])",
    )
    assert [a for a in actors if a[0] in ("受理", "处置完成", "核查通过", "结案")] == [
        ["受理", VILLAGE],
        ["处置完成", VILLAGE],
        ["核查通过", TOWN],
        ["结案", TOWN],
    ], actors
    assert (
        town.inner_text("#case-verifier")
        and town.get_attribute("#case-verifier", "data-code") == TOWN
    )
    assert town.eval_on_selector_all("[data-action]", "bs => bs.map(b => b.dataset.action)") == [
        "revisit",
        "reopen",
    ]
    shot(town, "case")
    # The village's open page follows the case live.
    village.wait_for_selector("#case-state:has-text('已结案')")
    village.close()
    town.close()


def test_a_verifying_office_signs_in_and_checks_the_cases_it_verifies(
    browser: Any, api: ApiProcess
) -> None:
    """监管分离 with a department office: the town handles a 危房; the county 住建委's
    质监站 (not a region centre) has it in its 待办 and verifies and closes it."""
    zjz = "500103000000-zjz"
    case_id = report(
        api,
        "console-o1",
        category="BJ0501",
        title="居民楼外墙开裂",
        location={"lat": 29.5665, "lon": 106.5835},
    )
    town = sign_in(browser, api, TOKENS["town"][0], f"#/case/{case_id}")
    for action, state in (("accept", "处置中"), ("resolve", "待核查")):
        town.wait_for_selector(f"[data-action={action}]")
        town.click(f"[data-action={action}]")
        town.wait_for_selector(f"#case-state:has-text('{state}')")
    # The town's page names the verifying office; the town itself may not check.
    town.wait_for_selector("#case-verifier:has-text('渝中区住建委质监站')")
    assert "verify" not in town.eval_on_selector_all(
        "[data-action]", "bs => bs.map(b => b.dataset.action)"
    )

    office = sign_in(browser, api, TOKENS["zjz"][0])
    assert office.inner_text("#centre-name") == "渝中区住建委质监站"
    office.wait_for_selector(f"tr[data-case='{case_id}']")
    office.click(f"tr[data-case='{case_id}'] a")
    office.wait_for_selector("#case-state:has-text('待核查')")
    actions = office.eval_on_selector_all("[data-action]", "bs => bs.map(b => b.dataset.action)")
    assert actions == ["verify", "reject_resolution"]
    office.click("[data-action=verify]")
    office.wait_for_selector("#case-state:has-text('核查通过')")
    office.click("[data-action=close]")
    office.wait_for_selector("#case-state:has-text('已结案')")
    assert office.get_attribute("#case-verifier", "data-code") == zjz
    office.close()
    town.close()


def test_the_map_draws_the_counties_and_the_open_cases(browser: Any, api: ApiProcess) -> None:
    report(api, "console-map-1")
    county = sign_in(browser, api, TOKENS["county"][0], "#/map")
    county.set_viewport_size({"width": 1920, "height": 1080})
    county.wait_for_selector("#map[data-counties='38']")
    wait_until(
        lambda: int(county.get_attribute("#map", "data-points") or 0) >= 1 or None,
        30,
        "a point on the map",
        interval=0.3,
    )
    county.wait_for_selector("#county-panel h2:has-text('渝中区')")
    # Far from the first case (it would merge into it), and critical.
    report(
        api,
        "console-critical-1",
        severity="critical",
        title="燃气管道泄漏有爆炸危险",
        location={"lat": 29.5420, "lon": 106.5200},
    )
    county.wait_for_selector("#alert:has-text('特急案件')")  # the cue, on any screen
    shot(county, "map")
    county.goto(f"{api.url}/console/#/kpi")
    county.wait_for_selector("#kpi-rows tr")
    shot(county, "kpi")
    county.close()


def test_silences_screen_creates_extends_and_expires_known_matters(
    browser: Any, api: ApiProcess
) -> None:
    """静默（屏蔽）: a town centre registers a permitted construction site (施工许可), extends
    it and ends another; a village below sees the town's silence but may not change it."""
    town = sign_in(browser, api, TOKENS["town"][0], "#/silences")
    town.wait_for_selector("h1:has-text('已知事项')")
    assert town.get_attribute("[data-nav=silences]", "aria-current") == "page"

    def create(kind: str, comment: str) -> str:
        before = set(
            town.eval_on_selector_all("tr[data-silence]", "rs => rs.map(r => r.dataset.silence)")
        )
        town.select_option("#silence-form [name=kind]", kind)
        town.fill("#silence-form [name=categories]", "SJ03")
        town.fill("#silence-form [name=lat]", "29.556")
        town.fill("#silence-form [name=lon]", "106.571")
        town.fill("#silence-form [name=radius_m]", "300")
        town.fill("#silence-form [name=comment]", comment)
        town.click("#silence-form button[type=submit]")
        town.wait_for_selector("#silence-message:has-text('已新建静默')")
        ids = town.eval_on_selector_all("tr[data-silence]", "rs => rs.map(r => r.dataset.silence)")
        (made,) = set(ids) - before
        return str(made)

    works = create("construction", "地铁 18 号线施工许可 2026-118")
    row = town.locator(f"tr[data-silence='{works}']")
    assert row.get_attribute("data-state") == "active"
    text = row.inner_text()
    for words in ("生效中", "施工许可", "类别 SJ03", "300 米内", "地铁 18 号线施工许可"):
        assert words in text, text
    ends = row.locator("td").nth(5).inner_text()
    row.locator("[name=note]").fill("许可延期")
    row.locator("button[value=extend]").click()
    town.wait_for_selector(f"#silence-message:has-text('已延长静默 {works}')")
    row = town.locator(f"tr[data-silence='{works}']")
    assert row.locator("td").nth(5).inner_text() != ends
    assert "许可延期" in row.inner_text() and "延长" in row.inner_text()

    outage = create("outage", "供水管网抢修 工单 2026-0031")
    town.locator(f"tr[data-silence='{outage}'] button[value=expire]").click()
    town.wait_for_selector(f"#silence-message:has-text('已解除静默 {outage}')")
    assert town.locator(f"tr[data-silence='{outage}']").count() == 0  # current only
    town.select_option("#silence-state", "all")
    town.wait_for_selector(f"tr[data-silence='{outage}'][data-state='expired']:has-text('已结束')")
    shot(town, "silences")

    # A village below sees the silences that act on it, without the town's buttons.
    village = sign_in(browser, api, TOKENS["village"][0], "#/silences")
    seen = village.wait_for_selector(f"tr[data-silence='{works}']")
    assert (
        "—" in seen.inner_text()
        and village.locator(f"tr[data-silence='{works}'] button").count() == 0
    )
    village.close()
    town.close()
