"""``gridflow api openapi``, ``gridflow api token`` and the token file's strict loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from gridflow.api.tokens import Role, TokenStore
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.regions import RegionGraph

ROOT = Path(__file__).resolve().parents[2]


def gridflow(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridflow", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **env},
    )


def test_openapi_is_published_with_every_endpoint(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    result = gridflow("api", "openapi", "-o", str(out))
    assert result.returncode == 0, result.stderr
    doc = orjson.loads(out.read_bytes())
    assert doc["openapi"].startswith("3.")
    assert {
        "/v1/events",
        "/v1/cases/{case_id}",
        "/v1/centres/{code}/cases",
        "/v1/cases/{case_id}/feedback",
        "/v1/centres/{code}/stream",
        "/v1/kpis",
        "/open311/v2/services.json",
        "/open311/v2/requests.json",
        "/open311/v2/requests/{service_request_id}.json",
        "/healthz",
        "/readyz",
    } <= set(doc["paths"])
    assert "GridEvent" in doc["components"]["schemas"]


def test_a_new_token_loads_from_the_entry_it_prints(tmp_path: Path) -> None:
    result = gridflow(
        "api", "token", "--name", "yz", "--role", "centre", "--region", "500103000000"
    )
    assert result.returncode == 0, result.stderr
    secret = result.stderr.rsplit(": ", 1)[1].strip()
    path = tmp_path / "tokens.yaml"
    path.write_text("tokens:\n" + result.stdout, encoding="utf-8")
    store = TokenStore.load(path, RegionGraph.default())
    token = store.lookup(secret)
    assert token is not None and token.role is Role.CENTRE and token.region == "500103000000"
    assert secret not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "tokens:\n  - name: a\n    role: king\n    region: '500103000000'\n    sha256: "
            + "a" * 64,
            2,
            "role 'king'",
        ),
        (
            "tokens:\n  - name: a\n    role: ops\n    region: '500103999999'\n    sha256: "
            + "a" * 64,
            2,
            "not in the division tree",
        ),
        (
            "tokens:\n  - name: a\n    role: ops\n    region: '500103000000'\n    sha256: abc",
            2,
            "64 hex",
        ),
        (
            "tokens:\n  - name: a\n    role: ops\n    region: '500103000000'\n    sha256: "
            + "a" * 64
            + "\n    colour: red",
            6,
            "unknown field",
        ),
        ("tokens:\n  - name: a\n    role: ops\n", 2, "missing region, sha256"),
        ("tokenz: []\n", 1, "unknown field"),
    ],
    ids=["role", "region", "hash", "field", "missing", "top"],
)
def test_a_bad_token_file_names_its_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigLoadError) as err:
        TokenStore.load(path, RegionGraph.default())
    assert f"tokens.yaml:{line}" in str(err.value) and words in str(err.value)


def test_the_api_refuses_to_start_on_a_bad_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text("tokens:\n  - name: a\n", encoding="utf-8")
    result = gridflow(
        "api", GRIDFLOW_API_TOKENS_FILE=str(path), GRIDFLOW_KAFKA_BOOTSTRAP="127.0.0.1:1"
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "tokens.yaml:2" in result.stderr
