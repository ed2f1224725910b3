// Package openapi is generated from openapi.yaml: wire types and the Echo
// strict server interface (the spec itself is embedded by the root's
// spec.go). Run `go generate ./...`.
package openapi

//go:generate go run ../../internal/cmd/cardschema ../../openapi.yaml
//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi.yaml
