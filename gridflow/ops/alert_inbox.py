"""A webhook receiver for Alertmanager that shows a person the alerts as they arrive.

The compose stack routes critical alerts here so that an alert visibly lands somewhere
without mail or chat credentials: each one is printed as a line (``docker compose logs
-f alert-inbox``) and listed, newest first, at ``GET /``. It keeps nothing on disk; a
real deployment routes to its paging or chat system instead (docs/operations.md).
Built on aiohttp, which the workers already depend on through Faust.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

#: How many alerts ``GET /`` lists.
KEPT = 200

_STATUS = {"firing": "告警", "resolved": "已恢复"}


@dataclass(frozen=True)
class Received:
    """One alert of one notification, as a person reads it."""

    status: str
    name: str
    severity: str
    instance: str
    summary: str
    runbook: str
    starts_at: str

    def line(self) -> str:
        when = _time(self.starts_at)
        where = f" {self.instance}" if self.instance else ""
        runbook = f"  处置手册 {self.runbook}" if self.runbook else ""
        return (
            f"{when}  {_STATUS.get(self.status, self.status)} [{self.severity or '-'}] "
            f"{self.name}{where}: {self.summary}{runbook}"
        )


def _time(text: str) -> str:
    try:
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return text


def parse_notification(doc: Any) -> list[Received]:
    """The alerts of an Alertmanager webhook notification (payload version 4)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("alerts"), list):
        raise ValueError("not an Alertmanager notification: no 'alerts' list")
    out = []
    for alert in doc["alerts"]:
        labels = alert.get("labels") or {}
        annotations = alert.get("annotations") or {}
        out.append(
            Received(
                status=str(alert.get("status", doc.get("status", ""))),
                name=str(labels.get("alertname", "?")),
                severity=str(labels.get("severity", "")),
                instance=str(labels.get("instance", "")),
                summary=str(annotations.get("summary", "")),
                runbook=str(annotations.get("runbook_url", "")),
                starts_at=str(alert.get("startsAt", "")),
            )
        )
    return out


def make_app(show: Callable[[str], None] = print) -> web.Application:
    """The receiver: ``POST /alerts`` (webhook), ``GET /`` (the list), ``GET /healthz``."""
    kept: deque[Received] = deque(maxlen=KEPT)

    async def receive(request: web.Request) -> web.Response:
        try:
            alerts = parse_notification(orjson.loads(await request.read()))
        except (orjson.JSONDecodeError, ValueError) as exc:
            return web.json_response({"error": "bad_notification", "detail": str(exc)}, status=400)
        for alert in alerts:
            kept.appendleft(alert)
            show(alert.line())
        return web.json_response({"received": len(alerts)})

    async def listing(request: web.Request) -> web.Response:
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response([a.__dict__ for a in kept])
        head = f"gridflow 告警收件箱：最近 {len(kept)} 条（最新在前）\n\n"
        return web.Response(
            text=head + "\n".join(a.line() for a in kept) + "\n", content_type="text/plain"
        )

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_post("/alerts", receive)
    app.router.add_get("/", listing)
    app.router.add_get("/healthz", healthz)
    return app
