// The craft beer demo page: asks the worker for the session on load, pours
// on click, counts the session's remaining lifetime down in place, and
// registers, logs in and out through the worker's account routes.
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
    lifetimeRow: $("lifetime-row"),
    lifetimeBeers: $("lifetime-beers"),
    loggedIn: $("logged-in"),
    loggedOut: $("logged-out"),
    user: $("user"),
    form: $("account-form"),
    username: $("username"),
    password: $("password"),
    register: $("register"),
    login: $("login"),
    actions: $("account-actions"),
    logout: $("logout"),
    logoutAll: $("logout-all"),
    accountMessage: $("account-message"),
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

  /**
   * Shows who is logged in: `user` is the canonical username (absent or null
   * when the session is anonymous), `lifetime` the user's beers over all
   * sessions.
   */
  function renderAccount(user, lifetime) {
    const known = typeof user === "string" && user !== "";
    el.user.textContent = known ? user : "";
    el.loggedIn.hidden = !known;
    el.loggedOut.hidden = known;
    el.form.hidden = known;
    el.actions.hidden = !known;
    el.lifetimeRow.hidden = !known;
    el.lifetimeBeers.textContent = known && Number.isFinite(lifetime) ? String(lifetime) : "0";
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
    renderAccount(data.user, data.lifetimeBeers);
    el.panel.removeAttribute("aria-busy");
    showError(data.error ? `Note: ${data.error}` : null);
  }

  /**
   * How many seconds to wait before retrying, or null: the error body's
   * `retryAfter` (whole seconds), else the Retry-After header's seconds.
   */
  function retryAfter(resp, body) {
    if (body && Number.isInteger(body.retryAfter) && body.retryAfter >= 0) return body.retryAfter;
    const header = (resp.headers.get("Retry-After") ?? "").trim();
    return /^\d+$/.test(header) ? Number(header) : null;
  }

  /**
   * Calls the worker. Resolves with the JSON body of a 2xx answer; throws an
   * Error whose message is fit for the page otherwise.
   */
  async function api(method, path, json) {
    let resp;
    const headers = { Accept: "application/json" };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    try {
      resp = await fetch(path, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
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
      const retry = retryAfter(resp, body);
      if (resp.status === 503 && retry !== null) {
        message += ` (retry in ${retry} s)`;
      } else if ((resp.status === 429 || resp.status === 409) && retry !== null) {
        // 409 with a wait: other requests of this session saved first and
        // nothing was written; sending it again is safe.
        message += ` (try again in ${retry} s)`;
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

  // Account actions, one at a time. Each ends by asking for the session
  // again: login and logout hand the browser a new session id.
  let busy = false;

  function say(message) {
    el.accountMessage.textContent = message ?? "";
  }

  async function account(action) {
    if (busy) return;
    busy = true;
    const buttons = [el.register, el.login, el.logout, el.logoutAll];
    for (const b of buttons) b.setAttribute("aria-disabled", "true");
    say("");
    try {
      const message = await action();
      showError(null);
      await loadSession();
      say(message);
    } catch (err) {
      showError(err.message);
    } finally {
      busy = false;
      for (const b of buttons) b.removeAttribute("aria-disabled");
    }
  }

  const credentials = () => ({ username: el.username.value, password: el.password.value });

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    account(async () => {
      const data = await api("POST", "/api/login", credentials());
      el.password.value = "";
      return `Welcome back, ${data.user}.`;
    });
  });

  el.register.addEventListener("click", () => {
    account(async () => {
      const data = await api("POST", "/api/register", credentials());
      el.username.value = data.user;
      return `Account ${data.user} created. Log in to start your lifetime count.`;
    });
  });

  el.logout.addEventListener("click", () => {
    account(async () => {
      await api("POST", "/api/logout");
      return "Logged out. Your lifetime count waits for your next login.";
    });
  });

  el.logoutAll.addEventListener("click", () => {
    account(async () => {
      const data = await api("POST", "/api/logout-all");
      const n = data.sessionsEnded ?? 0;
      return `Logged out everywhere: ${n} session${n === 1 ? "" : "s"} ended.`;
    });
  });

  el.pour.addEventListener("click", pour);
  loadSession();
})();
