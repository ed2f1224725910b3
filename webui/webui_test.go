package webui

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The first page's JS and CSS (app.js, the chunks it imports statically,
// app.css) stay within 150 KiB compressed (issue 14).
func TestFirstPageBudget(t *testing.T) {
	files, _ := fs.Sub(static, "static")
	app, err := fs.ReadFile(files, "app.js")
	if err != nil {
		t.Fatal(err)
	}
	first := []string{"app.js", "app.css"}
	// esbuild's static imports: import{...}from"./chunks/x-HASH.js"
	for _, m := range regexp.MustCompile(`from"\./(chunks/[^"]+\.js)"`).FindAllStringSubmatch(string(app), -1) {
		first = append(first, m[1])
	}
	total := 0
	for _, name := range first {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		total += gzipSize(t, b)
	}
	if total > 150*1024 || total < 1024 {
		t.Errorf("the first page's JS+CSS (%v) is %d bytes gzipped; the budget is 150 KiB", first, total)
	}
	t.Logf("first page: %v, %.1f KiB gzipped", first, float64(total)/1024)
}

func gzipSize(t *testing.T, b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

// The Content-Security-Policy forbids inline script and style: index.html
// has neither, and loads nothing from elsewhere.
func TestIndexHasNoInlineCode(t *testing.T) {
	b, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\son[a-z]+=`), // event handler attributes
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`(?:src|href)="(?:https?:)?//`),
	} {
		if bad.MatchString(html) {
			t.Errorf("index.html matches %s", bad)
		}
	}
}

func TestHandler(t *testing.T) {
	h := Handler("")
	tests := []struct {
		path, wantType string
		status         int
		wantBody       string
		cache          string
	}{
		{"/", "text/html", http.StatusOK, `id="app"`, "no-cache"},
		{"/models/fraud/versions/3/lineage", "text/html", http.StatusOK, `id="app"`, "no-cache"},
		{"/audit", "text/html", http.StatusOK, `id="app"`, "no-cache"},
		{"/app.js", "text/javascript", http.StatusOK, "", "no-cache"},
		{"/app.css", "text/css", http.StatusOK, "", "no-cache"},
		{"/missing.js", "text/plain", http.StatusNotFound, "", ""},
		{"/chunks/missing-ABC.js", "text/plain", http.StatusNotFound, "", ""},
		{"/datasets/holdout/versions/1.0", "text/html", http.StatusOK, `id="app"`, "no-cache"},
		{"/runs/train.v2", "text/html", http.StatusOK, `id="app"`, "no-cache"},
		{"/models/bert.v2/versions/1/metrics", "text/html", http.StatusOK, `id="app"`, "no-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.wantType) || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("%s: %d %s %.60q", tt.path, rec.Code, rec.Header().Get("Content-Type"), body)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.cache)
			}
		})
	}
}
