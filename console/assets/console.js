// orderflow console: the token in sessionStorage, sent with every htmx
// request; sign-in and sign-out; the confirmation dialog; and the live
// subscription of an order page over the API's graphql-transport-ws
// websocket. No framework, no build step.
(function () {
  "use strict";
  var KEY = "orderflow.console.token";
  var page = document.body.dataset.page;

  function token() { return sessionStorage.getItem(KEY); }
  function normalize(t) { return t.trim().replace(/^Bearer\s+/i, "").trim(); }
  function signInURL() {
    return "/console/sign-in?next=" + encodeURIComponent(location.pathname + location.search);
  }

  if (page !== "sign-in" && !token()) {
    location.replace(signInURL());
    return;
  }

  // Every htmx request carries the token; without one none is sent.
  document.addEventListener("htmx:configRequest", function (e) {
    var t = token();
    if (!t) { e.preventDefault(); location.replace(signInURL()); return; }
    e.detail.headers["Authorization"] = "Bearer " + t;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target) { e.detail.target.removeAttribute("aria-busy"); }
  });

  var signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", function () {
      sessionStorage.removeItem(KEY);
      location.assign("/console/sign-in");
    });
  }

  // Dialogs: [data-open-dialog=ID] opens one, [data-close-dialog] closes
  // its own; a request made from inside a dialog closes it when done.
  document.addEventListener("click", function (e) {
    var open = e.target.closest("[data-open-dialog]");
    if (open) {
      var d = document.getElementById(open.dataset.openDialog);
      if (d) { d.showModal(); }
      return;
    }
    var close = e.target.closest("[data-close-dialog]");
    if (close) { close.closest("dialog").close(); }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var d = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("dialog");
    if (d && d.open) { d.close(); }
  });

  if (page === "sign-in") { setUpSignIn(); }
  if (page === "order") { followOrder(); }

  function setUpSignIn() {
    var form = document.getElementById("sign-in-form");
    var result = document.getElementById("sign-in-result");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var t = normalize(form.elements.token.value);
      if (!t) { return; }
      result.textContent = "Checking the token…";
      fetch("/console/fragments/session", { method: "POST", headers: { "Authorization": "Bearer " + t } })
        .then(function (resp) {
          if (resp.status === 204) {
            sessionStorage.setItem(KEY, t);
            var next = new URLSearchParams(location.search).get("next");
            location.assign(next && next.indexOf("/console/") === 0 ? next : "/console/orders");
            return;
          }
          return resp.text().then(function (html) { result.innerHTML = html; });
        })
        .catch(function () { result.textContent = "The server cannot be reached."; });
    });
  }

  // followOrder subscribes to orderStatusChanged and reloads the order's
  // fragment (read at least at the version announced) on every change.
  function followOrder() {
    var box = document.getElementById("order");
    var live = document.getElementById("live");
    var id = box.dataset.orderId;
    var wanted = 0, loading = false, finished = false, attempts = 0;

    function shown() {
      var o = box.querySelector(".order");
      return o ? parseInt(o.dataset.version, 10) || 0 : 0;
    }
    function setLive(state, text) { live.dataset.state = state; live.textContent = text; }
    // refresh reads the order again, at least at version (0: as it is).
    function refresh(version) {
      wanted = Math.max(wanted, version || 0);
      if (loading || (version && wanted <= shown())) { return; }
      loading = true;
      var v = wanted;
      htmx.ajax("GET", "/console/fragments/orders/" + encodeURIComponent(id) + "?minVersion=" + v,
        { target: "#order", swap: "innerHTML" }).finally(function () {
          loading = false;
          if (wanted > v && wanted > shown()) { refresh(wanted); }
        });
    }
    // A reload that brings exactly what is shown is not swapped in: the
    // page keeps its nodes (and the operator's focus) unless something
    // changed.
    var lastHTML = null;
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      if (e.detail.target !== box || !e.detail.shouldSwap) { return; }
      if (e.detail.serverResponse === lastHTML) { e.detail.shouldSwap = false; return; }
      lastHTML = e.detail.serverResponse;
    });
    document.body.addEventListener("order-changed", function (e) {
      refresh(e.detail && e.detail.version);
    });
    // Its dead letters replayed: their count changes.
    document.body.addEventListener("dead-letters-changed", function () { refresh(0); });

    function connect() {
      var proto = location.protocol === "https:" ? "wss:" : "ws:";
      var ws = new WebSocket(proto + "//" + location.host + document.body.dataset.graphql, "graphql-transport-ws");
      ws.onopen = function () {
        ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: "Bearer " + token() } }));
      };
      ws.onmessage = function (m) {
        var msg = JSON.parse(m.data);
        switch (msg.type) {
          case "connection_ack":
            attempts = 0;
            ws.send(JSON.stringify({ id: "order", type: "subscribe", payload: {
              query: "subscription ConsoleLive($id: ID!) { orderStatusChanged(orderId: $id) { status version } }",
              variables: { id: id } } }));
            setLive("live", "Live: changes appear as they happen.");
            break;
          case "next":
            if (msg.payload.errors && msg.payload.errors.length) {
              var err = msg.payload.errors[0];
              setLive("error", "Live updates refused: " + ((err.extensions && err.extensions.code) || "ERROR") + " " + err.message);
              break;
            }
            var o = msg.payload.data && msg.payload.data.orderStatusChanged;
            if (o) { refresh(o.version); }
            break;
          case "error":
            var e0 = msg.payload && msg.payload[0];
            setLive("error", "Live updates refused: " + ((e0 && e0.extensions && e0.extensions.code) || "ERROR") + " " + (e0 ? e0.message : ""));
            finished = true;
            break;
          case "complete":
            finished = true;
            setLive("final", "Final: this order changes no more.");
            ws.close(1000);
            // Inventory and payments may still record the settlement
            // (commit, capture, release, void) just after the order's
            // last event: read the story once more.
            setTimeout(function () { refresh(0); }, 2000);
            break;
          case "ping":
            ws.send(JSON.stringify({ type: "pong" }));
            break;
        }
      };
      ws.onclose = function (e) {
        if (finished) { return; }
        if (e.code === 4403 || e.code === 4401) {
          setLive("error", "Live updates refused: " + (e.reason || "sign in again"));
          return;
        }
        attempts++;
        var delay = Math.min(30000, 500 * Math.pow(2, attempts));
        setLive("reconnecting", "Live updates interrupted; reconnecting in " + Math.round(delay / 1000) + " s…");
        setTimeout(connect, delay);
      };
    }
    // The first read goes through refresh too, so a change announced
    // while it is on its way waits for it instead of racing it.
    refresh(0);
    connect();
  }
})();
