// The craft beer demo page: asks the worker for the session on load, pours
// on click, and counts the session's remaining lifetime down in place.
// Plain browser JavaScript, no dependencies; works offline.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    panel: $("session-panel"),
    sessionId: $("session-id"),
    expiresIn: $("expires-in"),
    expiresUnit: $("expires-unit"),
    expired: $("expired"),
    beersViewed: $("beers-viewed"),
    pour: $("pour"),
    beerName: $("beer-name"),
    beerStyle: $("beer-style"),
    error: $("error"),
  };

  // The countdown: a deadline on the monotonic clock, redrawn ten times a
  // second. `null` while no session is shown or the session has no expiry.
  let deadline = null;
  let timer = null;

  function showError(message) {
    if (message) {
      el.error.textContent = message;
      el.error.hidden = false;
    } else {
      el.error.textContent = "";
      el.error.hidden = true;
    }
  }

  function drawCountdown() {
    if (deadline === null) return;
    const left = Math.max(0, (deadline - performance.now()) / 1000);
    el.expiresIn.textContent = left.toFixed(1);
    if (left <= 0) {
      stopCountdown();
      el.expired.hidden = false;
    }
  }

  function stopCountdown() {
    if (timer !== null) clearInterval(timer);
    timer = null;
  }

  function startCountdown(seconds) {
    stopCountdown();
    el.expired.hidden = true;
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) {
      // A session without `cookie.expires` lasts as long as the browser.
      deadline = null;
      el.expiresIn.textContent = "never";
      el.expiresUnit.textContent = "(ends with the browser session)";
      return;
    }
    el.expiresUnit.textContent = "seconds";
    deadline = performance.now() + seconds * 1000;
    drawCountdown();
    if (seconds > 0) timer = setInterval(drawCountdown, 100);
  }

  /** Puts one answer of /api/session or /api/pour on the page. */
  function render(data) {
    el.sessionId.textContent = data.sessionID ?? "(none)";
    const views = data.beersViewed;
    // `views` is whatever the session holds (the seed's express app may
    // have written it): a number or string as is, an object or array as JSON.
    el.beersViewed.textContent =
      views === undefined || views === null ? "0" : typeof views === "object" ? JSON.stringify(views) : String(views);
    if (data.beerName) {
      el.beerName.textContent = data.beerName;
      el.beerName.classList.remove("placeholder");
      el.beerStyle.textContent = data.beerStyle ?? "";
    }
    startCountdown(data.sessionExpireTime);
    el.panel.removeAttribute("aria-busy");
    showError(data.error ? `Note: ${data.error}` : null);
  }

  /**
   * Calls the worker. Resolves with the JSON body of a 2xx answer; throws an
   * Error whose message is fit for the page otherwise.
   */
  async function api(method, path) {
    let resp;
    try {
      resp = await fetch(path, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
    } catch (err) {
      throw new Error(`Could not reach the server (${err.message}). Check your connection and try again.`);
    }
    let body = null;
    let text = "";
    try {
      text = await resp.text();
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!resp.ok) {
      const status = `${resp.status}${resp.statusText ? " " + resp.statusText : ""}`;
      const detail = body && typeof body.error === "string" ? body.error : text.trim().slice(0, 200);
      let message = `The server answered ${status}`;
      if (detail) message += `: ${detail}`;
      if (resp.status === 503) {
        const retry = resp.headers.get("Retry-After");
        message += retry ? ` (retry in ${retry} s)` : "";
      }
      throw new Error(message);
    }
    if (body === null || typeof body !== "object") {
      throw new Error(`The server answered ${resp.status} but not with the expected JSON.`);
    }
    return body;
  }

  async function loadSession() {
    try {
      render(await api("GET", "/api/session"));
    } catch (err) {
      el.panel.removeAttribute("aria-busy");
      if (el.sessionId.textContent === "loading…") {
        el.sessionId.textContent = "unavailable";
        el.expiresIn.textContent = "–";
        el.beersViewed.textContent = "–";
      }
      showError(err.message);
    }
  }

  // One pour at a time. The button stays enabled (aria-disabled) while a pour
  // is under way so that keyboard focus stays on it.
  let pouring = false;

  async function pour() {
    if (pouring) return;
    pouring = true;
    el.pour.setAttribute("aria-disabled", "true");
    try {
      render(await api("POST", "/api/pour"));
    } catch (err) {
      // A failed pour changed nothing in the store (a 503 says so): keep the
      // panel as it was and say why.
      showError(err.message);
    } finally {
      pouring = false;
      el.pour.removeAttribute("aria-disabled");
    }
  }

  el.pour.addEventListener("click", pour);
  loadSession();
})();
