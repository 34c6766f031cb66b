// Every page: a form sent back with errors puts the focus on its error summary, so screen readers read it and
// keyboard users start there; each error's link moves the focus to its field (WCAG 3.3.1, 2.4.3).
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) return;
    var field = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!field) return;
    event.preventDefault();
    var group = field.closest(".utrecht-form-field, .utrecht-form-fieldset") || field;
    group.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });
})();
