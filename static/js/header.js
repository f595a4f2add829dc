/*
 * The header's personal parts on a shared cached page (shop/header.py).
 *
 * Loaded in <head> without defer, so it runs before the page is painted. It
 * marks the page as having JavaScript (the "js" class), then reads the
 * header cookie and, as soon as the parser has added the header's cart
 * count, shows the visitor's own name, staff link and cart count. A
 * MutationObserver's callback runs before the browser renders again, so the
 * anonymous header is never painted for a signed-in shopper: no flash, and
 * no layout shift. Without this script (or without the cookie) the page
 * shows the anonymous header, and every link and form still works.
 */
(function () {
  "use strict";
  // Pages lay out what shop.js will work from the first paint (shop.css).
  document.documentElement.classList.add("js");
  var match = document.cookie.match(/(?:^|;\s*)nw_header=([^;]+)/);
  if (!match) return;
  var state;
  try {
    // A signed value, "payload:signature"; the payload is base64url JSON.
    var payload = match[1].replace(/^"|"$/g, "").split(":")[0];
    var b64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    state = JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4)));
  } catch (e) {
    return;
  }
  var count = Math.max(0, parseInt(state.n, 10) || 0);
  var name = typeof state.u === "string" ? state.u : "";

  function each(root, selector, fn) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  // Fills what the parser has added so far; true once the header's parts
  // are all there (something follows them).
  function apply() {
    var header = document.querySelector("[data-header-shared]");
    var badge = header && header.querySelector("[data-header-count]");
    if (!badge) return false;
    each(header, "[data-header-staff]", function (el) { el.hidden = !state.s; });
    each(header, "[data-header-member]", function (el) { el.hidden = !name; });
    each(header, "[data-header-guest]", function (el) { el.hidden = !!name; });
    if (name) each(header, "[data-header-name]", function (el) { el.textContent = name; });
    badge.setAttribute("data-count", String(count));
    each(badge, "[data-header-count-value]", function (el) { el.textContent = String(count); });
    each(badge, "[data-header-count-plural]", function (el) { el.textContent = count === 1 ? "" : "s"; });
    return !!header.nextSibling;
  }

  if (apply()) return;
  var observer = new MutationObserver(function () {
    if (apply()) observer.disconnect();
  });
  observer.observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", function () {
    observer.disconnect();
    apply();
  });
})();
