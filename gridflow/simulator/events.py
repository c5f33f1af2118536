"""A pure, seeded generator of ``grid.events.in`` records: valid, repeated and malformed.

Given the same seed, clock, region tree and catalogue, it yields the same records, byte for
byte. What it produces, per event slot:

* ``valid``: a GridEvent from an incident template, in a real village (urban districts
  more often), with a location, a unit grid code that agrees with it, a category that is
  the unified code, the network's own code or absent, a severity hint and a reporter.
* ``duplicate``: the same incident reported again by another network, minutes later and
  tens of metres away, in its own words (``duplicate_rate`` covers these and resends).
* ``resend``: the exact bytes of an earlier event (a retry: same ``event_id``).
* ``boundary`` (``boundary_rate``, off by default): the same incident reported under a
  neighbouring village of the same town (村界/社区交界), by the same network in the same
  words, within ``DUPLICATE_MAX_M`` of the first report: one case, merged across the
  village line (docs/cross-village.md).
* ``malformed:<reason>``: one defect each, named by the DLQ reason the processor must give
  (:class:`schemas.RejectReason`); ``SimRecord.flaw`` says which defect.

Two kinds of report the processor must treat specially, each decided by a generator of
its own (a datum changes only the point it restates; a hotline report then draws its own
words from the stream like any other network's):

* **Coordinates in a Chinese datum.** A located report from a person's phone app states
  ``coord_system`` ``gcj02`` (高德, 腾讯) or ``bd09`` (百度) in the shares of
  :data:`COORD_SYSTEMS`, its point converted from the incident's WGS-84 position; the
  processor converts it back (``gridflow.core.coords``). Cameras and sensors send WGS-84.
  The unit grid is the WGS-84 point's, as the processor will see it.
* **12345 hotline reports.** :data:`HOTLINE_SHARE` of new incidents whose category the
  ``12345`` network maps are reported through the hotline instead: a citizen caller, the
  hotline's own category code (or the unified one, or none), and a ``request_type``
  (诉求类型) in the shares of :data:`REQUEST_TYPES`.

``SimRecord.coord_systems`` and ``SimRecord.request_types`` say what a record holds.

With ``batch_size > 1`` valid events are packed into one record holding a JSON array
(the contract extension for high-volume sources), cut before it exceeds the record limit.
"""

from __future__ import annotations

import base64
import itertools
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from gridflow.core.catalogue import Catalogue
from gridflow.core.coords import from_wgs84
from gridflow.core.regions import RegionGraph
from gridflow.simulator.incidents import ROADS, TEMPLATES, WHEN, IncidentTemplate
from gridflow.simulator.places import Village, VillageAtlas
from schemas import RejectReason

#: China Standard Time: what field apps in Chongqing stamp their reports with.
CST = timezone(timedelta(hours=8))

VALID = "valid"
DUPLICATE = "duplicate"
RESEND = "resend"
BOUNDARY = "boundary"
MALFORMED = "malformed:"

#: Share of repeated reports that are exact resends (retries) rather than other networks.
RESEND_SHARE = 0.15
#: Share of single-event records keyed wrongly: empty, absent or another village's code.
BAD_KEY_RATE = 0.03
#: A repeat report comes this long after the original at most (and no further than
#: ``DUPLICATE_MAX_M`` away), well inside every category's merge window and radius.
DUPLICATE_MAX_DELAY = timedelta(minutes=8)
DUPLICATE_MAX_M = 40.0
#: How many recent incidents may be reported again.
_RECENT = 256

#: Defects of malformed records: (flaw, DLQ reason, relative weight). Oversize records are
#: rarer because each costs a quarter of a megabyte of broker traffic.
FLAWS: tuple[tuple[str, RejectReason, float], ...] = (
    ("invalid_json", RejectReason.INVALID_JSON, 1.0),
    ("not_utf8", RejectReason.NOT_UTF8, 1.0),
    ("missing_field", RejectReason.SCHEMA, 1.0),
    ("short_region_code", RejectReason.SCHEMA, 1.0),
    ("naive_timestamp", RejectReason.SCHEMA, 1.0),
    ("wrong_types", RejectReason.SCHEMA, 1.0),
    ("unknown_region", RejectReason.UNKNOWN_REGION, 1.0),
    ("future_timestamp", RejectReason.FUTURE_TIMESTAMP, 1.0),
    ("unknown_network", RejectReason.UNKNOWN_NETWORK, 1.0),
    ("too_large", RejectReason.TOO_LARGE, 0.3),
)
_FLAW_CUM = list(itertools.accumulate(weight for _, _, weight in FLAWS))

#: The 12345 hotline's network name (routing_rules/networks.yaml).
HOTLINE = "12345"
#: Reporter roles per network, with weights: who typically files that network's reports.
_ROLES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "zongzhi": (("grid_worker", "citizen"), (8, 2)),
    "chengguan": (("grid_worker", "citizen"), (6, 4)),
    "gongan": (("grid_worker", "citizen"), (5, 5)),
    "yingji": (("grid_worker", "citizen", "sensor"), (5, 3, 2)),
    "huanbao": (("grid_worker", "citizen", "sensor"), (4, 3, 3)),
    "shichang": (("grid_worker", "citizen"), (6, 4)),
    "video_ai": (("video_ai",), (1,)),
    HOTLINE: (("citizen",), (1,)),
}
_EVENT_ID_PREFIX = {
    "zongzhi": "ZZ",
    "chengguan": "CG",
    "gongan": "GA",
    "yingji": "YJ",
    "huanbao": "HB",
    "shichang": "SC",
    "video_ai": "AI",
    HOTLINE: "RX",
}
#: Datums of located reports from people's phone apps, with their shares (the rest: WGS-84).
#: 高德 and 腾讯 (GCJ-02) lead the Chinese market, 百度 (BD-09) follows; a grid worker's
#: terminal with a GPS fix sends WGS-84. Project choice, documented in README "Simulator".
COORD_SYSTEMS: tuple[tuple[str, float], ...] = (("gcj02", 0.2), ("bd09", 0.1))
#: Reporters whose devices send WGS-84 (machines).
_MACHINES = frozenset({"sensor", "video_ai"})
#: The 12345 hotline: share of new incidents of a category it maps reported through it.
HOTLINE_SHARE = 0.15
#: 诉求类型 of hotline calls and their shares: complaints and questions dominate the
#: published 12345 statistics (投诉 ~40 %, 咨询 ~25 %); project choice within them.
REQUEST_TYPES: tuple[tuple[str, float], ...] = (
    ("投诉", 0.38),
    ("咨询", 0.25),
    ("求助", 0.17),
    ("举报", 0.10),
    ("建议", 0.07),
    ("表扬", 0.03),
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗谢唐"
_UNKNOWN_NETWORKS = ("jiaotong", "shuiwu", "wangge_v1", "dianli", "hotline12345")


@dataclass(frozen=True, slots=True)
class SimRecord:
    """One record for ``grid.events.in`` and what it is meant to be."""

    key: bytes | None
    value: bytes
    #: ``valid`` / ``duplicate`` / ``resend`` / ``malformed:<RejectReason value>``.
    kind: str
    #: GridEvents in the value: more than one for a batch record.
    events: int = 1
    #: for ``duplicate`` and ``resend``: the ``event_id`` of the first report.
    original_id: str | None = None
    #: for ``malformed:*``: the defect (see :data:`FLAWS`).
    flaw: str | None = None
    #: ``valid`` / ``duplicate``: the ``coord_system`` of each event in a Chinese datum
    #: (GCJ-02, BD-09; a resend is not counted again).
    coord_systems: tuple[str, ...] = ()
    #: the ``request_type`` of each 12345 event.
    request_types: tuple[str, ...] = ()

    @property
    def malformed(self) -> bool:
        """True when the processor must reject this record to the DLQ."""
        return self.kind.startswith(MALFORMED)

    @property
    def reason(self) -> str | None:
        """The DLQ reason a malformed record must get, else ``None``."""
        return self.kind[len(MALFORMED) :] if self.malformed else None


@dataclass(slots=True)
class _Incident:
    """An incident already reported, which other networks may report again."""

    template: IncidentTemplate
    village: Village
    road: str
    number: int
    lat: float
    lon: float
    reported_at: datetime
    event_id: str
    key: bytes
    encoded: bytes
    networks: set[str] = field(default_factory=set)
    #: what the first report stated (see SimRecord.coord_systems / request_types).
    coord_systems: tuple[str, ...] = ()
    request_types: tuple[str, ...] = ()


def network_codes(catalogue: Catalogue) -> dict[str, dict[str, tuple[str, ...]]]:
    """Each network's own category codes per unified code (network → unified → own codes).

    Taken from the catalogue, which read ``networks.yaml`` with the strict loader the
    processor uses, so the simulator never sends a code the processor cannot resolve on
    purpose. An own code that is itself a unified code is left out (it needs no mapping).
    """
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    for network, own_codes in catalogue.own_codes().items():
        by_unified: dict[str, list[str]] = {}
        for own in own_codes:
            category = catalogue.resolve(network, own)
            if category is not None and category.code != own:
                by_unified.setdefault(category.code, []).append(own)
        table[network] = {code: tuple(owns) for code, owns in by_unified.items()}
    return table


def rfc3339(moment: datetime) -> str:
    """``moment`` in China Standard Time, RFC 3339 with milliseconds and ``+08:00``."""
    return moment.astimezone(CST).isoformat(timespec="milliseconds")


def _now_cst() -> datetime:
    return datetime.now(CST)


class EventGenerator:
    """An endless, seeded stream of :class:`SimRecord`; see the module docstring."""

    def __init__(
        self,
        seed: int,
        *,
        duplicate_rate: float = 0.1,
        malformed_rate: float = 0.01,
        batch_size: int = 1,
        clock: Callable[[], datetime] = _now_cst,
        regions: RegionGraph | None = None,
        catalogue: Catalogue | None = None,
        own_codes: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
        max_record_bytes: int = 256 * 1024,
        max_batch_events: int = 1000,
        boundary_rate: float = 0.0,
    ) -> None:
        """Set up a stream; rates are shares of events (not records), in [0, 1].

        ``clock`` gives "now" for ``reported_at`` (an aware datetime); the default is the
        wall clock, pass a fixed or stepped one for reproducible output.
        """
        if not 0.0 <= duplicate_rate <= 1.0 or not 0.0 <= malformed_rate <= 1.0:
            raise ValueError("duplicate_rate and malformed_rate must be within [0, 1]")
        if not 0.0 <= boundary_rate <= 1.0:
            raise ValueError("boundary_rate must be within [0, 1]")
        if duplicate_rate + malformed_rate + boundary_rate > 1.0:
            raise ValueError("duplicate_rate + malformed_rate + boundary_rate must not exceed 1")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._rng = random.Random(seed)
        #: datums and the hotline: their own draws, so the main stream does not shift.
        self._datum_rng = random.Random(f"{seed}|datum")
        self._hotline_rng = random.Random(f"{seed}|12345")
        self.duplicate_rate = duplicate_rate
        self.malformed_rate = malformed_rate
        self.boundary_rate = boundary_rate
        self.batch_size = min(batch_size, max_batch_events)
        self.max_record_bytes = max_record_bytes
        self._clock = clock
        self._regions = regions if regions is not None else RegionGraph.default()
        self._catalogue = catalogue if catalogue is not None else Catalogue.default()
        self._own = own_codes if own_codes is not None else network_codes(self._catalogue)
        self._atlas = VillageAtlas(self._regions)
        self._networks = self._catalogue.networks
        #: unified categories the 12345 network has a code for.
        self._hotline_categories = frozenset(self._own.get(HOTLINE, {}))
        self._templates = tuple(
            t for t in TEMPLATES if t.category in self._catalogue and self._known(t.networks)
        )
        if not self._templates:
            raise ValueError("no incident template fits the catalogue's categories and networks")
        self._template_cum = list(itertools.accumulate(t.weight for t in self._templates))
        self._recent: deque[_Incident] = deque(maxlen=_RECENT)
        self._pending: list[tuple[bytes, _Incident]] = []
        self._pending_bytes = 0
        self._out: deque[SimRecord] = deque()

    def _known(self, networks: tuple[str, ...]) -> bool:
        return any(n in self._networks for n in networks)

    # ---- the stream ----

    def __iter__(self) -> Iterator[SimRecord]:
        return self.records()

    def records(self, limit: int | None = None) -> Iterator[SimRecord]:
        """Records holding ``limit`` events in all (endless when ``None``).

        A pending batch is cut short at the limit, so the total is exact.
        """
        produced = 0
        while limit is None or produced < limit:
            record = self.next_record(None if limit is None else limit - produced)
            produced += record.events
            yield record

    def next_record(self, max_events: int | None = None) -> SimRecord:
        """The next record, holding at most ``max_events`` events (a batch may hold fewer)."""
        cap = self.batch_size if max_events is None else max(1, min(self.batch_size, max_events))
        while not self._out:
            if self._pending and len(self._pending) >= cap:
                self._flush()
            else:
                self._slot(cap)
        return self._out.popleft()

    def _slot(self, cap: int) -> None:
        """Decide one event slot; queues zero or more finished records."""
        rng = self._rng
        u = rng.random()
        if u < self.malformed_rate:
            self._out.append(self._malformed())
            return
        if u < self.malformed_rate + self.duplicate_rate and self._repeat():
            return
        # Checked only when enabled, so a stream without boundary reports draws as before.
        if (
            self.boundary_rate
            and self.malformed_rate + self.duplicate_rate
            <= u
            < self.malformed_rate + self.duplicate_rate + self.boundary_rate
            and self._boundary()
        ):
            return
        # Also when a repeat was due but nothing recent can be repeated (the first slots).
        self._valid(cap)

    # ---- valid events ----

    def _valid(self, cap: int) -> None:
        rng = self._rng
        template = self._templates[self._pick(self._template_cum)]
        village = self._atlas.pick(rng)
        network = self._hotline(template, self._network(template, set()))
        now = self._clock()
        road, number = rng.choice(ROADS), rng.randint(1, 48)
        lat, lon = self._atlas.point_in(village, rng)
        doc, role = self._event_doc(template, village, network, road, number, lat, lon, now)
        reported = now - self._backdate(role)
        doc["reported_at"] = rfc3339(reported)
        encoded = orjson.dumps(doc)
        incident = _Incident(
            template,
            village,
            road,
            number,
            lat,
            lon,
            reported,
            doc["event_id"],
            village.code.encode(),
            encoded,
            {network},
            *_tags(doc),
        )
        if cap <= 1:
            coords, requests = _tags(doc)
            self._out.append(
                SimRecord(
                    self._key(village),
                    encoded,
                    VALID,
                    coord_systems=coords,
                    request_types=requests,
                )
            )
            self._recent.append(incident)
            return
        # The array costs a comma per element and two brackets.
        if self._pending and self._pending_bytes + len(encoded) + 2 > self.max_record_bytes:
            self._flush()
        self._pending.append((encoded, incident))
        self._pending_bytes += len(encoded) + 1
        if len(self._pending) >= cap:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        value = b"[" + b",".join(encoded for encoded, _ in self._pending) + b"]"
        # A batch mixes villages: no single key fits, the processor re-keys each event.
        self._out.append(
            SimRecord(
                None,
                value,
                VALID,
                events=len(self._pending),
                coord_systems=tuple(c for _, i in self._pending for c in i.coord_systems),
                request_types=tuple(r for _, i in self._pending for r in i.request_types),
            )
        )
        # Only events already sent may be repeated, so no retry overtakes its original.
        self._recent.extend(incident for _, incident in self._pending)
        self._pending.clear()
        self._pending_bytes = 0

    def _event_doc(
        self,
        template: IncidentTemplate,
        village: Village,
        network: str,
        road: str,
        number: int,
        lat: float,
        lon: float,
        now: datetime,
    ) -> tuple[dict[str, Any], str | None]:
        """A GridEvent document (without ``reported_at``) and the reporter's role."""
        rng = self._rng
        prefix = _EVENT_ID_PREFIX.get(network, network[:2].upper())
        day = now.astimezone(CST)
        event_id = f"{prefix}-{day.year:04d}{day.month:02d}{day.day:02d}-{rng.getrandbits(64):016x}"
        doc: dict[str, Any] = {
            "event_id": event_id,
            "source_network": network,
            "reported_at": "",
            "region_code": village.code,
        }
        machine = network == "video_ai"
        if machine or rng.random() < 0.92:
            # The grid follows from the coordinates as sent, so the two always agree.
            lat, lon = round(lat, 6), round(lon, 6)
            doc["location"] = {"lat": lat, "lon": lon}
            if machine or rng.random() < 0.8:
                doc["grid_code"] = self._atlas.grid_code(village, lat, lon)
        category = self._category(template.category, network)
        if category is not None:
            doc["category"] = category
        title = rng.choice(template.titles).format(road=road, n=number)
        detail = rng.choice(template.details).format(road=road, n=number)
        where = f"位置：{road}{number}号附近，{village.name}。"
        if machine:
            title = f"【视频AI告警】{title}"
            detail = f"点位{doc.get('grid_code', village.code)}识别到疑似事件，置信度{rng.uniform(0.6, 0.99):.2f}。"
        when = "" if machine else rng.choice(WHEN)
        words = rng.random()
        if words < 0.1:
            doc["title"] = title
        elif words < 0.2:
            doc["description"] = f"{when}{title}，{detail}{where}"
        else:
            doc["title"] = title
            doc["description"] = f"{when}{detail}{where}"
        if rng.random() < 0.7:
            doc["severity"] = rng.choice(template.severities)
        role = self._role(network)
        if role is not None:
            doc["reporter"] = self._reporter(role, network, village)
            if role != "sensor" and rng.random() < 0.3:
                doc["attachments"] = [
                    f"https://oss.gridflow.example/{day.year:04d}/{day.month:02d}/{day.day:02d}/{event_id}-{i}.jpg"
                    for i in range(1, rng.randint(1, 3) + 1)
                ]
        self._hotline_call(doc)
        self._datum(doc, role)
        return doc, role

    # ---- Chinese datums and the 12345 hotline (their own generators) ----

    def _datum(self, doc: dict[str, Any], role: str | None) -> None:
        """State a located report from a phone app in GCJ-02 or BD-09, as such apps do."""
        location = doc.get("location")
        if location is None or role in _MACHINES or doc["source_network"] == "video_ai":
            return
        u = self._datum_rng.random()
        for system, share in COORD_SYSTEMS:
            if u < share:
                lat, lon = from_wgs84(location["lat"], location["lon"], system)
                doc["location"] = {"lat": round(lat, 6), "lon": round(lon, 6)}
                doc["coord_system"] = system
                return
            u -= share

    def _hotline(self, template: IncidentTemplate, network: str) -> str:
        """``12345`` for :data:`HOTLINE_SHARE` of the incidents it can take, else ``network``."""
        if template.category not in self._hotline_categories:
            return network
        return HOTLINE if self._hotline_rng.random() < HOTLINE_SHARE else network

    def _hotline_call(self, doc: dict[str, Any]) -> None:
        """A 12345 report states the caller's request type (诉求类型)."""
        if doc["source_network"] != HOTLINE:
            return
        types, weights = zip(*REQUEST_TYPES, strict=True)
        doc["request_type"] = self._hotline_rng.choices(types, weights)[0]

    def _category(self, unified: str, network: str) -> str | None:
        """The unified code, the network's own code, or nothing (classify the text)."""
        rng = self._rng
        own = self._own.get(network, {}).get(unified, ())
        if network == "video_ai":
            # Cameras always send their own label when they have one for it.
            return rng.choice(own) if own else None
        u = rng.random()
        if u < 0.45:
            return unified
        if u < 0.75:
            return rng.choice(own) if own else unified
        return None

    def _network(self, template: IncidentTemplate, exclude: set[str]) -> str:
        """A network that plausibly reports ``template``; the first listed is likeliest."""
        plausible = [n for n in template.networks if n in self._networks]
        # When every plausible network has spoken, one of them reports again (another
        # reporter of the same network) rather than an implausible network.
        candidates = [n for n in plausible if n not in exclude] or plausible
        if not candidates:
            candidates = sorted(self._networks)
        weights = [2.0**-i for i in range(len(candidates))]
        return self._rng.choices(candidates, weights)[0]

    def _role(self, network: str) -> str | None:
        if self._rng.random() < 0.1:
            return None  # some apps send no reporter at all
        roles, weights = _ROLES.get(network, (("grid_worker",), (1.0,)))
        return self._rng.choices(roles, weights)[0]

    def _reporter(self, role: str, network: str, village: Village) -> dict[str, Any]:
        rng = self._rng
        if role == "grid_worker":
            return {"id": f"GW{village.code[:9]}{rng.randint(1, 40):03d}", "role": role}
        if role == "sensor":
            return {"id": f"SN-{network}-{village.code}-{rng.randint(1, 12):02d}", "role": role}
        if role == "video_ai":
            return {"id": f"CAM{village.code}{rng.randint(1, 60):03d}", "role": role}
        reporter: dict[str, Any] = {"id": f"U{rng.getrandbits(40):010x}", "role": role}
        if rng.random() < 0.4:
            reporter["name"] = f"{rng.choice(_SURNAMES)}{rng.choice(('先生', '女士'))}"
            reporter["phone"] = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
        return reporter

    def _backdate(self, role: str | None) -> timedelta:
        """How long before sending the reporter saw it: machines at once, people later."""
        if role in ("sensor", "video_ai"):
            return timedelta(seconds=self._rng.uniform(0.0, 5.0))
        return timedelta(seconds=self._rng.uniform(0.0, 120.0))

    def _key(self, village: Village) -> bytes | None:
        rng = self._rng
        if rng.random() >= BAD_KEY_RATE:
            return village.code.encode()
        u = rng.random()
        if u < 0.4:
            return b""
        if u < 0.7:
            return None
        return self._atlas.pick(rng).code.encode()

    def _pick(self, cumulative: list[float]) -> int:
        return self._rng.choices(range(len(cumulative)), cum_weights=cumulative)[0]

    # ---- repeats ----

    def _repeat(self) -> bool:
        """Queue a duplicate or a resend of a recent incident; False when there is none."""
        rng = self._rng
        now = self._clock()
        while self._recent and now - self._recent[0].reported_at > DUPLICATE_MAX_DELAY:
            self._recent.popleft()
        if not self._recent:
            return False
        # Recent incidents are the likeliest to be seen by a second network.
        depth = min(len(self._recent), 64)
        incident = self._recent[-1 - int(rng.random() ** 2 * depth)]
        if rng.random() < RESEND_SHARE:
            self._out.append(
                SimRecord(
                    incident.key,
                    incident.encoded,
                    RESEND,
                    original_id=incident.event_id,
                )
            )
            return True
        network = self._network(incident.template, incident.networks)
        incident.networks.add(network)
        lat, lon = self._atlas.near(
            incident.village, incident.lat, incident.lon, rng, DUPLICATE_MAX_M
        )
        doc, _ = self._event_doc(
            incident.template,
            incident.village,
            network,
            incident.road,
            incident.number,
            lat,
            lon,
            now,
        )
        seen = incident.reported_at + timedelta(seconds=rng.uniform(-60.0, 420.0))
        doc["reported_at"] = rfc3339(min(seen, now))
        self._out.append(
            SimRecord(
                self._key(incident.village),
                orjson.dumps(doc),
                DUPLICATE,
                original_id=incident.event_id,
                coord_systems=_tags(doc)[0],
            )
        )
        return True

    def _boundary(self) -> bool:
        """Queue a report of a recent incident under a neighbouring village of its town.

        The grid workers of two communities that share a street both report what happens
        on it: same network, same words and category (so both stages agree it is the same
        kind of incident), a point near the first report, the other village's code and
        unit grid. False when no recent located incident has a sibling village.
        """
        rng = self._rng
        now = self._clock()
        while self._recent and now - self._recent[0].reported_at > DUPLICATE_MAX_DELAY:
            self._recent.popleft()
        depth = min(len(self._recent), 64)
        if not depth:
            return False
        incident = self._recent[-1 - int(rng.random() ** 2 * depth)]
        siblings = self._atlas.siblings(incident.village)
        original = orjson.loads(incident.encoded)
        if not siblings or "location" not in original:
            return False
        village = rng.choice(siblings)
        lat, lon = self._atlas.near(
            incident.village, incident.lat, incident.lon, rng, DUPLICATE_MAX_M
        )
        lat, lon = round(lat, 6), round(lon, 6)
        doc = dict(original)
        prefix = str(original["event_id"]).split("-", 1)[0]
        day = now.astimezone(CST)
        doc["event_id"] = (
            f"{prefix}-{day.year:04d}{day.month:02d}{day.day:02d}-{rng.getrandbits(64):016x}"
        )
        doc["region_code"] = village.code
        # The point is WGS-84 whatever datum the first report used.
        doc.pop("coord_system", None)
        doc.pop("attachments", None)
        doc["location"] = {"lat": lat, "lon": lon}
        if "grid_code" in doc:
            doc["grid_code"] = self._atlas.grid_code(village, lat, lon)
        reporter = doc.get("reporter")
        if isinstance(reporter, dict) and reporter.get("role"):
            doc["reporter"] = self._reporter(str(reporter["role"]), doc["source_network"], village)
        seen = incident.reported_at + timedelta(seconds=rng.uniform(-60.0, 420.0))
        doc["reported_at"] = rfc3339(min(seen, now))
        self._out.append(
            SimRecord(
                self._key(village), orjson.dumps(doc), BOUNDARY, original_id=incident.event_id
            )
        )
        return True

    # ---- malformed records ----

    def _malformed(self) -> SimRecord:
        rng = self._rng
        flaw, reason, _ = FLAWS[self._pick(_FLAW_CUM)]
        template = self._templates[self._pick(self._template_cum)]
        village = self._atlas.pick(rng)
        network = self._network(template, set())
        now = self._clock()
        lat, lon = self._atlas.point_in(village, rng)
        doc, _ = self._event_doc(
            template, village, network, rng.choice(ROADS), rng.randint(1, 48), lat, lon, now
        )
        doc["reported_at"] = rfc3339(now)
        key: bytes | None = village.code.encode()
        value: bytes
        if flaw == "invalid_json":
            text = orjson.dumps(doc).decode()
            # An object cut before its closing brace is never valid JSON.
            value = text[: rng.randint(1, len(text) - 1)].encode()
        elif flaw == "not_utf8":
            # A legacy system sending GBK: Chinese text in GBK is not valid UTF-8.
            value = orjson.dumps(doc).decode().encode("gb18030")
        elif flaw == "missing_field":
            victim = rng.choice(
                ("event_id", "source_network", "reported_at", "region_code", "words")
            )
            if victim == "words":
                doc.pop("title", None)
                doc.pop("description", None)
            else:
                del doc[victim]
            value = orjson.dumps(doc)
        elif flaw == "short_region_code":
            doc["region_code"] = village.code[:11]
            key = village.code[:11].encode()
            value = orjson.dumps(doc)
        elif flaw == "naive_timestamp":
            doc["reported_at"] = (
                now.astimezone(CST).replace(tzinfo=None).isoformat(timespec="seconds")
            )
            value = orjson.dumps(doc)
        elif flaw == "wrong_types":
            self._break_types(doc)
            value = orjson.dumps(doc)
        elif flaw == "unknown_region":
            doc["region_code"] = self._unknown_region(village)
            doc.pop("grid_code", None)
            key = doc["region_code"].encode()
            value = orjson.dumps(doc)
        elif flaw == "future_timestamp":
            doc["reported_at"] = rfc3339(now + timedelta(days=1, seconds=rng.uniform(0, 3600)))
            value = orjson.dumps(doc)
        elif flaw == "unknown_network":
            doc["source_network"] = self._unknown_network()
            value = orjson.dumps(doc)
        else:  # too_large: a photo pasted into the report as base64
            size = self.max_record_bytes + rng.randint(1, 64 * 1024)
            photo = base64.b64encode(rng.randbytes(size * 3 // 4 + 3)).decode()
            doc["attachments"] = [f"data:image/jpeg;base64,{photo}"]
            value = orjson.dumps(doc)
        return SimRecord(key, value, MALFORMED + reason.value, flaw=flaw)

    def _break_types(self, doc: dict[str, Any]) -> None:
        """Give one field a JSON type the schema refuses."""
        victim = self._rng.choice(("event_id", "region_code", "location", "reporter", "severity"))
        if victim == "event_id":
            doc["event_id"] = self._rng.getrandbits(40)
        elif victim == "region_code":
            doc["region_code"] = int(doc["region_code"])
        elif victim == "location":
            doc["location"] = f"{self._rng.uniform(29, 30):.5f},{self._rng.uniform(106, 107):.5f}"
        elif victim == "reporter":
            doc["reporter"] = ["网格员", "grid_worker"]
        else:
            doc["severity"] = self._rng.randint(1, 4)

    def _unknown_region(self, village: Village) -> str:
        """A well-formed village code that the region tree does not hold."""
        rng = self._rng
        while True:
            if rng.random() < 0.7:
                # A village number that town does not have (a new or mistyped community).
                code = f"{village.code[:9]}{rng.randint(400, 999):03d}"
            else:
                # A village of another province (Sichuan 51, Guizhou 52, Hubei 42).
                code = f"{rng.choice(('51', '52', '42'))}{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}{rng.randint(1, 299):03d}{rng.randint(1, 399):03d}"
            if code not in self._regions:
                return code

    def _unknown_network(self) -> str:
        """A well-formed network name that ``networks.yaml`` does not configure."""
        while True:
            name = self._rng.choice(_UNKNOWN_NETWORKS)
            if name not in self._networks:
                return name
            name = f"net_{self._rng.getrandbits(24):06x}"
            if name not in self._networks:
                return name


def _tags(doc: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The event's non-WGS-84 datum and 12345 request type, as SimRecord counts them."""
    system = doc.get("coord_system")
    request = doc.get("request_type")
    return ((system,) if system else ()), ((request,) if request else ())


def generate(count: int, seed: int, **options: Any) -> list[SimRecord]:
    """The first records of a seeded stream, holding ``count`` events in all.

    ``options`` are :class:`EventGenerator`'s keyword arguments.
    """
    return list(EventGenerator(seed, **options).records(count))
