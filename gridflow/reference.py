"""Load the reference data and rules a worker needs, strictly, from the rules directory.

Every loader refuses bad input with ``file:line: what is wrong`` (ConfigLoadError), so a
worker with a broken rules directory stops at start-up, not on the first event.
"""

from __future__ import annotations

from pathlib import Path

from gridflow.config import Settings
from gridflow.core.bundled import DIVISIONS_FILE
from gridflow.core.catalogue import Catalogue
from gridflow.core.classify import TextClassifier
from gridflow.core.danger import DangerLexicon
from gridflow.core.engine import Engine
from gridflow.core.inhibition import INHIBIT_FILE, InhibitRules
from gridflow.core.regions import RegionGraph
from gridflow.core.rules import RuleSet
from gridflow.core.severity import SeverityRules


def divisions_path(settings: Settings) -> Path:
    """The division tree file: ``GRIDFLOW_DIVISIONS`` or the bundled Chongqing tree."""
    return settings.divisions or settings.rules / DIVISIONS_FILE


def load_engine(settings: Settings) -> Engine:
    """Regions, catalogue, classifier and rules from ``settings``, wired into an Engine."""
    rules_dir = settings.rules
    divisions = divisions_path(settings)
    regions = RegionGraph.load_csv(divisions)
    catalogue = Catalogue.load(rules_dir / "catalogue.yaml", rules_dir / "networks.yaml")
    classifier = TextClassifier.load(rules_dir / "keywords.yaml", catalogue)
    rules = RuleSet.load(rules_dir, catalogue, regions=regions, divisions=divisions)
    danger_file = rules_dir / "danger.yaml"
    # A rules directory without danger.yaml gets no danger lexicon (the bundled one names
    # the bundled catalogue's categories); with it, the directory's danger_model.jsonl
    # when it has one (without: the rules alone).
    danger = DangerLexicon.load_beside(danger_file, catalogue) if danger_file.is_file() else None
    # Likewise inhibit.yaml: without it nothing is inhibited.
    inhibit_file = rules_dir / INHIBIT_FILE
    inhibitions = InhibitRules.load(inhibit_file, catalogue) if inhibit_file.is_file() else None
    return Engine(
        regions=regions,
        catalogue=catalogue,
        classifier=classifier,
        rules=rules,
        severity_rules=SeverityRules.load(rules_dir / "keywords.yaml"),
        danger=danger,
        sla_scale=settings.sla_scale,
        retention_s=settings.retention_s,
        inhibitions=inhibitions,
    )
