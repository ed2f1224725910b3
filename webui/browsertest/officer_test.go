package browsertest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestComplianceOfficer: a compliance officer (an auditor) signs in,
// searches for the fraud model, opens the version in production, reads its
// metrics, follows its lineage graph to the dataset it was trained on and
// to its deployment, opens its audit events in the audit trail, sees the
// chain verified, narrows the events to one actor and exports them as CSV
// and JSON Lines: the files hold exactly the events the API lists for the
// same filter.
func TestComplianceOfficer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		w := e.seed()
		p := e.newPage(t, "officer")
		p.signIn(w.officer)
		p.check("models")

		// Search with the filter language.
		p.typeText("#filter", `name LIKE "fraud-%"`)
		p.click(`form[role=search] button[type=submit]`)
		p.waitFor("one model found", `location.search.includes("filter=") && document.querySelectorAll("main tbody tr").length === 1`)
		if got := p.texts("main tbody th"); !reflect.DeepEqual(got, []string{fraudModel}) {
			t.Fatalf("models found by the filter: %q, want only %s", got, fraudModel)
		}
		p.check("models-filtered")

		p.click(`main tbody th a[href="/ui/models/fraud-detector"]`)
		p.waitText("main h1", fraudModel)
		p.waitFor("the versions", `document.querySelectorAll("main tbody tr").length === 2`)
		p.check("model")

		// The version in production, its overview and the run that made it.
		p.click(`main tbody th a[href="/ui/models/fraud-detector/versions/1"]`)
		p.waitText("main h1", "version")
		p.waitText("main .badges", "production")
		p.waitText("main", "train-fd-41")
		p.check("version")
		p.click(`main a[href="/ui/runs/train-fd-41"]`)
		p.waitText("main h1", "train-fd-41")
		p.check("run")
		p.step("back to the version", chromedp.NavigateBack())
		p.waitText("main h1", "version")

		p.click(`nav[aria-label="Version sections"] a[href$="/metrics"]`)
		p.waitCharts()
		p.check("version-metrics")

		// The lineage graph: its nodes are links.
		p.click(`nav[aria-label="Version sections"] a[href$="/lineage"]`)
		const datasetLink = `.lineage-svg a[href="/ui/datasets/card-transactions/versions/2026.06"]`
		p.waitFor("the lineage graph", fmt.Sprintf(`document.querySelector(%s)`, js(datasetLink)))
		p.check("version-lineage")
		p.click(datasetLink)
		p.waitText("main h1", trainingSet)
		p.waitText("main h1", trainingSetV1)
		p.waitText("main table", "fraud-detector version 1")
		p.check("dataset")
		p.step("back to the lineage", chromedp.NavigateBack())
		deploymentLink := fmt.Sprintf(`.lineage-svg a[href$="/deployments#deployment-%s"]`, w.prodDeployment)
		p.waitFor("the lineage graph again", fmt.Sprintf(`document.querySelector(%s)`, js(deploymentLink)))
		p.click(deploymentLink)
		row := "#deployment-" + w.prodDeployment
		p.waitFor("the deployment's row", fmt.Sprintf(`document.querySelector(%s)?.getAttribute("aria-current") === "true"`, js(row)))
		if env := strings.TrimSpace(p.text(row + " th")); env != prodEnv {
			t.Errorf("the deployment the graph leads to shows the environment %q, want %q", env, prodEnv)
		}
		p.check("version-deployments")

		// Its audit events, then the audit trail filtered to them.
		p.click(`nav[aria-label="Version sections"] a[href$="/audit"]`)
		p.waitText("main table", "version.finalize")
		p.check("version-audit")
		resource := versionPath(fraudModel, 1)[len("/api/v1/"):]
		p.click(fmt.Sprintf(`main a[href="/ui/audit?resource=%s"]`, url.QueryEscape(resource)))
		p.waitText("main h1", "Audit trail")
		p.waitText("main .chain", "Verified")
		p.check("audit-trail")

		p.typeText("#f-actor", w.training.subject)
		p.click(`main form button[type=submit]`)
		filter := url.Values{"resource": {resource}, "actor": {w.training.subject}}
		want := w.officer.auditEvents(filter)
		if len(want) < 3 {
			t.Fatalf("only %d events by %s about %s: the seed should make more", len(want), w.training.subject, resource)
		}
		p.waitFor("the filtered events", fmt.Sprintf(`location.search.includes("actor=") && document.querySelectorAll("main tbody tr").length === %d`, len(want)))
		p.check("audit-trail-filtered")

		name, jsonl := p.download(`//main//button[normalize-space()="Export filtered (JSON Lines)"]`)
		if name != "modelkeep-audit-filtered.jsonl" {
			t.Errorf("JSON Lines export named %q", name)
		}
		compareJSONL(t, jsonl, want)
		name, csvFile := p.download(`//main//button[normalize-space()="Export filtered (CSV)"]`)
		if name != "modelkeep-audit-filtered.csv" {
			t.Errorf("CSV export named %q", name)
		}
		compareCSV(t, csvFile, want)

		// One event's page.
		p.click(`main tbody th a`)
		p.waitText("main h1", "Audit event")
		p.waitText("main", want[0]["hash"].(string))
		p.check("audit-event")

		// The deployments, from the navigation.
		p.click(`header nav a[href="/ui/deployments"]`)
		p.waitText("main", prodEnv)
		p.check("deployments")
	})
}

// auditEvents lists every audit event that matches the filter, newest
// first, as the API gives them.
func (c *client) auditEvents(filter url.Values) []map[string]any {
	c.e.t.Helper()
	var events []map[string]any
	q := url.Values{"page_size": {"1000"}}
	for k, v := range filter {
		q[k] = v
	}
	for {
		var page struct {
			Events        []map[string]any `json:"events"`
			NextPageToken string           `json:"next_page_token"`
		}
		c.call("GET", "/api/v1/audit?"+q.Encode(), nil, http.StatusOK, &page)
		events = append(events, page.Events...)
		if page.NextPageToken == "" {
			return events
		}
		q.Set("page_token", page.NextPageToken)
	}
}

// compareJSONL checks that a JSON Lines export holds exactly the events.
func compareJSONL(t *testing.T, file []byte, want []map[string]any) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(file), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("the JSON Lines export has %d lines, the API lists %d events", len(lines), len(want))
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("JSON Lines export, line %d: %v", i+1, err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("JSON Lines export, line %d:\n%v\nthe API's event:\n%v", i+1, got, want[i])
		}
	}
}

// compareCSV checks that a CSV export holds exactly the events, column by
// column.
func compareCSV(t *testing.T, file []byte, want []map[string]any) {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatalf("read the CSV export: %v", err)
	}
	if len(rows) != len(want)+1 {
		t.Fatalf("the CSV export has %d rows after its header, the API lists %d events", len(rows)-1, len(want))
	}
	header := rows[0]
	for i, row := range rows[1:] {
		for j, col := range header {
			var w string
			switch v := want[i][col].(type) {
			case nil:
			case string:
				w = v
			case float64:
				w = fmt.Sprint(v)
			default:
				b, _ := json.Marshal(v)
				w = string(b)
			}
			if row[j] != w {
				if col == "details" && jsonEqual(row[j], w) {
					continue
				}
				t.Errorf("CSV export, row %d, %s: %q, the API says %q", i+1, col, row[j], w)
			}
		}
	}
	for _, col := range []string{"seq", "time", "actor", "action", "resource", "outcome", "hash", "prev_hash"} {
		if !strings.Contains(","+strings.Join(header, ",")+",", ","+col+",") {
			t.Errorf("the CSV export has no column %s (header %q)", col, header)
		}
	}
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
