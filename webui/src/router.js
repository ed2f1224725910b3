// A small history router: every page has a stable URL under /ui/ (the
// server answers index.html for each), filters live in the query string.
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";

function current() {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// navigate moves to another page of the UI without reloading.
export function navigate(to, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", to);
  window.dispatchEvent(new Event("mk:navigate"));
}

// setQuery replaces the current URL's query with params (unset values
// dropped), keeping the history entry: filters are part of the URL.
export function setQuery(params, { push = false } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.pathname + (s ? "?" + s : ""), { replace: !push });
}

export function useLocation() {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    window.addEventListener("popstate", update);
    window.addEventListener("mk:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("mk:navigate", update);
    };
  }, []);
  return loc;
}

// match finds the first route whose pattern matches path.
export function match(routes, path) {
  for (const [pattern, page] of routes) {
    const m = pattern.exec(path);
    if (m) {
      const params = {};
      for (const [k, v] of Object.entries(m.groups || {})) params[k] = v === undefined ? undefined : decodeURIComponent(v);
      return { page, params };
    }
  }
  return null;
}

// Link is an anchor that navigates inside the UI on a plain click and
// behaves as a link otherwise (new tab, copy address).
export function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
    window.scrollTo(0, 0);
  };
  return h("a", { href, onClick, ...rest }, children);
}

// ui is the UI path of a model, a version, or one of a version's tabs.
export function ui(model, version, tab) {
  let p = `/ui/models/${encodeURIComponent(model)}`;
  if (version) p += `/versions/${version}`;
  if (tab) p += `/${tab}`;
  return p;
}
