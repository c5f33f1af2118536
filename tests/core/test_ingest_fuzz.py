"""Fuzzing the input paths: every input is accepted or rejected with a reason, nothing raises."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridflow.core.bundled import BUNDLED_RULES
from gridflow.core.ingest import IngestLimits, decode_events, decode_feedback
from gridflow.core.load_errors import ConfigLoadError
from gridflow.core.rules import RuleSet
from gridflow.logs import mask_pii
from schemas import RejectReason

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
VILLAGES = frozenset({"500103001003"})
NETWORKS = frozenset({"chengguan", "zongzhi"})
LIMITS = IngestLimits(max_record_bytes=4096, max_batch=5)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
EVENT_KEYS = [
    "event_id",
    "source_network",
    "reported_at",
    "region_code",
    "title",
    "description",
    "location",
    "category",
    "severity",
    "reporter",
    "attachments",
    "grid_code",
]
event_like = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.text(max_size=10) | st.integers(0, 10**6),
        "source_network": st.sampled_from(["chengguan", "zongzhi", "martians", ""])
        | st.integers(0, 9),
        "reported_at": st.sampled_from(
            [
                "2026-11-25T10:00:00+08:00",
                "2026-11-25T10:00:00",
                "yesterday",
                "2099-01-01T00:00:00Z",
            ]
        ),
        "region_code": st.sampled_from(["500103001003", "500103999999", "5001", ""]),
        "title": st.text(max_size=30),
        "description": st.text(max_size=30) | st.none(),
        "location": json_values,
        "severity": st.sampled_from(["low", "critical", "apocalyptic"]),
        "reporter": json_values,
        "attachments": json_values,
    },
)


def check(value: bytes) -> None:
    events, rejects = decode_events(
        value, known_region=VILLAGES, known_network=NETWORKS, now=NOW, limits=LIMITS
    )
    for reject in rejects:
        assert isinstance(reject.reason, RejectReason) and reject.detail
    for event in events:
        assert event.region_code in VILLAGES and event.source_network in NETWORKS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_ingest(value: bytes) -> None:
    check(value)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_ingest(doc: object) -> None:
    check(orjson.dumps(doc))


@settings(max_examples=300, deadline=None)
@given(st.lists(event_like, max_size=7) | event_like)
def test_event_shaped_input_is_accepted_or_rejected_element_by_element(doc: object) -> None:
    value = orjson.dumps(doc)
    events, rejects = decode_events(
        value, known_region=VILLAGES, known_network=NETWORKS, now=NOW, limits=LIMITS
    )
    if (
        isinstance(doc, list)
        and len(value) <= LIMITS.max_record_bytes
        and len(doc) <= LIMITS.max_batch
    ):
        assert len(events) + len(rejects) == len(doc)
        assert sorted(r.batch_index for r in rejects) == sorted(set(r.batch_index for r in rejects))  # type: ignore[type-var]
    else:
        assert len(events) + len(rejects) >= 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | json_values.map(orjson.dumps))
def test_arbitrary_feedback_never_crashes(value: bytes) -> None:
    items, rejects = decode_feedback(
        value, known_center=lambda c: c == "500103001003", limits=LIMITS
    )
    assert all(r.reason for r in rejects)
    assert all(i.center_code == "500103001003" for i in items)


@pytest.fixture(scope="module")
def rules_files() -> dict[str, str]:
    root = BUNDLED_RULES
    return {
        name: (root / name).read_text(encoding="utf-8")
        for name in ("routes.yaml", "policies.yaml", "calendar.yaml")
    }


@settings(max_examples=60, deadline=None)
@given(
    cut=st.integers(0, 4000),
    junk=st.sampled_from(["", "\n  - x", ": :", "\t", "{", "tier: moon\n", "  continue: maybe\n"]),
)
def test_a_mangled_rules_file_is_refused_with_a_file_and_line_or_loads(
    tmp_path_factory: pytest.TempPathFactory, rules_files: dict[str, str], cut: int, junk: str
) -> None:
    d = tmp_path_factory.mktemp("rules")
    for name, text in rules_files.items():
        (d / name).write_text(text, encoding="utf-8")
    routes = rules_files["routes.yaml"]
    (d / "routes.yaml").write_text(routes[:cut] + junk + routes[cut:], encoding="utf-8")
    try:
        RuleSet.load(d)
    except ConfigLoadError as exc:
        assert exc.file.endswith(".yaml") and exc.message


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 13812345678 now", "call 138****5678 now"),
        ("id 50010319900101123X", "id 500103********123X"),
        ("event 500103001003 in region", "event 500103001003 in region"),
    ],
)
def test_personal_data_is_masked_in_logs(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
