// A dataset version: its record (location, digest, size, licence) and the
// model versions that name it in their datasets, newest first, with the
// role they used it in. The lineage graph's dataset nodes lead here. Two
// requests: the dataset version with a page of its users (getDataset), and
// the other versions of the dataset (listDatasets).
import { get, query } from "../api.js";
import { Link, ui } from "../router.js";
import { Forbidden } from "../components/layout.jsx";
import { Digest, Empty, Load, Pager, Time, bytes, useLoad, usePages, useTitle } from "../components/ui.jsx";

// datasetPath is the UI page of a dataset version.
export function datasetPath(name, version) {
  return `/ui/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
}

export function Dataset({ session, params }) {
  const { name, version } = params;
  useTitle(`Dataset ${name}@${version}`);
  const why = session.why("getDataset");
  const pages = usePages(`${name}@${version}`);
  const state = useLoad(
    () => (why ? Promise.resolve(null) : get(`/api/v1/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}` + query({ page_size: 100, page_token: pages.token }))),
    [name, version, pages.token],
  );
  const others = useLoad(() => (why || !session.can("listDatasets") ? Promise.resolve(null) : get("/api/v1/datasets" + query({ name, page_size: 100 }))), [name]);
  if (why) return <Forbidden why={why} />;
  return (
    <section>
      <nav aria-label="Breadcrumb" class="crumbs">
        <Link href="/ui/">Models</Link> / <span>datasets</span> / <span aria-current="page">{name}@{version}</span>
      </nav>
      <h1>
        <span class="muted">Dataset</span> {name} <span class="muted">version</span> {version}
      </h1>
      <Load state={state} what={`dataset ${name} version ${version}`} lines={6}>
        {(d) => (
          <>
            {d.description && <p class="lead">{d.description}</p>}
            <dl class="facts">
              <dt>Location</dt>
              <dd>{d.uri ? <code>{d.uri}</code> : <span class="muted">not recorded</span>}</dd>
              <dt>SHA-256</dt>
              <dd>{d.sha256 ? <Digest value={d.sha256} /> : <span class="muted">not recorded</span>}</dd>
              <dt>Size</dt>
              <dd>{d.size ? bytes(d.size) : <span class="muted">not recorded</span>}</dd>
              <dt>Licence</dt>
              <dd>{d.license || <span class="muted">not recorded</span>}</dd>
              <dt>Registered</dt>
              <dd>
                <Time value={d.created_at} /> by {d.created_by}
              </dd>
              {d.updated_at && d.updated_at !== d.created_at && (
                <>
                  <dt>Completed</dt>
                  <dd>
                    <Time value={d.updated_at} />
                  </dd>
                </>
              )}
            </dl>
            <h2>Model versions that used it</h2>
            {(d.used_by || []).length === 0 ? (
              <Empty>{pages.hasPrevious ? "No more model versions." : "No model version names this dataset version among its datasets (that you may see)."}</Empty>
            ) : (
              <>
                <div class="table-wrap">
                  <table>
                    <caption class="visually-hidden">Model versions that used {name}@{version}, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Model version</th>
                        <th scope="col">Role</th>
                        <th scope="col">Lineage</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.used_by.map((u, i) => (
                        <tr key={i}>
                          <th scope="row">
                            <Link href={ui(u.model, u.version)}>
                              {u.model} version {u.version}
                            </Link>
                          </th>
                          <td>{u.role}</td>
                          <td>
                            <Link href={ui(u.model, u.version, "lineage")} aria-label={`Lineage of ${u.model} version ${u.version}`}>
                              lineage
                            </Link>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager hasPrevious={pages.hasPrevious} next={d.next_page_token} onPrevious={pages.previous} onNext={() => pages.next(d.next_page_token)} label="Pages of model versions" />
              </>
            )}
          </>
        )}
      </Load>
      {others.data && others.data.datasets.length > 1 && (
        <>
          <h2>Other versions of {name}</h2>
          <ul class="viz-versions">
            {others.data.datasets.map((o) => (
              <li key={o.version}>
                {o.version === version ? (
                  <strong aria-current="page">{o.version}</strong>
                ) : (
                  <Link href={datasetPath(name, o.version)}>{o.version}</Link>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
