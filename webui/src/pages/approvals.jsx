// The approvals inbox: pending transitions with their requester, the
// gates as they stand and the evidence still missing; approve or reject
// with a comment. What the server would refuse (roles, scopes, four eyes,
// failing gates) is shown disabled, with the reason. One request per page.
import { useState } from "preact/hooks";
import { get, post, query } from "../api.js";
import { Link, ui } from "../router.js";
import { Forbidden, inboxRoles } from "../components/layout.jsx";
import { Action, Badge, Empty, Load, Pager, StageBadge, Time, useLoad, usePages, useTitle } from "../components/ui.jsx";

export function Approvals({ session }) {
  useTitle("Approvals");
  if (!session.hasRole(...inboxRoles)) {
    return <Forbidden why={`the inbox is for the roles ${inboxRoles.join(", ")}`} />;
  }
  return <Inbox session={session} />;
}

function Inbox({ session }) {
  const pages = usePages("");
  const [done, setDone] = useState([]);
  const state = useLoad(() => get("/api/v1/transitions" + query({ status: "pending", review: true, page_size: 20, page_token: pages.token })), [pages.token, done.length]);
  return (
    <section>
      <h1>Approvals</h1>
      <p class="lead">Stage transitions waiting for a decision, oldest requests last.</p>
      <div aria-live="polite">
        {done.map((d) => (
          <p class="notice" key={d.id}>
            {d.status === "approved" ? "Approved" : d.status === "rejected" ? "Rejected" : "Recorded your approval of"}{" "}
            <Link href={ui(d.model, d.version)}>
              {d.model} version {d.version}
            </Link>
            {d.status === "approved" ? `: it is now in ${d.to}.` : d.status === "pending" ? `: ${d.approvals.length} of ${d.required_approvals} approvals.` : "."}
          </p>
        ))}
      </div>
      <Load state={state} what="the pending transitions" lines={6}>
        {(data) =>
          data.transitions.length === 0 ? (
            <Empty>Nothing waits for a decision.</Empty>
          ) : (
            <>
              <ul class="plain cards">
                {data.transitions.map((t) => (
                  <li key={t.id}>
                    <Pending t={t} session={session} onDecided={(d) => setDone((xs) => [d, ...xs])} />
                  </li>
                ))}
              </ul>
              <Pager hasPrevious={pages.hasPrevious} next={data.next_page_token} onPrevious={pages.previous} onNext={() => pages.next(data.next_page_token)} label="Pages of transitions" />
            </>
          )
        }
      </Load>
    </section>
  );
}

// blockedReason is why approving t would be refused, or null.
export function blockedReason(t, session) {
  const why = session.why("approveTransition", t.model);
  if (why) return why;
  const r = t.review || {};
  if (r.approve_blocked) return r.approve_blocked;
  const failed = (r.gates || []).filter((g) => !g.passed);
  if (failed.length) return `promotion gates fail: ${failed.map((g) => g.gate).join("; ")}`;
  if ((r.missing_evidence || []).length) return `the EU AI Act evidence misses ${r.missing_evidence.length} requirement rows`;
  return null;
}

function Pending({ t, session, onDecided }) {
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const r = t.review || { gates: [], missing_evidence: [] };
  const commentID = `comment-${t.id}`;
  const decide = async (verb) => {
    if (!comment.trim()) {
      setError("Write a comment: it is recorded with your decision.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      onDecided(await post(`/api/v1/transitions/${t.id}/${verb}`, { comment: comment.trim() }));
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const approveWhy = blockedReason(t, session);
  const rejectWhy = session.why("rejectTransition", t.model);
  return (
    <article class="card" aria-labelledby={`title-${t.id}`}>
      <h2 id={`title-${t.id}`} class="card-title">
        <Link href={ui(t.model, t.version)}>
          {t.model} version {t.version}
        </Link>{" "}
        <StageBadge stage={t.from} /> → <StageBadge stage={t.to} />
      </h2>
      <dl class="facts">
        <dt>Requested</dt>
        <dd>
          by <strong>{t.requested_by}</strong>, <Time value={t.requested_at} />
        </dd>
        {t.comment && (
          <>
            <dt>Reason</dt>
            <dd>{t.comment}</dd>
          </>
        )}
        <dt>Version created by</dt>
        <dd>{r.version_created_by || "—"}</dd>
        <dt>Approvals</dt>
        <dd>
          {t.approvals.length} of {t.required_approvals}
          {t.approvals.length > 0 && `: ${t.approvals.map((a) => a.approver).join(", ")}`}
        </dd>
      </dl>
      {t.to === "production" && (
        <>
          <h3>Promotion gates</h3>
          {r.gates.length === 0 ? (
            <p class="muted">The policy sets no gate.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Gate</th>
                  <th scope="col">Now</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {r.gates.map((g, i) => (
                  <tr key={i}>
                    <th scope="row">{g.gate}</th>
                    <td>
                      <Badge kind={g.passed ? "ok" : "bad"}>{g.passed ? "passes" : "fails"}</Badge>
                    </td>
                    <td>{g.detail}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {r.missing_evidence.length > 0 && (
            <p class="error">
              EU AI Act evidence missing for {r.missing_evidence.length} rows ({r.missing_evidence.slice(0, 8).join(", ")}
              {r.missing_evidence.length > 8 ? ", …" : ""}). <Link href={ui(t.model, t.version, "evidence")}>See the coverage</Link>.
            </p>
          )}
        </>
      )}
      <label for={commentID}>Comment</label>
      <textarea id={commentID} rows={2} value={comment} onInput={(e) => setComment(e.currentTarget.value)} disabled={!!(approveWhy && rejectWhy)} aria-describedby={error ? `${commentID}-error` : undefined} />
      {error && (
        <p class="field-error" id={`${commentID}-error`} role="alert">
          {error}
        </p>
      )}
      <div class="form-actions">
        <Action id={`approve-${t.id}`} why={approveWhy} busy={busy} onClick={() => decide("approve")}>
          Approve
        </Action>
        <Action id={`reject-${t.id}`} kind="danger" why={rejectWhy} busy={busy} onClick={() => decide("reject")}>
          Reject
        </Action>
      </div>
    </article>
  );
}
