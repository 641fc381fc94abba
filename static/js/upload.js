// Image upload page: images dropped on the drop zone become the form's selection and are sent at once.
(function () {
  const form = document.getElementById("upload-form");
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("upload-files");
  const chosen = document.getElementById("upload-chosen");
  if (!form || !zone || !input) return;

  function describe() {
    const names = Array.from(input.files, (file) => file.name);
    chosen.textContent = names.length ? `${names.length} chosen: ${names.join(", ")}` : "";
  }

  ["dragenter", "dragover"].forEach((type) =>
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("border-primary");
    }),
  );
  ["dragleave", "drop"].forEach((type) =>
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.remove("border-primary");
    }),
  );
  zone.addEventListener("drop", (event) => {
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    describe();
    form.requestSubmit();
  });
  input.addEventListener("change", describe);
})();
