"""Topic names as a person types them: the registry's name, the deployment's prefix optional."""

from __future__ import annotations

from gridflow.config import Settings
from gridflow.ops.errors import OpsError
from gridflow.topics import ALL_TOPICS, EVENTS_IN, FEEDBACK

#: The topics field apps and centres write to: ``gridflow send`` validates records for
#: these, and a refused record is replayed to one of them.
CONTRACT_INPUTS = (EVENTS_IN, FEEDBACK)


def resolve(settings: Settings, name: str) -> tuple[str, str]:
    """``(registry name, full name)`` of ``name``, given with or without the prefix."""
    bare = bare_name(settings, name)
    if bare not in ALL_TOPICS:
        raise OpsError(f"unknown topic {name!r}: use one of {', '.join(ALL_TOPICS)}")
    return bare, settings.topic(bare)


def bare_name(settings: Settings, full: str) -> str:
    """The registry name of a full topic name (as a Rejection's ``source_topic`` holds it)."""
    prefix = settings.topic_prefix
    return full[len(prefix) :] if prefix and full.startswith(prefix) else full
