// Package openapi is generated from openapi.yaml: wire types, the Echo strict
// server interface and the embedded spec. Run `go generate ./...`.
package openapi

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml
