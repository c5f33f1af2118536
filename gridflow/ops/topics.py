"""Topic names as the on-call commands take them: the contract's name, prefix optional."""

from __future__ import annotations

from gridflow.config import Settings
from gridflow.kafka_client import COMMANDS_TOPIC, CONTRACT_TOPICS
from gridflow.ops.errors import OpsError

# Unpacked from the registry so a change there fails here at import, not at 3 a.m.
EVENTS_IN, FEEDBACK, DISPOSITIONS, DLQ, METRICS = CONTRACT_TOPICS
#: The workers' internal re-key topic: a record refused there came from an input topic.
COMMANDS = COMMANDS_TOPIC
#: Every topic a person may name: the contract's and the workers' internal re-key topic.
KNOWN = (*CONTRACT_TOPICS, COMMANDS_TOPIC)
#: The topics field apps and centres write to: ``gridflow send`` validates for these.
INPUTS = (EVENTS_IN, FEEDBACK)


def resolve(settings: Settings, name: str) -> tuple[str, str]:
    """``(contract name, full name)`` of ``name``, given with or without the prefix."""
    prefix = settings.topic_prefix
    bare = name[len(prefix) :] if prefix and name.startswith(prefix) else name
    if bare not in KNOWN:
        raise OpsError(f"unknown topic {name!r}: use one of {', '.join(KNOWN)}")
    return bare, settings.topic(bare)


def bare_name(settings: Settings, full: str) -> str:
    """The contract name of a full topic name (as a Rejection's ``source_topic`` holds it)."""
    prefix = settings.topic_prefix
    return full[len(prefix) :] if prefix and full.startswith(prefix) else full
