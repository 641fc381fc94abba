// Forms marked .one-click submit once: a double click on Retrain or Promote sends one request
// (the server refuses a second job of the same task anyway; this spares the user the warning).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.classList.contains("one-click")) return;
  if (form.dataset.submitted) {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "1";
  form.querySelectorAll("button[type=submit]").forEach((button) => {
    button.disabled = true;
  });
});
