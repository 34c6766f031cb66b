"""Load the city's neighbourhoods from a GeoJSON FeatureCollection of (Multi)Polygons.

    python manage.py load_areas buurten.geojson [--name-property buurtnaam] [--slug-property buurtcode]

Areas are matched by slug and updated in place, so the command can be run again after the city
redraws its boundaries. Reports keep their area; new reports get the area their point lies in.
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify
from tqdm import tqdm

from smartcity.geo import bounding_box
from smartcity.models import Area


class Command(BaseCommand):
    help = "Load neighbourhood polygons (GeoJSON, WGS84) so that reports get a neighbourhood."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a GeoJSON FeatureCollection file")
        parser.add_argument("--name-property", default="name", help="the feature property with the name")
        parser.add_argument("--slug-property", default="", help="the property with a stable code (default: the name)")

    def handle(self, path: str, name_property: str, slug_property: str, **options):
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        if data.get("type") != "FeatureCollection":
            raise CommandError("Expected a GeoJSON FeatureCollection.")
        created = updated = 0
        with transaction.atomic():
            features = data.get("features", [])
            for number, feature in enumerate(tqdm(features, desc="areas", unit="area",
                                                  disable=options["verbosity"] == 0), start=1):
                properties = feature.get("properties") or {}
                name = str(properties.get(name_property) or "").strip()
                if not name:
                    raise CommandError(f"Feature {number} has no {name_property!r} property.")
                slug = slugify(str(properties.get(slug_property) or name) if slug_property else name)[:80]
                geometry = feature.get("geometry") or {}
                try:
                    min_lon, min_lat, max_lon, max_lat = bounding_box(geometry)
                except (ValueError, KeyError, TypeError, IndexError) as error:
                    raise CommandError(f"Feature {number} ({name}): {error}") from error
                _, was_created = Area.objects.update_or_create(
                    slug=slug,
                    defaults={"name": name[:120], "geometry": geometry, "min_longitude": min_lon,
                              "min_latitude": min_lat, "max_longitude": max_lon, "max_latitude": max_lat},
                )
                created += was_created
                updated += not was_created
        self.stdout.write(self.style.SUCCESS(f"{created} areas created, {updated} updated."))
