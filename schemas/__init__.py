"""Pydantic v2 models for every message on gridflow's topics (the wire contract).

The JSON Schema files beside this module are generated from these models with
``gridflow schemas export``; a test fails when they drift.
"""

from schemas.common import (
    MAX_TEXT,
    REGION_CODE_PATTERN,
    DispositionAction,
    FeedbackAction,
    Network,
    ReporterRole,
    Satisfaction,
    Severity,
    Tier,
)
from schemas.disposition import Disposition
from schemas.feedback import Feedback
from schemas.grid_event import GridEvent, Location, Reporter
from schemas.merge_metrics import MergeMetrics
from schemas.rejection import Rejection, RejectReason
from schemas.rules_bundle import RulesBundle
from schemas.silence import Near, Silence, SilenceKind, SilenceMatchers

__all__ = [
    "MAX_TEXT",
    "REGION_CODE_PATTERN",
    "Disposition",
    "DispositionAction",
    "Feedback",
    "FeedbackAction",
    "GridEvent",
    "Location",
    "MergeMetrics",
    "Near",
    "Network",
    "RejectReason",
    "Rejection",
    "Reporter",
    "ReporterRole",
    "RulesBundle",
    "Satisfaction",
    "Severity",
    "Silence",
    "SilenceKind",
    "SilenceMatchers",
    "Tier",
]
