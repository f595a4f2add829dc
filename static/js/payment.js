/*
 * The card payment step: Stripe's Payment Element. Loaded on this page
 * only, after Stripe.js. Stripe redirects to the return URL, where the
 * server asks Stripe itself whether the payment succeeded.
 */
(function () {
  "use strict";
  var form = document.querySelector("[data-payment-form]");
  if (!form) return;
  var error = form.querySelector("[data-payment-error]");
  var submit = form.querySelector("[data-payment-submit]");

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
  }

  if (typeof window.Stripe !== "function") {
    form.hidden = false;
    submit.disabled = true;
    showError("The secure card form could not load. Reload the page, or pay cash on delivery.");
    return;
  }
  var stripe = window.Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  var payment = elements.create("payment");
  payment.mount(form.querySelector("[data-payment-element]"));
  form.hidden = false;

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    stripe
      .confirmPayment({
        elements: elements,
        confirmParams: { return_url: form.dataset.returnUrl },
      })
      .then(function (result) {
        // Reached only when the payment could not start (a declined card,
        // a typo); on success Stripe has already left this page.
        if (result && result.error) {
          showError(result.error.message || "Your card was not accepted.");
        }
        submit.disabled = false;
      });
  });
})();
