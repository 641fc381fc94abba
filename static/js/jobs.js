// Live job progress on the admin jobs page: poll the JSON endpoint while any job is open.
(function () {
  const endpoint = document.currentScript.dataset.endpoint;
  const badge = { succeeded: "success", failed: "danger", running: "primary" };

  function render(run) {
    const row = document.querySelector(`tr[data-run="${run.id}"]`);
    if (!row) return false;
    row.querySelector(".job-status").innerHTML =
      `<span class="badge text-bg-${badge[run.status] || "secondary"}">${run.status}</span>`;
    const bar = row.querySelector(".job-progress");
    bar.style.width = `${run.progress}%`;
    bar.textContent = `${run.progress}%`;
    row.querySelector(".job-message").textContent = run.message || "";
    row.querySelector(".job-duration").textContent = run.duration_s == null ? "—" : `${run.duration_s.toFixed(1)} s`;
    row.querySelector(".job-error").textContent = run.error || "";
    return true;
  }

  async function poll() {
    try {
      const response = await fetch(endpoint, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const { runs } = await response.json();
      runs.forEach(render);
      if (runs.some((run) => run.status === "queued" || run.status === "running")) setTimeout(poll, 1000);
    } catch (error) {
      setTimeout(poll, 5000);
    }
  }
  poll();
})();
