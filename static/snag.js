// Snag's only script: progressive enhancements; every page works without it.
"use strict";
document.addEventListener("change", (e) => {
  const all = e.target.closest("[data-select-all]");
  if (!all) return;
  const name = all.getAttribute("data-select-all");
  for (const box of all.form.querySelectorAll(`input[type=checkbox][name="${name}"]`)) {
    box.checked = all.checked;
  }
});
document.addEventListener("click", async (e) => {
  const button = e.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.getAttribute("data-copy"));
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select();
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
});
document.addEventListener("submit", (e) => {
  const question = e.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) e.preventDefault();
});
// The Logs page: lines that arrived since it was made go on top, every three seconds.
{
  const list = document.querySelector("[data-poll]");
  if (list) {
    const poll = async () => {
      try {
        const url = `${list.dataset.poll}&after=${encodeURIComponent(list.dataset.after)}`;
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.ok) {
          const html = await response.text();
          const newest = response.headers.get("X-Newest-Block");
          if (newest) list.dataset.after = newest;
          if (html.trim()) {
            list.insertAdjacentHTML("afterbegin", html);
            document.getElementById("no-lines")?.remove();
          }
        }
      } catch {
        // The server may be restarting: the next poll tries again.
      }
      setTimeout(poll, 3000);
    };
    setTimeout(poll, 3000);
  }
}
