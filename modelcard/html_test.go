package modelcard

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"
)

// parseHTML parses a page and returns its root and every element.
func parseHTML(t *testing.T, page []byte) (*xhtml.Node, []*xhtml.Node) {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(string(page)))
	if err != nil {
		t.Fatal(err)
	}
	var els []*xhtml.Node
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode {
			els = append(els, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return doc, els
}

func attr(n *xhtml.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *xhtml.Node) string {
	var b strings.Builder
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func TestHTMLPage(t *testing.T) {
	tests := []struct {
		name  string
		card  Card
		facts Facts
		title string
	}{
		{"minimal", Card{}, minimalFacts(), "m v1"},
		{"full", fullCard(), fullFacts(), "card-fraud-scorer v7"},
		{"every field", everyFieldCard(), fullFacts(), "card-fraud-scorer v7"},
		{"hostile", hostileCard(), hostileFacts(), hostileFacts().Model + " v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := HTML(tt.card, tt.facts)
			if !strings.HasPrefix(string(page), "<!DOCTYPE html>\n<html lang=\"en\">") {
				t.Errorf("page does not start with the HTML5 doctype and lang: %.60q", page)
			}
			_, els := parseHTML(t, page)
			var css, csp, title string
			charset, ids := false, map[string]bool{}
			count := map[string]int{}
			for _, n := range els {
				count[n.Data]++
				switch n.Data {
				case "script", "iframe", "object", "embed", "img", "link", "base", "form", "input", "svg", "math", "video", "audio", "source":
					t.Errorf("element <%s> on the page", n.Data)
				case "style":
					css = textOf(n)
				case "title":
					title = textOf(n)
				case "meta":
					if v, ok := attr(n, "charset"); ok && strings.EqualFold(v, "utf-8") {
						charset = true
					}
					if v, _ := attr(n, "http-equiv"); v == "Content-Security-Policy" {
						csp, _ = attr(n, "content")
					}
				case "th":
					if v, _ := attr(n, "scope"); v != "col" && v != "row" {
						t.Errorf("<th> %q without scope", textOf(n))
					}
				case "table":
					if n.FirstChild == nil || !strings.Contains(renderNode(t, n), "<thead>") {
						t.Errorf("table without a header row")
					}
				case "html":
					if v, _ := attr(n, "lang"); v != "en" {
						t.Errorf("html lang %q", v)
					}
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "src" || a.Key == "href" || a.Key == "style" {
						t.Errorf("attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
					}
					if a.Key == "id" {
						if ids[a.Val] {
							t.Errorf("id %q twice", a.Val)
						}
						ids[a.Val] = true
					}
				}
			}
			if !charset || title != tt.title || count["h1"] != 1 || count["main"] != 1 {
				t.Errorf("charset %v, title %q (want %q), %d h1, %d main", charset, title, tt.title, count["h1"], count["main"])
			}
			sum := sha256.Sum256([]byte(css))
			if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) || !strings.HasPrefix(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q does not allow just the page's style sheet (%s)", csp, want)
			}
			for _, rule := range []string{"@media print", "@page { size: A4", "thead { display: table-header-group; }"} {
				if !strings.Contains(css, rule) {
					t.Errorf("style sheet lacks %q", rule)
				}
			}
		})
	}
}

func renderNode(t *testing.T, n *xhtml.Node) string {
	t.Helper()
	var b strings.Builder
	if err := xhtml.Render(&b, n); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// hostileCard puts each hostile text into fields, lists, tables and
// headings.
func hostileCard() Card {
	s := strings.Join(hostile, " ") + ` " onmouseover="alert(1)" ' x='`
	return Card{
		EthicalConsiderations: s,
		ModelDetails:          &ModelDetails{Developers: s, Contact: "javascript:alert(1)"},
		System:                &System{Name: s, IntendedUsers: hostile, InteractingSystems: []InteractingSystem{{Name: s, Interface: s, Direction: s}}},
		RiskManagement:        &RiskManagement{Risks: []Risk{{ID: s, Hazard: s}}},
		Datasets:              []DatasetGovernance{{Name: s, Provenance: s}},
	}
}

func hostileFacts() Facts {
	f := minimalFacts()
	f.Model = "</title><script>alert(1)</script>"
	f.Tags = map[string]string{"<b>": "</td></tr></table><script>x</script>"}
	f.Files = []FileFact{{Path: `"><img src=x>`, SHA256: strings.Repeat("0", 64)}}
	return f
}

func TestHTMLHasMarkdownsContent(t *testing.T) {
	for _, tc := range []struct {
		name string
		card Card
		f    Facts
	}{{"every field", everyFieldCard(), fullFacts()}, {"hostile", hostileCard(), hostileFacts()}, {"minimal", Card{}, minimalFacts()}} {
		t.Run(tc.name, func(t *testing.T) {
			pageText := htmlText(t, string(HTML(tc.card, tc.f)))
			mdText := htmlText(t, gfm(t, Markdown(tc.card, tc.f)))
			for _, s := range pageStrings(buildPage(tc.card, tc.f)) {
				s = collapse(normaliseText(s))
				if !strings.Contains(pageText, s) {
					t.Errorf("%q is not on the HTML page", s)
				}
				if !strings.Contains(mdText, s) {
					t.Errorf("%q is not in the Markdown", s)
				}
			}
			if n, m := strings.Count(pageText, notProvided), strings.Count(mdText, notProvided); n != m {
				t.Errorf("%d %q on the HTML page, %d in the Markdown", n, notProvided, m)
			}
		})
	}
}
