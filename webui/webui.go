// Package webui is Modelkeep's browser UI: the files build.mjs makes from
// src/ (an ES module entry with lazily loaded chunks, one stylesheet,
// index.html), committed in static/ and embedded in the binary, so that
// serving needs no Node and makes no outside request.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
)

// The build: the pinned packages of package-lock.json, then build.mjs. The
// test command runs go generate and fails when static/ (or the access
// table generated from openapi.yaml) differs from the committed files.
//go:generate npm ci --no-audit --no-fund --loglevel=error
//go:generate node build.mjs

//go:embed static
var static embed.FS

// Handler serves the UI files under the path it is given (the server
// strips /ui). A path that names no file is a page of the UI: it gets
// index.html, and the page's script reads the path. With dir set it serves
// that directory instead (development: rebuild and reload without
// restarting).
func Handler(dir string) http.Handler {
	var files fs.FS
	if dir != "" {
		files = os.DirFS(dir)
	} else {
		files, _ = fs.Sub(static, "static") // "static" is embedded above, so Sub cannot fail
	}
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && isFile(files, name) {
			if strings.HasPrefix(name, "chunks/") || strings.HasPrefix(name, "assets/") {
				// Their names carry their content's hash.
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache")
			}
			fileServer.ServeHTTP(w, r)
			return
		}
		if isAsset(name) {
			http.NotFound(w, r) // a missing asset, not a page
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	})
}

// isAsset tells the build's files (app.js, chunks/..., assets/...) from
// the pages, whose paths may end in a dot and more: a dataset version
// /ui/datasets/holdout/versions/1.0, a run id, a model name.
func isAsset(name string) bool {
	return strings.HasPrefix(name, "chunks/") || strings.HasPrefix(name, "assets/") || !strings.Contains(name, "/") && path.Ext(name) != ""
}

func isFile(files fs.FS, name string) bool {
	st, err := fs.Stat(files, name)
	return err == nil && !st.IsDir()
}
