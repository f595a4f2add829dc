/* Staff dashboards: preset buttons submit at once; the Realtime panel
   re-fetches its fragment every few seconds without reloading the page.
   No inline script anywhere, so the strict CSP holds. */
(function () {
  "use strict";

  document.querySelectorAll("[data-autosubmit]").forEach(function (input) {
    input.addEventListener("change", function () {
      if (input.value !== "custom") {
        var form = input.form;
        form.querySelectorAll("input[type=date]").forEach(function (d) { d.disabled = true; });
        form.submit();
      }
    });
  });

  var live = document.querySelector("[data-live-url]");
  if (!live) { return; }
  var status = document.querySelector("[data-live-status]");
  var every = parseInt(live.getAttribute("data-live-every"), 10) || 10000;
  var busy = false;

  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(live.getAttribute("data-live-url"), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (html) {
      live.innerHTML = html;
      live.setAttribute("data-refreshed", String(Date.now()));
      if (status) { status.textContent = "Updated " + new Date().toLocaleTimeString() + "."; }
    }).catch(function () {
      if (status) { status.textContent = "Could not refresh; retrying."; }
    }).then(function () { busy = false; });
  }

  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
})();
