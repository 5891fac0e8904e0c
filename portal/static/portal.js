// Mākonis portal: progressive enhancement only; every page works without JavaScript.
"use strict";

// Live status: an element with data-events follows the instance's server-sent events.
// The page reloads once the instance reaches a state the server renders differently
// (data-reload-on lists them; "gone" means the instance no longer exists). data-phase
// is the phase the page was rendered with: empty while the instance does not exist yet,
// when "no instance" means "not created yet" (the page's own words stay) rather than gone.
function followStatus(element) {
  const source = new EventSource(element.dataset.events);
  const reloadOn = (element.dataset.reloadOn || "").split(" ").filter(Boolean);
  const lang = document.documentElement.lang;
  const badge = element.querySelector(".badge");
  const rendered = element.dataset.phase || "";
  let seen = rendered !== "";
  source.addEventListener("status", (event) => {
    const status = JSON.parse(event.data);
    if (!status && !seen) return;
    const phase = status ? status.phase : "gone";
    const label = element.dataset[`label${phase.charAt(0).toUpperCase()}${phase.slice(1).toLowerCase()}`] || phase;
    // The platform's own status messages are in English: marked so, for screen readers.
    const parts = [];
    if (status && status.message) {
      const message = document.createElement("span");
      message.lang = "en";
      message.textContent = status.message;
      parts.push(" — ", message);
    }
    if (badge) {
      badge.className = `badge phase-${phase}`;
      badge.textContent = label;
      element.replaceChildren(badge, ...parts);
    } else {
      element.replaceChildren(label, ...parts);
    }
    element.dataset.phase = phase;
    seen = true;
    if (reloadOn.includes(phase) && (!status || status.current)) {
      source.close();
      // The page already showed this phase: the server is still catching up (a request's
      // state follows its instance a moment later), so look again a little later rather
      // than reloading in a tight loop.
      window.setTimeout(() => window.location.reload(), phase === rendered ? 3000 : 300);
    }
  });
  source.onopen = () => element.removeAttribute("data-offline");
  source.onerror = () => element.setAttribute("data-offline", lang === "lv" ? "savienojums pārtrūka" : "connection lost");
}

// Inline validation: after a field loses focus, the browser's own check is shown next
// to it (the server checks again, with the same rules as the catalog controller).
function validateInline(form) {
  form.querySelectorAll("input, select, textarea").forEach((field) => {
    field.addEventListener("blur", () => {
      const id = `${field.id}-inline`;
      let note = document.getElementById(id);
      if (field.checkValidity()) {
        if (note) note.remove();
        field.removeAttribute("aria-invalid");
        return;
      }
      if (!note) {
        note = document.createElement("p");
        note.id = id;
        note.className = "field-error";
        field.insertAdjacentElement("afterend", note);
        const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        field.setAttribute("aria-describedby", [...described, id].join(" "));
      }
      note.textContent = field.validationMessage;
      field.setAttribute("aria-invalid", "true");
    });
  });
}

// The main menu marks where the user is: the current page, or the section it belongs to.
function markCurrentPage() {
  const here = window.location.pathname;
  document.querySelectorAll(".site-header nav a").forEach((link) => {
    if (link.pathname === here) {
      link.setAttribute("aria-current", "page");
    } else if (here.startsWith(`${link.pathname}/`)) {
      link.setAttribute("aria-current", "true");
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-events]").forEach(followStatus);
  document.querySelectorAll("form[novalidate]").forEach(validateInline);
  markCurrentPage();
  // A form that came back with errors: start at the list of them.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});
