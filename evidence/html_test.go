package evidence

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

// hostile is text a card author could type, meant to run in a reader's
// browser.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// hostilePack is the complete pack with hostile text wherever the page
// prints a person's text, and a row missing.
func hostilePack(t *testing.T) *Pack {
	t.Helper()
	k := newKeys(t)
	p := completePack(t, k)
	p.Export.Subject.Model, p.Export.Subject.ID = "credit"+hostile, "credit"+hostile+"/versions/3"
	p.Export.GeneratedBy = hostile
	p.System.EUDatabaseRegistrationID = "" // A49-1 missing
	p.NotApplicable = []NotApplicable{{RowID: "A26-6", Justification: "deployers keep their own logs " + hostile,
		EnteredBy: "alice" + hostile, EnteredAt: at(3), Source: "model"}}
	p.Documents[0].Title = "report " + hostile
	p.StageTransitions[0].Approvals[0].Gates[0].Detail = hostile
	p.Deployments[0].Environment = hostile
	evaluate(t, p)
	return p
}

// tagsOf are the tags of a page: its markup, apart from its text.
func tagsOf(page string) []string {
	return regexp.MustCompile(`<[a-zA-Z/!][^>]*>`).FindAllString(page, -1)
}

// The page's markup is its template's alone: a person's text is printed,
// never interpreted.
func TestHTMLEscapesText(t *testing.T) {
	page := string(HTML(hostilePack(t), MustLoad()))
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatalf("not a page: %.80s…", page)
	}
	allowed := map[string]bool{"!doctype": true, "html": true, "head": true, "meta": true, "title": true, "style": true, "body": true,
		"h1": true, "h2": true, "p": true, "dl": true, "dt": true, "dd": true, "code": true, "table": true, "thead": true, "tbody": true,
		"tr": true, "th": true, "td": true, "br": true, "small": true, "strong": true}
	attribute, quoted := regexp.MustCompile(`\s([a-zA-Z-]+)=`), regexp.MustCompile(`"[^"]*"`)
	for _, tag := range tagsOf(page) {
		name := strings.ToLower(strings.TrimLeft(strings.FieldsFunc(tag[1:], func(r rune) bool { return r == ' ' || r == '>' })[0], "/"))
		if !allowed[name] {
			t.Errorf("tag %s", tag)
		}
		for _, m := range attribute.FindAllStringSubmatch(quoted.ReplaceAllString(tag, `""`), -1) {
			if a := strings.ToLower(m[1]); a != "lang" && a != "charset" && a != "name" && a != "content" && a != "scope" && a != "class" {
				t.Errorf("attribute %s in %s", a, tag)
			}
		}
	}
	escaped := html.EscapeString(hostile)
	// The subject (title and heading), the generator, the justification
	// and its author, a document, a gate and a deployment.
	if got := strings.Count(page, escaped); got != 8 {
		t.Errorf("the hostile text is printed escaped %d times, want 8", got)
	}
	if !strings.Contains(page, "<title>EU AI Act evidence: credit"+escaped+"/versions/3</title>") {
		t.Error("the title does not hold the escaped subject")
	}
}

// The page loads nothing and runs nothing: it is printed, archived and
// opened offline.
func TestHTMLLoadsNothing(t *testing.T) {
	page := string(HTML(hostilePack(t), MustLoad()))
	markup := strings.ToLower(strings.Join(tagsOf(page), ""))
	for _, s := range []string{"<script", "<link", "<img", "<iframe", "<object", "<embed", "<base", "src=", "href=", "action="} {
		if strings.Contains(markup, s) {
			t.Errorf("the page's markup holds %q", s)
		}
	}
	style := page[strings.Index(page, "<style>"):strings.Index(page, "</style>")]
	for _, s := range []string{"@import", "url("} {
		if strings.Contains(style, s) {
			t.Errorf("the style sheet holds %q", s)
		}
	}
}

// Every coverage row is on the page once, missing rows first.
func TestHTMLListsEveryCoverageRow(t *testing.T) {
	p := hostilePack(t)
	page := string(HTML(p, MustLoad()))
	rowHeader := regexp.MustCompile(`<tr class="(\w+)"><th scope="row">([^<]+)</th>`)
	var ids, statuses []string
	for _, m := range rowHeader.FindAllStringSubmatch(page, -1) {
		statuses, ids = append(statuses, m[1]), append(ids, m[2])
	}
	if len(ids) != len(p.Coverage) {
		t.Fatalf("%d coverage rows on the page, %d in the pack", len(ids), len(p.Coverage))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for _, it := range p.Coverage {
		if !seen[it.RowID] {
			t.Errorf("row %s is not on the page", it.RowID)
		}
	}
	if ids[0] != "A49-1" || statuses[0] != StatusMissing {
		t.Errorf("first row %s (%s), want the missing A49-1", ids[0], statuses[0])
	}
	for i, st := range statuses[1:] {
		if st == StatusMissing {
			t.Errorf("missing row %s after a row that is not", ids[i+1])
		}
	}
	if !strings.Contains(page, "103 requirements apply: 101 present, 1 missing, 1 not applicable.") {
		t.Error("the page does not print the summary")
	}
	if !strings.Contains(page, "missing: <code>system.eu_db_registration_id</code>") {
		t.Error("the page does not say what A49-1 misses")
	}
	if !strings.Contains(page, "A26-6</th><td>deployers keep their own logs") {
		t.Error("the page does not print the justification")
	}
}

// An unsealed pack with nothing in it still renders, saying so.
func TestHTMLOfAnEmptyPack(t *testing.T) {
	p := &Pack{Export: Export{SchemaID: SchemaID, RiskClass: "minimal"}}
	evaluate(t, p)
	page := string(HTML(p, MustLoad()))
	if got := strings.Count(page, "<p>None.</p>"); got != 4 {
		t.Errorf("%d sections say None., want not applicable, transitions, deployments and documents", got)
	}
	if strings.Contains(page, "Pack SHA-256") {
		t.Error("an unsealed pack shows a seal")
	}
	if !strings.Contains(page, "0 requirements apply") {
		t.Error("no summary")
	}
}
