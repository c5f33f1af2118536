"""Assemble a running API process: settings → context → app with its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from gridflow import topics
from gridflow.api import db
from gridflow.api.app import create_app
from gridflow.api.context import ApiContext
from gridflow.api.projection import OutputTopics
from gridflow.api.projector import Projector
from gridflow.api.sink import KafkaSink, Sink
from gridflow.api.tokens import TokenStore
from gridflow.config import ApiSettings, Settings
from gridflow.core.catalogue import Catalogue
from gridflow.core.regions import RegionGraph
from gridflow.kafka_client import client_kwargs
from gridflow.reference import divisions_path
from gridflow.runtime.heap import settle_startup_heap
from gridflow.runtime.silence_reader import SilenceReader

log = logging.getLogger("gridflow.api")


def output_topics(settings: Settings) -> OutputTopics:
    return OutputTopics(
        dispositions=settings.topic(topics.DISPOSITIONS),
        dlq=settings.topic(topics.DLQ),
        metrics=settings.topic(topics.METRICS),
        feedback=settings.topic(topics.FEEDBACK),
    )


def build_context(
    settings: Settings,
    api: ApiSettings,
    *,
    sink: Sink,
    tokens: TokenStore | None = None,
    database_url: str | None = None,
) -> ApiContext:
    """Load reference data and tokens strictly (ConfigLoadError on anything wrong)."""
    regions = RegionGraph.load_csv(divisions_path(settings))
    catalogue = Catalogue.load(settings.rules / "catalogue.yaml", settings.rules / "networks.yaml")
    if tokens is None:
        tokens = (
            TokenStore.load(api.tokens_file, regions, catalogue)
            if api.tokens_file
            else TokenStore({})
        )
    url = database_url or api.url_for(Path(settings.data_dir))
    if url.startswith("sqlite"):
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return ApiContext(
        settings=settings,
        api=api,
        regions=regions,
        catalogue=catalogue,
        tokens=tokens,
        engine=db.make_engine(url),
        sink=sink,
        topics=output_topics(settings),
        events_topic=settings.topic(topics.EVENTS_IN),
        feedback_topic=settings.topic(topics.FEEDBACK),
        silences_topic=settings.topic(topics.SILENCES),
    )


def kafka_app(ctx: ApiContext, *, rebuild: bool = False) -> FastAPI:
    """The app whose lifespan creates the schema, topics, producer and projector."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await db.create_schema(ctx.engine)
        if rebuild:
            await db.clear(ctx.engine)
            log.warning("read model cleared: projecting the output topics from offset 0")
        if isinstance(ctx.sink, KafkaSink):
            await ctx.sink.start()
        if ctx.api.projector:
            ctx.projector = Projector(
                ctx.settings,
                ctx.engine,
                ctx.topics,
                on_applied=ctx.notify,
                interval_s=ctx.api.projection_interval_ms / 1000,
            )
            await ctx.projector.start()
        silences_task = None
        if isinstance(ctx.sink, KafkaSink):
            ctx.silence_reader = SilenceReader(
                client_kwargs(ctx.settings),
                ctx.silences_topic,
                ctx.silences,
                client_id=f"{ctx.settings.app_id}-api-silences",
            )
            silences_task = asyncio.create_task(ctx.silence_reader.run())
        # The region graph, catalogue and clients live as long as the process: out of the
        # collector's sight, or every full collection walks them (a 100-300 ms pause of
        # every request in flight, the API's whole POST p99 in the bench).
        settle_startup_heap()
        try:
            yield
        finally:
            if ctx.silence_reader is not None and silences_task is not None:
                await ctx.silence_reader.stop()
                silences_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await silences_task
            if ctx.projector is not None:
                await ctx.projector.stop()
            await ctx.sink.stop()
            await ctx.engine.dispose()

    return create_app(ctx, lifespan=lifespan)
