"""The wheel carries what an installed gridflow needs, and nothing of the tools or tests.

Builds the wheel from a copy of the source tree, installs it into a fresh virtual
environment (its dependencies taken from this one's site-packages, so nothing is
downloaded but the build backend) and runs ``gridflow`` from outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridflow.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

#: Not part of a source distribution's build: local state, caches, the venv.
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the built wheel, the ``gridflow`` script of a venv it is installed in)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(PROJECT_ROOT, source, ignore=_SKIP)
    out = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=600,
    )
    (wheel,) = out.glob("gridflow-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    purelib = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    with zipfile.ZipFile(wheel) as archive:
        # Installing a pure wheel is unpacking it; a .pth line (not a processed site dir)
        # lends this venv's dependencies without this venv's editable gridflow.
        archive.extractall(purelib)
    here = Path(sysconfig.get_path("purelib"))
    (purelib / "deps.pth").write_text(f"{here}\n", encoding="utf-8")
    script = env_dir / "bin" / "gridflow"
    script.write_text(
        f"#!{env_dir / 'bin' / 'python'}\nimport sys\nfrom gridflow.cli import main\n"
        "sys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    yield wheel, script


def _run(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDFLOW_")}
    return subprocess.run(
        [str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_wheel_holds_the_rules_and_leaves_tools_and_tests_out(
    installed: tuple[Path, Path],
) -> None:
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for rules in ("routes.yaml", "policies.yaml", "calendar.yaml", "catalogue.yaml"):
        assert f"routing_rules/{rules}" in names
    assert "routing_rules/divisions/chongqing-divisions-2023.csv" in names
    tops = {name.split("/")[0] for name in names if not name.startswith("gridflow-")}
    assert tops == {"gridflow", "agents", "schemas", "routing_rules"}


def test_an_installed_gridflow_checks_its_bundled_rules_outside_the_checkout(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, script = installed
    # As of a day the bundled holiday data covers: the check also looks 90 days ahead.
    result = _run(script, "rules", "check", "--as-of", "2026-09-01", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK " in result.stdout and str(PROJECT_ROOT) not in result.stdout


def test_an_installed_gridflow_says_the_bench_needs_a_checkout(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, script = installed
    result = _run(script, "bench", "--quick", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "tools/" in result.stderr
