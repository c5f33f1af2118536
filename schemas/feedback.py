"""Feedback: what a command centre says about a case (contract: ``grid.feedback``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.common import (
    MAX_TEXT,
    AwareDatetime,
    CentreCode,
    FeedbackAction,
    Identifier,
    RegionCode,
    Satisfaction,
)


class Feedback(BaseModel):
    """One action by one centre on one case."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    feedback_id: Identifier
    case_id: Identifier
    #: a region centre's code, or a department office's (a verifier, extension).
    center_code: CentreCode
    action: FeedbackAction
    at: AwareDatetime
    note: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    #: ``extend`` only: the deadline asked for.
    until: AwareDatetime | None = None
    #: ``return`` only (extension): the centre that should hold the case instead.
    target_center: RegionCode | None = None
    #: ``revisit`` only (回访, extension): the reporter's satisfaction.
    satisfaction: Satisfaction | None = None

    @model_validator(mode="after")
    def _extend_needs_until(self) -> Feedback:
        if self.action is FeedbackAction.EXTEND and self.until is None:
            raise ValueError("extend needs 'until', the deadline asked for")
        if self.action is FeedbackAction.REVISIT and self.satisfaction is None:
            raise ValueError(
                "revisit needs 'satisfaction' (satisfied, basically_satisfied, unsatisfied)"
            )
        return self
