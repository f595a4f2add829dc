/* Small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    // Product gallery: a thumbnail swaps the main photo instead of leaving.
    var main = document.querySelector("[data-gallery-main]");
    document.querySelectorAll("[data-gallery-thumb]").forEach(function (thumb) {
      thumb.addEventListener("click", function (event) {
        if (!main) return;
        event.preventDefault();
        main.src = thumb.getAttribute("href");
        main.alt = thumb.dataset.alt || "";
        document.querySelectorAll("[data-gallery-thumb]").forEach(function (t) {
          t.removeAttribute("aria-current");
        });
        thumb.setAttribute("aria-current", "true");
      });
    });

    // Variant picker: show the chosen option's price, stock and SKU.
    var price = document.querySelector("[data-show-price]");
    var compare = document.querySelector("[data-show-compare]");
    var stock = document.querySelector("[data-show-stock]");
    var sku = document.querySelector("[data-show-sku]");
    document.querySelectorAll('input[name="variant"][type="radio"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (price) {
          price.textContent = radio.dataset.price;
          price.classList.toggle("price-sale", !!radio.dataset.compare);
        }
        if (compare) {
          compare.hidden = !radio.dataset.compare;
          compare.querySelector("[data-compare-value]").textContent = radio.dataset.compare || "";
        }
        if (stock) {
          stock.textContent = radio.dataset.stock;
          stock.className = "stock " + (radio.dataset.inStock === "1" ? "stock-in" : "stock-out");
        }
        if (sku) sku.textContent = radio.dataset.sku || "";
      });
    });

    // Variant picker: one control per option (Colour, Size) instead of the
    // list of every variant. Choosing values checks the matching variant in
    // the list, which stays the form's field; values that would make a sold
    // out or missing combination with the other choices are marked.
    var picker = document.querySelector("[data-option-picker]");
    var list = document.querySelector("[data-variant-list]");
    if (picker && list) {
      var groups = Array.prototype.slice.call(picker.querySelectorAll("[data-option-group]"));
      var variants = Array.prototype.map.call(
        list.querySelectorAll('input[name="variant"][data-options]'),
        function (radio) {
          return { radio: radio, values: JSON.parse(radio.dataset.options), inStock: radio.dataset.inStock === "1" };
        }
      );
      var addButton = document.querySelector("[data-add-to-cart]");
      var find = function (values) {
        return variants.filter(function (v) {
          return v.values.every(function (value, i) { return value === values[i]; });
        })[0];
      };
      var chosen = function () {
        return groups.map(function (group) {
          var input = group.querySelector("input:checked");
          return input ? input.value : null;
        });
      };
      var refresh = function () {
        var values = chosen();
        groups.forEach(function (group, i) {
          group.querySelectorAll("input").forEach(function (input) {
            var trial = values.slice();
            trial[i] = input.value;
            var match = find(trial);
            var available = !!match && match.inStock;
            input.closest(".option-value").classList.toggle("is-unavailable", !available);
            input.parentNode.querySelector("[data-unavailable]").hidden = available;
          });
        });
        var match = find(values);
        variants.forEach(function (v) { v.radio.checked = v === match && v.inStock; });
        if (match && match.inStock) {
          match.radio.dispatchEvent(new Event("change"));
        } else if (stock) {
          stock.textContent = match ? "Sold out" : "Not available in this combination";
          stock.className = "stock stock-out";
        }
        if (addButton) addButton.disabled = !(match && match.inStock);
      };
      var start = variants.filter(function (v) { return v.radio.checked; })[0] || variants[0];
      if (start) {
        groups.forEach(function (group, i) {
          group.querySelectorAll("input").forEach(function (input) {
            input.checked = input.value === start.values[i];
            input.addEventListener("change", refresh);
          });
        });
        picker.hidden = false;
        list.hidden = true;
        refresh();
      }
    }

    // Listing filters: a new sort order applies at once.
    document.querySelectorAll(".filters select").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.requestSubmit();
      });
    });

    // Listing filters send only the fields that are set, so the URL carries
    // no empty parameters (the server's chip links carry none either).
    document.querySelectorAll("form.filters").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var params = new URLSearchParams();
        new FormData(form).forEach(function (value, name) {
          if (String(value).trim() !== "") params.append(name, value);
        });
        var query = params.toString();
        window.location.assign(window.location.pathname + (query ? "?" + query : ""));
      });
    });

    // Checkout: show the total for the chosen delivery method only.
    var shipping = document.querySelectorAll('[data-shipping] input[type="radio"]');
    function showTotal() {
      var chosen = document.querySelector('[data-shipping] input[type="radio"]:checked');
      document.querySelectorAll("[data-total-for]").forEach(function (box) {
        box.hidden = !!chosen && box.dataset.totalFor !== chosen.value;
      });
    }
    shipping.forEach(function (radio) { radio.addEventListener("change", showTotal); });
    if (shipping.length) showTotal();

    // A form marked data-once cannot be sent twice by a double click; the
    // server is idempotent anyway, this only spares a second round trip.
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        setTimeout(function () {
          form.querySelectorAll('button[type="submit"]').forEach(function (b) {
            b.disabled = true;
          });
        }, 0);
      });
    });
  });
})();
