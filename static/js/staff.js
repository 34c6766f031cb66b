/* The staff workspace: select-all and the live count of the queue, its keyboard shortcuts and their help
   dialog, the queue's clustered map, the report page's map (its point, draggable to correct it, and the
   reports around it) and the photo lightbox. No inline script: settings come from data- attributes and
   JSON in <script type="application/json">. Without JavaScript the pages work (the list, typed coordinates). */
(function () {
  "use strict";

  function show(el) { el.hidden = false; }
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName));
  }

  /* The queue: select all on the page, and the number selected in the bulk action's wording. */
  function selection(form) {
    var all = form.querySelector("[data-select-all]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("[data-select]"));
    var count = form.querySelector("[data-selected-count]");
    function update() {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (count) { count.textContent = count.dataset.template.replace("__count__", String(n)); }
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    }
    if (all) {
      show(all);
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  }

  /* j/k move, x selects, o opens, e opens the routing form; ? shows the help. Never inside a field. */
  function shortcuts() {
    var dialog = document.getElementById("shortcuts");
    var opener = document.querySelector("[data-shortcuts-open]");
    if (!dialog) { return; }
    if (opener) {
      show(opener);
      opener.addEventListener("click", function () { dialog.showModal(); });
    }
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-queue] [data-row]"));
    var current = -1;
    function move(to) {
      if (!rows.length) { return; }
      if (current >= 0) { rows[current].removeAttribute("data-current"); }
      current = Math.max(0, Math.min(rows.length - 1, to));
      rows[current].setAttribute("data-current", "");
      var link = rows[current].querySelector("[data-open]");
      if (link) { link.focus(); }
    }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target) || dialog.open) { return; }
      var row = current >= 0 ? rows[current] : null;
      var link = row ? row.querySelector("[data-open]") : null;
      switch (event.key) {
        case "j": move(current + 1); break;
        case "k": move(current - 1); break;
        case "o": if (link) { window.location.href = link.href; } else { return; } break;
        case "e": if (link) { window.location.href = link.href + "#route-heading"; } else { return; } break;
        case "x": if (row) { var box = row.querySelector("[data-select]"); box.click(); } else { return; } break;
        case "?": dialog.showModal(); break;
        default: return;
      }
      event.preventDefault();
    });
    // A row clicked becomes the current one, so j and k go on from there.
    rows.forEach(function (row, index) {
      row.addEventListener("focusin", function () {
        if (current >= 0) { rows[current].removeAttribute("data-current"); }
        current = index;
        row.setAttribute("data-current", "");
      });
    });
  }

  function baseMap(el) {
    show(el);
    el.setAttribute("role", "region");
    el.setAttribute("aria-label", el.dataset.label || "");
    var map = L.map(el, { scrollWheelZoom: false });
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
    return map;
  }
  function dot(latlng, colour) {
    return L.circleMarker(latlng, { radius: 8, color: "#ffffff", weight: 2, fillColor: colour, fillOpacity: 1 });
  }
  function popup(title, url, meta) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = url;
    link.className = "utrecht-link";
    link.textContent = title;
    box.appendChild(link);
    var p = document.createElement("p");
    p.textContent = meta;
    box.appendChild(p);
    return box;
  }

  /* The queue's map: the current filter, clustered, coloured by status; a marker opens its report.
     The answer sends each report as a row [number, title, status, latitude, longitude] and what markers of one
     status share (label, colour) and the link pattern once (participation/staff_views.py, report_queue_markers). */
  function queueMap(el) {
    var map = baseMap(el);
    var status = document.querySelector("[data-map-status]");
    var cluster = L.markerClusterGroup ? L.markerClusterGroup({ showCoverageOnHover: false }) : L.layerGroup();
    cluster.addTo(map);
    fetch(el.dataset.markersUrl + "?" + (el.dataset.query || ""), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var points = [];
        data.reports.forEach(function (row) {
          var number = row[0], title = row[1], kind = data.statuses[row[2]], latlng = L.latLng(row[3], row[4]);
          var url = data.url.replace("{number}", number);
          points.push(latlng);
          // A click opens the report; hovering names it (the list gives keyboard users the same reports). The title
          // is a resident's text: a text node, never HTML.
          var m = dot(latlng, kind.colour).bindTooltip(document.createTextNode(number + ": " + title + " (" + kind.label + ")"));
          m.on("click", function () { window.location.href = url; });
          cluster.addLayer(m);
        });
        if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.1), { maxZoom: 17 }); }
        else {
          var b = (el.dataset.bounds || "").split(",").map(Number);
          if (b.length === 4) { map.fitBounds([[b[1], b[0]], [b[3], b[2]]]); }
        }
        el.dataset.loaded = String(data.reports.length);
        if (status) { status.textContent = data.truncated ? el.dataset.truncated : ""; }
      });
  }

  /* The report page's map: the report (a pin staff drag to correct the place) and the reports around it. */
  function reportMap(el) {
    var map = baseMap(el);
    var latlng = L.latLng(+el.dataset.latitude, +el.dataset.longitude);
    map.setView(latlng, 17);
    var nearby = document.getElementById("nearby-data");
    (nearby ? JSON.parse(nearby.textContent) : []).forEach(function (r) {
      dot([r.lat, r.lon], r.colour).bindPopup(popup(r.number + ": " + r.title, r.url, r.status)).addTo(map);
    });
    var lat = document.getElementById("location-latitude");
    var lon = document.getElementById("location-longitude");
    var pin = L.marker(latlng, { draggable: !!(lat && lon), title: el.dataset.pinLabel, alt: el.dataset.pinLabel, zIndexOffset: 1000 }).addTo(map);
    // Leaflet gives the pin role="button": its name, for tools that do not take it from alt.
    pin.getElement().setAttribute("aria-label", el.dataset.pinLabel || "");
    if (lat && lon) {
      pin.on("dragend", function () {
        var to = pin.getLatLng();
        lat.value = to.lat.toFixed(6);
        lon.value = to.lng.toFixed(6);
        var note = document.querySelector("[data-moved]");
        if (note) { note.textContent = note.dataset.text; }
      });
      [lat, lon].forEach(function (input) {
        input.addEventListener("change", function () {
          if (!isNaN(+lat.value) && !isNaN(+lon.value) && lat.value && lon.value) { pin.setLatLng([+lat.value, +lon.value]); }
        });
      });
    }
  }

  /* Photos open large in a modal dialog: Escape or the close button return focus to the photo. */
  function lightbox() {
    var dialog = document.getElementById("photo-dialog");
    if (!dialog) { return; }
    var img = dialog.querySelector("img");
    document.querySelectorAll("[data-photo]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        img.src = link.href;
        img.alt = link.querySelector("img").alt;
        dialog.showModal();
      });
    });
  }

  function start() {
    // On a phone the filters fold away, so the first reports are on the first screen.
    if (window.matchMedia && window.matchMedia("(max-width: 48rem)").matches) {
      document.querySelectorAll("[data-filters]").forEach(function (d) { d.open = false; });
    }
    document.querySelectorAll("#bulk-form").forEach(selection);
    shortcuts();
    lightbox();
    if (typeof L === "undefined") { return; }
    document.querySelectorAll("[data-queue-map]").forEach(queueMap);
    document.querySelectorAll("[data-staff-report-map]").forEach(reportMap);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
