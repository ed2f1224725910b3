// The version's model card (rendered by the server, with the registry's
// records filled in) and its EU AI Act evidence: coverage row by row, the
// missing rows first, and the signed pack to download.
import { get, modelPath } from "../api.js";
import { Link } from "../router.js";
import { Badge, Empty, Load, StatusBadge, Time, useLoad } from "../components/ui.jsx";

export function CardTab({ v, session }) {
  const base = modelPath(v.model, v.version) + "/card";
  const revs = useLoad(() => get(base + "/revisions"), [base]);
  return (
    <>
      <p class="form-actions">
        <a class="btn" href={`${base}?format=html`} target="_blank" rel="noopener">
          Printable page
        </a>
        <a class="btn" href={`${base}?format=markdown`} download={`${v.model}-v${v.version}-card.md`}>
          Markdown
        </a>
        <a class="btn" href={`${base}?format=huggingface`} download="README.md">
          Hugging Face README.md
        </a>
        <a class="btn" href={`${base}/cyclonedx`} download={`${v.model}-v${v.version}.cdx.json`}>
          CycloneDX 1.6 (signed)
        </a>
      </p>
      <iframe class="card-frame" src={`${base}?format=html`} title={`Model card of ${v.model} version ${v.version}`} loading="lazy" />
      <h2>Revisions of this version's card</h2>
      <Load state={revs} what="the card's revisions" lines={2}>
        {(r) =>
          r.revisions.length === 0 ? (
            <Empty>The version has no card of its own: it shows the model's card.</Empty>
          ) : (
            <ul>
              {r.revisions.map((x) => (
                <li key={x.revision}>
                  <a href={`${base}?format=html&revision=${x.revision}`} target="_blank" rel="noopener">
                    Revision {x.revision}
                  </a>{" "}
                  by {x.created_by}, <Time value={x.created_at} />
                </li>
              ))}
            </ul>
          )
        }
      </Load>
    </>
  );
}

export function EvidenceTab({ v, session }) {
  const base = modelPath(v.model, v.version) + "/evidence";
  const coverage = useLoad(() => get(base + "/coverage"), [base]);
  const canExport = session.can("exportEvidence", v.model);
  const packs = useLoad(() => (canExport ? get(base + "/packs") : Promise.resolve({ packs: [] })), [base, canExport]);
  return (
    <Load state={coverage} what="the evidence coverage" lines={8}>
      {(c) => {
        const order = { missing: 0, present: 1, not_applicable: 2 };
        const rows = [...c.coverage].sort((a, b) => order[a.status] - order[b.status]);
        return (
          <>
            <p class={c.summary.missing ? "error" : "verified"}>
              Risk class <strong>{c.risk_class}</strong>: {c.summary.applicable} requirements apply, <strong>{c.summary.present} present</strong>,{" "}
              <strong>{c.summary.missing} missing</strong>, {c.summary.not_applicable} not applicable (catalogue {c.requirements_catalogue_version}).
            </p>
            <p class="form-actions">
              {canExport ? (
                <>
                  <a class="btn btn-primary" href={base} download={`evidence-${v.model}-v${v.version}.json`}>
                    Export the signed pack (JSON)
                  </a>
                  <a class="btn" href={`${base}?format=html`} target="_blank" rel="noopener">
                    Export as a printable page
                  </a>
                  <small class="hint">Each export is archived and recorded in the audit log.</small>
                </>
              ) : (
                <small class="why">Exporting the pack {session.why("exportEvidence", v.model)}.</small>
              )}
            </p>
            {["missing", "present", "not_applicable"].map((status) => {
              const group = rows.filter((it) => it.status === status);
              if (group.length === 0) return null;
              const table = <CoverageTable rows={group} caption={`${group.length} ${status.replace("_", " ")} rows`} />;
              // Missing rows are what needs doing: open. The others fold
              // away, so the page stays short.
              return status === "missing" ? (
                <section key={status}>
                  <h2>Missing ({group.length})</h2>
                  {table}
                </section>
              ) : (
                <details key={status} class="group">
                  <summary>
                    <h2>
                      {status === "present" ? "Present" : "Not applicable"} ({group.length})
                    </h2>
                  </summary>
                  {table}
                </details>
              );
            })}
            {canExport && (
              <>
                <h2>Archived packs</h2>
                <Load state={packs} what="the archived packs" lines={2}>
                  {(p) =>
                    p.packs.length === 0 ? (
                      <Empty>No pack exported yet.</Empty>
                    ) : (
                      <table>
                        <thead>
                          <tr>
                            <th scope="col">Pack</th>
                            <th scope="col">Exported</th>
                            <th scope="col">Lock</th>
                          </tr>
                        </thead>
                        <tbody>
                          {p.packs.map((x) => (
                            <tr key={x.id}>
                              <th scope="row">
                                <a href={x.uri} download>
                                  <code>{x.id}</code>
                                </a>
                              </th>
                              <td>
                                <Time value={x.generated_at} /> by {x.generated_by}
                              </td>
                              <td>
                                {x.object_lock_mode}
                                {x.retain_until ? (
                                  <>
                                    {" "}
                                    until <Time value={x.retain_until} />
                                  </>
                                ) : null}
                              </td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    )
                  }
                </Load>
              </>
            )}
          </>
        );
      }}
    </Load>
  );
}

// Requirement is a requirement's text; its only markup is the catalogue's
// **emphasis**, shown bold rather than as asterisks.
function Requirement({ text }) {
  return String(text || "")
    .split(/\*\*(.+?)\*\*/g)
    .map((part, i) => (i % 2 ? <strong key={i}>{part}</strong> : part));
}

// CoverageTable lists coverage rows with their requirement and evidence;
// long lists of paths show their first three, the rest on demand.
function CoverageTable({ rows, caption }) {
  return (
    <div class="table-wrap">
      <table class="coverage">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Row</th>
            <th scope="col">Requirement</th>
            <th scope="col">Status</th>
            <th scope="col">Evidence or what is missing</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((it) => {
            const paths = it.status === "missing" ? it.missing || [] : it.evidence_paths;
            return (
              <tr key={it.row_id} class={`row-${it.status}`}>
                <th scope="row">
                  {it.row_id}
                  {it.section && (
                    <>
                      <br />
                      <small class="muted">{it.section}</small>
                    </>
                  )}
                </th>
                <td>
                  <Requirement text={it.requirement} />
                </td>
                <td>
                  <StatusBadge status={it.status} />
                  {it.post_market && <Badge kind="info">after release</Badge>}
                </td>
                <td>
                  {paths.slice(0, 3).map((p) => (
                    <div key={p}>
                      <code>{p}</code>
                    </div>
                  ))}
                  {paths.length > 3 && (
                    <details>
                      <summary>{paths.length - 3} more</summary>
                      {paths.slice(3).map((p) => (
                        <div key={p}>
                          <code>{p}</code>
                        </div>
                      ))}
                    </details>
                  )}
                  {it.note && <small class="muted">{it.note}</small>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

// linkToRow is the evidence tab's address of a row (for the inbox).
export const evidenceLink = (model, version) => <Link href={`/ui/models/${encodeURIComponent(model)}/versions/${version}/evidence`}>coverage</Link>;
