"""Plain geometry for reports: the city's bounding box and point-in-polygon for neighbourhoods.

No GIS stack: a city has a few hundred neighbourhood polygons at most, each pre-filtered by its
bounding box in the database, so a small ray-casting test is enough and easy to verify.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.conf import settings

Ring = Sequence[Sequence[float]]  # [[lon, lat], ...] as in GeoJSON


def in_city_bounds(latitude: float, longitude: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = settings.CITY_BOUNDS
    return min_lat <= latitude <= max_lat and min_lon <= longitude <= max_lon


def point_in_ring(longitude: float, latitude: float, ring: Ring) -> bool:
    """Ray casting: count how often a ray from the point to the east crosses the ring's edges."""
    inside = False
    count = len(ring)
    for index in range(count):
        x1, y1 = ring[index][0], ring[index][1]
        x2, y2 = ring[index - 1][0], ring[index - 1][1]
        if (y1 > latitude) != (y2 > latitude):
            crossing = x1 + (latitude - y1) * (x2 - x1) / (y2 - y1)
            if longitude < crossing:
                inside = not inside
    return inside


def _polygons(geometry: dict) -> Iterable[Sequence[Ring]]:
    if geometry.get("type") == "Polygon":
        yield geometry["coordinates"]
    elif geometry.get("type") == "MultiPolygon":
        yield from geometry["coordinates"]
    else:
        raise ValueError(f"Expected a Polygon or MultiPolygon, got {geometry.get('type')!r}")


def point_in_geometry(longitude: float, latitude: float, geometry: dict) -> bool:
    """True when the point lies in a polygon's outer ring and in none of its holes."""
    for rings in _polygons(geometry):
        if rings and point_in_ring(longitude, latitude, rings[0]):
            if not any(point_in_ring(longitude, latitude, hole) for hole in rings[1:]):
                return True
    return False


def bounding_box(geometry: dict) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of a Polygon or MultiPolygon."""
    points = [point for rings in _polygons(geometry) for ring in rings for point in ring]
    if not points:
        raise ValueError("The geometry has no coordinates.")
    longitudes = [point[0] for point in points]
    latitudes = [point[1] for point in points]
    return min(longitudes), min(latitudes), max(longitudes), max(latitudes)
