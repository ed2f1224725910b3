// The frame of every page: a skip link, the navigation (only what the
// caller's roles allow), who is signed in, and the page's main region.
import { Link } from "../router.js";

// inboxRoles open the approvals inbox: those who decide, and auditors, who
// oversee the decisions (read only). Publishers see their requests on the
// versions' pages; deployers have no business there.
export const inboxRoles = ["admin", "approver", "auditor"];

const sections = [
  { href: "/ui/", label: "Models", op: "listModels", match: (p) => p === "/ui/" || p.startsWith("/ui/models") },
  { href: "/ui/approvals", label: "Approvals", roles: inboxRoles, match: (p) => p.startsWith("/ui/approvals") },
  { href: "/ui/deployments", label: "Deployments", op: "listDeployments", match: (p) => p.startsWith("/ui/deployments") },
  { href: "/ui/audit", label: "Audit trail", op: "listAuditEvents", match: (p) => p.startsWith("/ui/audit") },
  { href: "/ui/tokens", label: "Tokens", op: "createToken", match: (p) => p.startsWith("/ui/tokens") },
];

// navSections are the sections the session may open.
export function navSections(session) {
  return sections.filter((s) => (s.roles ? session.hasRole(...s.roles) : session.can(s.op)));
}

export function Layout({ session, path, onSignOut, children }) {
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/ui/" class="brand">
          Modelkeep
        </Link>
        <nav aria-label="Sections">
          <ul>
            {navSections(session).map((s) => (
              <li key={s.href}>
                <Link href={s.href} aria-current={s.match(path) ? "page" : undefined}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            <span class="visually-hidden">Signed in as </span>
            <strong>{session.subject}</strong> <small>({session.roles.join(", ")})</small>
          </span>
          <button type="button" class="btn btn-quiet" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

// Forbidden is a page the caller's roles do not open, and why.
export function Forbidden({ why }) {
  return (
    <section>
      <h1>Not available</h1>
      <p>This page is not available to you: {why}.</p>
    </section>
  );
}
