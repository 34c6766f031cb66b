"""The geocoder interface: the local backend on loaded addresses, and PDOK, Nominatim and Photon against a local
fake that answers in their documented shapes, with a timeout, a cache and our User-Agent."""
import pytest

from participation.geocoding import (
    GeocoderUnavailable,
    LocalGeocoder,
    NominatimGeocoder,
    PdokGeocoder,
    PhotonGeocoder,
    geocoder,
)
from participation.models import Address
from tests.participation.fake_geocoders import GEVERS_12, FakeGeocoders

pytestmark = pytest.mark.django_db


@pytest.fixture
def addresses(db):
    rows = [("Gevers Deynootweg", n, 52.1090 - n * 0.00002, 4.2790 + n * 0.00005, "2586BP") for n in range(1, 31)]
    rows += [("Keizerstraat", n, 52.1040 - n * 0.00002, 4.2740, "2584BC") for n in range(1, 21)]
    rows += [("Gevers Deynootplein", 1, 52.1100, 4.2752, "2586CZ")]
    for street, number, latitude, longitude, postcode in rows:
        Address.objects.create(street=street, house_number=number, postcode=postcode, city="Den Haag",
                               latitude=latitude, longitude=longitude, source_id=f"{street}-{number}")


@pytest.fixture
def fake():
    server = FakeGeocoders()
    yield server
    server.close()


def labels(places):
    return [place.label for place in places]


# --- local -------------------------------------------------------------------------------------------------
def test_local_search_matches_the_start_of_words_in_any_order(addresses):
    found = labels(LocalGeocoder().search("Gevers Deyn"))
    assert found and all(label.startswith("Gevers Deynoot") for label in found)
    assert labels(LocalGeocoder().search("deynootweg gevers 12")) == ["Gevers Deynootweg 12, Den Haag"]


def test_local_search_puts_the_exact_house_number_first_and_ignores_the_city(addresses):
    assert labels(LocalGeocoder().search("Keizerstraat 1 Den Haag"))[0] == "Keizerstraat 1, Den Haag"


def test_local_search_tolerates_a_typo_in_the_street_name(addresses):
    assert labels(LocalGeocoder().search("Keizerstaat 5")) == ["Keizerstraat 5, Den Haag"]


def test_local_search_finds_a_postcode_written_with_or_without_a_space(addresses):
    assert "Keizerstraat 3, Den Haag" in labels(LocalGeocoder().search("2584 BC", limit=20))
    assert labels(LocalGeocoder().search("2586cz")) == ["Gevers Deynootplein 1, Den Haag"]


def test_local_search_needs_a_word_of_three_letters(addresses):
    assert LocalGeocoder().search("12") == [] and LocalGeocoder().search("") == []


def test_local_reverse_finds_the_nearest_address_within_50_metres_and_nothing_beyond(addresses):
    place = LocalGeocoder().reverse(52.10999, 4.27525)
    assert place is not None and place.label == "Gevers Deynootplein 1, Den Haag"
    assert LocalGeocoder().reverse(52.1100, 4.2752 + 0.0015) is None  # about 100 m east


@pytest.mark.parametrize("limit", [3, 500])
def test_the_reverse_lookups_written_query_finds_what_near_finds_in_the_same_order(addresses, limit):
    for latitude, longitude, metres in [(52.1089, 4.2795, 50), (52.1089, 4.2795, 200), (52.1038, 4.2740, 30)]:
        near = Address.objects.near(latitude, longitude, metres)[:limit]
        written = Address.objects.near_written(latitude, longitude, metres, fields=("street", "city"), limit=limit)
        assert [address.pk for address in written] == [address.pk for address in near]
        fields = ("latitude", "longitude", "street", "city")
        assert ([[getattr(address, name) for name in fields] for address in written]
                == [[getattr(address, name) for name in fields] for address in near])
        assert all(not address._state.adding and address.get_deferred_fields() >= {"postcode", "source_id"}
                   for address in written)
        assert len(near) > (2 if limit == 3 else 5)


def test_the_setting_chooses_the_backend(settings):
    settings.GEOCODER = "pdok"
    assert isinstance(geocoder(), PdokGeocoder)
    settings.GEOCODER = "local"
    assert isinstance(geocoder(), LocalGeocoder)


# --- outside services, against the fake ---------------------------------------------------------------------
def test_pdok_suggests_then_looks_up_the_point(fake, settings):
    places = PdokGeocoder(f"{fake.url}/pdok").search("gevers deynootweg 12")
    assert labels(places) == ["Gevers Deynootweg 12, 2586BP 's-Gravenhage"]
    assert (places[0].latitude, places[0].longitude) == (GEVERS_12["lat"], GEVERS_12["lon"])
    assert [request["path"] for request in fake.requests] == ["/pdok/suggest", "/pdok/lookup"]
    assert fake.requests[0]["query"]["fq"] == ["type:adres"]
    assert fake.requests[0]["headers"]["User-Agent"] == settings.GEOCODER_USER_AGENT


def test_pdok_reverse_asks_for_an_address_within_50_metres(fake):
    place = PdokGeocoder(f"{fake.url}/pdok").reverse(52.1087, 4.2800)
    assert place is not None and place.label.startswith("Gevers Deynootweg 12")
    assert fake.requests[0]["query"]["distance"] == ["50"] and fake.requests[0]["query"]["type"] == ["adres"]


def test_nominatim_search_and_reverse_read_jsonv2(fake, settings):
    places = NominatimGeocoder(f"{fake.url}/nominatim").search("gevers deynootweg 12")
    assert labels(places) == ["Gevers Deynootweg 12, Den Haag"]
    query = fake.requests[0]["query"]
    assert query["format"] == ["jsonv2"] and query["bounded"] == ["1"]
    assert NominatimGeocoder(f"{fake.url}/nominatim").reverse(52.1087, 4.2801).label == "Gevers Deynootweg 12, Den Haag"


def test_photon_search_and_reverse_read_geojson(fake):
    assert labels(PhotonGeocoder(f"{fake.url}/photon").search("gevers")) == ["Gevers Deynootweg 12, Den Haag"]
    assert PhotonGeocoder(f"{fake.url}/photon").reverse(52.1087, 4.2801).latitude == GEVERS_12["lat"]


def test_answers_are_cached(fake):
    backend = PhotonGeocoder(f"{fake.url}/photon")
    backend.search("gevers")
    backend.search("gevers")
    assert len(fake.requests) == 1


def test_a_slow_or_failing_service_raises_unavailable(fake, settings):
    settings.GEOCODER_TIMEOUT = 0.2
    fake.slow_seconds = 1.0
    with pytest.raises(GeocoderUnavailable):
        NominatimGeocoder(f"{fake.url}/nominatim").search("slow street")
    fake.slow_seconds = 0
    fake.fail = True
    with pytest.raises(GeocoderUnavailable):
        NominatimGeocoder(f"{fake.url}/nominatim").search("failing street")


# --- the form's JSON endpoints ---------------------------------------------------------------------------------
def test_the_search_endpoint_answers_with_labels_and_points(client, addresses):
    data = client.get("/addresses/search", {"q": "keizerstraat 7"}).json()
    assert data["results"][0] == {"label": "Keizerstraat 7, Den Haag", "latitude": pytest.approx(52.10386),
                                  "longitude": 4.274}


def test_the_reverse_endpoint_refuses_nonsense_and_answers_nothing_outside_the_city(client, addresses):
    assert client.get("/addresses/reverse", {"latitude": "x", "longitude": "4.3"}).status_code == 400
    assert client.get("/addresses/reverse", {"latitude": "59.33", "longitude": "18.06"}).json() == {"results": []}
    assert client.get("/addresses/reverse", {"latitude": "52.10999", "longitude": "4.27525"}).json()["results"][0][
        "label"] == "Gevers Deynootplein 1, Den Haag"


def test_an_unavailable_service_is_nothing_found_not_an_error(client, fake, settings):
    settings.GEOCODER, settings.GEOCODER_URL = "nominatim", f"{fake.url}/nominatim"
    fake.fail = True
    data = client.get("/addresses/search", {"q": "gevers"}).json()
    assert data == {"results": [], "unavailable": True}


def test_the_endpoints_are_rate_limited_per_client(client, addresses, settings):
    settings.GEOCODER_REQUESTS_PER_HOUR = 2
    assert client.get("/addresses/search", {"q": "keizer"}).status_code == 200
    assert client.get("/addresses/search", {"q": "keizer"}).status_code == 200
    assert client.get("/addresses/search", {"q": "keizer"}).status_code == 429
