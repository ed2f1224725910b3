package browsertest

import (
	"fmt"
	"reflect"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestRolesInTheUI: each role sees what it may do. A deployer has neither
// the approvals inbox nor the tokens page (not in the navigation, and "Not
// available" at their addresses); an auditor sees every section and every
// tab of a version but can change nothing: every control that would is
// disabled, with the reason, and the server refuses the change anyway; an
// admin has the tokens page.
func TestRolesInTheUI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		w := e.seed()

		deployer := e.newPage(t, "deployer")
		deployer.signIn(w.deployer)
		if nav := deployer.texts("header nav a"); !reflect.DeepEqual(nav, []string{"Models", "Deployments"}) {
			t.Errorf("a deployer's navigation: %q, want Models and Deployments", nav)
		}
		deployer.check("models")
		for _, path := range []string{"/ui/approvals", "/ui/tokens"} {
			deployer.visit(path)
			deployer.waitText("main h1", "Not available")
			deployer.check(path[len("/ui/"):])
		}
		deployer.visit("/ui/models/fraud-detector/versions/1")
		if tabs := deployer.texts(`nav[aria-label="Version sections"] a`); !reflect.DeepEqual(tabs, []string{"Overview", "Metrics", "Lineage", "Transitions", "Deployments", "Model card"}) {
			t.Errorf("a deployer's tabs of a version: %q", tabs)
		}

		auditor := e.newPage(t, "auditor")
		auditor.signIn(w.officer)
		if nav := auditor.texts("header nav a"); !reflect.DeepEqual(nav, []string{"Models", "Approvals", "Deployments", "Audit trail"}) {
			t.Errorf("an auditor's navigation: %q, want Models, Approvals, Deployments and Audit trail", nav)
		}
		auditor.visit("/ui/models/fraud-detector/versions/2")
		tabs := auditor.texts(`nav[aria-label="Version sections"] a`)
		if want := []string{"Overview", "Metrics", "Lineage", "Transitions", "Deployments", "Audit events", "Model card", "EU AI Act evidence"}; !reflect.DeepEqual(tabs, want) {
			t.Errorf("an auditor's tabs of a version: %q, want %q", tabs, want)
		}
		for i, tab := range []string{"", "metrics", "lineage", "approvals", "deployments", "audit", "card", "evidence"} {
			auditor.click(fmt.Sprintf(`nav[aria-label="Version sections"] li:nth-child(%d) a`, i+1))
			auditor.waitFor("the tab "+tabs[i], fmt.Sprintf(`document.querySelector('nav[aria-label="Version sections"] a[aria-current=page]')?.textContent === %s`, js(tabs[i])))
			switch tab {
			case "metrics":
				auditor.waitCharts()
			case "lineage":
				auditor.waitGraph()
			case "card":
				auditor.waitFor("the card's frame", `document.querySelector("iframe.card-frame")?.contentDocument?.readyState === "complete" && document.querySelector("iframe.card-frame").contentDocument.body.textContent.includes("fraud-detector")`)
			}
			auditor.check("version-" + cmpOr(tab, "overview"))
			auditor.changesNothing()
		}

		auditor.click(`header nav a[href="/ui/approvals"]`)
		approve, reject := "#approve-"+w.pendingID, "#reject-"+w.pendingID
		auditor.waitFor("the pending transition", fmt.Sprintf(`document.querySelector(%s)`, js(approve)))
		for _, sel := range []string{approve, reject, "#comment-" + w.pendingID} {
			if !eval[bool](auditor, fmt.Sprintf(`document.querySelector(%s).disabled`, js(sel))) {
				t.Errorf("an auditor's %s is enabled", sel)
			}
		}
		for _, sel := range []string{approve, reject} {
			if got, want := auditor.text(sel+"-why"), "needs the role admin or approver; you have auditor"; got != want {
				t.Errorf("the reason next to an auditor's %s: %q, want %q", sel, got, want)
			}
		}
		auditor.check("approvals")
		auditor.changesNothing()
		// The server refuses what the page does not offer.
		status := auditor.fetch("POST", "/api/v1/transitions/"+w.pendingID+"/approve", `{"comment":"looks fine"}`, true)
		if status.Status != 403 || status.Code != "forbidden" {
			t.Errorf("an auditor's approval through the session: %d %s, want 403 forbidden", status.Status, status.Code)
		}

		for _, path := range []string{"/ui/audit", "/ui/deployments", "/ui/"} {
			auditor.visit(path)
			auditor.changesNothing()
		}
		auditor.visit("/ui/tokens")
		auditor.waitText("main h1", "Not available") // tokens are the admins' (x-roles)

		admin := e.newPage(t, "admin")
		admin.signIn(e.admin)
		if nav := admin.texts("header nav a"); !reflect.DeepEqual(nav, []string{"Models", "Approvals", "Deployments", "Audit trail", "Tokens"}) {
			t.Errorf("an admin's navigation: %q", nav)
		}
		admin.click(`header nav a[href="/ui/tokens"]`)
		admin.waitText("main table", w.officer.subject)
		admin.check("tokens")
	})
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readOnlyButton matches the buttons that change nothing: searching,
// filtering, paging, exporting, verifying, signing out.
var readOnlyButton = regexp.MustCompile(`^(Search|Apply|Clear|Show|Export filtered \(CSV\)|Export filtered \(JSON Lines\)|Verify the whole chain|← Previous|Next →|← Event \d+|Event \d+ →|Sign out)$`)

// changesNothing checks that the page offers no enabled control that
// would change something: every enabled button reads, and no text area
// takes a comment.
func (p *page) changesNothing() {
	p.t.Helper()
	for _, b := range p.texts("button:not([disabled])") {
		if !readOnlyButton.MatchString(b) {
			p.t.Errorf("%s: an auditor may press %q", eval[string](p, "location.pathname"), b)
		}
	}
	if n := eval[int](p, `document.querySelectorAll("main textarea:not([disabled]), main fieldset:not([disabled]) input[type=checkbox][name]").length`); n > 0 {
		p.t.Errorf("%s: %d enabled fields an auditor could fill in", eval[string](p, "location.pathname"), n)
	}
}

// fetchResult is what a request made by the page got.
type fetchResult struct {
	Status int
	Code   string // the error body's code
}

// fetch makes a request from the page, with its session cookie, and with
// the session's CSRF token when withCSRF.
func (p *page) fetch(method, path, body string, withCSRF bool) fetchResult {
	p.t.Helper()
	csrf, payload := "null", "undefined"
	if body != "" {
		payload = js(body)
	}
	if withCSRF {
		csrf = `(await (await fetch("/api/v1/session")).json()).csrf_token`
	}
	return eval[fetchResult](p, fmt.Sprintf(`(async () => {
  const token = %s;
  const headers = {"Content-Type": "application/json"};
  if (token) headers["X-CSRF-Token"] = token;
  const r = await fetch(%s, {method: %s, headers, body: %s, credentials: "same-origin"});
  const b = await r.json().catch(() => ({}));
  return {Status: r.status, Code: (b.error && b.error.code) || ""};
})()`, csrf, js(path), js(method), payload), chromedp.EvalAwaitPromise)
}
