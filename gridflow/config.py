"""Settings from environment variables (``GRIDFLOW_*``) and an optional file.

Precedence: explicit arguments > environment > the file named by ``GRIDFLOW_CONFIG``
(``KEY=value`` lines, as a ``.env`` file) > defaults.

Strict, because a misspelt setting otherwise looks healthy: :func:`load_settings` refuses
a ``GRIDFLOW_*`` variable that is not a setting (``GRIDFLOW_KAFKA_BOOTSTRAPS``), a key in
the file that is not one, and a ``GRIDFLOW_CONFIG`` naming a file that does not exist,
each with a did-you-mean; values are checked by the model (a broker address without a
port, an unknown log level).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.parent_death import ORPHAN_KILL_AFTER_VAR, PARENT_PID_VAR

ENV_PREFIX = "GRIDFLOW_"
#: ``GRIDFLOW_*`` variables that are not settings but are read, with what for.
OTHER_VARIABLES = {
    "GRIDFLOW_CONFIG": "names a settings file of KEY=value lines",
    "GRIDFLOW_TEST_BROKERS": "tests only: 'embedded' or 'kafka' runs the broker tests on one",
    "GRIDFLOW_KAFKA_HOME": "where Apache Kafka's jars are cached (gridflow/apache_kafka.py)",
    PARENT_PID_VAR: "set by a parent process (orphan_env): stop once that pid is gone",
    ORPHAN_KILL_AFTER_VAR: "seconds an orphaned child gets to stop before it SIGKILLs itself",
}

#: The levels GRIDFLOW_LOG_LEVEL accepts (any case).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The bundled rules (package data); ``GRIDFLOW_RULES`` overrides.
DEFAULT_RULES = BUNDLED_RULES


class Settings(BaseSettings):
    """Everything a worker, the simulator and the demo read from their environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    #: Comma list of brokers, each host:port. Empty: no broker; ``gridflow worker`` then
    #: refuses to start unless told ``--embedded``.
    kafka_bootstrap: str = ""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_cafile: str = ""
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""

    app_id: str = "gridflow"
    topic_prefix: str = ""
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1)
    data_dir: Path = Path("./var/gridflow")
    rules: Path = DEFAULT_RULES
    divisions: Path | None = None
    store: str = "memory://"
    #: Compress every SLA duration by this factor (drills, tests): 0.001 turns hours into seconds.
    sla_scale: float = Field(default=1.0, gt=0)
    #: How often the SLA timer emits ticks, seconds.
    tick_interval: float = Field(default=1.0, gt=0)
    #: Largest accepted record value, bytes.
    max_record_bytes: int = Field(default=256 * 1024, ge=1024)
    #: ``max.message.bytes`` of the topics gridflow creates (Apache Kafka's default): no
    #: record the worker writes is larger (a Rejection keeps only a prefix of its input).
    max_message_bytes: int = Field(default=1_048_588, ge=65536)
    #: Largest batch record (JSON array of GridEvents), events.
    max_batch_events: int = Field(default=1000, ge=1)
    #: Events reported more than this many seconds in the future are refused.
    max_clock_skew_s: float = Field(default=300.0, ge=0)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    #: DEBUG, INFO, WARNING, ERROR or CRITICAL, in any case.
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    standby_replicas: int = Field(default=0, ge=0)
    #: ``at_least_once``: outputs before state, idempotent ids, exact replay of an
    #: unfinished batch (consumers may see a disposition twice, never a different one).
    #: ``exactly_once`` (Apache Kafka only, refused at start elsewhere): a partition's
    #: batch -- outputs, state rows, read positions -- is one transaction, so
    #: ``read_committed`` consumers see every disposition once (gridflow/runtime/exactly_once.py).
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    #: Consumer fetch wait (ms); Faust hard-codes 1500, which costs a second of latency.
    fetch_max_wait_ms: int = Field(default=50, ge=1)
    #: Least milliseconds between the starts of two input fetches that found records
    #: (0: none). Each batch costs the worker and the broker four requests whatever it
    #: holds; a busy worker gathering a few ms of records makes fewer, larger batches for
    #: at most this much more latency. Only batch boundaries move (docs/api.md "Speed").
    input_gather_ms: int = Field(default=0, ge=0, le=1000)
    session_timeout_s: float = Field(default=10.0, gt=0)
    #: Producer linger (ms). The worker awaits delivery of every batch's outputs and state
    #: at once, so waiting for more records only adds latency: 0 by default.
    producer_linger_ms: int = Field(default=0, ge=0)
    #: Seconds a closed case and a seen event id stay in state (dedup memory).
    retention_s: float = Field(default=7 * 86400, gt=0)
    #: Seconds between whole-heap sweeps for reference cycles (gridflow/runtime/heap.py); each one
    #: pauses the worker (0.7 s in a live worker at ~110,000 open cases). 0: never.
    heap_sweep_s: float = Field(default=3600.0, ge=0)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _brokers(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        for part in parts:
            problem = broker_address_problem(part)
            if problem:
                raise ValueError(problem)
        return ",".join(parts)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"not a log level; use one of {', '.join(LOG_LEVELS)}")
        return level

    def topic(self, name: str) -> str:
        """The full name of a contract topic, with the configured prefix."""
        return f"{self.topic_prefix}{name}"


class SettingsError(ValueError):
    """A variable, a config file or a key in it that gridflow does not know (one line)."""


def broker_address_problem(address: str) -> str | None:
    """Why ``address`` is not a usable ``host:port``, or None when it is."""
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        return f"{address!r} has no port: write host:port, e.g. {address or 'localhost'}:9092"
    if "://" in address or "/" in host:
        return f"{address!r}: write host:port without a scheme or path"
    if not _HOST.match(host):
        return f"{address!r}: {host!r} is not a host name or address"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"{address!r}: port {port!r} is not a number from 1 to 65535"
    return None


#: Host names, IPv4 and bracketed IPv6 addresses.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$")


class ApiSettings(BaseSettings):
    """What ``gridflow api`` reads from its environment; unknown ``GRIDFLOW_API_*`` fail."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: SQLAlchemy async URL of the read model: ``sqlite+aiosqlite:///path`` (default, under
    #: the data dir) or ``postgresql+asyncpg://user:pw@host/db``.
    database_url: str = ""
    #: YAML file of bearer tokens (hashed); see docs/api.md "Tokens".
    tokens_file: Path | None = None
    #: Largest request body, bytes (413 above it).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Requests per second each token may make (token bucket); a token may set its own.
    rate_per_s: float = Field(default=50.0, gt=0)
    #: Burst of the token bucket, requests.
    rate_burst: int = Field(default=100, ge=1)
    #: Comma list of origins allowed by CORS; empty: CORS off (no headers sent).
    cors_origins: str = ""
    #: /readyz fails when the projection has not been caught up for this many seconds.
    ready_lag_s: float = Field(default=30.0, gt=0)
    #: Longest ``?wait=`` a feedback POST may ask for, seconds.
    max_wait_s: float = Field(default=30.0, gt=0)
    #: Run the projector in this process (one replica per read model database is enough).
    projector: bool = True
    #: Open311 ``jurisdiction_id`` this deployment answers to (empty: any is accepted).
    jurisdiction_id: str = "cq.gov.cn"
    #: Milliseconds the API gathers concurrent requests' records before producing them
    #: together: fewer produce requests (CPU in the API and the broker) for at most this
    #: much more latency per accepted POST (docs/api.md "Performance").
    linger_ms: float = Field(default=5.0, ge=0, le=1000)
    #: Least milliseconds between two projection transactions (0: none). Each costs a
    #: fetch and a transaction of ~6 statements whatever it carries: gathering makes
    #: fewer, larger ones (less API and broker CPU) for at most this much more time before
    #: a disposition shows in queries, streams and ``?wait=``. Off by default: with intake
    #: in the same process it made POST latency worse (docs/api.md "Speed").
    projection_interval_ms: float = Field(default=0.0, ge=0, le=10000)

    def url_for(self, data_dir: Path) -> str:
        """The database URL, defaulting to an SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{data_dir / 'api-readmodel.sqlite3'}"


def setting_variables() -> dict[str, str]:
    """Every ``GRIDFLOW_*`` variable gridflow reads, with what it is for."""
    known = {ENV_PREFIX + name.upper(): "a setting" for name in Settings.model_fields}
    known.update(
        {
            ENV_PREFIX + "API_" + name.upper(): "a gridflow api setting"
            for name in ApiSettings.model_fields
        }
    )
    known.update(OTHER_VARIABLES)
    return known


def _unknown(name: str, known: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{name} is not a gridflow setting{hint}"


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse ``GRIDFLOW_*`` variables gridflow does not read."""
    known = setting_variables()
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            raise SettingsError(f"unknown variable {_unknown(name, known)}")


def config_file(environ: Mapping[str, str]) -> Path | None:
    """The file ``GRIDFLOW_CONFIG`` names, checked: it exists and holds only settings."""
    named = environ.get("GRIDFLOW_CONFIG", "").strip()
    if not named:
        return None
    path = Path(named)
    if not path.is_file():
        raise SettingsError(f"GRIDFLOW_CONFIG names {named}, which is not a file")
    known = {name: what for name, what in setting_variables().items() if name != "GRIDFLOW_CONFIG"}
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for key in dotenv_values(path):
        if key not in known:
            number = next(
                (
                    i
                    for i, line in enumerate(lines, 1)
                    if re.match(rf"^\s*(export\s+)?{re.escape(key)}\s*=", line)
                ),
                None,
            )
            where = f"{path}:{number}" if number else str(path)
            raise SettingsError(f"{where}: unknown key {_unknown(key, known)}")
    return path


def load_api_settings(**overrides: object) -> ApiSettings:
    """The API's ``GRIDFLOW_API_*`` settings, read as strictly as :func:`load_settings`."""
    check_environment(os.environ)
    return ApiSettings(_env_file=config_file(os.environ), **overrides)  # type: ignore[arg-type]


def load_settings(**overrides: object) -> Settings:
    """Read settings strictly (see the module docstring); keyword overrides win."""
    check_environment(os.environ)
    return Settings(_env_file=config_file(os.environ), **overrides)  # type: ignore[arg-type]
