// Forms of the dashboard are plain HTML forms (they work without this file); this only asks
// before an irreversible action.
export function initForms() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
}
