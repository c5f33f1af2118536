"""Where the bundled rules and reference data are: the top-level ``routing_rules/``.

The directory stays at the top of the checkout (the project's layout keeps rules beside
``agents/`` and ``schemas/``) and is installed as a data-only top-level package of the
same name, so it sits beside ``gridflow/`` in site-packages as it does in a checkout and
an installed gridflow finds it without one. ``GRIDFLOW_RULES`` names another directory (``gridflow.config.Settings``);
this is the one definition of the default every loader falls back to.
"""

from __future__ import annotations

from pathlib import Path

#: The rules directory installed with gridflow.
BUNDLED_RULES: Path = Path(__file__).resolve().parents[2] / "routing_rules"
#: The division tree inside a rules directory (``GRIDFLOW_DIVISIONS`` names another file).
DIVISIONS_FILE: Path = Path("divisions") / "chongqing-divisions-2023.csv"
