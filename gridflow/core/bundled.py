"""Where the bundled rules and reference data are: ``gridflow/routing_rules/``.

They ship inside the package (package data), so an installed gridflow finds them without
a checkout. ``GRIDFLOW_RULES`` names another directory (``gridflow.config.Settings``);
this is the one definition of the default every loader falls back to.
"""

from __future__ import annotations

from pathlib import Path

#: The rules directory installed with gridflow.
BUNDLED_RULES: Path = Path(__file__).resolve().parent.parent / "routing_rules"
#: The division tree inside a rules directory (``GRIDFLOW_DIVISIONS`` names another file).
DIVISIONS_FILE: Path = Path("divisions") / "chongqing-divisions-2023.csv"
