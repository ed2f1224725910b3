// The API client of the pages: same-origin requests with the session
// cookie, the CSRF token on every change, and errors as ApiError with the
// server's code and message (openapi.yaml: Error).

let csrfToken = "";

// setCSRF keeps the session's CSRF token for the changes that follow.
export function setCSRF(token) {
  csrfToken = token || "";
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "";
    this.details = e;
  }
}

const unsafe = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// request sends one API request and decodes its JSON answer (null for 204).
export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (unsafe.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      redirect: "error",
    });
  } catch (err) {
    throw new ApiError(0, { error: { code: "unreachable", message: `The server did not answer (${err.message}).` } });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new CustomEvent("mk:unauthenticated"));
    throw new ApiError(res.status, data);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});
export const put = (path, body) => request("PUT", path, body ?? {});
export const del = (path) => request("DELETE", path);

// query builds a query string from the set values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

// enc encodes one path segment.
export const enc = encodeURIComponent;

// modelPath is the API path of a model, or of one of its versions.
export function modelPath(model, version) {
  const p = `/api/v1/models/${enc(model)}`;
  return version ? `${p}/versions/${version}` : p;
}
