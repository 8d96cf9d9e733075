// The console's softphone, on Twilio's Voice JavaScript SDK (static/vendor/twilio.min.js):
// registers the engineer's Client identity and shows the case of a ringing call before it is answered.
(function () {
  "use strict";

  var panel = document.getElementById("softphone-panel");
  if (!panel || panel.dataset.enabled !== "true") { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var status = document.getElementById("softphone-status");
  var incoming = document.getElementById("incoming");
  var details = document.getElementById("incoming-details");
  var acceptButton = document.getElementById("accept");
  var rejectButton = document.getElementById("reject");
  var hangUpButton = document.getElementById("hang-up");
  var FIELDS = [["case", "Case"], ["plan", "Plan"], ["severity", "Severity"], ["language", "Language"],
                ["queue", "Queue"], ["deadline", "Deadline"]];
  var device = null;
  var current = null;
  var identity = "";

  function say(text) { status.textContent = text; }
  function show(node, visible) { node.classList.toggle("hidden", !visible); }

  function param(call, key) {
    var params = call.customParameters;
    if (!params) { return ""; }
    return (typeof params.get === "function" ? params.get(key) : params[key]) || "";
  }

  function fetchToken() {
    return fetch(panel.dataset.tokenUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": csrf}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || response.status + " " + response.statusText); }
        return data;
      });
    });
  }

  function ready() {
    current = null;
    show(incoming, false);
    say(device && device.state === "registered" ? "Ready for calls as " + identity + "." : "Not registered.");
  }

  function ringing(call) {
    current = call;
    details.replaceChildren();
    FIELDS.forEach(function (field) {
      var value = param(call, field[0]);
      if (!value) { return; }
      var term = document.createElement("dt");
      term.textContent = field[1];
      var data = document.createElement("dd");
      data.textContent = value;
      data.dataset.param = field[0];
      details.appendChild(term);
      details.appendChild(data);
    });
    show(acceptButton, true);
    show(rejectButton, true);
    show(hangUpButton, false);
    show(incoming, true);
    say("Ringing: case " + (param(call, "case") || "unknown") + ".");
    call.on("accept", function () {
      show(acceptButton, false);
      show(rejectButton, false);
      show(hangUpButton, true);
      say("On the call about case " + (param(call, "case") || "unknown") + ".");
    });
    ["cancel", "disconnect", "reject"].forEach(function (event) {
      call.on(event, function () { if (current === call) { ready(); } });
    });
  }

  acceptButton.addEventListener("click", function () { if (current) { current.accept(); } });
  rejectButton.addEventListener("click", function () { if (current) { current.reject(); ready(); } });
  hangUpButton.addEventListener("click", function () { if (current) { current.disconnect(); } });

  if (!window.Twilio || !window.Twilio.Device) {
    say("The softphone library did not load; calls for you ring your Twilio Client app.");
    return;
  }
  fetchToken().then(function (data) {
    identity = data.identity;
    device = new window.Twilio.Device(data.token, {closeProtection: true, codecPreferences: ["opus", "pcmu"]});
    device.on("registered", ready);
    device.on("unregistered", function () { say("Not registered: calls will not ring here."); });
    device.on("error", function (error) { say("Softphone error: " + (error && error.message ? error.message : error)); });
    device.on("incoming", ringing);
    device.on("tokenWillExpire", function () {
      fetchToken().then(function (fresh) { device.updateToken(fresh.token); })
        .catch(function (error) { say("Could not renew the softphone's token: " + error.message); });
    });
    say("Registering " + identity + "…");
    return device.register();
  }).catch(function (error) { say("The softphone could not start: " + error.message); });
})();
