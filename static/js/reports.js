/* Residents' reports: the maps and the character counters. No inline script: every setting comes
   from data- attributes, so a strict Content-Security-Policy can be added later. Without JavaScript
   all of this is absent and the pages still work (coordinates fields, the list next to the map). */
(function () {
  "use strict";

  function show(el) { el.hidden = false; }
  function bounds(text) {
    var b = (text || "").split(",").map(Number);
    return b.length === 4 ? L.latLngBounds([b[1], b[0]], [b[3], b[2]]) : null;
  }
  function baseMap(el, options) {
    show(el);
    el.setAttribute("role", "region");
    el.setAttribute("aria-label", el.dataset.label || "");
    var map = L.map(el, Object.assign({ scrollWheelZoom: false }, options || {}));
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
    return map;
  }
  function marker(latlng) {
    return L.circleMarker(latlng, { radius: 9, color: "#0b3d91", weight: 3, fillColor: "#ffffff", fillOpacity: 0.9 });
  }

  /* The report form: a click on the map fills latitude and longitude; "use my location" too. */
  function picker(el) {
    var lat = document.getElementById(el.dataset.latitudeInput);
    var lon = document.getElementById(el.dataset.longitudeInput);
    var cityBounds = bounds(el.dataset.bounds);
    var map = baseMap(el);
    var point = null;
    document.querySelectorAll(".site-js-only").forEach(show);

    function place(latlng, move) {
      if (point) { point.setLatLng(latlng); } else { point = marker(latlng).addTo(map); }
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
      lat.dispatchEvent(new Event("change", { bubbles: true }));
      if (move) { map.setView(latlng, 17); }
    }
    var typed = lat.value && lon.value && !isNaN(+lat.value) && !isNaN(+lon.value) ? L.latLng(+lat.value, +lon.value) : null;
    if (typed && (!cityBounds || cityBounds.contains(typed))) {
      place(typed, true);
    } else if (cityBounds) {
      map.fitBounds(cityBounds);
    }
    map.on("click", function (event) { place(event.latlng, false); });
    // Keyboard: the arrow keys move the map (Leaflet), Enter or Space marks its centre.
    map.getContainer().addEventListener("keydown", function (event) {
      if (event.target === map.getContainer() && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        place(map.getCenter(), false);
      }
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("change", function () {
        if (lat.value && lon.value && !isNaN(+lat.value) && !isNaN(+lon.value)) {
          var latlng = L.latLng(+lat.value, +lon.value);
          if (point) { point.setLatLng(latlng); } else { point = marker(latlng).addTo(map); }
          map.panTo(latlng);
        }
      });
    });

    var button = document.querySelector("[data-use-location]");
    var status = document.querySelector("[data-location-status]");
    if (button && navigator.geolocation) {
      button.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (position) {
          var latlng = L.latLng(position.coords.latitude, position.coords.longitude);
          if (cityBounds && !cityBounds.contains(latlng)) { status.textContent = button.dataset.outside; return; }
          status.textContent = "";
          place(latlng, true);
        }, function () { status.textContent = button.dataset.error; }, { enableHighAccuracy: true, timeout: 10000 });
      });
    } else if (button) {
      button.hidden = true;
    }
  }

  /* The report page: one point. */
  function reportPoint(el) {
    var latlng = L.latLng(+el.dataset.latitude, +el.dataset.longitude);
    var map = baseMap(el);
    map.setView(latlng, 16);
    marker(latlng).addTo(map);
  }

  /* The browse map: reports in view from the GeoJSON endpoint, reloaded when the map moves. */
  function browse(el) {
    var map = baseMap(el);
    var layer = L.layerGroup().addTo(map);
    var status = document.querySelector("[data-map-status]");
    var cityBounds = bounds(el.dataset.bounds);
    var request = 0;
    if (cityBounds) { map.fitBounds(cityBounds); } else { map.setView([52.08, 4.3], 12); }

    function load() {
      var b = map.getBounds();
      var params = new URLSearchParams(el.dataset.query || "");
      params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (n) { return n.toFixed(5); }).join(","));
      var mine = ++request;
      fetch(el.dataset.geojsonUrl + "?" + params.toString(), { headers: { Accept: "application/geo+json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (mine !== request) { return; }
          layer.clearLayers();
          data.features.forEach(function (feature) {
            var c = feature.geometry.coordinates;
            var link = document.createElement("a");
            link.href = feature.properties.url;
            link.textContent = feature.properties.title;
            link.className = "utrecht-link";
            var text = document.createElement("div");
            text.appendChild(link);
            var meta = document.createElement("p");
            meta.textContent = feature.properties.status_label + " · " + feature.properties.support_count + " " + el.dataset.supportLabel;
            text.appendChild(meta);
            marker([c[1], c[0]]).bindPopup(text).addTo(layer);
          });
          el.dataset.loaded = String(data.features.length);
          if (status) { status.textContent = data.truncated ? el.dataset.truncated : ""; }
        });
    }
    map.on("moveend", load);
    load();
  }

  /* Character counters for fields with a maxlength: linked with aria-describedby, not a live region, so a
     screen reader is not interrupted at every key. */
  function counter(field) {
    var max = +field.getAttribute("maxlength");
    if (!max) { return; }
    var out = document.createElement("p");
    out.className = "site-meta site-counter";
    out.id = field.id + "_counter";
    field.insertAdjacentElement("afterend", out);
    var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(out.id);
    field.setAttribute("aria-describedby", described.join(" "));
    function update() {
      out.textContent = field.value.length + " / " + max;
    }
    field.addEventListener("input", update);
    update();
  }

  function start() {
    document.querySelectorAll("[data-counter]").forEach(counter);
    if (typeof L === "undefined") { return; }
    document.querySelectorAll("[data-map-picker]").forEach(picker);
    document.querySelectorAll("[data-report-point]").forEach(reportPoint);
    document.querySelectorAll("[data-report-map]").forEach(browse);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
