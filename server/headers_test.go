package server_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// theUICSP is the policy of the issue: what every /ui/ response carries.
const theUICSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// TestSecurityHeaders: the UI's pages (and its errors) carry the strict
// policy and its companions; API answers are not sniffed nor framed, and
// session answers not cached.
func TestSecurityHeaders(t *testing.T) {
	dir := t.TempDir()
	e := startEnv(t, "sqlite:"+dir+"/mk.db", "file:"+dir+"/blobs")
	ui := map[string]string{
		"Content-Security-Policy": theUICSP, "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin",
	}
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/style.css", "/ui/no-such-page"} {
		resp, err := http.Get(e.http.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, want := range ui {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("GET %s (%d): %s = %q, want %q", p, resp.StatusCode, k, got, want)
			}
		}
	}
	api := map[string]string{"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "frame-ancestors 'none'"}
	for _, p := range []string{"/api/v1/models", "/api/v1/nothing-here", "/healthz"} {
		req, err := http.NewRequest("GET", e.http.URL+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req) // not the contract's client: one path is not in it
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, want := range api {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("GET %s (%d): %s = %q, want %q", p, resp.StatusCode, k, got, want)
			}
		}
	}
	resp := e.as("").do("GET", "/api/v1/session", nil)
	resp.Body.Close()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("GET /api/v1/session: Cache-Control %q, want no-store", got)
	}
}

// TestWebUIKeepsToCSP: no file of the web UI does what its policy forbids,
// so no page violates it: no inline script, event handler or javascript:
// URL, no inline style, nothing loaded from another origin, no frames,
// plugins or <base>, no eval. The committed files are the embedded ones.
func TestWebUIKeepsToCSP(t *testing.T) {
	root := os.DirFS("../webui/static")
	n := 0
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		n++
		for _, v := range cspViolations(p, b) {
			t.Errorf("webui/static/%s: %s", p, v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no web UI files found")
	}
}

// The checker finds what it must: each sample breaks the policy once.
func TestCSPViolations(t *testing.T) {
	tests := []struct{ name, file, content string }{
		{"inline script", "a.html", `<script>alert(1)</script>`},
		{"import map", "a.html", `<script type="importmap">{"imports":{}}</script>`},
		{"script from elsewhere", "a.html", `<script src="https://cdn.example/x.js"></script>`},
		{"protocol-relative script", "a.html", `<script src="//cdn.example/x.js"></script>`},
		{"event handler", "a.html", `<button onclick="go()">go</button>`},
		{"javascript: URL", "a.html", `<a href="javascript:go()">go</a>`},
		{"style element", "a.html", `<style>p{}</style>`},
		{"style attribute", "a.html", `<p style="color:red">x</p>`},
		{"stylesheet from elsewhere", "a.html", `<link rel="stylesheet" href="https://fonts.example/a.css">`},
		{"image from elsewhere", "a.html", `<img src="https://img.example/a.png">`},
		{"frame", "a.html", `<iframe src="/ui/x.html"></iframe>`},
		{"base", "a.html", `<base href="/">`},
		{"form to elsewhere", "a.html", `<form action="https://evil.example/"></form>`},
		{"eval", "a.js", `const x = eval("1+1");`},
		{"Function", "a.js", `const f = new Function("return 1");`},
		{"string timer", "a.js", `setTimeout("go()", 10);`},
		{"style attribute from script", "a.js", `el.setAttribute("style", "color:red");`},
		{"fetch elsewhere", "a.js", "await fetch(`https://api.example/x`);"},
		{"module from elsewhere", "a.js", `import { x } from "https://cdn.example/x.js";`},
		{"font from elsewhere", "a.css", `@font-face { src: url("https://fonts.example/a.woff2"); }`},
		{"import from elsewhere", "a.css", `@import "//cdn.example/a.css";`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cspViolations(tt.file, []byte(tt.content)); len(got) != 1 {
				t.Errorf("violations %q, want one", got)
			}
		})
	}
	fine := map[string]string{
		"a.html": `<!doctype html><link rel="stylesheet" href="style.css"><img src="data:image/png;base64,AA=="><img src="/ui/logo.svg">` +
			`<script type="module" src="app.js"></script><form action="/api/v1/session"></form><a href="/openapi.yaml">spec</a>`,
		"a.js":  "const r = await fetch(`/api/v1/models?${q}`); el.style.display = 'none'; import('./views/models.js');",
		"a.css": `@font-face { src: url("fonts/a.woff2"); } body { background: url(data:image/png;base64,AA==); }`,
	}
	for file, content := range fine {
		if got := cspViolations(file, []byte(content)); len(got) != 0 {
			t.Errorf("%s: violations %q in a file that keeps to the policy", file, got)
		}
	}
}

// cspViolations lists what in one UI file the policy would block.
func cspViolations(name string, b []byte) []string {
	switch path.Ext(name) {
	case ".html", ".htm":
		return htmlViolations(b)
	case ".js", ".mjs":
		return matchViolations(b, jsForbidden)
	case ".css":
		return matchViolations(b, cssForbidden)
	}
	return nil
}

// foreign matches a URL of another origin (absolute or protocol-relative).
var foreign = regexp.MustCompile(`^\s*(?i:[a-z][a-z0-9+.-]*:|//)`)

// sameOrigin reports whether a URL attribute stays on this origin (data:
// only where allowed).
func sameOrigin(v string, dataOK bool) bool {
	if dataOK && strings.HasPrefix(strings.TrimSpace(strings.ToLower(v)), "data:") {
		return true
	}
	return !foreign.MatchString(v)
}

func htmlViolations(b []byte) []string {
	var out []string
	z := html.NewTokenizer(bytes.NewReader(b))
	inScript := ""
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out
		case html.TextToken:
			if inScript != "" && strings.TrimSpace(string(z.Text())) != "" {
				out = append(out, "inline script in <"+inScript+">")
			}
			continue
		case html.EndTagToken:
			inScript = ""
			continue
		case html.StartTagToken, html.SelfClosingTagToken:
		default:
			continue
		}
		tok := z.Token()
		attrs := map[string]string{}
		for _, a := range tok.Attr {
			k := strings.ToLower(a.Key)
			attrs[k] = a.Val
			switch {
			case strings.HasPrefix(k, "on"):
				out = append(out, fmt.Sprintf("event handler %s on <%s>", k, tok.Data))
			case k == "style":
				out = append(out, fmt.Sprintf("style attribute on <%s>", tok.Data))
			case strings.HasPrefix(strings.TrimSpace(strings.ToLower(a.Val)), "javascript:"):
				out = append(out, fmt.Sprintf("javascript: URL in %s of <%s>", k, tok.Data))
			}
		}
		switch tok.Data {
		case "script":
			if src, ok := attrs["src"]; !ok {
				inScript = "script" // its text is inline script
			} else if !sameOrigin(src, false) {
				out = append(out, "script from another origin: "+src)
			}
		case "style":
			out = append(out, "<style> element (inline style)")
		case "iframe", "frame", "object", "embed", "applet", "base":
			out = append(out, fmt.Sprintf("<%s> element", tok.Data))
		case "link":
			if href := attrs["href"]; !sameOrigin(href, false) && !strings.Contains(attrs["rel"], "canonical") {
				out = append(out, "link from another origin: "+href)
			}
		case "img", "source", "video", "audio", "track", "input":
			if src, ok := attrs["src"]; ok && !sameOrigin(src, tok.Data == "img" || tok.Data == "input") {
				out = append(out, fmt.Sprintf("<%s> from another origin: %s", tok.Data, src))
			}
		case "form":
			if action, ok := attrs["action"]; ok && !sameOrigin(action, false) {
				out = append(out, "form posting to another origin: "+action)
			}
		}
		if tt == html.SelfClosingTagToken {
			inScript = ""
		}
	}
}

// jsForbidden and cssForbidden match what script-src 'self' (no
// 'unsafe-eval'), style-src 'self', connect-src 'self' and font-src 'self'
// refuse.
var (
	jsForbidden = map[string]*regexp.Regexp{
		"eval":                                 regexp.MustCompile(`\beval\s*\(`),
		"new Function":                         regexp.MustCompile(`\bnew\s+Function\s*\(`),
		"a timer given a string":               regexp.MustCompile(`\bset(Timeout|Interval)\s*\(\s*["'\x60]`),
		"a style attribute set from script":    regexp.MustCompile(`setAttribute\s*\(\s*["'\x60]style["'\x60]`),
		"a request to another origin":          regexp.MustCompile(`\b(fetch|EventSource|WebSocket)\s*\(\s*["'\x60](?i:[a-z]+:|//)`),
		"a module from another origin":         regexp.MustCompile(`\b(from|import)\s*\(?\s*["'\x60](?i:[a-z]+:|//)`),
		"document.write (of script or styles)": regexp.MustCompile(`\bdocument\.write(ln)?\s*\(`),
	}
	cssForbidden = map[string]*regexp.Regexp{
		"a url of another origin":     regexp.MustCompile(`url\(\s*["']?\s*(?i:https?:|//)`),
		"an import of another origin": regexp.MustCompile(`@import\s+(url\()?\s*["']?\s*(?i:https?:|//)`),
		"an expression()":             regexp.MustCompile(`(?i)expression\s*\(`),
	}
)

func matchViolations(b []byte, forbidden map[string]*regexp.Regexp) []string {
	var out []string
	for what, re := range forbidden {
		if loc := re.FindIndex(b); loc != nil {
			out = append(out, fmt.Sprintf("%s at byte %d: %q", what, loc[0], b[loc[0]:loc[1]]))
		}
	}
	return out
}
