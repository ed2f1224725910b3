// A run: training, or a test or monitoring run of a version or deployment,
// with its code, parameters, environment and input datasets. The lineage
// graph's run nodes lead here. One request (getRun).
import { get } from "../api.js";
import { Link, ui } from "../router.js";
import { Forbidden } from "../components/layout.jsx";
import { Badge, Digest, KeyValues, Load, Time, useLoad, useTitle } from "../components/ui.jsx";
import { datasetPath } from "./dataset.jsx";

export function Run({ session, params }) {
  const id = params.run;
  useTitle(`Run ${id}`);
  const why = session.why("getRun");
  const state = useLoad(() => (why ? Promise.resolve(null) : get(`/api/v1/runs/${encodeURIComponent(id)}`)), [id]);
  if (why) return <Forbidden why={why} />;
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/ui/">Models</Link> / <span>runs</span> / <span aria-current="page">{id}</span>
      </nav>
      <h1>
        <span class="muted">Run</span> <code>{id}</code>
      </h1>
      <Load state={state} what={`run ${id}`} lines={8}>
        {(r) => (
          <>
            <p class="badges">
              <Badge kind="info">{r.kind}</Badge>
            </p>
            <dl class="facts">
              {r.subject && (
                <>
                  <dt>Tested</dt>
                  <dd>
                    <Link href={ui(r.subject.model, r.subject.version)}>
                      {r.subject.model} version {r.subject.version}
                    </Link>
                  </dd>
                </>
              )}
              {r.deployment_id && (
                <>
                  <dt>Watched deployment</dt>
                  <dd>
                    <code>{r.deployment_id}</code>
                  </dd>
                </>
              )}
              <dt>Code</dt>
              <dd>
                {r.code_uri || (r.code_ref && r.code_ref.repo) || <span class="muted">not recorded</span>}{" "}
                {(r.git_commit || (r.code_ref && r.code_ref.commit)) && <code>@{(r.git_commit || r.code_ref.commit).slice(0, 12)}</code>}
              </dd>
              <dt>Ran</dt>
              <dd>
                {r.started_at || r.ended_at ? (
                  <>
                    <Time value={r.started_at} /> to <Time value={r.ended_at} />
                  </>
                ) : (
                  <span class="muted">not recorded</span>
                )}
                {r.triggered_by ? `, started by ${r.triggered_by}` : ""}
              </dd>
              <dt>Environment</dt>
              <dd>
                {[r.environment.framework, r.environment.framework_version].filter(Boolean).join(" ") || "—"}
                {r.environment.hardware ? ` on ${r.environment.hardware}` : ""}
                {r.environment.image_digest && (
                  <>
                    {" "}
                    (image <Digest value={r.environment.image_digest} />)
                  </>
                )}
              </dd>
              {r.compute && (
                <>
                  <dt>Compute</dt>
                  <dd>
                    {[r.compute.hardware, r.compute.device_hours !== undefined && `${r.compute.device_hours} device hours`, r.compute.flops !== undefined && `${r.compute.flops.toExponential(2)} FLOPs`].filter(Boolean).join(", ") || "—"}
                  </dd>
                </>
              )}
              {r.energy_kwh !== undefined && (
                <>
                  <dt>Energy</dt>
                  <dd>
                    {r.energy_kwh} kWh{r.energy_method ? ` (${r.energy_method})` : ""}
                  </dd>
                </>
              )}
              {r.output_artifact_sha256 && (
                <>
                  <dt>Output</dt>
                  <dd>
                    <Digest value={r.output_artifact_sha256} />
                  </dd>
                </>
              )}
              {(r.test_log || r.report) && (
                <>
                  <dt>Documents</dt>
                  <dd>
                    {r.test_log && (
                      <>
                        test log <code>{r.test_log}</code>{" "}
                      </>
                    )}
                    {r.report && (
                      <>
                        report <code>{r.report}</code>
                      </>
                    )}
                  </dd>
                </>
              )}
              <dt>Registered</dt>
              <dd>
                <Time value={r.created_at} /> by {r.created_by}
              </dd>
            </dl>
            <h2>Input datasets</h2>
            {r.inputs && r.inputs.length ? (
              <ul class="plain">
                {r.inputs.map((d, i) => (
                  <li key={i}>
                    <Link href={datasetPath(d.name, d.version)}>
                      {d.name}@{d.version}
                    </Link>
                    {d.role ? ` (${d.role})` : ""}
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">None recorded.</p>
            )}
            <h2>Parameters</h2>
            <KeyValues values={r.parameters} empty="No parameter recorded." />
            {r.environment.libraries && Object.keys(r.environment.libraries).length > 0 && (
              <>
                <h2>Libraries</h2>
                <KeyValues values={r.environment.libraries} />
              </>
            )}
          </>
        )}
      </Load>
    </section>
  );
}
