"""Versioned rules bundles on the compacted topic ``grid.rules``: build, publish, read.

A bundle is a rules directory's decision files (the ones ``rules_version`` hashes), the
hash itself, a label, an author's note and the instant it takes effect. Records are
keyed by the version, so compaction keeps each version's latest publication; republishing
an older version with a new ``effective_from`` is how a change is rolled back.

Running workers follow this topic (hot reload): each publication becomes a switch of
:class:`gridflow.runtime.rules_timeline.RulesTimeline`, loaded here by
:func:`load_bundle_engine`, and takes effect at its ``effective_from`` by event time
(docs/routing-rules.md, "Lifecycle").
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from gridflow.compacted_topic import read_to_end
from gridflow.config import Settings
from gridflow.core.bundled import DIVISIONS_FILE
from gridflow.core.engine import Engine
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.rules_version import (
    DECISION_FILES,
    OWN_ONLY_FILES,
    decision_files,
    rules_version,
)
from gridflow.core.yaml_lines import parse_yaml
from gridflow.kafka_client import client_kwargs, ensure_topics
from gridflow.reference import load_engine
from gridflow.topics import RULES
from schemas import RulesBundle

__all__ = [
    "build_bundle",
    "bundle_in_force",
    "dropped_policies",
    "load_bundle_engine",
    "policy_names",
    "publish",
    "read_bundles",
]

#: A bundle holds the division tree (~0.7 MB of CSV); gzip makes the record ~5x smaller.
_MAX_REQUEST = 16 * 1024 * 1024


def build_bundle(
    directory: Path,
    divisions: Path | None,
    *,
    label: str,
    note: str,
    author: str,
    effective_from: datetime,
    published_at: datetime,
) -> RulesBundle:
    """The bundle of ``directory``: every decision file's text and their hash."""
    files = decision_files(directory, divisions)
    texts: dict[str, str] = {}
    for name, path in files.items():
        try:
            texts[name] = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise ConfigLoadError(path, None, f"cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigLoadError(path, None, f"not UTF-8 at byte {exc.start}") from None
    return RulesBundle(
        version=rules_version(files),
        label=label,
        note=note,
        author=author,
        effective_from=effective_from,
        published_at=published_at,
        files=texts,
    )


async def publish(settings: Settings, bundle: RulesBundle) -> None:
    """Write ``bundle`` to ``grid.rules`` (created compacted if missing), keyed by version."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        **client_kwargs(settings),
        client_id=f"{settings.app_id}-rules",
        acks="all",
        compression_type="gzip",
        max_request_size=_MAX_REQUEST,
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic(RULES),
            key=bundle.version.encode(),
            value=bundle.model_dump_json().encode(),
        )
    finally:
        await producer.stop()


async def read_bundles(settings: Settings, timeout_s: float = 30.0) -> list[RulesBundle]:
    """Every version's latest publication, oldest publication first.

    Reads the topic from the beginning to the end offsets it had when called; a key's
    later record replaces its earlier one, as compaction will.
    """
    await ensure_topics(settings)
    latest: dict[str, RulesBundle] = {}
    async for record in read_to_end(
        settings,
        settings.topic(RULES),
        client_id=f"{settings.app_id}-rules-list",
        timeout_s=timeout_s,
        fetch_max_bytes=_MAX_REQUEST,
        max_partition_fetch_bytes=_MAX_REQUEST,
    ):
        if record.value is None:  # a tombstone: the version was withdrawn
            latest.pop((record.key or b"").decode(), None)
            continue
        bundle = RulesBundle.model_validate_json(record.value)
        latest[bundle.version] = bundle
    return sorted(latest.values(), key=lambda b: b.published_at)


def load_bundle_engine(settings: Settings, bundle: RulesBundle) -> Engine:
    """The engine of ``bundle``, loaded as strictly as a worker loads ``GRIDFLOW_RULES``.

    The files are written to a scratch directory and loaded from there (the loaders read
    files); the version is computed again over what was written, so a bundle whose files
    do not match its version is refused with ``ConfigLoadError``, as is one missing a
    decision file. Only the decision files count: the settings' ``GRIDFLOW_DIVISIONS`` is
    replaced by the bundle's own division tree.
    """
    missing = [name for name in DECISION_FILES if name not in bundle.files]
    if missing:
        raise ConfigLoadError(RULES, None, f"bundle {bundle.version} lacks {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="gridflow-bundle-") as scratch:
        root = Path(scratch)
        # The own-only files (inhibit.yaml) only when the bundle has them: without one the
        # feature is off, as for a directory.
        present = [name for name in OWN_ONLY_FILES if name in bundle.files]
        for name in (*DECISION_FILES, *present):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(bundle.files[name], encoding="utf-8")
        written = rules_version(decision_files(root, root / DIVISIONS_FILE))
        if written != bundle.version:
            raise ConfigLoadError(
                RULES, None, f"bundle {bundle.version}: its files hash to {written}"
            )
        return load_engine(
            settings.model_copy(update={"rules": root, "divisions": root / DIVISIONS_FILE})
        )


def policy_names(bundle: RulesBundle) -> set[str]:
    """The SLA policy names a bundle defines (empty when its policies file does not parse)."""
    try:
        doc = parse_yaml(bundle.files.get("policies.yaml", ""), "policies.yaml")
    except ConfigLoadError:
        return set()
    policies = doc.get("policies") if isinstance(doc, dict) else None
    return set(policies) if isinstance(policies, dict) else set()


def dropped_policies(bundle: RulesBundle, published: list[RulesBundle]) -> dict[str, str]:
    """policy name -> the label of a published version that has it, for every policy
    ``bundle`` drops: workers refuse such a bundle (open cases name their policy)."""
    have = policy_names(bundle)
    dropped: dict[str, str] = {}
    for earlier in published:
        for name in sorted(policy_names(earlier) - have):
            dropped.setdefault(name, earlier.label)
    return dropped


def bundle_in_force(bundles: list[RulesBundle], at: datetime) -> RulesBundle | None:
    """The bundle in force at ``at``: the latest switch instant not after ``at``.

    A bundle switches at ``max(effective_from, published_at)``, as workers clamp it
    (gridflow/runtime/rules_timeline.py; they take the publication record's timestamp,
    which the publisher stamps when it writes ``published_at``).
    """

    def switch(b: RulesBundle) -> datetime:
        return max(b.effective_from, b.published_at)

    started = [b for b in bundles if switch(b) <= at]
    return max(started, key=lambda b: (switch(b), b.published_at), default=None)


def now_utc() -> datetime:
    """The wall clock, for ``published_at`` and a default ``effective_from``."""
    return datetime.now(UTC)
