// The hosted checkout page: counts down, asks the gateway every two seconds whether the
// transfer has arrived, and turns to paid or expired by itself. Without JavaScript the page
// is still correct on every refresh.
(function () {
  "use strict";
  var card = document.querySelector("main[data-reference]");
  if (!card) { return; }
  var reference = card.getAttribute("data-reference");
  var expiresAt = Number(card.getAttribute("data-expires-at"));
  var serverNow = Number(card.getAttribute("data-now"));
  // Trust the server's clock, not the device's: count from the difference at page load.
  var skew = serverNow - Date.now();
  var status = card.getAttribute("data-status");
  var sections = {
    pending: document.getElementById("pending"),
    successful: document.getElementById("paid"),
    expired: document.getElementById("expired")
  };
  var countdown = document.getElementById("countdown");
  var live = document.getElementById("live");

  function show(next, callbackUrl) {
    if (next === status) { return; }
    status = next;
    card.setAttribute("data-status", next);
    Object.keys(sections).forEach(function (key) { sections[key].hidden = key !== next; });
    live.textContent = next === "successful" ? "Payment received." : next === "expired" ? "This checkout has expired." : "";
    if (next === "successful" && callbackUrl) {
      setTimeout(function () { window.location.assign(callbackUrl); }, 3000);
    }
  }

  function tick() {
    if (status !== "pending") { return; }
    var left = Math.max(0, Math.floor((expiresAt - (Date.now() + skew)) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    countdown.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function poll() {
    if (status !== "pending") { return; }
    fetch("/checkout/" + encodeURIComponent(reference) + "/status", { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { show(body.status, body.return_url); } })
      .catch(function () { /* The next poll tries again. */ });
  }

  var copy = document.getElementById("copy");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
        copy.textContent = "Copied";
        setTimeout(function () { copy.textContent = "Copy"; }, 2000);
      });
    });
  }
  tick();
  setInterval(tick, 1000);
  setInterval(poll, 2000);
})();
