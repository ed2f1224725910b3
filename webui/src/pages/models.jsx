// The models: search with the filter language (docs/search.md), their tags,
// latest version and the version in production. One request per page.
import { useState, useEffect } from "preact/hooks";
import { get, query } from "../api.js";
import { Link, setQuery, ui } from "../router.js";
import { Empty, Load, Pager, Tags, Time, useLoad, usePages, useTitle } from "../components/ui.jsx";

const examples = [
  ['tags.team = "risk"', "models whose team tag is risk"],
  ['name LIKE "fraud-%"', "names that start with fraud-"],
  ['created_at >= "2026-01-01" AND tags.risk IN ("high", "medium")', "created this year, high or medium risk"],
];

export function Models({ query: q }) {
  useTitle("Models");
  const filter = q.get("filter") || "";
  const [draft, setDraft] = useState(filter);
  useEffect(() => setDraft(filter), [filter]);
  const pages = usePages(filter);
  const state = useLoad(() => get("/api/v1/models" + query({ filter, page_size: 25, page_token: pages.token })), [filter, pages.token]);
  const badFilter = state.error && state.error.status === 400;

  const submit = (e) => {
    e.preventDefault();
    setQuery({ filter: draft.trim() });
  };
  return (
    <section>
      <h1>Models</h1>
      <form class="search" role="search" onSubmit={submit}>
        <label for="filter">Filter</label>
        <div class="search-row">
          <input
            id="filter"
            name="filter"
            type="search"
            value={draft}
            placeholder='tags.team = "risk" AND name LIKE "fraud-%"'
            aria-describedby={badFilter ? "filter-help filter-error" : "filter-help"}
            aria-invalid={badFilter ? "true" : undefined}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
          <button type="submit" class="btn btn-primary">
            Search
          </button>
        </div>
        {badFilter && (
          <p class="field-error" id="filter-error" role="alert">
            {state.error.message}
          </p>
        )}
        <details id="filter-help" class="help">
          <summary>Filter syntax</summary>
          <p>
            Conditions <code>field operator value</code> joined with <code>AND</code>, <code>OR</code> and parentheses.
            Fields: <code>name</code>, <code>description</code>, <code>created_by</code>, <code>created_at</code>,{" "}
            <code>updated_at</code>, <code>tags.&lt;key&gt;</code>. Operators: <code>=</code> <code>!=</code>{" "}
            <code>&lt;</code> <code>&lt;=</code> <code>&gt;</code> <code>&gt;=</code> (times), <code>IN (…)</code>,{" "}
            <code>LIKE</code> (<code>%</code> any run, <code>_</code> one character). Strings and times in double quotes.
          </p>
          <ul>
            {examples.map(([f, what]) => (
              <li key={f}>
                <code>{f}</code>: {what}
              </li>
            ))}
          </ul>
        </details>
      </form>
      {badFilter ? null : (
        <Load state={state} what="the models" lines={6}>
          {(data) =>
            data.models.length === 0 ? (
              <Empty>{filter ? "No model matches the filter." : "No model yet: a training job creates one with POST /api/v1/models."}</Empty>
            ) : (
              <>
                <table>
                  <caption class="visually-hidden">Models</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Description</th>
                      <th scope="col">Tags</th>
                      <th scope="col" class="num">Latest version</th>
                      <th scope="col" class="num">In production</th>
                      <th scope="col">Updated</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.models.map((m) => (
                      <tr key={m.name}>
                        <th scope="row">
                          <Link href={ui(m.name)}>{m.name}</Link>
                        </th>
                        <td>{m.description || <span class="muted">—</span>}</td>
                        <td>
                          <Tags tags={m.tags} />
                        </td>
                        <td class="num">{m.latest_version ? <Link href={ui(m.name, m.latest_version)}>{m.latest_version}</Link> : "—"}</td>
                        <td class="num">
                          {m.production_version ? <Link href={ui(m.name, m.production_version)}>{m.production_version}</Link> : <span class="muted">none</span>}
                        </td>
                        <td>
                          <Time value={m.updated_at} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <Pager hasPrevious={pages.hasPrevious} next={data.next_page_token} onPrevious={pages.previous} onNext={() => pages.next(data.next_page_token)} label="Model pages" />
              </>
            )
          }
        </Load>
      )}
    </section>
  );
}
