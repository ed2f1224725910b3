// The web UI's entry: find out who is signed in, then route to the page
// the URL names. Every page has a stable URL under /ui/.
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { get, del, setCSRF } from "./api.js";
import { Session } from "./session.js";
import { match, navigate, useLocation } from "./router.js";
import { Layout } from "./components/layout.jsx";
import { Loading } from "./components/ui.jsx";
import { Login } from "./pages/login.jsx";
import { Models } from "./pages/models.jsx";
import { Model } from "./pages/model.jsx";
import { Version } from "./pages/version.jsx";
import { Approvals } from "./pages/approvals.jsx";
import { Audit } from "./pages/audit.jsx";
import { Deployments } from "./pages/deployments.jsx";
import { Tokens } from "./pages/tokens.jsx";
import { Dataset } from "./pages/dataset.jsx";
import { Run } from "./pages/run.jsx";

const routes = [
  [/^\/ui\/?$/, Models],
  [/^\/ui\/models\/(?<model>[^/]+)\/?$/, Model],
  [/^\/ui\/models\/(?<model>[^/]+)\/versions\/(?<version>\d+)(?:\/(?<tab>[a-z-]+))?\/?$/, Version],
  [/^\/ui\/approvals\/?$/, Approvals],
  [/^\/ui\/audit(?:\/(?<seq>\d+))?\/?$/, Audit],
  [/^\/ui\/deployments\/?$/, Deployments],
  [/^\/ui\/tokens\/?$/, Tokens],
  [/^\/ui\/datasets\/(?<name>[^/]+)\/versions\/(?<version>[^/]+)\/?$/, Dataset],
  [/^\/ui\/runs\/(?<run>[^/]+)\/?$/, Run], // a "/" in a run id comes as %2F
];

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{location.pathname}</code>. <a href="/ui/">Go to the models</a>.
      </p>
    </section>
  );
}

function App() {
  const [session, setSession] = useState(undefined); // undefined: asking; null: signed out
  const loc = useLocation();

  const signedIn = (info) => {
    setCSRF(info.csrf_token);
    setSession(new Session(info));
  };
  useEffect(() => {
    get("/api/v1/session").then(signedIn, () => setSession(null));
    const out = () => setSession(null);
    window.addEventListener("mk:unauthenticated", out);
    return () => window.removeEventListener("mk:unauthenticated", out);
  }, []);
  useEffect(() => {
    // A new page: move the focus to its content, for keyboards and screen readers.
    const main = document.getElementById("main");
    if (main && document.activeElement && document.activeElement.tagName !== "INPUT") main.focus({ preventScroll: true });
  }, [loc.path]);

  if (session === undefined) return <Loading label="Checking your session" />;
  if (session === null) return <Login onSignedIn={signedIn} error={loc.query.get("login_error") ? `Signing in with the identity provider failed (${loc.query.get("login_error")}).` : ""} />;

  const signOut = async () => {
    try {
      await del("/api/v1/session");
    } finally {
      setCSRF("");
      setSession(null);
      navigate("/ui/");
    }
  };
  const found = match(routes, loc.path);
  const Page = found ? found.page : NotFound;
  return (
    <Layout session={session} path={loc.path} onSignOut={signOut}>
      <Page session={session} params={found ? found.params : {}} query={loc.query} />
    </Layout>
  );
}

// The boot message of index.html goes: Preact would keep it above the page.
const root = document.getElementById("app");
root.textContent = "";
render(<App />, root);
