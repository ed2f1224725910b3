// Components every page uses: times in the viewer's zone with UTC on
// hover, loading placeholders that keep their height, empty states,
// errors, badges, digests, tables and the hook that loads data.
import { useEffect, useState, useCallback } from "preact/hooks";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

// Time shows an RFC 3339 time in the viewer's time zone; hovering shows UTC.
export function Time({ value }) {
  if (!value) return <span class="muted">—</span>;
  const d = new Date(value);
  if (isNaN(d)) return <span>{value}</span>;
  return (
    <time dateTime={d.toISOString()} title={d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace("Z", " UTC")}>
      {dateTime.format(d)}
    </time>
  );
}

// useLoad runs load (an async function of no arguments) when deps change
// and gives {data, error, loading, reload}.
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

// Loading reserves the space of what it waits for: no layout jump.
export function Loading({ lines = 3, label = "Loading" }) {
  return (
    <div class="loading" role="status" aria-live="polite" style={{ minHeight: `${lines * 1.6}em` }}>
      <span class="visually-hidden">{label}…</span>
      {Array.from({ length: lines }, (_, i) => <div key={i} class="skeleton" aria-hidden="true" />)}
    </div>
  );
}

// ErrorBox says what went wrong in words, with the server's message.
export function ErrorBox({ error, what }) {
  if (!error) return null;
  let text = error.message || String(error);
  if (error.status === 403) text = `You may not see this: ${text}`;
  if (error.status === 404) text = `Not found: ${text}`;
  return (
    <div class="error" role="alert">
      <strong>{what ? `Could not load ${what}.` : "Something went wrong."}</strong> {text}
    </div>
  );
}

// Empty is what a list says when it has nothing.
export function Empty({ children }) {
  return <p class="empty">{children}</p>;
}

// Load renders a useLoad state: placeholder, error or children(data).
export function Load({ state, what, lines, children }) {
  if (state.error) return <ErrorBox error={state.error} what={what} />;
  if (state.loading && !state.data) return <Loading lines={lines} label={`Loading ${what}`} />;
  return children(state.data);
}

const stageClass = { production: "ok", staging: "info", archived: "muted", none: "muted" };

export function Badge({ kind, children }) {
  return <span class={`badge badge-${kind || "muted"}`}>{children}</span>;
}

export function StageBadge({ stage }) {
  return <Badge kind={stageClass[stage]}>{stage}</Badge>;
}

const statusKind = { approved: "ok", ready: "ok", present: "ok", pending: "warn", rejected: "bad", missing: "bad", not_applicable: "info", cancelled: "muted" };
export function StatusBadge({ status }) {
  return <Badge kind={statusKind[status]}>{String(status).replace("_", " ")}</Badge>;
}

// Digest shows a long hex digest shortened, whole on hover and for copy.
export function Digest({ value }) {
  if (!value) return <span class="muted">—</span>;
  const hex = value.replace(/^sha256:/, "");
  return (
    <code class="digest" title={value}>
      {value.startsWith("sha256:") ? "sha256:" : ""}
      {hex.slice(0, 12)}…
      <span class="visually-hidden">{hex.slice(12)}</span>
    </code>
  );
}

export function Tags({ tags }) {
  const entries = Object.entries(tags || {});
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="tags">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>{v ? `${k}=${v}` : k}</code>
        </li>
      ))}
    </ul>
  );
}

// KeyValues is a definition list of a string map.
export function KeyValues({ values, empty = "None." }) {
  const entries = Object.entries(values || {});
  if (entries.length === 0) return <Empty>{empty}</Empty>;
  return (
    <dl class="kv">
      {entries.map(([k, v]) => [<dt key={k + "-k"}>{k}</dt>, <dd key={k + "-v"}>{String(v)}</dd>])}
    </dl>
  );
}

export function bytes(n) {
  if (n === undefined || n === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

// Disabled explains why an action is not offered: the button stays in
// place, disabled, with the reason next to it (read by screen readers).
export function Action({ why, onClick, children, kind = "primary", busy, id }) {
  const reasonId = id ? `${id}-why` : undefined;
  return (
    <span class="action">
      <button type="button" class={`btn btn-${kind}`} id={id} disabled={!!why || busy} aria-describedby={why ? reasonId : undefined} onClick={onClick}>
        {busy ? "Working…" : children}
      </button>
      {why && (
        <small class="why" id={reasonId}>
          {why}
        </small>
      )}
    </span>
  );
}

// Pager moves through a keyset-paged list: the tokens of the pages seen
// are kept so that "Previous" works too.
export function Pager({ hasPrevious, next, onPrevious, onNext, label = "Pages" }) {
  if (!hasPrevious && !next) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="btn" disabled={!hasPrevious} onClick={onPrevious}>
        ← Previous
      </button>
      <button type="button" class="btn" disabled={!next} onClick={onNext}>
        Next →
      </button>
    </nav>
  );
}

// usePages keeps a keyset pager's tokens: the current page's token and
// those before it. A new resetKey (another filter) starts from the first
// page at once: a token belongs to its listing, and the server refuses it
// on another.
export function usePages(resetKey) {
  const [pages, setPages] = useState({ key: resetKey, stack: [""] });
  const stack = pages.key === resetKey ? pages.stack : [""];
  const token = stack[stack.length - 1];
  return {
    token,
    hasPrevious: stack.length > 1,
    next: (t) => setPages({ key: resetKey, stack: [...stack, t] }),
    previous: () => setPages({ key: resetKey, stack: stack.length > 1 ? stack.slice(0, -1) : stack }),
  };
}

// useTitle names the browser tab after the page.
export function useTitle(title) {
  useEffect(() => {
    document.title = title ? `${title} · Modelkeep` : "Modelkeep";
  }, [title]);
}
