// Small Leaflet maps of the reports behind a match flag. The list next to each map carries the same items.
(function () {
  "use strict";
  if (typeof L === "undefined") return;
  document.querySelectorAll("[data-match-map]").forEach(function (element) {
    var points = JSON.parse(element.dataset.points || "[]");
    if (!points.length) return;
    var map = L.map(element, { scrollWheelZoom: false, keyboard: false });
    L.tileLayer(element.dataset.tileUrl, { attribution: element.dataset.attribution, maxZoom: 19 }).addTo(map);
    var bounds = [];
    points.forEach(function (p) {
      // A text node, not a string: Leaflet puts strings in as HTML, and titles are residents' text.
      L.circleMarker([p.lat, p.lon], { radius: 7, weight: 2 }).bindTooltip(document.createTextNode(p.title)).addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
  });
})();
