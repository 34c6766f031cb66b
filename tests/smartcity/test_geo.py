"""Neighbourhoods: point-in-polygon by ray casting, and the load_areas command."""
import json

import pytest
from django.core.management import CommandError, call_command

from smartcity.geo import in_city_bounds, point_in_geometry
from smartcity.models import Area

SQUARE = {"type": "Polygon", "coordinates": [[[4.30, 52.07], [4.32, 52.07], [4.32, 52.09], [4.30, 52.09], [4.30, 52.07]]]}
WITH_HOLE = {"type": "Polygon", "coordinates": [
    SQUARE["coordinates"][0],
    [[4.305, 52.075], [4.315, 52.075], [4.315, 52.085], [4.305, 52.085], [4.305, 52.075]],
]}
L_SHAPE = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]]}


def test_a_point_inside_a_polygon_is_found_and_one_outside_is_not():
    assert point_in_geometry(4.31, 52.08, SQUARE)
    assert not point_in_geometry(4.33, 52.08, SQUARE)
    assert not point_in_geometry(4.31, 52.10, SQUARE)


def test_a_point_in_a_hole_is_outside():
    assert not point_in_geometry(4.31, 52.08, WITH_HOLE)
    assert point_in_geometry(4.302, 52.08, WITH_HOLE)


def test_a_concave_polygon_excludes_its_notch():
    assert point_in_geometry(0.5, 1.5, L_SHAPE)
    assert not point_in_geometry(1.5, 1.5, L_SHAPE)


def test_a_multipolygon_contains_points_in_any_part():
    multi = {"type": "MultiPolygon", "coordinates": [L_SHAPE["coordinates"], SQUARE["coordinates"]]}
    assert point_in_geometry(0.5, 0.5, multi) and point_in_geometry(4.31, 52.08, multi)
    assert not point_in_geometry(3, 3, multi)


def test_the_default_city_bounds_cover_the_hague_and_not_stockholm():
    assert in_city_bounds(52.04, 4.24) and in_city_bounds(52.12, 4.36)
    assert not in_city_bounds(59.33, 18.06)


@pytest.mark.django_db
def test_load_areas_loads_polygons_and_a_reports_area_follows_from_its_point(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Centrum"}, "geometry": SQUARE},
        {"type": "Feature", "properties": {"name": "Elders"}, "geometry": L_SHAPE},
    ]}))
    call_command("load_areas", str(path), verbosity=0)
    call_command("load_areas", str(path), verbosity=0)  # again: updated, not duplicated
    assert Area.objects.count() == 2
    centrum = Area.objects.get(slug="centrum")
    assert (centrum.min_longitude, centrum.max_latitude) == (4.30, 52.09)
    assert Area.objects.for_point(52.08, 4.31) == centrum
    assert Area.objects.for_point(52.10, 4.31) is None


@pytest.mark.django_db
def test_load_areas_refuses_a_feature_without_a_name(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": SQUARE}]}))
    with pytest.raises(CommandError, match="no 'name' property"):
        call_command("load_areas", str(path), verbosity=0)
    assert not Area.objects.exists()
