"""Coordinates on intake: GCJ-02 and BD-09 points to WGS-84.

Chinese phone apps and web maps do not send GPS coordinates: 高德 and 腾讯 use GCJ-02 (the
国测局 obfuscated datum), 百度 uses BD-09 on top of it. They differ from WGS-84 by a few
hundred metres, more than a merge radius, so every point is converted to WGS-84 before it
is compared with anything.

The conversion is ``geocoordinates-rs`` (pinned 0.14.2): maintained (2026 releases), MIT or
Apache-2.0, and its inverses come with an error bound (GCJ-02 → WGS-84 within 0.5 m,
BD-09 → WGS-84 within 1 m). The forward GCJ-02 algorithm is public but its inverse has
no closed form; the package iterates to the bound, outside China it leaves points as they
are, as the datum itself does. Alternatives weighed: ``prcoords`` (public domain, same
results, last release 2019) and ``coordTransform`` (one-step inverse, no error bound).
"""

from __future__ import annotations

import geocoordinates_ffi as _gc

__all__ = ["from_wgs84", "to_wgs84"]


def to_wgs84(lat: float, lon: float, system: str) -> tuple[float, float]:
    """``(lat, lon)`` in datum ``system`` (``wgs84``, ``gcj02``, ``bd09``) as WGS-84.

    Raises ``ValueError`` for another datum name.
    """
    if system == "wgs84":
        return lat, lon
    if system == "gcj02":
        point = _gc.gcj02_to_wgs84_refined(_gc.Gcj02(lat=lat, lon=lon))
    elif system == "bd09":
        point = _gc.bd09_to_wgs84_refined(_gc.Bd09(lat=lat, lon=lon))
    else:
        raise ValueError(f"unknown coordinate system {system!r}")
    return float(point.lat), float(point.lon)


def from_wgs84(lat: float, lon: float, system: str) -> tuple[float, float]:
    """A WGS-84 ``(lat, lon)`` as a phone app in datum ``system`` would send it.

    The forward conversions are exact formulas; the simulator uses them to send what
    高德/腾讯 (GCJ-02) and 百度 (BD-09) apps send. Raises ``ValueError`` for another datum.
    """
    if system == "wgs84":
        return lat, lon
    wgs = _gc.Wgs84(lat=lat, lon=lon)
    if system == "gcj02":
        point = _gc.wgs84_to_gcj02(wgs)
    elif system == "bd09":
        point = _gc.wgs84_to_bd09(wgs)
    else:
        raise ValueError(f"unknown coordinate system {system!r}")
    return float(point.lat), float(point.lon)
