// A model: its versions (stage, aliases, status, creator and the metrics
// its promotion gates name), its promotion policy and its aliases. A fixed
// number of requests: the model, a page of versions, the policy, and one
// comparison per gated metric.
import { get, modelPath, query } from "../api.js";
import { Link, ui } from "../router.js";
import { Badge, Empty, Load, Pager, StageBadge, StatusBadge, Tags, Time, useLoad, usePages, useTitle } from "../components/ui.jsx";

// gatedKeys are the metric keys the policy's gates name (at most three).
function gatedKeys(policy) {
  return [...new Set((policy?.metric_gates || []).map((g) => g.key))].slice(0, 3);
}

async function loadMetrics(model, keys) {
  const out = {};
  await Promise.all(
    keys.map(async (key) => {
      const c = await get(modelPath(model) + "/metrics" + query({ key, page_size: 100 }));
      out[key] = Object.fromEntries(c.metrics.map((m) => [m.version, m.value]));
    }),
  );
  return out;
}

export function Model({ params }) {
  const model = params.model;
  useTitle(model);
  const pages = usePages(model);
  const head = useLoad(() => Promise.all([get(modelPath(model)), get(modelPath(model) + "/policy")]), [model]);
  const versions = useLoad(() => get(modelPath(model) + "/versions" + query({ page_size: 25, page_token: pages.token, order_by: "version DESC" })), [model, pages.token]);
  const keys = head.data ? gatedKeys(head.data[1]) : [];
  const metrics = useLoad(() => (keys.length ? loadMetrics(model, keys) : Promise.resolve({})), [model, keys.join(",")]);

  return (
    <section>
      <Load state={head} what={`model ${model}`} lines={3}>
        {([m, policy]) => (
          <>
            <nav aria-label="Breadcrumb" class="crumbs">
              <Link href="/ui/">Models</Link> / <span aria-current="page">{m.name}</span>
            </nav>
            <h1>{m.name}</h1>
            {m.description && <p class="lead">{m.description}</p>}
            <dl class="facts">
              <dt>Tags</dt>
              <dd>
                <Tags tags={m.tags} />
              </dd>
              <dt>Created</dt>
              <dd>
                <Time value={m.created_at} /> by {m.created_by}
              </dd>
              <dt>Latest version</dt>
              <dd>{m.latest_version || "none"}</dd>
            </dl>
            <h2>Versions</h2>
            <Load state={versions} what="the versions" lines={6}>
              {(vl) =>
                vl.versions.length === 0 ? (
                  <Empty>No version yet.</Empty>
                ) : (
                  <>
                    <table>
                      <caption class="visually-hidden">Versions of {m.name}</caption>
                      <thead>
                        <tr>
                          <th scope="col" class="num">Version</th>
                          <th scope="col">Stage</th>
                          <th scope="col">Aliases</th>
                          <th scope="col">Status</th>
                          <th scope="col">Created by</th>
                          <th scope="col">Created</th>
                          {keys.map((k) => (
                            <th scope="col" class="num" key={k}>
                              {k}
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {vl.versions.map((v) => (
                          <tr key={v.version}>
                            <th scope="row" class="num">
                              <Link href={ui(model, v.version)}>{v.version}</Link>
                            </th>
                            <td>
                              <StageBadge stage={v.stage} />
                            </td>
                            <td>{v.aliases.length ? v.aliases.map((a) => <Badge key={a}>@{a}</Badge>) : <span class="muted">—</span>}</td>
                            <td>
                              <StatusBadge status={v.status} />
                            </td>
                            <td>{v.created_by}</td>
                            <td>
                              <Time value={v.created_at} />
                            </td>
                            {keys.map((k) => (
                              <td class="num" key={k}>
                                {metrics.data && metrics.data[k] && metrics.data[k][v.version] !== undefined ? formatNumber(metrics.data[k][v.version]) : <span class="muted">—</span>}
                              </td>
                            ))}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                    <Pager hasPrevious={pages.hasPrevious} next={vl.next_page_token} onPrevious={pages.previous} onNext={() => pages.next(vl.next_page_token)} label="Version pages" />
                  </>
                )
              }
            </Load>
            <h2>Promotion policy</h2>
            <Policy policy={policy} />
          </>
        )}
      </Load>
    </section>
  );
}

export function formatNumber(v) {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, "");
}

function Policy({ policy }) {
  return (
    <dl class="facts">
      <dt>Approvals into production</dt>
      <dd>{policy.required_approvals}, four eyes (never the requester or the version's creator)</dd>
      <dt>Metric gates</dt>
      <dd>
        {policy.metric_gates.length ? (
          <ul class="plain">
            {policy.metric_gates.map((g, i) => (
              <li key={i}>
                <code>
                  {g.key} {g.op} {g.threshold}
                </code>
                {g.dataset ? ` on ${g.dataset}` : ""}
                {g.split ? ` (${g.split})` : ""}
              </li>
            ))}
          </ul>
        ) : (
          "none"
        )}
      </dd>
      <dt>Required tags</dt>
      <dd>
        <Tags tags={policy.required_tags} />
      </dd>
      <dt>Protected aliases</dt>
      <dd>{policy.protected_aliases.length ? policy.protected_aliases.map((a) => <Badge key={a}>@{a}</Badge>) : "none"}</dd>
      <dt>EU AI Act evidence required</dt>
      <dd>{policy.require_evidence ? "yes: production waits until every applicable requirement is evidenced" : "no"}</dd>
      {policy.updated_by && (
        <>
          <dt>Last changed</dt>
          <dd>
            <Time value={policy.updated_at} /> by {policy.updated_by}
          </dd>
        </>
      )}
    </dl>
  );
}
