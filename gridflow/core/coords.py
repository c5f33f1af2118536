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

Its Python binding (UniFFI) marshals every argument through pure-Python byte loops: a
conversion took ~17 µs on a quiet core, a tenth of a report's whole cost, for a Rust call
of well under one. :func:`to_wgs84` calls the same Rust functions with the same bytes
through :class:`_Direct` (the packed point copied into a buffer in one move, one call,
the result read at once), ~3 µs; tests/core/test_coords.py checks it gives bit for bit what the
public functions give. Should a later binding lack what it uses, the public functions
are used instead.
"""

from __future__ import annotations

import ctypes
import importlib
import struct
from collections.abc import Callable
from typing import Any

import geocoordinates_ffi as _gc

__all__ = ["from_wgs84", "to_wgs84"]

#: A point as the binding lowers it (two big-endian doubles), and its approximate result
#: as it lifts it (lat, lon, max_error_m).
_POINT = struct.Struct(">dd")
_APPROX = struct.Struct(">ddd")


class _Direct:
    """One ``*_to_wgs84_refined`` function of the binding, called without its marshalling."""

    __slots__ = ("_alloc", "_fn", "_free", "_status")

    def __init__(self, ffi: Any, fn: Any) -> None:
        self._fn = fn
        self._alloc = ffi._UniffiLib.ffi_geocoordinates_ffi_rustbuffer_alloc
        self._free = ffi._UniffiLib.ffi_geocoordinates_ffi_rustbuffer_free
        self._status = ffi._UniffiRustCallStatus

    def __call__(self, lat: float, lon: float) -> tuple[float, float] | None:
        """WGS-84 ``(lat, lon)``, or None when the call did not succeed (the caller then
        asks the public function, which raises what the binding raises)."""
        status = self._status()
        buf = self._alloc(_POINT.size, ctypes.byref(status))
        if status.code:
            return None
        ctypes.memmove(buf.data, _POINT.pack(lat, lon), _POINT.size)
        buf.len = _POINT.size
        out = self._fn(buf, ctypes.byref(status))  # the function owns (frees) ``buf``
        if status.code:
            if status.error_buf.capacity:
                self._free(status.error_buf, ctypes.byref(self._status()))
            return None
        try:
            if out.len != _APPROX.size:
                return None
            point = _APPROX.unpack(ctypes.string_at(out.data, out.len))
        finally:
            self._free(out, ctypes.byref(status))
        return point[0], point[1]


def _direct(name: str) -> Callable[[float, float], tuple[float, float] | None] | None:
    try:
        ffi = importlib.import_module("geocoordinates_ffi.geocoordinates_ffi")
        return _Direct(ffi, getattr(ffi._UniffiLib, f"uniffi_geocoordinates_ffi_fn_func_{name}"))
    except (ImportError, AttributeError):
        return None


_GCJ02 = _direct("gcj02_to_wgs84_refined")
_BD09 = _direct("bd09_to_wgs84_refined")


def to_wgs84(lat: float, lon: float, system: str) -> tuple[float, float]:
    """``(lat, lon)`` in datum ``system`` (``wgs84``, ``gcj02``, ``bd09``) as WGS-84.

    Raises ``ValueError`` for another datum name.
    """
    if system == "wgs84":
        return lat, lon
    direct = _GCJ02 if system == "gcj02" else _BD09 if system == "bd09" else None
    found = direct(lat, lon) if direct is not None else None
    if found is not None:
        return found
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
