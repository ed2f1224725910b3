// Tokens (admins): issue one with roles, model scopes and a lifetime (the
// secret is shown once), list them, revoke them.
import { useState } from "preact/hooks";
import { get, post, del, query } from "../api.js";
import { Action, Badge, Empty, Load, Pager, Time, useLoad, usePages, useTitle } from "../components/ui.jsx";
import { Forbidden } from "../components/layout.jsx";

const roles = [
  ["admin", "everything"],
  ["publisher", "create models and versions, upload, metrics, cards"],
  ["approver", "approve and reject stage transitions, policies"],
  ["deployer", "pull approved versions, record deployments"],
  ["auditor", "read the audit log and the evidence, change nothing"],
];

export function Tokens({ session }) {
  useTitle("Tokens");
  const why = session.why("listTokens");
  const pages = usePages("");
  const [changed, setChanged] = useState(0);
  const state = useLoad(() => (why ? Promise.resolve(null) : get("/api/v1/tokens" + query({ page_size: 50, page_token: pages.token }))), [pages.token, changed]);
  if (why) return <Forbidden why={why} />;
  return (
    <section>
      <h1>Tokens</h1>
      <Issue session={session} onIssued={() => setChanged((n) => n + 1)} />
      <h2>Issued tokens</h2>
      <Load state={state} what="the tokens" lines={6}>
        {(data) =>
          data.tokens.length === 0 ? (
            <Empty>No token issued yet.</Empty>
          ) : (
            <>
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Subject</th>
                      <th scope="col">Roles</th>
                      <th scope="col">Models</th>
                      <th scope="col">Issued</th>
                      <th scope="col">Expires</th>
                      <th scope="col">State</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.tokens.map((tk) => (
                      <TokenRow key={tk.id} tk={tk} session={session} onRevoked={() => setChanged((n) => n + 1)} />
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager hasPrevious={pages.hasPrevious} next={data.next_page_token} onPrevious={pages.previous} onNext={() => pages.next(data.next_page_token)} label="Pages of tokens" />
            </>
          )
        }
      </Load>
    </section>
  );
}

function TokenRow({ tk, session, onRevoked }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const expired = Date.parse(tk.expires_at) < Date.now();
  const revoke = async () => {
    if (!window.confirm(`Revoke the token of ${tk.subject}? Whatever uses it stops working at once.`)) return;
    setBusy(true);
    try {
      await del(`/api/v1/tokens/${tk.id}`);
      onRevoked();
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };
  return (
    <tr>
      <th scope="row">
        {tk.subject}
        <br />
        <small class="muted">
          <code>{tk.id}</code>
        </small>
      </th>
      <td>{tk.roles.map((r) => <Badge key={r}>{r}</Badge>)}</td>
      <td>{tk.models.length ? tk.models.map((m) => <code key={m}>{m} </code>) : <span class="muted">all</span>}</td>
      <td>
        <Time value={tk.created_at} /> by {tk.created_by}
      </td>
      <td>
        <Time value={tk.expires_at} />
      </td>
      <td>
        {tk.revoked_at ? (
          <Badge kind="bad">revoked</Badge>
        ) : expired ? (
          <Badge>expired</Badge>
        ) : (
          <Action kind="danger" id={`revoke-${tk.id}`} why={session.why("revokeToken")} busy={busy} onClick={revoke}>
            Revoke
          </Action>
        )}
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </td>
    </tr>
  );
}

function Issue({ session, onIssued }) {
  const [form, setForm] = useState({ subject: "", roles: [], models: "", expires_in: "720h" });
  const [issued, setIssued] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const why = session.why("createToken");
  const toggle = (r) => setForm({ ...form, roles: form.roles.includes(r) ? form.roles.filter((x) => x !== r) : [...form.roles, r] });
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const models = form.models.split(/[\s,]+/).filter(Boolean);
      const body = { subject: form.subject.trim(), roles: form.roles, expires_in: form.expires_in.trim() || undefined };
      if (models.length) body.models = models;
      setIssued(await post("/api/v1/tokens", body));
      setForm({ subject: "", roles: [], models: "", expires_in: "720h" });
      onIssued();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-describedby={error ? "issue-error" : undefined}>
      <fieldset disabled={!!why}>
        <legend>Issue a token</legend>
        {why && <p class="why">{why}</p>}
        <div class="form-grid">
          <div>
            <label for="t-subject">Subject</label>
            <input id="t-subject" required value={form.subject} placeholder="ci-fraud-training" onInput={(e) => setForm({ ...form, subject: e.currentTarget.value })} />
          </div>
          <div>
            <label for="t-models">Models (patterns, optional)</label>
            <input id="t-models" value={form.models} placeholder="fraud-* churn" aria-describedby="t-models-hint" onInput={(e) => setForm({ ...form, models: e.currentTarget.value })} />
            <small class="hint" id="t-models-hint">
              Empty: all models.
            </small>
          </div>
          <div>
            <label for="t-expires">Lifetime</label>
            <input id="t-expires" value={form.expires_in} aria-describedby="t-expires-hint" onInput={(e) => setForm({ ...form, expires_in: e.currentTarget.value })} />
            <small class="hint" id="t-expires-hint">
              e.g. 720h (30 days), 30m.
            </small>
          </div>
        </div>
        <fieldset>
          <legend>Roles</legend>
          {roles.map(([r, what]) => (
            <div key={r} class="check">
              <input type="checkbox" id={`t-role-${r}`} checked={form.roles.includes(r)} onChange={() => toggle(r)} />
              <label for={`t-role-${r}`}>
                {r} <small class="muted">({what})</small>
              </label>
            </div>
          ))}
        </fieldset>
        {error && (
          <p class="field-error" id="issue-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn btn-primary" disabled={busy || !form.subject.trim() || form.roles.length === 0}>
          {busy ? "Issuing…" : "Issue token"}
        </button>
      </fieldset>
      {issued && (
        <div class="notice" role="status">
          <p>
            <strong>Token for {issued.subject}.</strong> Copy it now: it is not shown again.
          </p>
          <label for="t-secret">Token</label>
          <textarea id="t-secret" readOnly rows={3} value={issued.token} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" class="btn" onClick={() => setIssued(null)}>
            I have copied it
          </button>
        </div>
      )}
    </form>
  );
}
