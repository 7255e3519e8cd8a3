// The craft beer demo page, enhanced. The page works without this script:
// the worker fills it in (GET /) and every button is a form whose answer is
// a 303 back to the page, with the outcome as a flash message. With it, the
// same forms are sent with fetch and the page the redirect leads to
// replaces this one in place (no reload, focus kept), and the session's
// countdown runs live. Plain browser JavaScript, no dependencies.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  // The countdown: a deadline on the monotonic clock, redrawn ten times a
  // second, from the seconds the worker wrote into data-seconds.
  let timer = null;

  function startCountdown() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    const shown = $("expires-in");
    const seconds = Number.parseFloat(shown?.dataset.seconds ?? "");
    if (!Number.isFinite(seconds)) return; // a browser-session cookie, or no session
    const deadline = performance.now() + seconds * 1000;
    const draw = () => {
      const left = Math.max(0, (deadline - performance.now()) / 1000);
      shown.textContent = left.toFixed(1);
      if (left <= 0) {
        clearInterval(timer);
        timer = null;
        $("expired").hidden = false;
      }
    };
    draw();
    if (seconds > 0) timer = setInterval(draw, 100);
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = false;
  }

  /** The error an answer that is not the page carries, fit for the page. */
  async function failure(resp) {
    let detail = "";
    if ((resp.headers.get("Content-Type") ?? "").startsWith("text/html")) {
      // The page with the error in its alert (a failing store, a refusal).
      const shown = new DOMParser().parseFromString(await resp.text(), "text/html").getElementById("error");
      if (shown?.textContent) return shown.textContent;
    }
    try {
      const body = await resp.json();
      if (body && typeof body.error === "string") detail = body.error;
      if (body && Number.isInteger(body.retryAfter)) detail += ` (try again in ${body.retryAfter} s)`;
    } catch {
      // not JSON: the status says enough
    }
    return `The server answered ${resp.status}${detail ? `: ${detail}` : ""}`;
  }

  /**
   * Puts the page `html` (the answer the form's redirect led to) in place
   * of this one's <main>, keeping focus on the control of the same id when
   * it is still shown, else on the heading of the section the form was in.
   */
  function swap(html, form) {
    const next = new DOMParser().parseFromString(html, "text/html").getElementById("main");
    if (!next) throw new Error("The server answered with a page this script does not know.");
    const focused = document.activeElement?.id;
    const section = form.closest("section")?.id;
    const typed = $("username")?.value ?? "";
    const scroll = window.scrollY;
    // Live regions (counters, messages) keep their nodes: their new text is
    // set while they are still in the page, so that screen readers announce
    // it, and the nodes move into the new page in place of their copies.
    for (const fresh of next.querySelectorAll("[aria-live], [role=status], [role=alert]")) {
      const old = fresh.id ? $(fresh.id) : null;
      if (!old || old.tagName !== fresh.tagName) continue;
      if (old.innerHTML !== fresh.innerHTML) old.innerHTML = fresh.innerHTML;
      old.hidden = fresh.hidden;
      fresh.replaceWith(old);
    }
    $("main").replaceWith(document.adoptNode(next));
    const username = $("username");
    if (username && !username.value && $("account-error") && !$("account-error").hidden) username.value = typed;
    // Focus: the control of the same id if it is still shown, else the
    // heading of the form's section, else (that section is gone: your own
    // session signed out of the devices list) the account heading.
    const visible = (el) => el && el.offsetParent !== null;
    const again = focused && $(focused);
    if (visible(again)) {
      again.focus();
    } else {
      const heading = [section && $(section)?.querySelector("h2"), $("account-heading"), $("tap-heading")].find(visible);
      if (heading) {
        heading.tabIndex = -1;
        heading.focus();
      }
    }
    window.scrollTo(0, scroll);
    startCountdown();
  }

  let busy = false;

  async function submit(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || busy) {
      if (busy) event.preventDefault();
      return;
    }
    event.preventDefault();
    busy = true;
    const buttons = [...document.querySelectorAll("main button")];
    for (const b of buttons) b.setAttribute("aria-disabled", "true");
    // A button's formAction is the page's own URL when it has no
    // formaction attribute: only its attribute overrides the form's.
    const action = event.submitter?.hasAttribute("formaction") ? event.submitter.formAction : form.action;
    try {
      let resp;
      try {
        resp = await fetch(action, {
          method: "POST",
          body: new URLSearchParams(new FormData(form, event.submitter)),
          headers: { Accept: "text/html" },
          credentials: "same-origin",
          cache: "no-store",
        });
      } catch (err) {
        throw new Error(`Could not reach the server (${err.message}). Check your connection and try again.`);
      }
      const html = resp.ok && (resp.headers.get("Content-Type") ?? "").startsWith("text/html");
      if (!html) throw new Error(await failure(resp));
      swap(await resp.text(), form);
    } catch (err) {
      showError(err.message);
    } finally {
      busy = false;
      for (const b of document.querySelectorAll("main button")) b.removeAttribute("aria-disabled");
    }
  }

  document.addEventListener("submit", submit);
  startCountdown();
})();
