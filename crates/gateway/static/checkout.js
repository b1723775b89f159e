// Checkout page behaviour: countdown, state polling, moving on when paid.
// The page works without this file; it only makes it live.
(function () {
  "use strict";
  var root = document.getElementById("checkout");
  if (!root) return;
  var orderId = root.getAttribute("data-order");
  // The state's code, to notice a change; what it means comes as booleans.
  var state = parseInt(root.getAttribute("data-state"), 10);
  var waiting = root.getAttribute("data-waiting") === "1";
  var deadline = Date.now() + parseInt(root.getAttribute("data-remaining"), 10) * 1000;
  var countdown = document.getElementById("countdown");

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    if (!countdown) return;
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    countdown.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
    if (left === 0 && waiting) poll();
  }

  function poll() {
    var req = new XMLHttpRequest();
    req.open("GET", "/query/" + encodeURIComponent(orderId));
    req.setRequestHeader("Accept", "application/json");
    req.onload = function () {
      try {
        var body = JSON.parse(req.responseText);
        if (body.success && body.state !== state) window.location.reload();
      } catch (e) { /* try again on the next poll */ }
    };
    req.send();
  }

  var form = document.getElementById("paid-form");
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = document.getElementById("i-have-paid");
      if (button) button.disabled = true;
      var req = new XMLHttpRequest();
      req.open("POST", form.getAttribute("action"));
      req.setRequestHeader("Accept", "application/json");
      req.onloadend = function () {
        var body = null;
        try { body = JSON.parse(req.responseText); } catch (e) { body = null; }
        if (body && body.success === false && (body.error === "claim_limit" || body.error === "cross_origin")) {
          // Refused, nothing changed: say why in place of the button.
          var notice = document.createElement("section");
          notice.className = "notice claimed";
          notice.id = body.error.replace("_", "-");
          notice.setAttribute("role", "status");
          var title = document.createElement("h2");
          title.textContent = body.title || "";
          var text = document.createElement("p");
          text.textContent = body.errorMsg || "";
          notice.appendChild(title);
          notice.appendChild(text);
          form.parentNode.replaceChild(notice, form);
          return;
        }
        window.location.reload();
      };
      req.send();
    });
  }

  var back = document.getElementById("return-link");
  if (back && back.getAttribute("data-auto") === "1") {
    setTimeout(function () { window.location.href = back.getAttribute("href"); }, 1500);
  }

  if (waiting) {
    tick();
    setInterval(tick, 1000);
    setInterval(poll, 2000);
  }
})();
