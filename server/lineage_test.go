package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

type lineageGraph struct {
	Root  string
	Nodes []struct {
		ID    string
		Type  string
		Label string
	}
	Edges []struct {
		From, To, Relation string
	}
	Truncated bool
}

func (g lineageGraph) nodeIDs() []string {
	var ids []string
	for _, n := range g.Nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

func (g lineageGraph) edgeList() []string {
	var es []string
	for _, e := range g.Edges {
		es = append(es, e.From+" "+e.Relation+" "+e.To)
	}
	return es
}

func (g lineageGraph) label(id string) string {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n.Label
		}
	}
	return ""
}

// lineage reads the lineage graph of a version; query is "" or starts with ?.
func (e *env) lineage(model string, version int, query string) lineageGraph {
	e.t.Helper()
	var g lineageGraph
	e.expect(e.do("GET", fmt.Sprintf("/api/v1/models/%s/versions/%d/lineage%s", model, version, query), nil), http.StatusOK, &g)
	return g
}

// TestLineageStory is the compliance story: a dataset is registered, a
// training run produces fraud-detector v1 from it, fraud-detector-eu v1 is
// fine-tuned from that in another model and deployed in prod-eu; the graph
// is then read from both ends, and data scientists compare the versions by
// their metrics.
func TestLineageStory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		pub := admin.as(admin.issue("ml-training", []string{"publisher"}))
		appr := admin.as(admin.issue("risk-officer", []string{"approver"}))
		dep := admin.as(admin.issue("deploy-pipeline", []string{"deployer"}))
		aud := admin.as(admin.issue("compliance", []string{"auditor"}))

		// The data team registers the training data; doing it again is
		// harmless, changing its bytes under the same version is not.
		txSHA := strings.Repeat("ab", 32)
		tx := map[string]any{"name": "transactions", "version": "2026-11", "uri": "s3://data/transactions/2026-11/",
			"sha256": txSHA, "size": 52 << 30, "license": "proprietary", "description": "card transactions, November"}
		var ds struct {
			Name, Version, Sha256 string
			Size                  int64
			CreatedBy             string `json:"created_by"`
		}
		pub.expect(pub.do("POST", "/api/v1/datasets", tx), http.StatusCreated, &ds)
		if ds.Sha256 != txSHA || ds.Size != 52<<30 || ds.CreatedBy != "ml-training" {
			t.Fatalf("registered %+v", ds)
		}
		pub.expect(pub.do("POST", "/api/v1/datasets", tx), http.StatusOK, &ds)
		pub.expect(pub.do("POST", "/api/v1/datasets", map[string]any{"name": "transactions", "version": "2026-11"}), http.StatusOK, nil)
		pub.expectError(pub.do("POST", "/api/v1/datasets", map[string]any{"name": "transactions", "version": "2026-11", "sha256": strings.Repeat("cd", 32)}),
			http.StatusConflict, "conflict", "sha256")
		pub.expectError(pub.do("POST", "/api/v1/datasets", map[string]any{"name": "transactions"}), http.StatusBadRequest, "invalid_argument", "version")
		pub.expectError(pub.do("POST", "/api/v1/datasets", map[string]any{"name": "transactions", "version": "2026/11"}), http.StatusBadRequest, "invalid_argument", "version")
		dep.expectError(dep.do("POST", "/api/v1/datasets", tx), http.StatusForbidden, "forbidden", "")

		// A training run produces fraud-detector v1: it names the data
		// (the holdout set only by name, which creates its record) and
		// tells how it ran.
		pub.mustCreateModel("fraud-detector")
		run := map[string]any{
			"parameters":  map[string]string{"learning_rate": "0.001", "epochs": "12"},
			"environment": map[string]any{"framework": "pytorch", "framework_version": "2.5.1", "libraries": map[string]string{"numpy": "2.1.0"}, "hardware": "8x NVIDIA A100 80GB"},
		}
		v1 := pub.readyVersion("fraud-detector", map[string]any{
			"source": map[string]any{"run_id": "train-2026-11-01", "git_commit": "9fceb02", "code_uri": "https://git.example/fraud"},
			"datasets": []map[string]any{
				{"name": "transactions", "version": "2026-11", "sha256": txSHA, "role": "training"},
				{"name": "holdout", "version": "v3", "role": "evaluation"},
			},
			"run": run,
		})
		var r struct {
			RunID       string `json:"run_id"`
			GitCommit   string `json:"git_commit"`
			Parameters  map[string]string
			Environment struct {
				Framework string
				Libraries map[string]string
				Hardware  string
			}
		}
		aud.expect(aud.do("GET", "/api/v1/runs/train-2026-11-01", nil), http.StatusOK, &r)
		if r.GitCommit != "9fceb02" || r.Parameters["epochs"] != "12" || r.Environment.Framework != "pytorch" ||
			r.Environment.Libraries["numpy"] != "2.1.0" || r.Environment.Hardware == "" {
			t.Fatalf("run = %+v", r)
		}
		aud.expectError(aud.do("GET", "/api/v1/runs/no-such-run", nil), http.StatusNotFound, "not_found", "no-such-run")
		// The same run cannot say it ran other code.
		pub.expectError(pub.do("POST", "/api/v1/models/fraud-detector/versions", map[string]any{
			"source": map[string]any{"run_id": "train-2026-11-01", "git_commit": "0000000"}}), http.StatusConflict, "conflict", "git_commit")
		// Nor can a version claim other bytes under the registered version.
		pub.expectError(pub.do("POST", "/api/v1/models/fraud-detector/versions", map[string]any{
			"datasets": []map[string]any{{"name": "transactions", "version": "2026-11", "sha256": strings.Repeat("cd", 32)}}}),
			http.StatusConflict, "conflict", "sha256")

		// Fine-tuned for the EU in another model, approved and deployed.
		pub.mustCreateModel("fraud-detector-eu")
		v2 := pub.readyVersion("fraud-detector-eu", map[string]any{
			"parent":   map[string]any{"model": "fraud-detector", "version": v1, "relation": "fine_tuned_from"},
			"datasets": []map[string]any{{"name": "transactions-eu", "version": "2026-11", "role": "training"}},
		})
		tr := pub.requestTransition("fraud-detector-eu", v2, "production")
		appr.expect(appr.do("POST", "/api/v1/transitions/"+tr.ID+"/approve", map[string]any{"comment": "EU model risk review passed"}), http.StatusOK, nil)
		var d struct{ ID string }
		dep.expect(dep.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector-eu/versions/%d/deployments", v2),
			map[string]any{"environment": "prod-eu", "strategy": "direct"}), http.StatusCreated, &d)

		var (
			txNode   = "dataset:transactions@2026-11"
			holdout  = "dataset:holdout@v3"
			txEU     = "dataset:transactions-eu@2026-11"
			runNode  = "run:train-2026-11-01"
			v1Node   = fmt.Sprintf("model_version:fraud-detector/%d", v1)
			v2Node   = fmt.Sprintf("model_version:fraud-detector-eu/%d", v2)
			deployed = "deployment:" + d.ID
		)

		// From the deployed end back to the data.
		g := aud.lineage("fraud-detector-eu", v2, "?direction=upstream")
		wantNodes := []string{txNode, holdout, txEU, v1Node, v2Node, runNode}
		if g.Root != v2Node || !sameSet(g.nodeIDs(), wantNodes) || g.Truncated {
			t.Fatalf("upstream of %s: root %s nodes %v, want %v", v2Node, g.Root, g.nodeIDs(), wantNodes)
		}
		for _, want := range []string{
			v1Node + " fine_tuned_from " + v2Node, runNode + " produced " + v1Node, txNode + " training " + v1Node,
			txNode + " training " + runNode, holdout + " evaluation " + v1Node, txEU + " training " + v2Node,
		} {
			if !slices.Contains(g.edgeList(), want) {
				t.Errorf("upstream edges %v lack %q", g.edgeList(), want)
			}
		}
		if g.label(v1Node) != fmt.Sprintf("fraud-detector v%d", v1) || g.label(txNode) != "transactions@2026-11" {
			t.Errorf("labels: %+v", g.Nodes)
		}
		// One edge back reaches the parent only.
		if g := aud.lineage("fraud-detector-eu", v2, "?direction=upstream&depth=1"); !sameSet(g.nodeIDs(), []string{v1Node, v2Node, txEU}) {
			t.Errorf("depth 1: %v", g.nodeIDs())
		}

		// From the data end forward to where it runs.
		g = aud.lineage("fraud-detector", v1, "?direction=downstream")
		if !sameSet(g.nodeIDs(), []string{v1Node, v2Node, deployed}) ||
			!slices.Contains(g.edgeList(), v2Node+" deployed_to "+deployed) {
			t.Fatalf("downstream of %s: %v %v", v1Node, g.nodeIDs(), g.edgeList())
		}
		if l := g.label(deployed); !strings.Contains(l, "prod-eu") {
			t.Errorf("deployment label %q", l)
		}
		var used struct {
			Name   string
			UsedBy []struct {
				Model   string
				Version int
				Role    string
			} `json:"used_by"`
			UsedByTruncated bool `json:"used_by_truncated"`
		}
		aud.expect(aud.do("GET", "/api/v1/datasets/transactions/versions/2026-11", nil), http.StatusOK, &used)
		if len(used.UsedBy) != 1 || used.UsedBy[0].Model != "fraud-detector" || used.UsedBy[0].Version != v1 ||
			used.UsedBy[0].Role != "training" || used.UsedByTruncated {
			t.Fatalf("transactions@2026-11 used by %+v", used.UsedBy)
		}
		// Both ways at once, by default.
		g = aud.lineage("fraud-detector", v1, "")
		if !sameSet(g.nodeIDs(), []string{txNode, holdout, runNode, v1Node, v2Node, deployed}) {
			t.Errorf("both ways from %s: %v", v1Node, g.nodeIDs())
		}

		// Datasets are listed, including those only versions named.
		var list struct {
			Datasets []struct {
				Name, Version string
				Sha256        string
			}
			NextPageToken string `json:"next_page_token"`
		}
		aud.expect(aud.do("GET", "/api/v1/datasets?page_size=2", nil), http.StatusOK, &list)
		if len(list.Datasets) != 2 || list.Datasets[0].Name != "holdout" || list.NextPageToken == "" {
			t.Fatalf("first page: %+v", list)
		}
		aud.expect(aud.do("GET", "/api/v1/datasets?page_size=2&page_token="+url.QueryEscape(list.NextPageToken), nil), http.StatusOK, &list)
		if len(list.Datasets) != 1 || list.Datasets[0].Name != "transactions-eu" || list.NextPageToken != "" {
			t.Fatalf("second page: %+v", list)
		}
		aud.expect(aud.do("GET", "/api/v1/datasets?name=transactions", nil), http.StatusOK, &list)
		if len(list.Datasets) != 1 || list.Datasets[0].Sha256 != txSHA {
			t.Fatalf("transactions: %+v", list)
		}

		// A token restricted to fraud-detector sees its datasets and run,
		// but not the EU model nor its deployment; the EU model's own
		// lineage is refused.
		scoped := admin.as(admin.issue("fraud-team-auditor", []string{"auditor"}, "fraud-detector"))
		g = scoped.lineage("fraud-detector", v1, "")
		if !sameSet(g.nodeIDs(), []string{txNode, holdout, runNode, v1Node}) {
			t.Errorf("scoped lineage: %v", g.nodeIDs())
		}
		scoped.expectError(scoped.do("GET", fmt.Sprintf("/api/v1/models/fraud-detector-eu/versions/%d/lineage", v2), nil), http.StatusForbidden, "forbidden", "fraud-detector-eu")
		scopedEU := admin.as(admin.issue("eu-auditor", []string{"auditor"}, "fraud-detector-eu"))
		scopedEU.expect(scopedEU.do("GET", "/api/v1/datasets/transactions/versions/2026-11", nil), http.StatusOK, &used)
		if len(used.UsedBy) != 0 {
			t.Errorf("used_by for a token of another model: %+v", used.UsedBy)
		}
		// Nor may a scoped publisher write itself into another model's lineage.
		euPub := admin.as(admin.issue("eu-training", []string{"publisher"}, "fraud-detector-eu"))
		euPub.expectError(euPub.do("POST", "/api/v1/models/fraud-detector-eu/versions", map[string]any{
			"parent": map[string]any{"model": "fraud-detector", "version": v1}}), http.StatusForbidden, "forbidden", "fraud-detector")

		// Bad questions.
		base := fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/lineage", v1)
		aud.expectError(aud.do("GET", base+"?direction=sideways", nil), http.StatusBadRequest, "invalid_argument", "direction")
		aud.expectError(aud.do("GET", base+"?depth=11", nil), http.StatusBadRequest, "invalid_argument", "depth")
		aud.expectError(aud.do("GET", "/api/v1/models/fraud-detector/versions/99/lineage", nil), http.StatusNotFound, "not_found", "99")
		aud.expectError(aud.do("GET", "/api/v1/datasets/transactions/versions/1999", nil), http.StatusNotFound, "not_found", "transactions@1999")
		pub.expectError(pub.do("POST", "/api/v1/models/fraud-detector/versions", map[string]any{
			"parent": map[string]any{"model": "fraud-detector", "version": v1, "relation": "copied_from"}}), http.StatusBadRequest, "invalid_argument", "relation")
		pub.expectError(pub.do("POST", "/api/v1/models/fraud-detector/versions", map[string]any{"run": run}), http.StatusBadRequest, "invalid_argument", "run_id")

		// Data scientists compare the versions by their metrics: the last
		// auc of each series, newest version first.
		v3 := pub.readyVersion("fraud-detector", map[string]any{"parent": map[string]any{"model": "fraud-detector", "version": v1}})
		for _, m := range []struct {
			version int
			points  []map[string]any
		}{
			{v1, []map[string]any{{"key": "auc", "value": 0.88, "step": 1, "dataset": "holdout", "split": "test"}, {"key": "auc", "value": 0.91, "step": 2, "dataset": "holdout", "split": "test"}}},
			{v3, []map[string]any{{"key": "auc", "value": 0.93, "step": 1, "dataset": "holdout", "split": "test"}, {"key": "loss", "value": 0.2}}},
		} {
			pub.expect(pub.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/metrics", m.version), map[string]any{"metrics": m.points}), http.StatusCreated, nil)
		}
		var cmp struct {
			Key, Aggregate string
			Metrics        []struct {
				Version        int
				Stage          string
				Value          float64
				Step           int64
				Dataset, Split string
			}
			NextPageToken string `json:"next_page_token"`
		}
		aud.expect(aud.do("GET", "/api/v1/models/fraud-detector/metrics?key=auc", nil), http.StatusOK, &cmp)
		if cmp.Key != "auc" || cmp.Aggregate != "last" || len(cmp.Metrics) != 2 || cmp.NextPageToken != "" ||
			cmp.Metrics[0].Version != v3 || cmp.Metrics[0].Value != 0.93 ||
			cmp.Metrics[1].Version != v1 || cmp.Metrics[1].Value != 0.91 || cmp.Metrics[1].Step != 2 {
			t.Fatalf("auc across versions: %+v", cmp)
		}
		aud.expect(aud.do("GET", "/api/v1/models/fraud-detector/metrics?key=auc&aggregate=min&page_size=1", nil), http.StatusOK, &cmp)
		if len(cmp.Metrics) != 1 || cmp.Metrics[0].Version != v3 || cmp.NextPageToken == "" {
			t.Fatalf("first page: %+v", cmp)
		}
		aud.expect(aud.do("GET", "/api/v1/models/fraud-detector/metrics?key=auc&aggregate=min&page_size=1&page_token="+url.QueryEscape(cmp.NextPageToken), nil), http.StatusOK, &cmp)
		if len(cmp.Metrics) != 1 || cmp.Metrics[0].Version != v1 || cmp.Metrics[0].Value != 0.88 || cmp.NextPageToken != "" {
			t.Fatalf("second page: %+v", cmp)
		}
		aud.expectError(aud.do("GET", "/api/v1/models/fraud-detector/metrics", nil), http.StatusBadRequest, "invalid_argument", "key")
		// Points that cannot be stored as given are refused whole: the
		// good point sent with them is not kept either.
		for _, bad := range []struct {
			point map[string]any
			says  string
		}{
			{map[string]any{"key": "auc ", "value": 0.9}, "whitespace"},
			{map[string]any{"key": " auc", "value": 0.9}, "whitespace"},
			{map[string]any{"key": "auc", "value": 0.9, "step": -1}, "step"},
		} {
			pub.expectError(pub.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/metrics", v1),
				map[string]any{"metrics": []map[string]any{{"key": "sent-with-a-bad-point", "value": 0.1}, bad.point}}), http.StatusBadRequest, "invalid_argument", bad.says)
		}
		var kept struct {
			Metrics []map[string]any `json:"metrics"`
		}
		aud.expect(aud.do("GET", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/metrics?key=sent-with-a-bad-point", v1), nil), http.StatusOK, &kept)
		if len(kept.Metrics) != 0 {
			t.Fatalf("a refused request kept points: %v", kept.Metrics)
		}
		aud.expectError(aud.do("GET", "/api/v1/models/no-such-model/metrics?key=auc", nil), http.StatusNotFound, "not_found", "no-such-model")
	})
}

// TestConcurrentLineage: versions of different models created at once,
// naming the same datasets (in different orders) and the same run, none of
// them registered yet, all succeed and meet the same records.
func TestConcurrentLineage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		const n = 10
		for i := range n {
			admin.mustCreateModel(fmt.Sprintf("m%d", i))
		}
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			datasets := []map[string]any{
				{"name": "shared-a", "version": "1", "role": "training"},
				{"name": "shared-b", "version": "1", "role": "validation"},
			}
			if i%2 == 1 {
				slices.Reverse(datasets)
			}
			body, _ := json.Marshal(map[string]any{"datasets": datasets,
				"source": map[string]any{"run_id": "shared-run", "git_commit": "abc1234"}})
			wg.Go(func() {
				s, err := admin.status("POST", fmt.Sprintf("/api/v1/models/m%d/versions", i), body)
				if err != nil {
					t.Error(err)
				}
				statuses[i] = s
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusCreated {
				t.Errorf("version of m%d: %d", i, s)
			}
		}
		for _, d := range []string{"shared-a", "shared-b"} {
			var used struct {
				UsedBy []struct{ Model string } `json:"used_by"`
			}
			admin.expect(admin.do("GET", "/api/v1/datasets/"+d+"/versions/1", nil), http.StatusOK, &used)
			if len(used.UsedBy) != n {
				t.Errorf("%s used by %d versions, want %d", d, len(used.UsedBy), n)
			}
		}
		g := admin.lineage("m0", 1, "?direction=upstream")
		if !sameSet(g.nodeIDs(), []string{"dataset:shared-a@1", "dataset:shared-b@1", "run:shared-run", "model_version:m0/1"}) {
			t.Errorf("upstream of m0/1: %v", g.nodeIDs())
		}
	})
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}
