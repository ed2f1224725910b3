// Package readme holds the test that runs the README's marked shell
// examples against a fresh server on each backend (readme_test.go).
package readme
