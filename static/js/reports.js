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

    function place(latlng, move, fromAddress) {
      if (point) { point.setLatLng(latlng); } else { point = marker(latlng).addTo(map); }
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
      lat.dispatchEvent(new Event("change", { bubbles: true }));
      if (move) { map.setView(latlng, 17); }
      // A place marked on the map or by location: the address field gets the nearest address.
      if (!fromAddress) { document.dispatchEvent(new CustomEvent("report:placed", { detail: latlng })); }
    }
    document.addEventListener("report:address", function (event) {
      place(L.latLng(event.detail.latitude, event.detail.longitude), true, true);
    });
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
            if (feature.properties.place) {
              var where = document.createElement("p");
              where.textContent = feature.properties.place;
              text.appendChild(where);
            }
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

  /* The address field as a WAI-ARIA combobox (list autocomplete, APG "combobox with listbox popup"): typing
     asks our server for addresses (it asks the geocoder); arrow keys move through the options, Enter or a
     click chooses one and moves the pin; Escape closes the list. A live region says how many were found.
     Without JavaScript the field is a plain text field and the server geocodes it on submit. */
  function addressCombobox(box) {
    var input = document.getElementById(box.dataset.input);
    if (!input) { return; }
    var coordinates = document.querySelector("[data-coordinates]");
    if (coordinates) { coordinates.hidden = true; }
    var list = document.createElement("ul");
    list.id = input.id + "_listbox";
    list.className = "site-combobox__list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", (input.labels && input.labels[0] ? input.labels[0].textContent : "").trim());
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "site-visually-hidden";
    status.setAttribute("role", "status");
    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    var results = [], active = -1, timer = null, request = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      options.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function choose(index) {
      var place = results[index];
      if (!place) { return; }
      input.value = place.label;
      close();
      document.dispatchEvent(new CustomEvent("report:address", { detail: place }));
    }
    function show(places) {
      var same = places.length === results.length && places.every(function (place, i) { return place.label === results[i].label; });
      if (same && !list.hidden) { return; }  // an answer to the same words: keep the option the resident is on
      results = places;
      list.replaceChildren();
      places.forEach(function (place, i) {
        var option = document.createElement("li");
        option.id = list.id + "_" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = place.label;
        option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(option);
      });
      var open = places.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      active = -1;
      status.textContent = places.length === 0 ? box.dataset.foundNone
        : places.length === 1 ? box.dataset.foundOne : box.dataset.foundMany.replace("{count}", places.length);
    }
    function search() {
      var text = input.value.trim();
      if (text.length < 3) { close(); return; }
      var mine = ++request;
      fetch(box.dataset.searchUrl + "?" + new URLSearchParams({ q: text }), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) { if (mine === request) { show(data.results || []); } })
        .catch(function () { close(); });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (event) {
      var count = results.length;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden && count) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        highlight(count ? (active + 1) % count : -1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(count ? (active - 1 + count) % count : -1);
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    document.addEventListener("report:placed", function (event) {
      var latlng = event.detail;
      var params = new URLSearchParams({ latitude: latlng.lat.toFixed(6), longitude: latlng.lng.toFixed(6) });
      fetch(box.dataset.reverseUrl + "?" + params, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (data.results && data.results.length) { input.value = data.results[0].label; }
        })
        .catch(function () {});
    });
  }

  /* Categories: a category handled elsewhere shows its notice at once; the suggestion's button chooses it. */
  function categories(select) {
    function update() {
      document.querySelectorAll("[data-category-notice]").forEach(function (notice) {
        notice.hidden = notice.dataset.categoryNotice !== select.value;
      });
      // The chosen category's questions (its own and its main category's); without JavaScript all are shown.
      document.querySelectorAll("[data-category-questions]").forEach(function (group) {
        group.hidden = group.dataset.categoryQuestions.split(" ").indexOf(select.value) < 0;
      });
      document.querySelectorAll("[data-no-js-only]").forEach(function (hint) { hint.hidden = true; });
      var shown = document.querySelector("[data-category-notice]:not([hidden])");
      var seen = document.querySelector("input[name=notice_seen]");
      if (shown && !seen) {  // read here, so the form needs no extra step
        seen = document.createElement("input");
        seen.type = "hidden";
        seen.name = "notice_seen";
        seen.value = "on";
        select.form.appendChild(seen);
      }
    }
    select.addEventListener("change", update);
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-choose-category]") : null;
      if (!button) { return; }
      select.value = button.dataset.chooseCategory;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      select.focus();
    });
    update();
  }

  function start() {
    document.querySelectorAll("[data-counter]").forEach(counter);
    document.querySelectorAll("[data-address-combobox]").forEach(addressCombobox);
    document.querySelectorAll("select[name=category]").forEach(categories);
    if (typeof L === "undefined") { return; }
    document.querySelectorAll("[data-map-picker]").forEach(picker);
    document.querySelectorAll("[data-report-point]").forEach(reportPoint);
    document.querySelectorAll("[data-report-map]").forEach(browse);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
