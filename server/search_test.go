package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSearch drives filter and order_by through the API on each backend:
// the example filter, pagination across pages of a sorted, filtered
// list, and the 400s for a bad filter, a bad order and a token reused with
// another filter.
func TestSearch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		testSearch(t, e)
	})
}

func testSearch(t *testing.T, e *env) {
	for _, m := range []map[string]any{
		{"name": "fraud", "tags": map[string]string{"team": "risk"}},
		{"name": "churn", "tags": map[string]string{"team": "growth"}},
		{"name": "credit", "tags": map[string]string{"team": "risk", "tier": "1"}},
	} {
		e.expect(e.do("POST", "/api/v1/models", m), http.StatusCreated, nil)
	}
	// Versions of fraud: tags, params and the latest auc of each.
	for i, v := range []struct {
		tags   map[string]string
		params map[string]string
		auc    []float64 // by step; the last is the latest
		ready  bool
	}{
		{map[string]string{"team": "risk"}, map[string]string{"lr": "0.1"}, []float64{0.7, 0.93}, true},              // 1: 0.93
		{map[string]string{"team": "risk"}, map[string]string{"lr": "0.01"}, []float64{0.95, 0.85}, false},           // 2: 0.85
		{map[string]string{"team": "growth"}, map[string]string{"lr": "0.1"}, []float64{0.99}, true},                 // 3: 0.99
		{map[string]string{"team": "risk", "region": "eu"}, nil, []float64{0.91}, false},                             // 4: 0.91
		{map[string]string{"team": "risk"}, map[string]string{"lr": "0.1"}, nil, true},                               // 5: none
		{map[string]string{"team": "risk", "region": "us"}, map[string]string{"opt": "adam"}, []float64{0.97}, true}, // 6: 0.97
	} {
		n := i + 1
		var created struct{ Version int }
		body := map[string]any{"tags": v.tags}
		if v.params != nil {
			body["params"] = v.params
		}
		e.expect(e.do("POST", "/api/v1/models/fraud/versions", body), http.StatusCreated, &created)
		if created.Version != n {
			t.Fatalf("created version %d, want %d", created.Version, n)
		}
		base := fmt.Sprintf("/api/v1/models/fraud/versions/%d", n)
		if len(v.auc) > 0 {
			var points []map[string]any
			for step, a := range v.auc {
				points = append(points, map[string]any{"key": "auc", "value": a, "step": step})
			}
			e.expect(e.do("POST", base+"/metrics", map[string]any{"metrics": points}), http.StatusCreated, nil)
		}
		if v.ready {
			e.expect(e.do("PUT", base+"/files/model.bin", []byte("weights")), http.StatusCreated, nil)
			e.expect(e.do("POST", base+"/finalize", nil), http.StatusOK, nil)
		}
	}

	list := func(path, filter, orderBy string, pageSize int) string {
		t.Helper()
		var out []string
		token := ""
		for range 20 {
			q := url.Values{"page_size": {fmt.Sprint(pageSize)}}
			if filter != "" {
				q.Set("filter", filter)
			}
			if orderBy != "" {
				q.Set("order_by", orderBy)
			}
			if token != "" {
				q.Set("page_token", token)
			}
			var page struct {
				Models []struct {
					Name string
				}
				Versions []struct {
					Version int
				}
				NextPageToken string `json:"next_page_token"`
			}
			e.expect(e.do("GET", path+"?"+q.Encode(), nil), http.StatusOK, &page)
			for _, m := range page.Models {
				out = append(out, m.Name)
			}
			for _, v := range page.Versions {
				out = append(out, fmt.Sprint(v.Version))
			}
			if token = page.NextPageToken; token == "" {
				return strings.Join(out, ",")
			}
		}
		t.Fatal("too many pages")
		return ""
	}

	const versions = "/api/v1/models/fraud/versions"
	for _, tc := range []struct{ filter, orderBy, want string }{
		{`tags.team = "risk" AND metrics.auc >= 0.9 AND status IN ("ready")`, "", "6,1"},
		{`tags.team = "risk" AND metrics.auc >= 0.9`, "metrics.auc DESC", "6,1,4"},
		{`tags.team = "risk" AND (tags.region = "eu" OR params.lr = "0.01")`, "", "4,2"},
		{`params.lr = "0.1"`, "version", "1,3,5"},
		{`tags.region LIKE "%"`, "", "6,4"},
		{"", "metrics.auc DESC", "3,6,1,4,2,5"},
		{"", "metrics.auc", "2,4,1,6,3,5"},
		{`status = "ready"`, "finalized_at DESC", "6,5,3,1"},
		{"", "", "6,5,4,3,2,1"},
	} {
		for _, size := range []int{1, 2, 50} {
			if got := list(versions, tc.filter, tc.orderBy, size); got != tc.want {
				t.Errorf("versions filter=%q order_by=%q page_size=%d: %q, want %q", tc.filter, tc.orderBy, size, got, tc.want)
			}
		}
	}
	for _, tc := range []struct{ filter, orderBy, want string }{
		{`tags.team = "risk"`, "", "credit,fraud"},
		{`tags.team = "risk" OR tags.team = "growth"`, "name DESC", "fraud,credit,churn"},
		{`name LIKE "c%"`, "created_at DESC", "credit,churn"},
	} {
		for _, size := range []int{1, 50} {
			if got := list("/api/v1/models", tc.filter, tc.orderBy, size); got != tc.want {
				t.Errorf("models filter=%q order_by=%q page_size=%d: %q, want %q", tc.filter, tc.orderBy, size, got, tc.want)
			}
		}
	}

	// Bad input is a 400 whose message points at the problem.
	get := func(path string, q url.Values) *http.Response { return e.do("GET", path+"?"+q.Encode(), nil) }
	e.expectError(get(versions, url.Values{"filter": {`tags.team = risk`}}), http.StatusBadRequest, "invalid_argument",
		"invalid filter at position 13: expected a double-quoted string")
	e.expectError(get(versions, url.Values{"filter": {`metrics.auc LIKE "x"`}}), http.StatusBadRequest, "invalid_argument",
		"metrics.auc is a number")
	e.expectError(get(versions, url.Values{"filter": {`stage = "prod"`}}), http.StatusBadRequest, "invalid_argument",
		`"prod" is not a valid stage`)
	e.expectError(get("/api/v1/models", url.Values{"filter": {`metrics.auc > 1`}}), http.StatusBadRequest, "invalid_argument",
		`unknown field "metrics.auc"`)
	e.expectError(get(versions, url.Values{"order_by": {"tags.team"}}), http.StatusBadRequest, "invalid_argument",
		"invalid order_by at position 1: cannot sort by tags.team")
	e.expectError(get(versions, url.Values{"filter": {strings.Repeat(" ", 4097)}}), http.StatusBadRequest, "invalid_argument", "filter")
	e.expectError(get(versions, url.Values{"page_size": {"1001"}}), http.StatusBadRequest, "invalid_argument", "page_size")

	// A page token only continues the listing it came from.
	var page struct {
		NextPageToken string `json:"next_page_token"`
	}
	e.expect(get(versions, url.Values{"filter": {`tags.team = "risk"`}, "order_by": {"metrics.auc DESC"}, "page_size": {"1"}}), http.StatusOK, &page)
	if page.NextPageToken == "" {
		t.Fatal("no next page")
	}
	for _, q := range []url.Values{
		{"filter": {`tags.team = "growth"`}, "order_by": {"metrics.auc DESC"}},
		{"filter": {`tags.team = "risk"`}, "order_by": {"metrics.auc ASC"}},
		{"filter": {`tags.team = "risk"`}},
	} {
		q.Set("page_token", page.NextPageToken)
		e.expectError(get(versions, q), http.StatusBadRequest, "invalid_argument", "another listing")
	}
	// The same query, spelt differently, is the same listing.
	e.expect(get(versions, url.Values{"filter": {`tags.team="risk"`}, "order_by": {"metrics.auc desc"}, "page_token": {page.NextPageToken}}), http.StatusOK, nil)
}
