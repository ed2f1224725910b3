package server_test

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
	"time"
)

// metricPage is a page of GET .../versions/{n}/metrics.
type metricPage struct {
	Metrics []struct {
		Key   string
		Value float64
		Step  int64
	}
	NextPageToken string `json:"next_page_token"`
}

// handToken makes a page token as the server encoded them before it signed
// them (base64url JSON), to say what no server would.
func handToken(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

// TestMetricPages: a version's metric points page with page_size and
// page_token, every point exactly once and in order (key, step, timestamp,
// then the order of recording), with and without ?key=, on every backend;
// points recorded between two pages are listed when they sort after the
// first page; bad page sizes and tokens are 400; promotion gates still
// read every point.
func TestMetricPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		pub := admin.as(admin.issue("ml-training", []string{"publisher"}))
		aud := admin.as(admin.issue("compliance", []string{"auditor"}))
		pub.mustCreateModel("fraud-detector")
		v := pub.mustCreateVersion("fraud-detector")
		base := fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/metrics", v)

		// 70 points; each value says which. Equal keys, steps and
		// timestamps in groups of about six: only the order of
		// recording orders those. Whole seconds and fractions.
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		// Five times against four steps: a step meets every time.
		times := []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(50 * time.Millisecond), t0.Add(-time.Second), t0.Add(2 * time.Second)}
		type point struct {
			key   string
			step  int64
			ts    time.Time
			value float64
		}
		var points []point
		var bodies [2][]map[string]any
		for i := range 70 {
			p := point{key: []string{"loss", "auc", "loss_val"}[i%3], step: int64(i % 4), ts: times[i%len(times)], value: float64(i)}
			points = append(points, p)
			bodies[i/40] = append(bodies[i/40], map[string]any{"key": p.key, "value": p.value, "step": p.step,
				"timestamp": p.ts.Format(time.RFC3339Nano), "dataset": "holdout", "split": "test"})
		}
		for _, body := range bodies {
			pub.expect(pub.do("POST", base, map[string]any{"metrics": body}), http.StatusCreated, &metricPage{})
		}
		slices.SortStableFunc(points, func(a, b point) int {
			return cmp.Or(strings.Compare(a.key, b.key), cmp.Compare(a.step, b.step), a.ts.Compare(b.ts))
		})
		want := func(key string) []float64 {
			var out []float64
			for _, p := range points {
				if key == "" || p.key == key {
					out = append(out, p.value)
				}
			}
			return out
		}

		// walk reads every page of a listing; query holds the filter.
		walk := func(t *testing.T, query url.Values, size int) []float64 {
			t.Helper()
			var got []float64
			pages := walkPages(t, aud, base, query, size,
				func(p metricPage) int { return len(p.Metrics) }, func(p metricPage) string { return p.NextPageToken })
			for _, page := range pages {
				for _, m := range page.Metrics {
					if k := query.Get("key"); k != "" && m.Key != k {
						t.Fatalf("key %q listed for ?key=%s", m.Key, k)
					}
					got = append(got, m.Value)
				}
			}
			return got
		}
		for _, key := range []string{"", "loss", "auc", "f1"} {
			for _, size := range []int{0, 1, 4, 7, 23, 50, 1000} {
				t.Run(fmt.Sprintf("key %q page_size %d", key, size), func(t *testing.T) {
					q := url.Values{}
					if key != "" {
						q.Set("key", key)
					}
					if got := walk(t, q, size); !slices.Equal(got, want(key)) {
						t.Errorf("values in page order %v\nwant %v", got, want(key))
					}
				})
			}
		}

		t.Run("points recorded between pages", func(t *testing.T) {
			aud, pub := aud.on(t), pub.on(t)
			var first metricPage
			aud.expect(aud.do("GET", base+"?page_size=5", nil), http.StatusOK, &first)
			// "a" sorts before the first page's points, "zz" after all.
			pub.expect(pub.do("POST", base, map[string]any{"metrics": []map[string]any{
				{"key": "a", "value": 1000}, {"key": "zz", "value": 1001},
			}}), http.StatusCreated, nil)
			got := walk(t, url.Values{"page_token": {first.NextPageToken}}, 9)
			if w := append(want("")[5:], 1001); !slices.Equal(got, w) {
				t.Errorf("after the first page %v\nwant %v", got, w)
			}
		})

		t.Run("bad pages", func(t *testing.T) {
			aud := aud.on(t)
			var loss, all metricPage
			aud.expect(aud.do("GET", base+"?key=loss&page_size=2", nil), http.StatusOK, &loss)
			aud.expect(aud.do("GET", base+"?page_size=2", nil), http.StatusOK, &all)
			for _, tc := range []struct{ name, query, want string }{
				{"page size zero", "page_size=0", "page_size"},
				{"page size too big", "page_size=1001", "page_size"},
				{"page size not a number", "page_size=ten", "page_size"},
				{"garbage token", "page_token=%25%25", "page_token"},
				{"token of nothing", "page_token=" + handToken(`{}`), "not made by this server"},
				{"token of a negative step", "page_token=" + handToken(`{"n":"loss","v":-1,"s":3}`), "not made by this server"},
				{"token beyond year 9999", "page_token=" + handToken(`{"n":"loss","t":9000000000000000000,"s":3}`), "not made by this server"},
				{"token of another key", "key=auc&page_token=" + url.QueryEscape(loss.NextPageToken), "another listing"},
				{"token of one key, without the key", "page_token=" + url.QueryEscape(loss.NextPageToken), "another listing"},
				{"token of every key, with a key", "key=loss&page_token=" + url.QueryEscape(all.NextPageToken), "another listing"},
				{"token too long", "page_token=" + strings.Repeat("a", 1025), "page_token"},
				{"key too long", "key=" + strings.Repeat("k", 256), "key"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					aud := aud.on(t)
					aud.expectError(aud.do("GET", base+"?"+tc.query, nil), http.StatusBadRequest, "invalid_argument", tc.want)
				})
			}
			aud.expectError(aud.do("GET", "/api/v1/models/fraud-detector/versions/99/metrics?page_size=2", nil), http.StatusNotFound, "not_found", "")
		})

		t.Run("gates read every point", func(t *testing.T) {
			admin, pub := admin.on(t), pub.on(t)
			appr := admin.as(admin.issue("risk-officer", []string{"approver"}))
			admin.mustCreateModel("gated")
			appr.expect(appr.do("PUT", "/api/v1/models/gated/policy", map[string]any{
				"metric_gates": []map[string]any{{"key": "zz", "op": ">=", "threshold": 0.9}},
			}), http.StatusOK, nil)
			gv := pub.readyVersion("gated", map[string]any{})
			many := make([]map[string]any, 1000)
			for i := range many {
				many[i] = map[string]any{"key": "a", "value": i, "step": i}
			}
			// More points than the largest page before the one the gate
			// reads.
			gbase := fmt.Sprintf("/api/v1/models/gated/versions/%d/metrics", gv)
			pub.expect(pub.do("POST", gbase, map[string]any{"metrics": many}), http.StatusCreated, nil)
			pub.expect(pub.do("POST", gbase, map[string]any{"metrics": many[:1]}), http.StatusCreated, nil)
			pub.expect(pub.do("POST", gbase, map[string]any{"metrics": []map[string]any{{"key": "zz", "value": 0.95}}}), http.StatusCreated, nil)
			tr := pub.requestTransition("gated", gv, "production")
			var done transition
			appr.expect(appr.do("POST", "/api/v1/transitions/"+tr.ID+"/approve", map[string]any{"comment": "gates pass"}), http.StatusOK, &done)
			if done.Status != "approved" || pub.stageOf("gated", gv) != "production" {
				t.Fatalf("approval = %+v", done)
			}
		})
	})
}

// usedByPage is GET /api/v1/datasets/{name}/versions/{version}.
type usedByPage struct {
	Name   string
	UsedBy []struct {
		Model   string
		Version int
		Role    string
	} `json:"used_by"`
	UsedByTruncated bool   `json:"used_by_truncated"`
	NextPageToken   string `json:"next_page_token"`
}

// TestDatasetUsedByPages: a dataset's used_by pages with page_size and
// page_token, newest first, every use exactly once, on every backend; a
// token restricted to some models sees only their uses, in full pages;
// used_by_truncated says that there is a next page; bad page sizes and
// tokens are 400.
func TestDatasetUsedByPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		pub := admin.as(admin.issue("ml-training", []string{"publisher"}))
		const dataset = "/api/v1/datasets/transactions/versions/2026-11"

		// 48 versions of four models, created in turns; every third
		// names the dataset in two roles: 64 uses. fraud_* is fraud_x
		// alone (_ is no wildcard).
		models := []string{"fraud-a", "churn", "fraud-b", "fraud_x"}
		for _, m := range models {
			pub.mustCreateModel(m)
		}
		var uses []string // newest first
		for i := range 48 {
			m := models[i%len(models)]
			roles := []string{"training"}
			if i%3 == 0 {
				roles = append(roles, "validation")
			}
			var datasets []map[string]any
			for _, r := range roles {
				datasets = append(datasets, map[string]any{"name": "transactions", "version": "2026-11", "role": r})
			}
			var v struct{ Version int }
			pub.expect(pub.do("POST", "/api/v1/models/"+m+"/versions", map[string]any{"datasets": datasets}), http.StatusCreated, &v)
			var these []string
			for _, r := range roles {
				these = append(these, fmt.Sprintf("%s/%d %s", m, v.Version, r))
			}
			uses = append(these, uses...)
		}
		scoped := func(patterns ...string) []string {
			return slices.DeleteFunc(slices.Clone(uses), func(u string) bool {
				model, _, _ := strings.Cut(u, "/")
				return !slices.ContainsFunc(patterns, func(p string) bool {
					ok, _ := path.Match(p, model)
					return ok
				})
			})
		}

		walk := func(t *testing.T, e *env, size int) []string {
			t.Helper()
			var got []string
			pages := walkPages(t, e, dataset, nil, size,
				func(p usedByPage) int { return len(p.UsedBy) }, func(p usedByPage) string { return p.NextPageToken })
			for _, page := range pages {
				if page.Name != "transactions" || page.UsedByTruncated != (page.NextPageToken != "") {
					t.Fatalf("page_size %d: dataset %q, truncated %v, next %q", size, page.Name, page.UsedByTruncated, page.NextPageToken)
				}
				for _, u := range page.UsedBy {
					got = append(got, fmt.Sprintf("%s/%d %s", u.Model, u.Version, u.Role))
				}
			}
			return got
		}
		tests := []struct {
			name     string
			patterns []string // the token's model scope
			want     []string
		}{
			{name: "unscoped", want: uses},
			{name: "fraud-*", patterns: []string{"fraud-*"}, want: scoped("fraud-*")},
			{name: "fraud_*", patterns: []string{"fraud_*"}, want: scoped("fraud_*")},
			{name: "churn and fraud-b", patterns: []string{"churn", "fraud-b"}, want: scoped("churn", "fraud-b")},
			{name: "no model that used it", patterns: []string{"other-*"}},
		}
		for _, tt := range tests {
			aud := admin.as(admin.issue("auditor-"+tt.name, []string{"auditor"}, tt.patterns...))
			for _, size := range []int{0, 1, 5, 17, 50, 1000} {
				t.Run(fmt.Sprintf("%s page_size %d", tt.name, size), func(t *testing.T) {
					if got := walk(t, aud, size); !slices.Equal(got, tt.want) {
						t.Errorf("used_by in page order %v\nwant %v", got, tt.want)
					}
				})
			}
		}

		t.Run("bad pages", func(t *testing.T) {
			admin := admin.on(t)
			var first usedByPage
			admin.expect(admin.do("GET", dataset+"?page_size=1", nil), http.StatusOK, &first)
			// A token names a position in one dataset's uses, not another's.
			admin.expect(admin.do("POST", "/api/v1/datasets", map[string]any{"name": "other-data", "version": "1"}), http.StatusCreated, nil)
			admin.expectError(admin.do("GET", "/api/v1/datasets/other-data/versions/1?page_token="+url.QueryEscape(first.NextPageToken), nil),
				http.StatusBadRequest, "invalid_argument", "another listing")
			for _, tc := range []struct{ name, query string }{
				{"page size zero", "page_size=0"},
				{"page size too big", "page_size=1001"},
				{"garbage token", "page_token=%25%25"},
				{"token of nothing", "page_token=" + handToken(`{}`)},
				{"token of a bad model name", "page_token=" + handToken(`{"n":"Fraud","v":1,"r":"training"}`)},
				{"token without a role", "page_token=" + handToken(`{"n":"fraud-a","v":1}`)},
				{"token beyond year 9999", "page_token=" + handToken(`{"n":"fraud-a","v":1,"r":"training","t":-9000000000000000000}`)},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e := admin.on(t)
					want := "page_token"
					if strings.HasPrefix(tc.query, "page_size") {
						want = "page_size"
					}
					e.expectError(e.do("GET", dataset+"?"+tc.query, nil), http.StatusBadRequest, "invalid_argument", want)
				})
			}
			admin.expectError(admin.do("GET", "/api/v1/datasets/transactions/versions/1999?page_size=2", nil), http.StatusNotFound, "not_found", "")
		})
	})
}
