package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/modelkeep/modelkeep/api"
)

// contract validates every response a test receives against openapi.yaml
// and records which operations and statuses were seen, so that the code and
// the contract cannot drift apart unnoticed.
type contract struct {
	router routers.Router
	mu     sync.Mutex
	seen   map[string]map[int]bool // operationId -> statuses
	all    []string
}

func newContract() (*contract, error) {
	doc, err := api.LoadSpec()
	if err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	c := &contract{router: router, seen: map[string]map[int]bool{}}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			c.all = append(c.all, op.OperationID)
		}
	}
	sort.Strings(c.all)
	return c, nil
}

// filePathRE finds the {path} part of byte routes, which may span several
// segments: the OpenAPI router matches one segment, so it routes a stand-in.
var filePathRE = regexp.MustCompile(`^(/api/v1/models/[^/]+/versions/[^/]+/files/)(.+)$`)

// check validates one exchange; it returns the response with its body
// restored (non-binary bodies are read to be validated).
func (c *contract) check(req *http.Request, resp *http.Response) error {
	routeReq := req.Clone(context.Background())
	filePath := ""
	if m := filePathRE.FindStringSubmatch(req.URL.Path); m != nil {
		filePath = m[2]
		routeReq.URL = &url.URL{Path: m[1] + "stand-in", RawQuery: req.URL.RawQuery}
	}
	route, params, err := c.router.FindRoute(routeReq)
	if err != nil {
		return fmt.Errorf("%s %s: no operation in openapi.yaml: %w", req.Method, req.URL.Path, err)
	}
	if filePath != "" {
		params["path"] = filePath
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	ct := resp.Header.Get("Content-Type")
	binary := !strings.HasPrefix(ct, "application/json")
	if binary {
		opts.ExcludeResponseBody = true
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: routeReq, PathParams: params, Route: route, Options: opts},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                opts,
	}
	if !binary {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		input.SetBodyBytes(body)
	}
	c.mu.Lock()
	if c.seen[route.Operation.OperationID] == nil {
		c.seen[route.Operation.OperationID] = map[int]bool{}
	}
	c.seen[route.Operation.OperationID][resp.StatusCode] = true
	c.mu.Unlock()
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s → %d does not match openapi.yaml: %w", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	return nil
}

// unexercised lists the operations no test called.
func (c *contract) unexercised() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, op := range c.all {
		if len(c.seen[op]) == 0 {
			out = append(out, op)
		}
	}
	return out
}

// transport wraps a RoundTripper with the contract check.
type transport struct {
	t        testing.TB
	contract *contract
	next     http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := tr.contract.check(req, resp); err != nil {
		tr.t.Errorf("contract: %v", err)
	}
	watchIssuedToken(req, resp)
	return resp, nil
}
