// flockrelay console: the only script. The pages work without it; it keeps
// the overview's queue figures current without a reload. It writes text only
// (textContent), never markup.
"use strict";

(function () {
  var table = document.querySelector("tr[data-destination]");
  if (!table || !window.fetch) {
    return;
  }
  var every = 5000;

  function set(element, text) {
    if (element && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function refresh() {
    fetch("/console/overview.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (figures) {
        var totals = { queued: 0, delivered: 0, failed: 0, retried: 0 };
        set(document.querySelector("[data-live='now']"), figures.now);
        figures.destinations.forEach(function (row) {
          Object.keys(totals).forEach(function (field) {
            totals[field] += row[field];
          });
          var rows = document.querySelectorAll("tr[data-destination]");
          for (var i = 0; i < rows.length; i += 1) {
            if (rows[i].getAttribute("data-destination") === row.id) {
              set(rows[i].querySelector("[data-field='queued']"), String(row.queued));
              set(rows[i].querySelector("[data-field='oldest']"), row.oldest || "\u2014");
              set(rows[i].querySelector("[data-field='delivered']"), String(row.delivered));
              set(rows[i].querySelector("[data-field='failed']"), String(row.failed));
              set(rows[i].querySelector("[data-field='retried']"), String(row.retried));
              set(rows[i].querySelector("[data-field='state']"), row.state);
              set(rows[i].querySelector("[data-field='breaker']"), row.breaker);
            }
          }
        });
        Object.keys(totals).forEach(function (field) {
          set(document.querySelector("[data-live='total:" + field + "']"), String(totals[field]));
        });
      })
      .catch(function () {
        // Keep the last figures; the next round tries again.
      })
      .then(function () {
        window.setTimeout(refresh, every);
      });
  }

  window.setTimeout(refresh, every);
})();
