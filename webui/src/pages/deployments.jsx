// Deployments: a timeline per environment (which version ran when, with
// its share of traffic), and "what ran in an environment at time T". One
// request for the timeline page, one for the question.
import { useState } from "preact/hooks";
import { get, query } from "../api.js";
import { Link, setQuery, ui } from "../router.js";
import { Empty, Load, Pager, Time, useLoad, usePages, useTitle } from "../components/ui.jsx";

function localToISO(v) {
  const d = new Date(v);
  return isNaN(d) ? "" : d.toISOString();
}

export function Deployments({ query: q }) {
  useTitle("Deployments");
  const environment = q.get("environment") || "";
  const model = q.get("model") || "";
  const at = q.get("at") || "";
  const [draft, setDraft] = useState({ environment, model, at: "" });
  const pages = usePages(environment + "|" + model + "|" + at);
  const state = useLoad(() => get("/api/v1/deployments" + query({ environment, model, at, page_size: 100, page_token: pages.token })), [environment, model, at, pages.token]);
  const submit = (e) => {
    e.preventDefault();
    setQuery({ environment: draft.environment.trim(), model: draft.model.trim(), at: draft.at ? localToISO(draft.at) : "" });
  };
  return (
    <section>
      <h1>Deployments</h1>
      <form onSubmit={submit}>
        <fieldset>
          <legend>What ran where</legend>
          <div class="form-grid">
            <div>
              <label for="d-env">Environment</label>
              <input id="d-env" value={draft.environment} placeholder="prod-eu" onInput={(e) => setDraft({ ...draft, environment: e.currentTarget.value })} />
            </div>
            <div>
              <label for="d-model">Model</label>
              <input id="d-model" value={draft.model} onInput={(e) => setDraft({ ...draft, model: e.currentTarget.value })} />
            </div>
            <div>
              <label for="d-at">Running at (your time)</label>
              <input id="d-at" type="datetime-local" value={draft.at} onInput={(e) => setDraft({ ...draft, at: e.currentTarget.value })} />
            </div>
          </div>
          <div class="form-actions">
            <button type="submit" class="btn btn-primary">
              Show
            </button>
            <button type="button" class="btn" onClick={() => setQuery({})}>
              Clear
            </button>
          </div>
        </fieldset>
      </form>
      {at && (
        <p class="notice">
          Deployments running {environment ? `in ${environment} ` : ""}at <Time value={at} />.
        </p>
      )}
      <Load state={state} what="the deployments" lines={8}>
        {(data) =>
          data.deployments.length === 0 ? (
            <Empty>{at ? "Nothing ran there at that time." : "No deployment recorded yet."}</Empty>
          ) : (
            <>
              {Object.entries(groupBy(data.deployments, (d) => d.environment)).map(([env, ds]) => (
                <Timeline key={env} environment={env} deployments={ds} />
              ))}
              <Pager hasPrevious={pages.hasPrevious} next={data.next_page_token} onPrevious={pages.previous} onNext={() => pages.next(data.next_page_token)} label="Pages of deployments" />
            </>
          )
        }
      </Load>
    </section>
  );
}

function groupBy(xs, key) {
  const out = {};
  for (const x of xs) (out[key(x)] ||= []).push(x);
  return out;
}

// Timeline draws an environment's deployments as bars over time (a picture
// people would rather look at), with the same facts in a table below.
function Timeline({ environment, deployments }) {
  const now = Date.now();
  const spans = deployments.map((d) => ({ d, from: Date.parse(d.deployed_at), to: d.ended_at ? Date.parse(d.ended_at) : now }));
  const min = Math.min(...spans.map((s) => s.from));
  const max = Math.max(now, ...spans.map((s) => s.to));
  const width = 800;
  const row = 26;
  const x = (t) => (max === min ? 0 : ((t - min) / (max - min)) * (width - 180));
  const height = spans.length * row + 24;
  return (
    <section aria-labelledby={`env-${environment}`}>
      <h2 id={`env-${environment}`}>{environment}</h2>
      <figure class="graph">
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Timeline of the deployments in ${environment}`}>
          {spans.map((s, i) => (
            <g key={s.d.id} transform={`translate(0, ${i * row + 4})`}>
              <text x="4" y="16" font-size="12" fill="#1b1f24">
                {s.d.model} v{s.d.version}
              </text>
              <rect x={170 + x(s.from)} y="4" width={Math.max(3, x(s.to) - x(s.from))} height="16" rx="3" fill={s.d.ended_at ? "#8c959f" : "#1a7f37"}>
                <title>
                  {s.d.model} version {s.d.version}, {s.d.strategy}, {s.d.traffic_percent}% from {new Date(s.from).toLocaleString()}
                  {s.d.ended_at ? ` to ${new Date(s.to).toLocaleString()}` : ", still running"}
                </title>
              </rect>
            </g>
          ))}
          <text x="170" y={height - 4} font-size="11" fill="#57606a">
            {new Date(min).toLocaleDateString()}
          </text>
          <text x={width - 4} y={height - 4} font-size="11" fill="#57606a" text-anchor="end">
            now
          </text>
        </svg>
        <figcaption class="visually-hidden">The table below lists the same deployments.</figcaption>
      </figure>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Strategy</th>
              <th scope="col" class="num">Traffic</th>
              <th scope="col">Deployed</th>
              <th scope="col">Ended</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {deployments.map((d) => (
              <tr key={d.id}>
                <th scope="row">
                  <Link href={ui(d.model, d.version)}>
                    {d.model} v{d.version}
                  </Link>
                </th>
                <td>{d.strategy.replace("_", " ")}</td>
                <td class="num">{d.traffic_percent}%</td>
                <td>
                  <Time value={d.deployed_at} />
                </td>
                <td>{d.ended_at ? <Time value={d.ended_at} /> : <strong>running</strong>}</td>
                <td>{d.deployed_by}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
