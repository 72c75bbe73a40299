// The payment-link page works without this script. With it, the account hint follows the
// chosen institution, and a paid page moves on to the business by itself.
(function () {
  "use strict";
  var bank = document.getElementById("bank");
  var account = document.getElementById("account");
  var hint = document.getElementById("account-hint");
  if (bank && account && hint) {
    var generic = hint.textContent;
    var follow = function () {
      var option = bank.options[bank.selectedIndex];
      var text = option && option.getAttribute("data-hint");
      hint.textContent = text ? "Account: " + text + "." : generic;
    };
    bank.addEventListener("change", follow);
    follow();
  }
  var back = document.getElementById("return-link");
  if (back && back.getAttribute("data-redirect")) {
    var delay = Number(back.getAttribute("data-redirect")) || 3000;
    setTimeout(function () { window.location.assign(back.href); }, delay);
  }
})();
