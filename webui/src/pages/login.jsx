// Signing in: paste a token once (the server turns it into an HttpOnly
// session cookie; the token is not kept by the browser), or sign in with
// the identity provider when OIDC is configured.
import { useEffect, useState } from "preact/hooks";
import { get, post } from "../api.js";

export function Login({ onSignedIn, error: initialError }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(initialError || "");
  const [busy, setBusy] = useState(false);
  const [oidc, setOIDC] = useState(null);
  useEffect(() => {
    get("/api/v1/session/oidc").then(setOIDC, () => setOIDC(null));
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const info = await post("/api/v1/session", { token: token.trim() });
      setToken("");
      onSignedIn(info);
    } catch (err) {
      setError(err.status === 401 ? "The token was not accepted: it is wrong, expired or revoked." : err.message);
    } finally {
      setBusy(false);
    }
  };
  const returnTo = location.pathname.startsWith("/ui/") ? location.pathname + location.search : "/ui/";
  return (
    <main id="main" class="login">
      <h1>Sign in to Modelkeep</h1>
      {oidc && oidc.enabled && (
        <p>
          <a class="btn btn-primary" href={`${oidc.login_url}?return_to=${encodeURIComponent(returnTo)}`}>
            Sign in with your identity provider
          </a>
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <label for="token">Access token</label>
        <p class="hint" id="token-hint">
          Paste a token from <code>modelkeep token create</code> or from an administrator. It is exchanged for a
          session; the browser does not keep it.
        </p>
        <textarea
          id="token"
          name="token"
          rows={3}
          autocomplete="off"
          spellcheck={false}
          required
          value={token}
          aria-describedby={error ? "token-hint token-error" : "token-hint"}
          aria-invalid={error ? "true" : undefined}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        {error && (
          <p class="field-error" id="token-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn btn-primary" disabled={busy || !token.trim()}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
