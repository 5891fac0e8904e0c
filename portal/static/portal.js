// Mākonis portal: progressive enhancement only; every page works without JavaScript.
"use strict";

// Live status: an element with data-events follows the instance's server-sent events.
// The page reloads once the instance reaches a state the server renders differently
// (data-reload-on lists them; "gone" means the instance no longer exists).
function followStatus(element) {
  const source = new EventSource(element.dataset.events);
  const reloadOn = (element.dataset.reloadOn || "").split(" ").filter(Boolean);
  const lang = document.documentElement.lang;
  source.addEventListener("status", (event) => {
    const status = JSON.parse(event.data);
    const phase = status ? status.phase : "gone";
    const label = element.dataset[`label${phase.charAt(0).toUpperCase()}${phase.slice(1).toLowerCase()}`] || phase;
    element.textContent = status && status.message ? `${label} — ${status.message}` : label;
    element.dataset.phase = phase;
    if (reloadOn.includes(phase) && (!status || status.current)) {
      source.close();
      window.setTimeout(() => window.location.reload(), 300);
    }
  });
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

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-events]").forEach(followStatus);
  document.querySelectorAll("form[novalidate]").forEach(validateInline);
});
