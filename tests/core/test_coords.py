"""Datum conversion on intake: the direct call gives what the binding's functions give.

``gridflow.core.coords`` calls geocoordinates-rs's Rust functions without the binding's
pure-Python marshalling (a conversion cost ~17 µs through it, ~4 µs direct). Coordinates
reach dispositions and state, so the two must agree to the last bit.
"""

from __future__ import annotations

import random

import geocoordinates_ffi as gc
import pytest

from gridflow.core import coords
from gridflow.core.coords import to_wgs84


def _points() -> list[tuple[float, float]]:
    rng = random.Random(11)
    inside = [(rng.uniform(18.0, 53.5), rng.uniform(73.5, 135.0)) for _ in range(3000)]
    anywhere = [(rng.uniform(-90.0, 90.0), rng.uniform(-180.0, 180.0)) for _ in range(1000)]
    edges = [(0.0, 0.0), (90.0, 180.0), (-90.0, -180.0), (29.563, 106.5516), (53.56, 73.66)]
    return inside + anywhere + edges


POINTS = _points()


def _outcome(call: object, *args: object) -> object:
    """The value, or the type and text of what was raised (the binding refuses some
    points, e.g. a BD-09 point whose inverse leaves the globe)."""
    try:
        return call(*args)  # type: ignore[operator]
    except Exception as exc:  # compared, not handled
        return (type(exc), str(exc))


def _public(convert: object, point: type) -> object:
    def call(lat: float, lon: float) -> tuple[float, float]:
        out = convert(point(lat=lat, lon=lon))  # type: ignore[operator]
        return (out.lat, out.lon)

    return call


def test_the_direct_gcj02_inverse_is_the_binding_s_bit_for_bit() -> None:
    assert coords._GCJ02 is not None, "the direct call is in use with the pinned binding"
    public = _public(gc.gcj02_to_wgs84_refined, gc.Gcj02)
    for lat, lon in POINTS:
        assert _outcome(to_wgs84, lat, lon, "gcj02") == _outcome(public, lat, lon)


def test_the_direct_bd09_inverse_is_the_binding_s_bit_for_bit() -> None:
    assert coords._BD09 is not None
    public = _public(gc.bd09_to_wgs84_refined, gc.Bd09)
    refused = 0
    for lat, lon in POINTS:
        expected = _outcome(public, lat, lon)
        refused += not isinstance(expected[0], float)  # type: ignore[index]
        assert _outcome(to_wgs84, lat, lon, "bd09") == expected
    assert refused  # the refusal path was taken too


def test_without_the_direct_call_the_binding_s_functions_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = [to_wgs84(lat, lon, "gcj02") for lat, lon in POINTS[:50]]
    monkeypatch.setattr(coords, "_GCJ02", None)
    assert [to_wgs84(lat, lon, "gcj02") for lat, lon in POINTS[:50]] == expected


def test_wgs84_passes_through_and_another_datum_is_refused() -> None:
    assert to_wgs84(29.5, 106.5, "wgs84") == (29.5, 106.5)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(29.5, 106.5, "cgcs2000")
