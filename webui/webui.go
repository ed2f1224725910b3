// Package webui is Modelkeep's browser UI: static HTML, CSS and ES modules
// embedded in the binary, with no build step.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"os"
)

//go:embed static
var static embed.FS

// Handler serves the UI files. With dir set it serves that directory
// instead (development: edit and reload without rebuilding).
func Handler(dir string) http.Handler {
	var files fs.FS
	if dir != "" {
		files = os.DirFS(dir)
	} else {
		files, _ = fs.Sub(static, "static") // "static" is embedded above, so Sub cannot fail
	}
	return http.FileServerFS(files)
}
