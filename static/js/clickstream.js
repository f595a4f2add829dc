/* Clickstream: clicks on [data-track], scroll depth, engaged time.
   Batches go to /analytics/collect with sendBeacon on page hide; failed
   batches wait in a small bounded localStorage queue for the next page. */
(function () {
  "use strict";
  var URL_ = "/analytics/collect", KEY = "nw_cs_queue", MAX_QUEUE = 100, MAX_BATCH = 50;
  var events = [], depths = {}, engaged = 0, since = null;
  var path = location.pathname + location.search;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }
  function push(name, props) {
    events.push({
      event_id: uuid(), name: name, ts: Date.now(), path: path,
      viewport: window.innerWidth + "x" + window.innerHeight, properties: props || {}
    });
    if (events.length >= MAX_BATCH) send(events.splice(0, MAX_BATCH), false);
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function save(list) {
    try { localStorage.setItem(KEY, JSON.stringify(list.slice(-MAX_QUEUE))); } catch (e) { /* full or blocked */ }
  }
  function keep(batch) { save(load().concat(batch)); }
  function send(batch, hiding) {
    if (!batch.length) return;
    var body = JSON.stringify({ events: batch });
    // text/plain keeps the beacon a simple request (no CORS preflight).
    var blob = new Blob([body], { type: "text/plain" });
    if (hiding && navigator.sendBeacon) {
      if (!navigator.sendBeacon(URL_, blob)) keep(batch);
      return;
    }
    if (!window.fetch) return keep(batch);
    fetch(URL_, { method: "POST", body: blob, keepalive: true, credentials: "same-origin" })
      .then(function (r) { if (r.status >= 500 || r.status === 429) keep(batch); })
      .catch(function () { keep(batch); });
  }
  function tick() {
    if (since !== null) { engaged += Date.now() - since; since = null; }
  }
  function resume() { if (document.visibilityState === "visible" && since === null) since = Date.now(); }

  document.addEventListener("click", function (e) {
    var el = e.target && e.target.closest && e.target.closest("[data-track]");
    if (!el) return;
    push("click", {
      track: (el.getAttribute("data-track") || "").slice(0, 100),
      text: (el.textContent || "").trim().slice(0, 80),
      href: (el.getAttribute("href") || "").slice(0, 200)
    });
  }, true);

  function onScroll() {
    var doc = document.documentElement, h = doc.scrollHeight - window.innerHeight;
    var pct = h <= 0 ? 100 : Math.round((window.scrollY || doc.scrollTop) / h * 100);
    [25, 50, 75, 100].forEach(function (d) {
      if (pct >= d && !depths[d]) { depths[d] = 1; push("scroll", { depth: d }); }
    });
  }
  window.addEventListener("scroll", onScroll, { passive: true });

  function hide() {
    tick();
    if (engaged > 0) { push("engaged", { seconds: Math.round(engaged / 100) / 10 }); engaged = 0; }
    var batch = events.splice(0, MAX_BATCH);
    send(batch, true);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") hide(); else resume();
  });
  window.addEventListener("pagehide", hide);
  window.addEventListener("focus", resume);
  window.addEventListener("blur", tick);

  // Retry what an earlier page could not deliver.
  var queued = load();
  if (queued.length) {
    save([]);
    for (var i = 0; i < queued.length; i += MAX_BATCH) send(queued.slice(i, i + MAX_BATCH), false);
  }
  resume();
})();
