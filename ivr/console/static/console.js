// The engineer's page, kept live: polls /console/api/desk every 2 s and posts the buttons with fetch.
// Without JavaScript the same forms post normally and the page reloads itself.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var body = document.body.dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var timer = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function show(node, visible) { node.classList.toggle("hidden", !visible); }

  function answer(response) {
    if (response.status === 401) {
      window.location.assign(body.signInUrl);
      throw new Error("Your session has ended; sign in again.");
    }
    return response.json().catch(function () { return {}; }).then(function (data) {
      if (!response.ok) { throw new Error(data.error || response.status + " " + response.statusText); }
      return data;
    });
  }

  function post(url, payload) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(payload || {})
    }).then(answer);
  }

  function tell(text, isError) {
    var node = $("message");
    node.textContent = text;
    node.className = isError ? "error" : "notice";
    show(node, Boolean(text));
  }

  function renderPresence(desk) {
    var state = $("presence");
    state.textContent = desk.presence;
    state.className = "state state-" + desk.presence;
    var since = desk.presence_since || "";
    $("presence-since").textContent = since.replace("T", " ").replace("+00:00", " UTC");
    $("presence-since").setAttribute("datetime", since);
    show($("presence-since-wrap"), Boolean(since));
    document.querySelectorAll("#presence-form button[data-state]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.state === desk.presence ? "true" : "false");
    });
  }

  function renderCall(call) {
    var box = $("call");
    box.replaceChildren();
    if (!call) { box.appendChild(el("p", "You are not on a call.", "muted")); return; }
    var line = el("p");
    line.appendChild(el("strong", "Case " + call.case));
    var parts = [call.account, call.plan, call.severity ? "severity " + call.severity : "", call.queue];
    parts.forEach(function (part) { if (part) { line.appendChild(document.createTextNode(" · " + part)); } });
    line.appendChild(document.createTextNode(" · "));
    line.appendChild(el("span", call.state.replace("_", " "), "state"));
    if (call.since) { line.appendChild(document.createTextNode(" for " + call.since)); }
    box.appendChild(line);
  }

  function renderQueues(desk) {
    var queues = $("queues");
    queues.replaceChildren();
    desk.queues.forEach(function (q) {
      var span = el("span", q.queue + ": ", "queue");
      span.dataset.queue = q.queue;
      span.appendChild(el("strong", q.waiting));
      queues.appendChild(span);
    });
    var tbody = document.querySelector("#callers tbody");
    tbody.replaceChildren();
    if (!desk.callers.length) {
      var empty = el("tr", null, "empty");
      var cell = el("td", "Nobody is waiting.");
      cell.colSpan = 8;
      empty.appendChild(cell);
      tbody.appendChild(empty);
    }
    desk.callers.forEach(function (c) {
      var row = el("tr");
      row.dataset.callSid = c.call_sid;
      [c.case, c.account, c.plan, c.severity, c.queue, c.waiting].forEach(function (v) { row.appendChild(el("td", v)); });
      row.appendChild(el("td", c.to_deadline, c.to_deadline_s < 0 ? "overdue" : ""));
      row.appendChild(el("td", c.claimed_by === desk.engineer ? "you" : (c.claimed_by || "")));
      tbody.appendChild(row);
    });
    $("more").textContent = "and " + desk.more + " more";
    show($("more"), desk.more > 0);
  }

  function renderRest(rest) {
    var list = $("rest");
    list.replaceChildren();
    rest.forEach(function (r) {
      var item = el("li");
      item.appendChild(el("time", r.at));
      item.appendChild(document.createTextNode(" "));
      item.appendChild(el("code", r.method + " " + r.url));
      if (r.params.length) {
        item.appendChild(document.createTextNode(" "));
        item.appendChild(el("span", r.params.map(function (p) { return p[0] + "=" + p[1]; }).join(", "), "params"));
      }
      list.appendChild(item);
    });
    show($("rest-panel"), rest.length > 0);
  }

  function render(desk) {
    renderPresence(desk);
    renderCall(desk.call);
    renderQueues(desk);
    renderRest(desk.rest);
  }

  function refresh() {
    return fetch(body.deskUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(answer)
      .then(function (desk) { render(desk); show($("connection"), false); })
      .catch(function (error) {
        $("connection").textContent = "Not updating: " + error.message + " Retrying…";
        show($("connection"), true);
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      (document.hidden ? Promise.resolve() : refresh()).then(schedule);
    }, POLL_MS);
  }

  function act(promise) {
    return promise
      .then(function (data) { tell(data.message || "", false); })
      .catch(function (error) { tell(error.message, true); })
      .then(refresh);
  }

  $("presence-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var state = event.submitter && event.submitter.value;
    if (state) { act(post(body.presenceUrl, {state: state})); }
  });

  $("take-next-form").addEventListener("submit", function (event) {
    event.preventDefault();
    act(post(body.takeNextUrl));
  });

  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  schedule();
})();
