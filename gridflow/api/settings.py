"""Settings of the API service (``GRIDFLOW_API_*``), beside the worker's :class:`Settings`."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridflow.config import SettingsError


class ApiSettings(BaseSettings):
    """What ``gridflow api`` reads from its environment; unknown ``GRIDFLOW_API_*`` fail."""

    model_config = SettingsConfigDict(
        env_prefix="GRIDFLOW_API_",
        env_file=os.environ.get("GRIDFLOW_CONFIG"),
        extra="ignore",
    )

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

    @classmethod
    def from_environment(cls) -> ApiSettings:
        """The settings, refusing a ``GRIDFLOW_API_*`` variable that is none of them."""
        known = {f"GRIDFLOW_API_{name.upper()}" for name in cls.model_fields}
        for name in sorted(os.environ):
            if name.startswith("GRIDFLOW_API_") and name not in known:
                raise SettingsError(f"unknown variable {name} is not a gridflow api setting")
        return cls()

    def url_for(self, data_dir: Path) -> str:
        """The database URL, defaulting to an SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{data_dir / 'api-readmodel.sqlite3'}"
