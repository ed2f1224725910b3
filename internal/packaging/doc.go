// Package packaging holds no code, only tests: they check the files that
// package and deploy Modelkeep (Dockerfile, .dockerignore, compose.yaml)
// with the parsers Docker itself uses, so that a broken image or stack shows
// up in `go test ./...` on machines without a container engine.
package packaging
