"""Everything a request handler needs, built once per process (``app.state.ctx``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine

from gridflow.api.metrics import ApiMetrics
from gridflow.api.projection import Applied, OutputTopics
from gridflow.api.projector import Projector
from gridflow.api.ratelimit import RateLimiter
from gridflow.api.sink import Sink
from gridflow.api.tokens import TokenStore
from gridflow.config import ApiSettings, Settings
from gridflow.core.catalogue import Catalogue
from gridflow.core.ingest import IngestLimits
from gridflow.core.regions import RegionGraph
from gridflow.core.silences import SilenceBook
from gridflow.runtime.silence_reader import SilenceReader
from gridflow.topics import SILENCES
from schemas.common import Tier


@dataclass
class ApiContext:
    settings: Settings
    api: ApiSettings
    regions: RegionGraph
    catalogue: Catalogue
    tokens: TokenStore
    engine: AsyncEngine
    sink: Sink
    topics: OutputTopics
    events_topic: str
    feedback_topic: str
    projector: Projector | None = None
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    villages: frozenset[str] = frozenset()
    limiter: RateLimiter | None = None
    #: set (and replaced) whenever the projection adds timeline rows: streams and waits.
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: silences as read from ``grid.silences`` by ``silence_reader`` (None: in tests
    #: without a broker, the routes put what they write into the book themselves).
    silences: SilenceBook = field(default_factory=SilenceBook)
    silence_reader: SilenceReader | None = None
    silences_topic: str = SILENCES

    def __post_init__(self) -> None:
        self.villages = frozenset(r.code for r in self.regions.by_tier(Tier.VILLAGE))
        if self.limiter is None:
            self.limiter = RateLimiter(self.api.rate_per_s, self.api.rate_burst)

    @cached_property
    def limits(self) -> IngestLimits:
        """What one request body may hold."""
        return IngestLimits(
            max_record_bytes=self.api.max_body_bytes,
            max_batch=self.settings.max_batch_events,
            max_clock_skew=timedelta(seconds=self.settings.max_clock_skew_s),
        )

    @cached_property
    def worker_limits(self) -> IngestLimits:
        """What one record to ``grid.events.in`` may hold: the worker's own limits."""
        return IngestLimits(
            max_record_bytes=self.settings.max_record_bytes,
            max_batch=self.settings.max_batch_events,
        )

    def notify(self, applied: Applied) -> None:
        """Wake every stream and feedback wait; they re-query the read model."""
        if applied.new_entries:
            event, self.changed = self.changed, asyncio.Event()
            event.set()
