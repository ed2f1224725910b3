// Shows whether the server's database and blob store answer (GET /readyz).
const el = document.getElementById("status");
try {
  const res = await fetch("/readyz");
  const body = await res.json();
  const checks = Object.entries(body.checks).map(([k, v]) => `${k}: ${v}`).join(", ");
  el.textContent = `${body.status} (${checks})`;
  el.className = res.ok ? "ok" : "down";
} catch (err) {
  el.textContent = `unreachable: ${err}`;
  el.className = "down";
}
