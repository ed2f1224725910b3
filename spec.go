package modelkeep

import _ "embed"

// OpenAPISpec is openapi.yaml, the HTTP contract, as served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPISpec []byte
