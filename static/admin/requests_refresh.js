// The requests log refreshes itself while open: every few seconds the same address
// (filters and page included) is fetched and only its results region is swapped in
// place; no full reload, and the filter form the owner may be typing in is kept.
(function () {
  "use strict";
  var region = document.getElementById("requests-results");
  if (!region || !window.fetch) return;
  var every = parseInt(region.getAttribute("data-refresh-ms"), 10) || 5000;
  var busy = false;

  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        // Signed out or an error: keep what is shown, try again later.
        if (!response.ok || response.redirected) return null;
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var parsed = new DOMParser().parseFromString(html, "text/html");
        var fresh = parsed.getElementById("requests-results");
        if (fresh && fresh.innerHTML !== region.innerHTML) {
          region.innerHTML = fresh.innerHTML;
          region.setAttribute("data-refreshed-at", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
      });
  }

  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", refresh);
})();
