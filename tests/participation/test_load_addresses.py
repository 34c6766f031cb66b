"""`manage.py load_addresses`: the BAG export's and OpenStreetMap's shapes, CSV and GeoJSON, loaded again."""
import io
import json

import pytest
from django.core.management import CommandError, call_command

from participation import services
from participation.models import Address, Report
from tests.participation.conftest import make_report

pytestmark = pytest.mark.django_db

BAG_CSV = """openbareruimte;huisnummer;huisletter;huisnummertoevoeging;postcode;woonplaats;gemeente;provincie;nummeraanduiding;object_id;object_type;nevenadres;x;y;lon;lat
Gevers Deynootweg;12;A;;2586BP;'s-Gravenhage;'s-Gravenhage;Zuid-Holland;0518200000123456;0518010000123456;VBO;f;80500.1;459300.2;4.2801;52.1087
Gevers Deynootweg;14;;2;2586BP;'s-Gravenhage;'s-Gravenhage;Zuid-Holland;0518200000123457;0518010000123457;VBO;f;80510.1;459310.2;4.2803;52.1086
;1;;;;'s-Gravenhage;'s-Gravenhage;Zuid-Holland;0518200000999999;0518010000999999;VBO;f;0;0;4.3;52.1
"""


def test_it_loads_the_bag_export_with_letters_additions_and_its_own_ids(tmp_path):
    path = tmp_path / "bag.csv"
    path.write_text(BAG_CSV, encoding="utf-8")
    call_command("load_addresses", str(path), verbosity=0)
    first, second = Address.objects.order_by("house_number")
    assert (first.street, first.house_number, first.house_letter, first.postcode) == ("Gevers Deynootweg", 12, "A", "2586BP")
    assert first.source_id == "0518200000123456" and (first.latitude, first.longitude) == (52.1087, 4.2801)
    assert second.house_number_addition == "2" and second.label == "Gevers Deynootweg 14-2, 's-Gravenhage"
    assert "gevers deynootweg 12a 2586bp" == first.search_text
    assert Address.objects.count() == 2  # the row without a street was skipped


def test_loading_a_newer_file_updates_addresses_instead_of_adding_them(tmp_path):
    path = tmp_path / "bag.csv"
    path.write_text(BAG_CSV, encoding="utf-8")
    call_command("load_addresses", str(path), verbosity=0)
    path.write_text(BAG_CSV.replace("4.2801;52.1087", "4.2811;52.1088"), encoding="utf-8")
    call_command("load_addresses", str(path), verbosity=0)
    assert Address.objects.count() == 2
    assert Address.objects.get(source_id="0518200000123456").longitude == 4.2811


def test_replace_removes_addresses_no_longer_in_the_file(tmp_path):
    Address.objects.create(street="Old Street", house_number=1, latitude=52.1, longitude=4.3, source_id="gone")
    path = tmp_path / "bag.csv"
    path.write_text(BAG_CSV, encoding="utf-8")
    call_command("load_addresses", str(path), "--replace", verbosity=0)
    assert not Address.objects.filter(source_id="gone").exists() and Address.objects.count() == 2


def test_it_loads_an_openstreetmap_geojson_extract(tmp_path):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "node/123", "geometry": {"type": "Point", "coordinates": [4.2712, 52.1036]},
         "properties": {"addr:street": "Keizerstraat", "addr:housenumber": "45b", "addr:postcode": "2584 BC",
                        "addr:city": "Den Haag"}},
        {"type": "Feature", "id": "way/9", "geometry": {"type": "Polygon", "coordinates": [[[4.27, 52.10], [4.28, 52.10],
                                                                                           [4.28, 52.11], [4.27, 52.10]]]},
         "properties": {"addr:street": "Keizerstraat", "addr:housenumber": "47-1"}},
        {"type": "Feature", "id": "node/5", "geometry": {"type": "Point", "coordinates": [4.27, 52.10]},
         "properties": {"name": "A bench, no address"}},
    ]}
    path = tmp_path / "osm.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    call_command("load_addresses", str(path), verbosity=0)
    node = Address.objects.get(source_id="node/123")
    assert (node.house_number, node.house_letter, node.postcode, node.city) == (45, "B", "2584 BC", "Den Haag")
    way = Address.objects.get(source_id="way/9")
    assert way.house_number == 47 and way.house_number_addition == "1" and 52.10 < way.latitude < 52.11
    assert Address.objects.count() == 2


def test_it_loads_an_overpass_csv_and_takes_a_column_mapping(tmp_path):
    path = tmp_path / "osm.csv"
    path.write_text("@id,@lat,@lon,addr:street,addr:housenumber,addr:place\n"
                    "node/1,52.1001,4.2801,Strandweg,3,Scheveningen\n", encoding="utf-8")
    call_command("load_addresses", str(path), "--column", "city=addr:place", verbosity=0)
    address = Address.objects.get()
    assert (address.street, address.house_number, address.city, address.source_id) == ("Strandweg", 3, "Scheveningen", "node/1")


def test_a_file_without_known_columns_or_a_bad_mapping_is_refused_with_a_message(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,colour\nBench,red\n", encoding="utf-8")
    with pytest.raises(CommandError, match="No known column"):
        call_command("load_addresses", str(path), verbosity=0)
    path.write_text("name,x,y\nBench,1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="No column for street"):
        call_command("load_addresses", str(path), verbosity=0)
    path.write_text("straat,huisnummer\nSpui,1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="No columns for the point: latitude and longitude in WGS84"):
        call_command("load_addresses", str(path), verbosity=0)
    with pytest.raises(CommandError, match="--column takes field=name"):
        call_command("load_addresses", str(path), "--column", "colour=red", verbosity=0)
    with pytest.raises(CommandError, match="is not a file"):
        call_command("load_addresses", str(tmp_path / "missing.csv"), verbosity=0)
    assert not Address.objects.exists()


def test_the_demo_addresses_load_and_say_they_are_approximate():
    from participation.management.commands.load_demo_categories import ADDRESSES

    assert "Approximate demo data" in ADDRESSES.read_text(encoding="utf-8").splitlines()[0]
    call_command("load_addresses", str(ADDRESSES), verbosity=0)
    assert Address.objects.filter(street="Gevers Deynootweg").count() >= 40
    assert Address.objects.count() >= 300


# --- RD New coordinates (the BAG's own) ------------------------------------------------------------------
# The BAG export without lon/lat: x/y in RD New (EPSG:28992). Amersfoort's tower is RD's published reference point
# (155000, 463000) = 52.15517440 N, 5.38720621 E; the Binnenhof's point was computed once with pyproj.
BAG_RD_CSV = """openbareruimte;huisnummer;postcode;woonplaats;nummeraanduiding;x;y
Lieve Vrouwetoren;1;3811AA;Amersfoort;0307200000000001;155000;463000
Binnenhof;8;2513AA;'s-Gravenhage;0518200000000008;81340,0;455370,0
Verkeerd;2;;'s-Gravenhage;0518200000000002;4.3;52.1
"""


def test_it_converts_the_bags_rd_coordinates_to_wgs84(tmp_path):
    path = tmp_path / "bag-rd.csv"
    path.write_text(BAG_RD_CSV, encoding="utf-8")
    out = io.StringIO()
    call_command("load_addresses", str(path), verbosity=0, stdout=out)
    tower = Address.objects.get(street="Lieve Vrouwetoren")
    assert (tower.latitude, tower.longitude) == (pytest.approx(52.15517440, abs=1e-5), pytest.approx(5.38720621, abs=1e-5))
    binnenhof = Address.objects.get(street="Binnenhof")
    assert (binnenhof.latitude, binnenhof.longitude) == (pytest.approx(52.08169493, abs=1e-5),
                                                         pytest.approx(4.31258208, abs=1e-5))
    # Degrees in the x/y columns land outside RD New's area (near 48 N) and are skipped, not loaded wrongly.
    assert not Address.objects.filter(street="Verkeerd").exists()
    assert "2 addresses loaded, 1 records skipped" in out.getvalue()


def test_srid_makes_it_read_x_and_y_even_beside_lon_and_lat(tmp_path):
    path = tmp_path / "bag.csv"
    path.write_text(BAG_CSV, encoding="utf-8")  # lon/lat 4.2801/52.1087 beside x/y 80500.1/459300.2
    call_command("load_addresses", str(path), "--srid", "28992", verbosity=0)
    first = Address.objects.get(source_id="0518200000123456")
    assert (first.latitude, first.longitude) == (pytest.approx(52.11690207, abs=1e-5), pytest.approx(4.29947187, abs=1e-5))
    with pytest.raises(CommandError, match="EPSG:999999 is not a coordinate system"):
        call_command("load_addresses", str(path), "--srid", "999999", verbosity=0)


def test_a_geojson_file_in_rd_new_says_so_in_its_crs(tmp_path):
    collection = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
                  "features": [{"type": "Feature", "id": "0307200000000001",
                                "geometry": {"type": "Point", "coordinates": [155000, 463000]},
                                "properties": {"openbare_ruimte": "Lieve Vrouwetoren", "huisnummer": 1}}]}
    path = tmp_path / "bag.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    call_command("load_addresses", str(path), verbosity=0)
    tower = Address.objects.get()
    assert (tower.latitude, tower.longitude) == (pytest.approx(52.15517440, abs=1e-5), pytest.approx(5.38720621, abs=1e-5))
    collection["crs"] = {"type": "name", "properties": {"name": "RD"}}
    path.write_text(json.dumps(collection), encoding="utf-8")
    with pytest.raises(CommandError, match="names no EPSG code: give one with --srid"):
        call_command("load_addresses", str(path), verbosity=0)
    call_command("load_addresses", str(path), "--srid", "28992", verbosity=0)


# --- the reports' nearest addresses after loading ----------------------------------------------------------
def test_loading_gives_reports_without_a_typed_address_the_nearest_address_within_50_m(tmp_path):
    placed_before = make_report(latitude=52.10871, longitude=4.28011)  # a few metres from number 12A
    stale = make_report(latitude=52.10862, longitude=4.28032, nearest_address="Oude Straat 1, 's-Gravenhage")
    typed = make_report(latitude=52.10871, longitude=4.28011, address="Bij de kiosk")
    far = make_report(latitude=52.1000, longitude=4.3000, nearest_address="Strandweg 3, Den Haag")
    updated_at = placed_before.updated_at
    path = tmp_path / "bag.csv"
    path.write_text(BAG_CSV, encoding="utf-8")
    out = io.StringIO()
    call_command("load_addresses", str(path), verbosity=0, stdout=out)
    for report in (placed_before, stale, typed, far):
        report.refresh_from_db()
    assert placed_before.nearest_address == "Gevers Deynootweg 12A, 's-Gravenhage"
    assert placed_before.updated_at == updated_at  # neither the reporter nor staff changed anything
    assert stale.nearest_address == "Gevers Deynootweg 14-2, 's-Gravenhage"  # the nearer one replaces it
    assert (typed.address, typed.nearest_address) == ("Bij de kiosk", "")
    assert far.nearest_address == "Strandweg 3, Den Haag"  # nothing within 50 m: it keeps its own
    assert "2 of 3 reports without a typed address got a new nearest address." in out.getvalue()


def test_the_backfill_goes_through_every_batch(monkeypatch):
    monkeypatch.setattr(services, "NEAREST_ADDRESS_BATCH", 2)
    Address.objects.create(street="Keizerstraat", house_number=45, city="Den Haag", latitude=52.1036,
                           longitude=4.2712, source_id="a")
    reports = [make_report(latitude=52.1036 + i * 0.00001, longitude=4.2712) for i in range(5)]
    out = io.StringIO()
    call_command("backfill_addresses", verbosity=0, stdout=out)
    assert {Report.objects.get(pk=r.pk).nearest_address for r in reports} == {"Keizerstraat 45, Den Haag"}
    assert "5 of 5 reports" in out.getvalue()
    call_command("backfill_addresses", verbosity=0, stdout=out)  # again: nothing new
    assert "0 of 5 reports" in out.getvalue()


def test_no_backfill_or_another_geocoder_leaves_the_reports_as_they_are(tmp_path, settings):
    report = make_report(latitude=52.10871, longitude=4.28011)
    path = tmp_path / "bag.csv"
    path.write_text(BAG_CSV, encoding="utf-8")
    call_command("load_addresses", str(path), "--no-backfill", verbosity=0)
    settings.GEOCODER = "pdok"
    out = io.StringIO()
    call_command("load_addresses", str(path), verbosity=0, stdout=out)
    report.refresh_from_db()
    assert report.nearest_address == "" and "GEOCODER is pdok" in out.getvalue()
