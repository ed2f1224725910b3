// A version: its files, params, datasets and the run that made it; its
// metrics, lineage, stage transitions with approvals and gate results, its
// deployments and audit events; its model card and EU AI Act evidence.
// Each tab is a stable URL (/ui/models/<m>/versions/<n>/<tab>) and makes a
// small, fixed number of requests.
import { useEffect } from "preact/hooks";
import { get, modelPath, query } from "../api.js";
import { Link, ui } from "../router.js";
import { Badge, Digest, Empty, ErrorBox, KeyValues, Load, StageBadge, StatusBadge, Tags, Time, bytes, useLoad, useTitle } from "../components/ui.jsx";
import { Metrics } from "./version-metrics.jsx";
import { Lineage } from "./version-lineage.jsx";
import { CardTab, EvidenceTab } from "./version-compliance.jsx";
import { datasetPath } from "./dataset.jsx";

const tabs = [
  ["", "Overview", null],
  ["metrics", "Metrics", "listMetrics"],
  ["lineage", "Lineage", "getLineage"],
  ["approvals", "Transitions", "listTransitions"],
  ["deployments", "Deployments", "listDeployments"],
  ["audit", "Audit events", "listAuditEvents"],
  ["card", "Model card", "getVersionCard"],
  ["evidence", "EU AI Act evidence", "getEvidenceCoverage"],
];

export function Version({ session, params, query: q }) {
  const { model } = params;
  const version = Number(params.version);
  const tab = params.tab || "";
  useTitle(`${model} v${version}`);
  const state = useLoad(() => get(modelPath(model, version)), [model, version]);
  const known = tabs.find(([t]) => t === tab);
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/ui/">Models</Link> / <Link href={ui(model)}>{model}</Link> / <span aria-current="page">version {version}</span>
      </nav>
      <Load state={state} what={`version ${version} of ${model}`} lines={4}>
        {(v) => (
          <>
            <h1>
              {model} <span class="muted">version</span> {version}
            </h1>
            <p class="badges">
              <StageBadge stage={v.stage} /> <StatusBadge status={v.status} />
              {v.aliases.map((a) => (
                <Badge key={a} kind="info">
                  @{a}
                </Badge>
              ))}
            </p>
            {v.description && <p class="lead">{v.description}</p>}
            <nav aria-label="Version sections">
              <ul class="tabs">
                {tabs.map(([t, label, op]) =>
                  op && !session.can(op, model) ? null : (
                    <li key={t}>
                      <Link href={ui(model, version, t)} aria-current={t === tab ? "page" : undefined}>
                        {label}
                      </Link>
                    </li>
                  ),
                )}
              </ul>
            </nav>
            {!known ? (
              <ErrorBox error={{ message: `there is no section "${tab}"` }} />
            ) : known[2] && session.why(known[2], model) ? (
              <p class="why">This section is not available to you: {session.why(known[2], model)}.</p>
            ) : (
              <TabContent tab={tab} v={v} session={session} query={q} />
            )}
          </>
        )}
      </Load>
    </section>
  );
}

function TabContent({ tab, v, session, query: q }) {
  switch (tab) {
    case "metrics":
      return <Metrics v={v} query={q} />;
    case "lineage":
      return <Lineage v={v} query={q} />;
    case "approvals":
      return <Transitions v={v} />;
    case "deployments":
      return <VersionDeployments v={v} />;
    case "audit":
      return <VersionAudit v={v} />;
    case "card":
      return <CardTab v={v} session={session} />;
    case "evidence":
      return <EvidenceTab v={v} session={session} />;
  }
  return <Overview v={v} />;
}

function Overview({ v }) {
  const files = useLoad(() => get(modelPath(v.model, v.version) + "/files"), [v.model, v.version]);
  const run = useLoad(() => (v.source.run_id ? get(`/api/v1/runs/${encodeURIComponent(v.source.run_id)}`).catch((e) => (e.status === 404 ? null : Promise.reject(e))) : Promise.resolve(null)), [v.source.run_id]);
  const base = modelPath(v.model, v.version);
  return (
    <>
      <dl class="facts">
        <dt>Created</dt>
        <dd>
          <Time value={v.created_at} /> by {v.created_by}
        </dd>
        <dt>Finalized</dt>
        <dd>{v.finalized_at ? <Time value={v.finalized_at} /> : "not yet (pending)"}</dd>
        <dt>Manifest digest</dt>
        <dd>
          <Digest value={v.manifest_digest} />
        </dd>
        {v.parent && (
          <>
            <dt>Derived from</dt>
            <dd>
              <Link href={ui(v.parent.model, v.parent.version)}>
                {v.parent.model} version {v.parent.version}
              </Link>
            </dd>
          </>
        )}
        <dt>Tags</dt>
        <dd>
          <Tags tags={v.tags} />
        </dd>
      </dl>
      <h2>Files</h2>
      <Load state={files} what="the files" lines={3}>
        {(fl) =>
          fl.files.length === 0 ? (
            <Empty>No file uploaded yet.</Empty>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Path</th>
                    <th scope="col" class="num">Size</th>
                    <th scope="col">SHA-256</th>
                  </tr>
                </thead>
                <tbody>
                  {fl.files.map((f) => (
                    <tr key={f.path}>
                      <th scope="row">
                        <a href={`${base}/files/${f.path.split("/").map(encodeURIComponent).join("/")}`} download>
                          {f.path}
                        </a>
                      </th>
                      <td class="num">{bytes(f.size)}</td>
                      <td>
                        <Digest value={f.sha256} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Load>
      <h2>Parameters</h2>
      <KeyValues values={v.params} empty="No parameter recorded." />
      <h2>Datasets</h2>
      {v.datasets.length === 0 ? (
        <Empty>No dataset recorded.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Dataset</th>
              <th scope="col">Version</th>
              <th scope="col">Role</th>
              <th scope="col">Location</th>
              <th scope="col">SHA-256</th>
            </tr>
          </thead>
          <tbody>
            {v.datasets.map((d, i) => (
              <tr key={i}>
                <th scope="row">{d.version ? <Link href={datasetPath(d.name, d.version)}>{d.name}</Link> : d.name}</th>
                <td>{d.version || "—"}</td>
                <td>{d.role || "—"}</td>
                <td>{d.uri ? <code>{d.uri}</code> : "—"}</td>
                <td>
                  <Digest value={d.sha256} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>The run that made it</h2>
      {!v.source.run_id ? (
        <Empty>No training run recorded.</Empty>
      ) : (
        <Load state={run} what="the training run" lines={3}>
          {(r) => (
            <dl class="facts">
              <dt>Run</dt>
              <dd>
                {r ? (
                  <Link href={`/ui/runs/${encodeURIComponent(v.source.run_id)}`}>
                    <code>{v.source.run_id}</code>
                  </Link>
                ) : (
                  <code>{v.source.run_id}</code>
                )}{" "}
                {r && <Badge>{r.kind}</Badge>}
              </dd>
              <dt>Code</dt>
              <dd>
                {v.source.code_uri || (r && r.code_ref && r.code_ref.repo) || "—"} {v.source.git_commit && <code>@{v.source.git_commit.slice(0, 12)}</code>}
              </dd>
              {r && (
                <>
                  <dt>Ran</dt>
                  <dd>
                    <Time value={r.started_at} /> to <Time value={r.ended_at} />
                    {r.triggered_by ? `, started by ${r.triggered_by}` : ""}
                  </dd>
                  <dt>Environment</dt>
                  <dd>
                    {[r.environment.framework, r.environment.framework_version].filter(Boolean).join(" ") || "—"}
                    {r.environment.hardware ? ` on ${r.environment.hardware}` : ""}
                  </dd>
                  <dt>Hyperparameters</dt>
                  <dd>
                    <KeyValues values={r.parameters} empty="none recorded" />
                  </dd>
                  <dt>Input datasets</dt>
                  <dd>{r.inputs && r.inputs.length ? r.inputs.map((d) => `${d.name}${d.version ? "@" + d.version : ""}`).join(", ") : "—"}</dd>
                </>
              )}
            </dl>
          )}
        </Load>
      )}
    </>
  );
}

function Transitions({ v }) {
  const state = useLoad(() => get("/api/v1/transitions" + query({ model: v.model, page_size: 100 })), [v.model, v.version]);
  return (
    <Load state={state} what="the transitions" lines={4}>
      {(data) => {
        const mine = data.transitions.filter((t) => t.version === v.version);
        if (mine.length === 0) return <Empty>No stage transition was requested for this version.</Empty>;
        return mine.map((t) => (
          <article class="card" key={t.id}>
            <h2 class="card-title">
              <StageBadge stage={t.from} /> → <StageBadge stage={t.to} /> <StatusBadge status={t.status} />
            </h2>
            <dl class="facts">
              <dt>Requested</dt>
              <dd>
                by {t.requested_by}, <Time value={t.requested_at} />
                {t.comment ? `: “${t.comment}”` : ""}
              </dd>
              <dt>Approvals</dt>
              <dd>
                {t.approvals.length === 0 && t.status !== "pending"
                  ? t.status === "approved"
                    ? "none: decided at once"
                    : "none"
                  : `${t.approvals.length} of ${t.required_approvals}`}
              </dd>
              {t.decided_at && (
                <>
                  <dt>Decided</dt>
                  <dd>
                    {t.status} by {t.decided_by}, <Time value={t.decided_at} />
                    {t.decision_comment ? `: “${t.decision_comment}”` : ""}
                  </dd>
                </>
              )}
            </dl>
            {t.approvals.map((a, i) => (
              <div key={i}>
                <h3>
                  Approved by {a.approver}, <Time value={a.at} />
                </h3>
                <p>{a.comment}</p>
                {a.gates.length > 0 && (
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Gate</th>
                        <th scope="col">Result</th>
                        <th scope="col">Detail</th>
                      </tr>
                    </thead>
                    <tbody>
                      {a.gates.map((g, j) => (
                        <tr key={j}>
                          <th scope="row">{g.gate}</th>
                          <td>{g.passed ? "passed" : "failed"}</td>
                          <td>{g.detail}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </div>
            ))}
          </article>
        ));
      }}
    </Load>
  );
}

// VersionDeployments lists the version's deployments; the row named by
// the URL's fragment (#deployment-<id>, where the lineage graph's
// deployment nodes lead) is marked and scrolled to.
function VersionDeployments({ v }) {
  const state = useLoad(() => get("/api/v1/deployments" + query({ model: v.model, page_size: 200 })), [v.model, v.version]);
  let target = location.hash.slice(1);
  try {
    target = decodeURIComponent(target);
  } catch {
    // a malformed fragment names no row
  }
  useEffect(() => {
    const row = target && state.data && document.getElementById(target);
    if (row) row.scrollIntoView({ block: "center" });
  }, [target, state.data]);
  return (
    <Load state={state} what="the deployments" lines={4}>
      {(data) => {
        const mine = data.deployments.filter((d) => d.version === v.version);
        if (mine.length === 0) return <Empty>This version was never deployed.</Empty>;
        return (
          <table>
            <thead>
              <tr>
                <th scope="col">Environment</th>
                <th scope="col">Strategy</th>
                <th scope="col" class="num">Traffic</th>
                <th scope="col">Deployed</th>
                <th scope="col">Ended</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {mine.map((d) => (
                <tr key={d.id} id={`deployment-${d.id}`} class={target === `deployment-${d.id}` ? "viz-target" : undefined} aria-current={target === `deployment-${d.id}` ? "true" : undefined}>
                  <th scope="row">
                    <Link href={`/ui/deployments?environment=${encodeURIComponent(d.environment)}`}>{d.environment}</Link>
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
        );
      }}
    </Load>
  );
}

function VersionAudit({ v }) {
  const resource = `models/${v.model}/versions/${v.version}`;
  // The version's own events, those under it (card, evidence), and those
  // of its stage transitions (recorded under transitions/<id>): one request
  // each, the transitions' bounded to the newest five.
  const state = useLoad(async () => {
    const [own, under, transitions] = await Promise.all([
      get("/api/v1/audit" + query({ resource, page_size: 100 })),
      get("/api/v1/audit" + query({ resource: resource + "/*", page_size: 100 })),
      get("/api/v1/transitions" + query({ model: v.model, page_size: 100 })),
    ]);
    const mine = transitions.transitions.filter((t) => t.version === v.version).slice(0, 5);
    const decisions = await Promise.all(mine.map((t) => get("/api/v1/audit" + query({ resource: `transitions/${t.id}`, page_size: 20 }))));
    return [own, under, ...decisions];
  }, [resource]);
  return (
    <Load state={state} what="the audit events" lines={6}>
      {(pages) => {
        const events = pages.flatMap((p) => p.events).sort((a, b) => b.seq - a.seq);
        if (events.length === 0) return <Empty>No audit event about this version.</Empty>;
        return (
          <>
            <p>
              The newest events about this version, its files, card and evidence, and its stage transitions and approvals. In the audit trail:{" "}
              <Link href={`/ui/audit?resource=${encodeURIComponent(resource)}`}>the version's own events</Link> (its files, metrics, stages and
              deployments), and <Link href={`/ui/audit?resource=${encodeURIComponent(resource + "/*")}`}>those about its card and evidence</Link>.
            </p>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col" class="num">Seq</th>
                    <th scope="col">Time</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Resource</th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e) => (
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
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        );
      }}
    </Load>
  );
}
