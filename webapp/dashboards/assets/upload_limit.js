// A file above an upload zone's limit is refused by the browser before it is sent; say so where it was dropped
// (the upload component itself stays silent), and how to import a larger file.
(function () {
  function zoneOf(node) {
    return node && node.closest ? node.closest("[data-max-bytes]") : null;
  }

  function check(zone, files) {
    const message = zone.querySelector(".upload-zone-message");
    if (!message) return;
    const limit = Number(zone.dataset.maxBytes);
    const tooBig = Array.from(files || []).filter((file) => file.size > limit);
    if (!tooBig.length) {
      message.textContent = "";
      message.classList.add("d-none");
      return;
    }
    const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
    message.textContent =
      `${tooBig.map((f) => `${f.name} (${mb(f.size)})`).join(", ")}: larger than the ${mb(limit)} limit, not uploaded. ` +
      "Split the file, or import it from the command line: flask --app wsgi records import FILE.";
    message.classList.remove("d-none");
  }

  document.addEventListener(
    "drop",
    (event) => {
      const zone = zoneOf(event.target);
      if (zone && event.dataTransfer) check(zone, event.dataTransfer.files);
    },
    true,
  );
  document.addEventListener(
    "change",
    (event) => {
      const zone = zoneOf(event.target);
      if (zone && event.target.files) check(zone, event.target.files);
    },
    true,
  );
})();
