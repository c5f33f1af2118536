"""Enumerations and constrained types shared by the message models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field

REGION_CODE_PATTERN = r"^[0-9]{12}$"
#: A centre: a region's (its 12-digit code) or a department office's (its region's code,
#: '-', the office's key: ``500103000000-zjz``; extension, see gridflow/core/offices.py).
CENTRE_CODE_PATTERN = r"^[0-9]{12}(-[a-z][a-z0-9]{1,15})?$"
#: Upper bound for free text fields (title, description, note), in characters.
MAX_TEXT = 2000
#: Identifiers (event ids, feedback ids, reporter ids) are short opaque strings.
MAX_ID = 128


class Tier(StrEnum):
    """The four tiers of command centres, top to bottom."""

    CITY = "city"
    COUNTY = "county"
    TOWN = "town"
    VILLAGE = "village"


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class Network(StrEnum):
    """The grid networks named by the contract.

    ``source_network`` is validated against this list plus the networks configured in
    ``routing_rules/networks.yaml``, so a city can add its own without a code change.
    """

    ZONGZHI = "zongzhi"
    CHENGGUAN = "chengguan"
    GONGAN = "gongan"
    YINGJI = "yingji"
    HUANBAO = "huanbao"
    SHICHANG = "shichang"
    VIDEO_AI = "video_ai"
    #: 12345政务服务便民热线 (contract extension): carries the caller's request_type.
    HOTLINE = "12345"


class ReporterRole(StrEnum):
    GRID_WORKER = "grid_worker"
    CITIZEN = "citizen"
    SENSOR = "sensor"
    VIDEO_AI = "video_ai"


class FeedbackAction(StrEnum):
    ACCEPT = "accept"
    RESOLVE = "resolve"
    RETURN = "return"
    ESCALATE = "escalate"
    EXTEND = "extend"
    VERIFY = "verify"
    REJECT_RESOLUTION = "reject_resolution"
    CLOSE = "close"
    CANCEL = "cancel"
    REOPEN = "reopen"
    #: 回访: the reporter asked after closing (or verification); carries ``satisfaction``.
    REVISIT = "revisit"
    #: 接管: a centre above the holder takes the case over and handles it itself.
    TAKE_OVER = "take_over"


class Satisfaction(StrEnum):
    """The reporter's answer at 回访."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class DispositionAction(StrEnum):
    DISPATCH = "dispatch"
    MERGE = "merge"
    ESCALATE = "escalate"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    STATE = "state"
    REROUTE = "reroute"


def _require_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a UTC offset (RFC 3339)")
    return value


#: An RFC 3339 timestamp with an offset; naive timestamps are refused.
AwareDatetime = Annotated[datetime, AfterValidator(_require_offset)]
RegionCode = Annotated[str, Field(pattern=REGION_CODE_PATTERN)]
CentreCode = Annotated[str, Field(pattern=CENTRE_CODE_PATTERN)]
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID)]
NetworkName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{1,31}$")]


#: A 12345 caller's request type (诉求类型), which sets the hotline's time limit.
RequestType = Literal["咨询", "求助", "投诉", "举报", "建议", "表扬"]
REQUEST_TYPES: tuple[str, ...] = get_args(RequestType)
