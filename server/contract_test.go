package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/modelkeep/modelkeep/api"
)

// contract validates every response a test receives against openapi.yaml
// and records which operations and statuses were seen, so that the code and
// the contract cannot drift apart unnoticed.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]map[int]bool // operationId -> statuses
	all    []string
	// sawOtherMethod: a test met a 405 (MethodNotAllowed).
	sawOtherMethod bool
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
	c := &contract{doc: doc, router: router, seen: map[string]map[int]bool{}}
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
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return c.checkOtherMethod(routeReq, resp)
	case errors.Is(err, routers.ErrPathNotFound) && strings.HasPrefix(req.URL.Path, "/api/"):
		// A path outside the contract: 404 with the error body (info), or
		// 429 when the address's budget is spent.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusTooManyRequests {
			return fmt.Errorf("%s %s: not a path of openapi.yaml, answered %d, want 404", req.Method, req.URL.Path, resp.StatusCode)
		}
		return c.checkErrorBody(req, resp)
	case err != nil:
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

// checkOtherMethod checks the answer to a method a path of the contract does
// not list: 204 with Allow for OPTIONS, else the MethodNotAllowed response
// (405, Allow naming the path's methods, the error body).
func (c *contract) checkOtherMethod(req *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusTooManyRequests {
		// The address's budget is spent before the router answers.
		if req.Method == http.MethodHead {
			return nil
		}
		return c.checkErrorBody(req, resp)
	}
	item := c.pathItem(req)
	if item == nil {
		return fmt.Errorf("%s %s: no path of openapi.yaml", req.Method, req.URL.Path)
	}
	want := []string{http.MethodOptions}
	for method := range item.Operations() {
		want = append(want, method)
	}
	sort.Strings(want)
	var got []string
	for m := range strings.SplitSeq(resp.Header.Get("Allow"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			got = append(got, m)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s %s → %d: Allow %q, want the path's methods %v", req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Allow"), want)
	}
	if req.Method == http.MethodOptions {
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("OPTIONS %s → %d, want 204 (info)", req.URL.Path, resp.StatusCode)
		}
		return nil
	}
	if resp.StatusCode != http.StatusMethodNotAllowed {
		return fmt.Errorf("%s %s: a method the path does not list answered %d, want 405 (MethodNotAllowed)", req.Method, req.URL.Path, resp.StatusCode)
	}
	c.mu.Lock()
	c.sawOtherMethod = true
	c.mu.Unlock()
	if req.Method == http.MethodHead {
		return nil // no body
	}
	return c.checkErrorBody(req, resp)
}

// pathItem is the path of the contract req's path matches, whatever the
// method.
func (c *contract) pathItem(req *http.Request) *openapi3.PathItem {
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r := req.Clone(context.Background())
		r.Method = method
		if route, _, err := c.router.FindRoute(r); err == nil {
			return route.PathItem
		}
	}
	return nil
}

// checkErrorBody checks that an answer is the JSON error body.
func (c *contract) checkErrorBody(req *http.Request, resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%s %s → %d: Content-Type %q, want the JSON error body", req.Method, req.URL.Path, resp.StatusCode, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s → %d: %w", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	if err := c.doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
		return fmt.Errorf("%s %s → %d: not the error body of openapi.yaml: %w", req.Method, req.URL.Path, resp.StatusCode, err)
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
	if !c.sawOtherMethod {
		out = append(out, "(405 MethodNotAllowed)")
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
