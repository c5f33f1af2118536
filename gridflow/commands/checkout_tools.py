"""Where ``gridflow bench`` and ``gridflow chaos`` find their code: a checkout's ``tools/``.

The benchmark and the chaos drill are tools for whoever develops gridflow, not part of
what a deployment runs, so they are not in the wheel. From a source checkout (an
editable install, ``make install``) the commands import ``tools`` from the checkout's
root; installed from a wheel, they say so in one line and exit 2.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from gridflow.config import PROJECT_ROOT

#: The directory the tools live in when gridflow runs from a checkout.
TOOLS_DIR = PROJECT_ROOT / "tools"

#: What ``--help`` of the commands says about it.
HELP_NOTE = (
    "Runs from a source checkout (git clone; make install): the code lives in tools/, "
    "which is not in the wheel. Installed from a wheel, the command says so and exits 2."
)


class ToolsMissingError(Exception):
    """gridflow does not run from a checkout that has ``tools/``."""


def load(name: str) -> ModuleType:
    """Import ``tools.<name>`` (``bench``, ``chaos.harness``) from this gridflow's checkout."""
    command = name.partition(".")[0]
    if not (TOOLS_DIR / "__init__.py").is_file():
        raise ToolsMissingError(
            f"gridflow {command} needs the tools/ directory of a source checkout, which the "
            "installed package does not ship; run it from a clone of the repository "
            f"(make install; .venv/bin/gridflow {command})"
        )
    root = str(PROJECT_ROOT)
    # The checkout's root on the import path (appended: nothing installed is shadowed);
    # worker processes the tools spawn inherit it.
    if root not in sys.path:
        sys.path.append(root)
    module = importlib.import_module(f"tools.{name}")
    where = Path(module.__file__ or "").resolve()
    if not where.is_relative_to(TOOLS_DIR):
        raise ToolsMissingError(
            f"gridflow {command}: 'tools' imports from {where.parent}, not from {TOOLS_DIR}"
        )
    return module
