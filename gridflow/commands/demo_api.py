"""The API's part of ``gridflow demo``: a ``gridflow api`` process, demo tokens for one
county, one town and one village centre, and a feedback path through HTTP for the
simulated centres that hold those tokens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from gridflow.api.tokens import hash_token, new_secret
from gridflow.broker import free_port
from gridflow.config import PROJECT_ROOT, Settings
from gridflow.parent_death import orphan_env, signal_on_parent_death
from gridflow.worker_process import http_get

#: (name, role, region): 渝中区, its 七星岗街道, and 华一坡社区 in it; plus a field app.
DEMO_TOKENS = (
    ("渝中区 county centre", "centre", "500103000000"),
    ("七星岗街道 town centre", "centre", "500103001000"),
    ("华一坡社区 village centre", "centre", "500103001003"),
    ("demo field app", "field_app", "500000000000"),
)


@dataclass
class DemoApi:
    proc: subprocess.Popen[bytes]
    url: str
    #: region -> secret, for the centres' tokens
    secrets: dict[str, str]
    log_path: Path
    sent: int = 0
    fallback: int = 0
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        port = int(self.url.rsplit(":", 1)[1])
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"gridflow api exited with {self.proc.returncode}; see {self.log_path}"
                )
            if http_get(port, "/readyz", timeout=1)[0] == 200:
                return
            time.sleep(0.2)
        raise SystemExit(f"gridflow api not ready within {timeout:.0f} s; see {self.log_path}")

    async def deliver(self, key: bytes, value: bytes) -> bool:
        """Send a simulated centre's feedback through the API when we hold its token.

        False (the caller produces it to Kafka instead) for other centres, and when the
        API refuses it for a reason of the moment (the case not projected yet: 404).
        """
        doc = orjson.loads(value)
        secret = self.secrets.get(doc.get("center_code", ""))
        if secret is None:
            return False
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.url, timeout=10)
        body = {
            k: doc[k]
            for k in ("action", "note", "until", "target_center", "feedback_id")
            if doc.get(k)
        }
        try:
            r = await self._client.post(
                f"/v1/cases/{doc['case_id']}/feedback",
                json=body,
                headers={"Authorization": f"Bearer {secret}"},
            )
        except httpx.HTTPError:
            self.fallback += 1
            return False
        if r.status_code == 202:
            self.sent += 1
            return True
        self.fallback += 1
        return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_api(settings: Settings, data_dir: Path) -> DemoApi:
    """Write fresh demo tokens, start ``gridflow api`` and print its URL and the tokens."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secrets: dict[str, str] = {}
    lines = ["tokens:"]
    shown = []
    for i, (name, role, region) in enumerate(DEMO_TOKENS):
        secret = new_secret()
        if role == "centre":
            secrets[region] = secret
        lines += [
            f"  - name: demo-{i}",
            f"    role: {role}",
            f'    region: "{region}"',
            f"    sha256: {hash_token(secret)}",
        ]
        shown.append(f"  {name} ({region}): {secret}")
    tokens = data_dir / "api-tokens.yaml"
    tokens.write_text("\n".join(lines) + "\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, **orphan_env()}
    env.update(
        {
            "GRIDFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "GRIDFLOW_TOPIC_PREFIX": settings.topic_prefix,
            "GRIDFLOW_PARTITIONS": str(settings.partitions),
            "GRIDFLOW_DATA_DIR": str(data_dir),
            "GRIDFLOW_API_PORT": str(port),
            "GRIDFLOW_API_TOKENS_FILE": str(tokens),
            # The simulated centres post far faster than people do.
            "GRIDFLOW_API_RATE_PER_S": "1000",
            "GRIDFLOW_API_RATE_BURST": "1000",
        }
    )
    log_path = (data_dir / "api.log").resolve()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gridflow", "api"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=signal_on_parent_death(signal.SIGTERM),
        )
    url = f"http://127.0.0.1:{port}"
    print(
        f"控制台 console {url}/console/ (sign in with a centre token below)\n"
        f"API {url} (docs {url}/docs, log {log_path}); demo tokens:\n" + "\n".join(shown),
        file=sys.stderr,
        flush=True,
    )
    return DemoApi(proc, url, secrets, log_path)
