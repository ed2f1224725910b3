// The audit trail: filter by actor, action, resource and time range, page
// with keyset tokens (fast at a million events), one event's details, the
// chain's verification and latest signed checkpoint, and the export of the
// current filter (CSV or JSON Lines) or of the whole signed chain.
import { useEffect, useState } from "preact/hooks";
import { get, query } from "../api.js";
import { Link, navigate, setQuery } from "../router.js";
import { Badge, Empty, ErrorBox, Load, Loading, Pager, Time, useLoad, usePages, useTitle } from "../components/ui.jsx";
import { Forbidden } from "../components/layout.jsx";

const filterNames = ["actor", "action", "resource", "outcome", "since", "until"];

// localToISO turns a datetime-local value (the viewer's zone) into UTC.
function localToISO(v) {
  if (!v) return "";
  const d = new Date(v);
  return isNaN(d) ? "" : d.toISOString();
}
function isoToLocal(v) {
  if (!v) return "";
  const d = new Date(v);
  if (isNaN(d)) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function filtersOf(q) {
  const f = {};
  for (const n of filterNames) f[n] = q.get(n) || "";
  return f;
}

export function Audit({ session, params, query: q }) {
  useTitle(params.seq ? `Audit event ${params.seq}` : "Audit trail");
  const why = session.why("listAuditEvents");
  if (why) return <Forbidden why={why} />;
  if (params.seq) return <EventDetail seq={params.seq} />;
  return <Trail q={q} />;
}

function Trail({ q }) {
  const filters = filtersOf(q);
  const key = JSON.stringify(filters);
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [key]);
  const pages = usePages(key);
  const state = useLoad(() => get("/api/v1/audit" + query({ ...filters, page_size: 50, page_token: pages.token })), [key, pages.token]);
  const bad = state.error && state.error.status === 400;

  const submit = (e) => {
    e.preventDefault();
    setQuery({ ...draft, resource: draft.resource.trim(), actor: draft.actor.trim(), action: draft.action.trim() });
  };
  const field = (name, label, props = {}) => (
    <div>
      <label for={`f-${name}`}>{label}</label>
      <input id={`f-${name}`} name={name} value={draft[name]} onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} {...props} />
    </div>
  );
  return (
    <section>
      <h1>Audit trail</h1>
      <ChainStatus />
      <form onSubmit={submit} aria-describedby={bad ? "filter-error" : undefined}>
        <fieldset>
          <legend>Filter</legend>
          <div class="form-grid">
            {field("actor", "Actor", { placeholder: "alice" })}
            {field("action", "Action", { placeholder: "transition.approve" })}
            {field("resource", "Resource", { placeholder: "models/fraud/*" })}
            <div>
              <label for="f-outcome">Outcome</label>
              <select id="f-outcome" value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.currentTarget.value })}>
                <option value="">any</option>
                <option value="success">success</option>
                <option value="denied">denied</option>
              </select>
            </div>
            <div>
              <label for="f-since">From (your time)</label>
              <input id="f-since" type="datetime-local" value={isoToLocal(draft.since)} onInput={(e) => setDraft({ ...draft, since: localToISO(e.currentTarget.value) })} />
            </div>
            <div>
              <label for="f-until">Until (your time)</label>
              <input id="f-until" type="datetime-local" value={isoToLocal(draft.until)} onInput={(e) => setDraft({ ...draft, until: localToISO(e.currentTarget.value) })} />
            </div>
          </div>
          <p class="hint">A resource ending in * matches everything under it, e.g. models/fraud/* for a model's versions.</p>
          {bad && (
            <p class="field-error" id="filter-error" role="alert">
              {state.error.message}
            </p>
          )}
          <div class="form-actions">
            <button type="submit" class="btn btn-primary">
              Apply
            </button>
            <button type="button" class="btn" onClick={() => setQuery({})}>
              Clear
            </button>
            <Export filters={filters} />
          </div>
        </fieldset>
      </form>
      {!bad && (
        <Load state={state} what="the audit events" lines={10}>
          {(data) =>
            data.events.length === 0 ? (
              <Empty>No event matches.</Empty>
            ) : (
              <>
                <div class="table-wrap">
                  <table>
                    <caption class="visually-hidden">Audit events, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col" class="num">Seq</th>
                        <th scope="col">Time</th>
                        <th scope="col">Actor</th>
                        <th scope="col">Action</th>
                        <th scope="col">Resource</th>
                        <th scope="col">Outcome</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.events.map((e) => (
                        <tr key={e.seq}>
                          <th scope="row" class="num">
                            <Link href={`/ui/audit/${e.seq}`}>{e.seq}</Link>
                          </th>
                          <td>
                            <Time value={e.time} />
                          </td>
                          <td>{e.actor}</td>
                          <td>
                            <code>{e.action}</code>
                          </td>
                          <td>
                            <code>{e.resource}</code>
                          </td>
                          <td>
                            <Badge kind={e.outcome === "success" ? "ok" : e.outcome === "denied" ? "bad" : "warn"}>{e.outcome}</Badge>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager hasPrevious={pages.hasPrevious} next={data.next_page_token} onPrevious={pages.previous} onNext={() => pages.next(data.next_page_token)} label="Pages of events" />
              </>
            )
          }
        </Load>
      )}
    </section>
  );
}

// ChainStatus shows the latest signed checkpoint and verifies the chain
// from it on (since_seq): the stored hashes before it are vouched for by
// the checkpoint; the whole chain is verified on request.
function ChainStatus() {
  const cps = useLoad(() => get("/api/v1/audit/checkpoints" + query({ page_size: 1 })), []);
  const [result, setResult] = useState(null);
  const [whole, setWhole] = useState(false);
  const cp = cps.data && cps.data.checkpoints && cps.data.checkpoints[0];
  useEffect(() => {
    if (cps.loading) return;
    setResult(null);
    const since = !whole && cp ? cp.seq : undefined;
    get("/api/v1/audit/verify" + query({ since_seq: since })).then(
      (r) => setResult({ ...r, since }),
      (error) => setResult({ error }),
    );
  }, [cps.loading, whole]);
  return (
    <section class="chain" aria-labelledby="chain-title" aria-live="polite">
      <h2 id="chain-title">Chain</h2>
      {result === null ? (
        <Loading lines={2} label="Verifying the audit chain" />
      ) : result.error ? (
        <ErrorBox error={result.error} what="the chain's verification" />
      ) : (
        <p class={result.ok ? "verified" : "error"}>
          {result.ok ? (
            <>
              <strong>Verified</strong>: {result.events} events {result.since ? `from seq ${result.since} (the latest signed checkpoint) ` : ""}
              hash correctly and link up to the head.
            </>
          ) : (
            <>
              <strong>Broken</strong> at seq {result.first_broken_seq}: {result.reason}
            </>
          )}
          {!whole && result.since ? (
            <>
              {" "}
              <button type="button" class="btn" onClick={() => setWhole(true)}>
                Verify the whole chain
              </button>
            </>
          ) : null}
        </p>
      )}
      {cp ? (
        <p>
          Latest signed checkpoint: seq {cp.seq}, <Time value={cp.time} />, key <code>{cp.key_id}</code>.
        </p>
      ) : (
        !cps.loading && <p class="muted">No checkpoint signed yet.</p>
      )}
    </section>
  );
}

// Export writes the events of the current filter to a file in the browser
// (page by page, at most 100,000 events), or links to the server's signed
// export of the whole chain.
function Export({ filters }) {
  const [progress, setProgress] = useState(null);
  const run = async (format) => {
    setProgress({ n: 0 });
    try {
      const events = [];
      let token = "";
      do {
        const page = await get("/api/v1/audit" + query({ ...filters, page_size: 1000, page_token: token }));
        events.push(...page.events);
        token = page.next_page_token;
        setProgress({ n: events.length });
      } while (token && events.length < 100000);
      download(format, events, !!token);
      setProgress(null);
    } catch (err) {
      setProgress({ error: err.message });
    }
  };
  return (
    <span class="action">
      <button type="button" class="btn" onClick={() => run("csv")} disabled={progress && !progress.error}>
        Export filtered (CSV)
      </button>
      <button type="button" class="btn" onClick={() => run("jsonl")} disabled={progress && !progress.error}>
        Export filtered (JSON Lines)
      </button>
      <a class="btn" href="/api/v1/audit/export?format=jsonl" download>
        Whole signed chain
      </a>
      <span role="status">{progress ? (progress.error ? `Export failed: ${progress.error}` : `${progress.n} events read…`) : ""}</span>
    </span>
  );
}

const columns = ["seq", "time", "actor", "action", "resource", "outcome", "request_id", "remote_addr", "details", "prev_hash", "hash"];

function csvCell(v) {
  const s = v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function download(format, events, truncated) {
  let text;
  if (format === "csv") {
    text = [columns.join(","), ...events.map((e) => columns.map((c) => csvCell(e[c])).join(","))].join("\r\n") + "\r\n";
  } else {
    text = events.map((e) => JSON.stringify(e)).join("\n") + (events.length ? "\n" : "");
  }
  const blob = new Blob([text], { type: format === "csv" ? "text/csv" : "application/x-ndjson" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `modelkeep-audit-filtered${truncated ? "-first-100000" : ""}.${format}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function EventDetail({ seq }) {
  const state = useLoad(() => get(`/api/v1/audit/events/${seq}`).catch((err) => (err.status === 404 ? null : Promise.reject(err))), [seq]);
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/ui/audit">Audit trail</Link> / <span aria-current="page">event {seq}</span>
      </nav>
      <h1>Audit event {seq}</h1>
      <Load state={state} what={`event ${seq}`} lines={8}>
        {(e) =>
          !e ? (
            <Empty>There is no event {seq} (it may have been pruned after its retention).</Empty>
          ) : (
            <>
              <dl class="facts">
                <dt>Time</dt>
                <dd>
                  <Time value={e.time} /> <small class="muted">({e.time})</small>
                </dd>
                <dt>Actor</dt>
                <dd>
                  <Link href={`/ui/audit?actor=${encodeURIComponent(e.actor)}`}>{e.actor}</Link>
                </dd>
                <dt>Action</dt>
                <dd>
                  <code>{e.action}</code>
                </dd>
                <dt>Resource</dt>
                <dd>
                  <Link href={`/ui/audit?resource=${encodeURIComponent(e.resource)}`}>
                    <code>{e.resource}</code>
                  </Link>
                </dd>
                <dt>Outcome</dt>
                <dd>{e.outcome}</dd>
                <dt>Request</dt>
                <dd>
                  <code>{e.request_id || "—"}</code> from {e.remote_addr || "—"}
                </dd>
                <dt>Previous hash</dt>
                <dd>
                  <code>{e.prev_hash}</code>
                </dd>
                <dt>Hash</dt>
                <dd>
                  <code>{e.hash}</code>
                </dd>
              </dl>
              <h2>Details</h2>
              <pre class="json">{JSON.stringify(e.details, null, 2)}</pre>
              <p>
                <button type="button" class="btn" onClick={() => navigate(`/ui/audit/${Number(seq) - 1}`)} disabled={Number(seq) <= 1}>
                  ← Event {Number(seq) - 1}
                </button>{" "}
                <button type="button" class="btn" onClick={() => navigate(`/ui/audit/${Number(seq) + 1}`)}>
                  Event {Number(seq) + 1} →
                </button>
              </p>
            </>
          )
        }
      </Load>
    </section>
  );
}
