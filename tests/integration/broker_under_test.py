"""Which broker a test runs on (the ``broker`` fixture of tests/conftest.py yields one).

A module of its own on the tests' path, not in conftest.py: several conftest modules exist
in this tree, so ``from conftest import …`` would import whichever pytest loaded first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BrokerUnderTest:
    """Which broker a test runs on and how to reach it."""

    kind: str  # "embedded", "kafka" or "external"
    bootstrap: str

    @property
    def is_apache_kafka(self) -> bool:
        """True on Apache Kafka (transactions, correct end offsets, real limits)."""
        return self.kind != "embedded"
