// The dashboard's only script, and nothing depends on it: copy buttons, confirmation of
// destructive forms, and the local time next to UTC times.
"use strict";

document.querySelectorAll("[data-copy]").forEach((button) => {
  const target = document.getElementById(button.dataset.copy);
  if (!target || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(target.textContent.trim());
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
  });
});

document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
