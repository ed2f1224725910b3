package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestSessionSecurity: the UI's documents carry the strict Content
// Security Policy; the session cookie is HttpOnly and SameSite=Strict (no
// script reads it); a change sent with the cookie but without the CSRF
// token (or with a wrong one) is refused and changes nothing, and the same
// change with the session's token goes through.
func TestSessionSecurity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		w := e.seed()
		p := e.newPage(t, "session")
		for _, path := range []string{"/ui/", "/ui/models/fraud-detector/versions/1/lineage", "/ui/no-such-page"} {
			ctx, cancel := p.stepContext()
			resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(e.url+path))
			cancel()
			if err != nil {
				p.fail("open %s: %v", path, err)
			}
			if got := header(resp.Headers, "Content-Security-Policy"); got != uiPolicy {
				t.Errorf("GET %s: Content-Security-Policy %q, want %q", path, got, uiPolicy)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
				if got := header(resp.Headers, k); got != want {
					t.Errorf("GET %s: %s %q, want %q", path, k, got, want)
				}
			}
		}

		p.signIn(w.lead)
		ctx, cancel := p.stepContext()
		cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.url + "/ui/"}})
		cancel()
		if err != nil {
			t.Fatalf("read the cookies: %v", err)
		}
		var session *network.Cookie
		for _, c := range cookies.Cookies {
			if c.Name == "mk_session" {
				session = c
			}
		}
		switch {
		case session == nil:
			t.Fatalf("no mk_session cookie after signing in (cookies: %v)", cookies.Cookies)
		case !session.HTTPOnly:
			t.Errorf("the session cookie is not HttpOnly")
		case session.SameSite != network.CookieSameSiteStrict:
			t.Errorf("the session cookie is SameSite=%q, want Strict", session.SameSite)
		case session.Path != "/":
			t.Errorf("the session cookie's path is %q", session.Path)
		}
		if c := eval[string](p, "document.cookie"); strings.Contains(c, "mk_session") {
			t.Errorf("a script reads the session cookie: %q", c)
		}

		// A change without the CSRF token, with a wrong one, with the
		// right one.
		const body = `{"name":"%s","description":"made from the browser"}`
		if r := p.fetch("POST", "/api/v1/models", fmt.Sprintf(body, "no-csrf-token"), false); r.Status != 403 || r.Code != "csrf_failed" {
			t.Errorf("a change without the CSRF token: %d %s, want 403 csrf_failed", r.Status, r.Code)
		}
		wrong := eval[fetchResult](p, `fetch("/api/v1/models", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": "not-the-token"},
  body: JSON.stringify({name: "wrong-csrf-token"})}).then(async (r) => ({Status: r.status, Code: (await r.json()).error.code}))`, chromedp.EvalAwaitPromise)
		if wrong.Status != 403 || wrong.Code != "csrf_failed" {
			t.Errorf("a change with a wrong CSRF token: %d %s, want 403 csrf_failed", wrong.Status, wrong.Code)
		}
		if r := p.fetch("POST", "/api/v1/models", fmt.Sprintf(body, "with-csrf-token"), true); r.Status != 201 {
			t.Errorf("a change with the session's CSRF token: %d %s, want 201", r.Status, r.Code)
		}
		w.officer.call("GET", "/api/v1/models/no-csrf-token", nil, http.StatusNotFound, nil)
		w.officer.call("GET", "/api/v1/models/wrong-csrf-token", nil, http.StatusNotFound, nil)
		w.officer.call("GET", "/api/v1/models/with-csrf-token", nil, http.StatusOK, nil)
		// The refusals are in the audit trail.
		denied := w.officer.auditEvents(map[string][]string{"actor": {w.lead.subject}, "outcome": {"denied"}})
		if len(denied) != 2 {
			t.Errorf("%d refusals of %s in the audit trail, want the 2 CSRF failures", len(denied), w.lead.subject)
		}
		p.checkConsole("the CSRF requests")

		// Signing out ends the session: the cookie no longer opens the API.
		p.visit("/ui/")
		p.click(`header .who button`)
		p.waitFor("the sign-in form", `document.querySelector("textarea#token")`)
		if r := p.fetch("GET", "/api/v1/session", "", false); r.Status != 401 {
			t.Errorf("the session after signing out: %d, want 401", r.Status)
		}
	})
}

// TestCheckersCatchViolations makes sure the checks the other tests
// rely on would fail: a script the policy forbids is reported (by the
// page's listener and by Chromium), and axe-core reports an unnamed
// button and an image without a text alternative.
func TestCheckersCatchViolations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		w := e.seed()
		p := e.newPage(t, "checkers")
		p.signIn(w.officer)
		p.checkConsole("before")
		seen := len(p.consoleSince(0))
		eval[chromedp.Void](p, `(() => {
  const s = document.createElement("script");
  s.textContent = "window.injected = true";
  document.body.append(s);
  const b = document.createElement("button");
  b.id = "unnamed";
  const i = document.createElement("img");
  i.src = "/ui/favicon.svg";
  document.querySelector("main").append(b, i);
})()`)
		if eval[bool](p, `window.injected === true`) {
			t.Errorf("an inline script ran despite the policy")
		}
		var ours, chromium bool
		p.waitConsole(seen, func(m chromedp.ConsoleMessage) bool {
			ours = ours || strings.HasPrefix(m.Text, "CSP violation: script-src-elem")
			chromium = chromium || cspMessage(m) && !strings.HasPrefix(m.Text, "CSP violation:")
			return ours && chromium
		})
		if !ours || !chromium {
			t.Errorf("the inline script's violation was reported by the listener: %v, by Chromium: %v; console: %v", ours, chromium, p.consoleSince(seen))
		}
		p.mu.Lock()
		p.checked = len(p.console) // expected
		p.mu.Unlock()

		if !eval[bool](p, `typeof window.axe === "object"`) {
			eval[chromedp.Void](p, chrome.axe)
		}
		found := map[string]string{}
		for _, v := range eval[[]axeViolation](p, axeRun, chromedp.EvalAwaitPromise) {
			found[v.ID] = v.Impact
		}
		for _, id := range []string{"button-name", "image-alt"} {
			if impact := found[id]; impact != "critical" && impact != "serious" {
				t.Errorf("axe-core did not report %s as serious or critical (found %v)", id, found)
			}
		}
	})
}

// header reads a response header, whatever its case.
func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}
