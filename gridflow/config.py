"""Settings from environment variables (``GRIDFLOW_*``) and an optional file.

Precedence: explicit arguments > environment > the file named by ``GRIDFLOW_CONFIG``
(``KEY=value`` lines, as a ``.env`` file) > defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = PROJECT_ROOT / "routing_rules"


class Settings(BaseSettings):
    """Everything a worker, the simulator and the demo read from their environment."""

    model_config = SettingsConfigDict(
        env_prefix="GRIDFLOW_",
        env_file=os.environ.get("GRIDFLOW_CONFIG"),
        extra="ignore",
    )

    #: Comma list of brokers. Empty: start the embedded broker (Tansu).
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
    #: Largest batch record (JSON array of GridEvents), events.
    max_batch_events: int = Field(default=1000, ge=1)
    #: Events reported more than this many seconds in the future are refused.
    max_clock_skew_s: float = Field(default=300.0, ge=0)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    standby_replicas: int = Field(default=0, ge=0)
    #: The only guarantee the worker gives: outputs before state, idempotent ids, exact
    #: replay of an unfinished batch. ``exactly_once`` is refused at load: the input
    #: reader's outputs and state rows are not transactional, so it would promise nothing.
    processing_guarantee: Literal["at_least_once"] = "at_least_once"
    #: Consumer fetch wait (ms); Faust hard-codes 1500, which costs a second of latency.
    fetch_max_wait_ms: int = Field(default=50, ge=1)
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
    def _strip(cls, value: str) -> str:
        return ",".join(part.strip() for part in value.split(",") if part.strip())

    def topic(self, name: str) -> str:
        """The full name of a contract topic, with the configured prefix."""
        return f"{self.topic_prefix}{name}"


def load_settings(**overrides: object) -> Settings:
    """Read settings; keyword overrides win over the environment."""
    return Settings(**overrides)  # type: ignore[arg-type]
