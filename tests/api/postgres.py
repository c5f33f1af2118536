"""A real PostgreSQL server for the read model's tests, started in a temporary directory.

Debian's ``postgresql`` package (installed by deploy/install-tools.sh) provides initdb and
pg_ctl under /usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root, so as
root the server runs as ``nobody`` (runuser). Where a Docker engine answers and
GRIDFLOW_TEST_POSTGRES=testcontainers, testcontainers' PostgreSQL is used instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gridflow.broker import free_port

GET_IT = "run deploy/install-tools.sh (installs Debian's postgresql package)"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "nobody", "--", *cmd]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a DSN ``postgresql://postgres@127.0.0.1:<port>/postgres``; stop and delete at exit."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise FileNotFoundError(f"no /usr/lib/postgresql/*/bin/initdb ({GET_IT})")
    root = Path(tempfile.mkdtemp(prefix="gridflow-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
    port = free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"]
        ),
        **run,  # type: ignore[call-overload]
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        **run,  # type: ignore[call-overload]
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
