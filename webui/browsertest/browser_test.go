package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/internal/teststore"
)

// chromiumVar names the Chromium to run. The test command sets it (and
// installs Debian's chromium-headless-shell when missing); then a missing
// browser or axe-core fails the tests instead of skipping them.
const chromiumVar = "MODELKEEP_TEST_CHROMIUM"

// axePath is axe-core's browser build, installed by `npm ci` in webui.
const axePath = "../node_modules/axe-core/axe.min.js"

// uiPolicy is the Content-Security-Policy of every /ui/ response
// (server/headers_test.go checks the same).
const uiPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// How long one step (a navigation, a click, a wait for what a page shows)
// may take before the test fails.
const stepTimeout = 20 * time.Second

// chrome is the one Chromium of the test binary, started by the first test
// that needs it; each page gets a browser context of its own (cookies,
// storage and downloads apart), so tests do not see each other.
var chrome struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	dir    string // its --user-data-dir, new and empty
	axe    string // axe.min.js
	err    error
}

func TestMain(m *testing.M) {
	code := testenv.Main(m, teststore.Migrate)
	if chrome.cancel != nil {
		chrome.cancel()
	}
	if chrome.dir != "" {
		os.RemoveAll(chrome.dir)
	}
	os.Exit(code)
}

// needBrowser skips the test when Chromium or axe-core is missing (fails
// when MODELKEEP_TEST_CHROMIUM is set) and starts the browser once.
func needBrowser(t *testing.T) {
	t.Helper()
	path := os.Getenv(chromiumVar)
	required := path != ""
	if path == "" {
		path = "/usr/bin/chromium"
		if _, err := os.Stat("/usr/bin/chromium-headless-shell"); err == nil {
			path = "/usr/bin/chromium-headless-shell" // half the CPU of the full browser
		}
	}
	missing := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (set %s to make this an error)", append(args, chromiumVar)...)
	}
	if _, err := os.Stat(path); err != nil {
		missing("no Chromium at %s: install Debian's chromium-headless-shell or chromium, or set %s to a Chromium", path, chromiumVar)
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		missing("no axe-core (%v): run npm ci in webui", err)
	}
	chrome.once.Do(func() { startBrowser(path, string(axe)) })
	if chrome.err != nil {
		t.Fatalf("start Chromium (%s): %v", path, chrome.err)
	}
}

// startBrowser starts headless Chromium with the flags this machine needs:
// without the background-networking ones, Chromium's own connections to
// Google are refused by the closed network and slow it down.
func startBrowser(path, axe string) {
	dir, err := os.MkdirTemp("", "modelkeep-chromium-")
	if err != nil {
		chrome.err = err
		return
	}
	chrome.dir, chrome.axe = dir, axe
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(io.Discard),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	chrome.ctx = ctx
	chrome.cancel = func() {
		cancel()
		cancelAlloc()
	}
	chrome.err = chromedp.Do(ctx)
}

// cspListener runs in every document before the page's own scripts (the
// DevTools protocol injects it whatever the page's policy) and reports
// each violation of the policy to the console, where the test reads it;
// Chromium reports them there too, in its own words.
const cspListener = `document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline code") +
    " in " + e.documentURI + " (" + (e.sourceFile || "?") + ":" + e.lineNumber + ")");
}, true);`

// page is one person's browser tab on the UI: its own cookies and
// downloads, its console watched for CSP violations and uncaught
// exceptions, its pages screenshotted and checked by axe-core.
type page struct {
	t         *testing.T
	e         *env
	name      string // the screenshots' prefix
	ctx       context.Context
	downloads string
	shots     int

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	checked int // console messages already looked at
}

// newPage opens a tab in a new browser context. name prefixes its
// screenshots (test-output/screenshots/<backend>/<name>-NN-<page>.png).
func (e *env) newPage(t *testing.T, name string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(chrome.ctx, chromedp.WithNewBrowserContext())
	p := &page{t: t, e: e, name: name, ctx: ctx, downloads: t.TempDir()}
	t.Cleanup(cancel)
	// The screenshots of an earlier run of this page go: they may be
	// numbered differently.
	old, _ := filepath.Glob(filepath.Join(screenshotDir(t, e.backend), name+"-*.png"))
	for _, f := range old {
		os.Remove(f)
	}
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener})
		return err
	}), chromedp.EmulateViewport(1280, 900))
	if err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	_, err = chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
		DownloadPath: p.downloads, EventsEnabled: ptr(true),
	})
	if err != nil {
		t.Fatalf("set the download behaviour: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	// Runs before cancel (clean-ups run last first): what the last page
	// printed counts too.
	t.Cleanup(func() { p.checkConsole("at the end") })
	return p
}

func ptr[T any](v T) *T { return &v }

// stepContext is the tab's context with the step timeout.
func (p *page) stepContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, stepTimeout)
}

// step runs actions with the step timeout; a failure ends the test with
// a screenshot of the page as it was.
func (p *page) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.stepContext()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

// fail ends the test, keeping a screenshot of the page and saying where it
// was.
func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		msg += "\n  at " + loc
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("main") || document.body).innerText.slice(0, 600)`)); err == nil {
		msg += "\n  the page says: " + strings.ReplaceAll(text, "\n", " | ")
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		file := filepath.Join(screenshotDir(p.t, p.e.backend), "FAILED-"+p.name+".png")
		if os.WriteFile(file, png, 0o644) == nil {
			msg += "\n  screenshot: " + file
		}
	}
	p.t.Fatal(msg)
}

// eval evaluates a JavaScript expression in the page (through the
// DevTools protocol, which the page's policy does not restrict).
func eval[T any](p *page, expr string, opts ...chromedp.EvaluateOption) T {
	p.t.Helper()
	ctx, cancel := p.stepContext()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		p.fail("evaluate %.80q: %v", expr, err)
	}
	return v
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitFor waits until the JavaScript condition holds. (chromedp's Poll
// builds its predicate with new Function, which the UI's policy forbids,
// so the condition is asked from here.)
func (p *page) waitFor(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := p.stepContext()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		// A navigation may destroy the context the condition ran in: ask
		// again.
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("waited %s for %s (last error: %v)", stepTimeout, what, err)
		}
		select {
		case <-tick.C:
		case <-p.ctx.Done():
			p.fail("waiting for %s: %v", what, p.ctx.Err())
		}
	}
}

// waitText waits until the first element that matches sel contains text.
func (p *page) waitText(sel, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%q in %s", text, sel), fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").includes(%s)`, js(sel), js(text)))
}

// text is the text of the first element that matches sel ("" if none).
func (p *page) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.querySelector(%s)?.textContent ?? ""`, js(sel)))
}

// texts are the texts of the elements that match sel, trimmed.
func (p *page) texts(sel string) []string {
	p.t.Helper()
	return eval[[]string](p, fmt.Sprintf(`[...document.querySelectorAll(%s)].map((e) => e.textContent.trim())`, js(sel)))
}

// visit loads a UI path as a new document and waits for it to settle.
func (p *page) visit(path string) {
	p.t.Helper()
	p.step("open "+path, chromedp.Navigate(p.e.url+path))
	p.settle()
}

// click clicks the first element that matches sel (CSS, or XPath when
// it starts with //), as a mouse would.
func (p *page) click(sel string) {
	p.t.Helper()
	if strings.HasPrefix(sel, "//") {
		p.step("click "+sel, chromedp.Click(chromedp.Search(sel), chromedp.NodeVisible))
		return
	}
	p.step("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeText replaces the text of the field sel with s, as typing would
// (input events included).
func (p *page) typeText(sel, s string) {
	p.t.Helper()
	p.step("type into "+sel,
		chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).select()`, js(sel))),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: s})
			return err
		}))
}

// settle waits until the app has rendered and nothing on the page is
// loading any more.
func (p *page) settle() {
	p.t.Helper()
	p.waitFor("the page to finish loading", `document.querySelector("#app > :not(.boot)") && !document.querySelector(".loading, .skeleton, [aria-busy=true]")`)
}

// waitCharts waits until every chart on the page is drawn (uPlot loads
// when the first chart needs it; a chart keeps its place meanwhile).
func (p *page) waitCharts() {
	p.t.Helper()
	p.waitFor("the charts", `(() => { const plots = [...document.querySelectorAll("main .viz-plot")];
  return plots.length > 0 && plots.every((e) => e.querySelector("canvas")); })()`)
}

// waitGraph waits until the lineage graph is drawn (dagre loads when the
// first graph needs it).
func (p *page) waitGraph() {
	p.t.Helper()
	p.waitFor("the lineage graph", `document.querySelector("main .lineage-svg a")`)
}

// signIn signs c's subject in through the sign-in form.
func (p *page) signIn(c *client) {
	p.t.Helper()
	p.visit("/ui/")
	p.waitFor("the sign-in form", `document.querySelector("textarea#token")`)
	p.checkAs("sign-in") // the same page for everyone: one screenshot
	p.typeText("textarea#token", c.token)
	p.click(`form button[type=submit]`)
	p.waitText("header .who strong", c.subject)
	p.settle()
}

// check looks at the page as it now is: a full-page screenshot named
// name, axe-core's WCAG 2 A and AA rules once per page (serious and
// critical violations fail the test; see axeChecked), and the console (no
// policy violation, no uncaught exception).
func (p *page) check(name string) {
	p.t.Helper()
	p.shots++
	p.checkAs(fmt.Sprintf("%s-%02d-%s", p.name, p.shots, name))
}

// checkAs is check with the screenshot's file name (without .png).
func (p *page) checkAs(file string) {
	p.t.Helper()
	name := file
	p.settle()
	ctx, cancel := p.stepContext()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	cancel()
	if err != nil {
		p.fail("screenshot of %s: %v", name, err)
	}
	file = filepath.Join(screenshotDir(p.t, p.e.backend), file+".png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		p.t.Fatalf("write %s: %v", file, err)
	}
	if _, checked := axeChecked.LoadOrStore(name, true); !checked {
		p.axe(name)
	}
	p.checkConsole(name)
}

// axeChecked holds the pages axe-core has checked in this run, by their
// screenshot's name without the backend's directory. Both backends' tests walk through the same pages with
// the same data, and the markup comes from the same static UI (only ids
// and times differ), so each page is checked once, by whichever backend
// reaches it first (about 5 of the 65 CPU seconds of this package's run).
var axeChecked sync.Map

// axeViolation is what the tests keep of axe-core's result.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct{ Target, HTML, Summary string }
}

// axeRun runs the WCAG 2.0 A and AA rules on the document.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}, resultTypes: ["violations"], iframes: false})
  .then((r) => r.violations.map((v) => ({ID: v.id, Impact: v.impact || "", Help: v.help,
    Nodes: v.nodes.slice(0, 5).map((n) => ({Target: n.target.join(" "), HTML: n.html.slice(0, 240), Summary: n.failureSummary || ""}))})))`

// axe injects axe-core (once per document) and reports its violations.
func (p *page) axe(name string) {
	p.t.Helper()
	if !eval[bool](p, `typeof window.axe === "object"`) {
		eval[chromedp.Void](p, chrome.axe)
	}
	for _, v := range eval[[]axeViolation](p, axeRun, chromedp.EvalAwaitPromise) {
		var b strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n    %s: %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Errorf("%s: axe-core: %s violation %s (%s):%s", name, v.Impact, v.ID, v.Help, b.String())
		} else {
			p.t.Logf("%s: axe-core: %s violation %s (%s):%s", name, v.Impact, v.ID, v.Help, b.String())
		}
	}
}

// cspMessage reports whether a console message is about the Content
// Security Policy (ours from cspListener, or Chromium's own).
func cspMessage(m chromedp.ConsoleMessage) bool {
	return strings.HasPrefix(m.Text, "CSP violation:") || strings.Contains(m.Text, "Content Security Policy")
}

// checkConsole fails the test on each policy violation and uncaught
// exception printed since the last check; other errors are logged.
func (p *page) checkConsole(where string) {
	p.t.Helper()
	p.mu.Lock()
	msgs := p.console[p.checked:]
	p.checked = len(p.console)
	p.mu.Unlock()
	for _, m := range msgs {
		switch {
		case cspMessage(m):
			p.t.Errorf("%s: the page broke its Content Security Policy: %s (%s:%d)", where, m.Text, m.URL, m.Line+1)
		case m.IsException():
			p.t.Errorf("%s: uncaught exception: %s (%s:%d)", where, m.Text, m.URL, m.Line+1)
		case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning:
			p.t.Logf("%s: console %s: %s (%s)", where, m.Type, m.Text, m.URL)
		}
	}
}

// consoleSince returns the console messages after the first n.
func (p *page) consoleSince(n int) []chromedp.ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), p.console[min(n, len(p.console)):]...)
}

// waitConsole waits (up to the step timeout) until done holds for a
// console message after the first n; it returns whether one did.
func (p *page) waitConsole(n int, done func(chromedp.ConsoleMessage) bool) bool {
	p.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(stepTimeout)
	for {
		for _, m := range p.consoleSince(n) {
			if done(m) {
				return true
			}
		}
		select {
		case <-tick.C:
		case <-timeout:
			return false
		case <-p.ctx.Done():
			return false
		}
	}
}

// download clicks sel (as click does), which makes the browser download a file, and
// returns the file's suggested name and content.
func (p *page) download(sel string) (string, []byte) {
	p.t.Helper()
	ctx, cancel := p.stepContext()
	defer cancel()
	begins := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	// Browser events come from every browser context, and other tests'
	// pages download at the same time: only this page's frame counts (a
	// page target's main frame has the target's id).
	frame := cdp.FrameID(chromedp.FromContext(ctx).Target.TargetID)
	p.click(sel)
	var guid, name string
	for ev, err := range begins {
		if err != nil {
			p.fail("no download began after a click on %s: %v", sel, err)
		}
		if ev.FrameID != frame {
			continue
		}
		guid, name = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			p.fail("the download of %s did not finish: %v", name, err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			p.fail("the download of %s was cancelled", name)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(p.downloads, guid))
	if err != nil {
		p.fail("read the download %s: %v", name, err)
	}
	return name, b
}

// screenshotDir is test-output/screenshots/<backend> at the repository's
// root, made if missing.
func screenshotDir(t *testing.T, backend string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	dir = filepath.Join(dir, "test-output", "screenshots", strings.NewReplacer("+", "-").Replace(backend))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
