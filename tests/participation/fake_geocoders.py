"""A local stand-in for PDOK's Locatieserver, Nominatim and Photon: a real HTTP server on a free port that
answers with the JSON shapes the services document, and remembers what it was asked (path, query, headers)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

GEVERS_12 = {"lat": 52.1087, "lon": 4.2801}

PDOK_DOC = {"type": "adres", "weergavenaam": "Gevers Deynootweg 12, 2586BP 's-Gravenhage",
            "id": "adr-0b1c2d3e", "score": 9.1}
ANSWERS = {
    # https://api.pdok.nl/bzk/locatieserver/search/v3_1/ui/ (suggest leaves the point out unless asked)
    "/pdok/suggest": {"response": {"numFound": 1, "start": 0, "maxScore": 9.1, "docs": [PDOK_DOC]},
                      "highlighting": {}, "spellcheck": {"suggestions": []}},
    "/pdok/lookup": {"response": {"numFound": 1, "start": 0, "docs": [
        {**PDOK_DOC, "centroide_ll": f"POINT({GEVERS_12['lon']} {GEVERS_12['lat']})"}]}},
    "/pdok/reverse": {"response": {"numFound": 1, "start": 0, "maxScore": 1.0, "docs": [
        {**PDOK_DOC, "centroide_ll": f"POINT({GEVERS_12['lon']} {GEVERS_12['lat']})", "afstand": 8.2}]}},
    # https://nominatim.org/release-docs/latest/api/Output/ (format=jsonv2, addressdetails=1)
    "/nominatim/search": [{
        "place_id": 123, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.", "osm_type": "node", "osm_id": 42,
        "lat": str(GEVERS_12["lat"]), "lon": str(GEVERS_12["lon"]), "category": "place", "type": "house",
        "place_rank": 30, "importance": 0.1, "addresstype": "place", "name": "",
        "display_name": "12, Gevers Deynootweg, Scheveningen, Den Haag, Zuid-Holland, Nederland, 2586BP, Nederland",
        "address": {"house_number": "12", "road": "Gevers Deynootweg", "suburb": "Scheveningen", "city": "Den Haag",
                    "postcode": "2586BP", "country": "Nederland", "country_code": "nl"},
        "boundingbox": ["52.1086", "52.1088", "4.2800", "4.2802"]}],
    "/nominatim/reverse": {
        "place_id": 123, "lat": str(GEVERS_12["lat"]), "lon": str(GEVERS_12["lon"]), "place_rank": 30,
        "display_name": "12, Gevers Deynootweg, Scheveningen, Den Haag, Nederland",
        "address": {"house_number": "12", "road": "Gevers Deynootweg", "city": "Den Haag", "postcode": "2586BP"}},
    # https://github.com/komoot/photon#search-and-geocoding (GeoJSON)
    "/photon/api": {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [GEVERS_12["lon"], GEVERS_12["lat"]]},
        "properties": {"osm_id": 42, "osm_type": "N", "country": "Nederland", "city": "Den Haag",
                       "street": "Gevers Deynootweg", "housenumber": "12", "postcode": "2586BP", "type": "house"}}]},
}
ANSWERS["/photon/reverse"] = ANSWERS["/photon/api"]


class FakeGeocoders:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.slow_seconds = 0.0
        self.fail = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the standard library's name
                url = urlparse(self.path)
                fake.requests.append({"path": url.path, "query": parse_qs(url.query), "headers": dict(self.headers)})
                if fake.slow_seconds:
                    time.sleep(fake.slow_seconds)
                body = json.dumps(ANSWERS.get(url.path, {"error": "not found"})).encode()
                status = 500 if fake.fail else (200 if url.path in ANSWERS else 404)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
