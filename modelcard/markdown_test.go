package modelcard

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	xhtml "golang.org/x/net/html"
)

// gfm renders Markdown as GitHub does (tables, strikethrough, task lists,
// autolinks), passing raw HTML through so that an injection would show.
func gfm(t *testing.T, md []byte) string {
	t.Helper()
	var out bytes.Buffer
	r := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := r.Convert(md, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// htmlText returns the text of an HTML fragment or page, whitespace
// collapsed.
func htmlText(t *testing.T, s string) string {
	t.Helper()
	doc, err := xhtml.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode && (n.Data == "style" || n.Data == "title") {
			return
		}
		block := n.Type == xhtml.ElementNode && blockElements[n.Data]
		if block {
			b.WriteString(" ")
		}
		if n.Type == xhtml.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			b.WriteString(" ")
		}
	}
	walk(doc)
	return collapse(b.String())
}

var blockElements = map[string]bool{"p": true, "li": true, "td": true, "th": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "dt": true, "dd": true, "caption": true, "br": true, "div": true, "section": true, "header": true}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestMarkdownSections(t *testing.T) {
	mitchell := []string{"## Model details", "## Intended use", "## Factors", "## Metrics", "## Evaluation data", "## Training data",
		"## Quantitative analyses", "## Ethical considerations", "## Caveats and recommendations"}
	euAct := []string{"### Provider", "### AI system", "### Risk management (Art. 9)", "### Data and data governance (Art. 10)",
		"### Human oversight (Art. 14)", "### Cybersecurity (Art. 15(5))", "### Record-keeping (Art. 12)",
		"### Standards and specifications applied", "### Conformity", "### Quality management system (Art. 17)",
		"### Post-market monitoring (Art. 72)", "### Serious incidents (Art. 73)"}
	headings := append(append(append([]string{}, mitchell...), "## Approvals", "## Deployments"), euAct...)
	full, facts := fullCard(), fullFacts()
	tests := []struct {
		name    string
		card    Card
		facts   Facts
		title   string
		want    []string // in the Markdown source
		missing []string // headings followed by "Not provided."
		absent  []string
	}{
		{
			name: "minimal", card: Card{}, facts: minimalFacts(), title: "# m v1",
			want:    []string{"**Status:** pending", "**Stage:** none", "**Manifest digest:** Not provided.", "**Developers:** Not provided."},
			missing: append(append([]string{"### Files", "### Runs", "## Approvals", "## Deployments"}, mitchell[1:]...), euAct...),
			absent:  []string{"General-purpose AI model"},
		},
		{
			name: "full", card: full, facts: facts, title: "# card-fraud-scorer v7",
			want: []string{
				"**Manifest digest:** " + facts.ManifestDigest,
				"**Created by:** svc-training-pipeline", "**Created at:** 2026-03-02T09:00:00Z",
				"**Parent:** card-fraud-scorer v6 (derived\\_from)",
				"| model/model.txt | 48,213,004 bytes (46.0 MiB) | " + hexOf("model.txt") + " |",
				"| card-tx-2024h2-2025h2 | 2026.01 | training |",
				"| card-tx-2026q1-holdout | 2026.02 | test |",
				"| eval-0411 | evaluation | 2026-03-01T08:00:00Z | 2026-03-01T09:00:00Z |",
				"- m.schulz at 2026-03-01T13:00:00Z",
				"| auc\\_pr | 0.912 | 1200 | card-tx-2026q1-holdout@2026.02 (test) | eval-0411 |",
				// a declared metric with its slice, matched to its recorded value
				"| false\\_decline\\_rate\\_age\\_18\\_24 | fairness | card-tx-2026q1-holdout (test) | age\\_band = 18-24 | 0.0031 ratio (dataset version 2026.02) | ≤ 0.004 |",
				"| evasion\\_success\\_rate | cybersecurity |  |  | 0.062 ratio | ≤ 0.1 |",
				"**Requested by:** m.schulz", "**Decided at:** 2026-03-04T15:00:00Z",
				"| a.nowak | 2026-03-04T13:00:00Z | Fairness gate reviewed | metric auc\\_pr \\>= 0.88 passed: 0.912;",
				"| dep-32 | prod-eu-central | rolling | 100 % | svc-deployer | 2026-03-05T16:00:00Z |  |",
				"**Annex III point:** 5(b)", "**Risk R2**", "**Residual risk:** Low",
				"- (e) intervene or stop the system: covered",
				"| (m) | accountability framework |",
				"| INC-2026-031 | serious |",
			},
			absent: []string{"Not provided.", "General-purpose AI model"},
		},
		{
			name: "every field", card: everyFieldCard(), facts: facts, title: "# card-fraud-scorer v7",
			want:   []string{"### General-purpose AI model (Art. 53)", "**EU authorised representative:** EU AI Representative GmbH", "**Name:** Prüfstelle KI Nord GmbH"},
			absent: []string{"Not provided."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := string(Markdown(tt.card, tt.facts))
			if first, _, _ := strings.Cut(md, "\n"); first != tt.title {
				t.Errorf("title line %q, want %q", first, tt.title)
			}
			last := -1
			for _, h := range headings {
				i := strings.Index(md, "\n"+h+"\n")
				if i < 0 {
					t.Errorf("no heading %q", h)
					continue
				}
				if i < last {
					t.Errorf("heading %q out of order", h)
				}
				last = i
			}
			for _, w := range tt.want {
				if !strings.Contains(md, w) {
					t.Errorf("missing %q", w)
				}
			}
			for _, h := range tt.missing {
				if !strings.Contains(md, "\n"+h+"\n\nNot provided.\n") {
					t.Errorf("section %q does not say Not provided.", h)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(md, a) {
					t.Errorf("unexpected %q", a)
				}
			}
		})
	}
}

func TestMdLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, 0.97 and -0.5", "plain text, 0.97 and -0.5"},
		{"a|b", `a\|b`},
		{"*bold* _it_ `code`", "\\*bold\\* \\_it\\_ \\`code\\`"},
		{"<b>x</b>", `\<b\>x\</b\>`},
		{"[x](http://e)", `\[x\](http://e)`},
		{"![i](x.png)", `\!\[i\](x.png)`},
		{"# h", `\# h`},
		{"- item", `\- item`},
		{"+ item", `\+ item`},
		{"---", `\---`},
		{"===", `\===`},
		{"1. first", `1\. first`},
		{"12) x", `12\) x`},
		{"2026.01 data", "2026.01 data"},
		{"a\\b", `a\\b`},
		{"&amp; ~~s~~ $x$", `\&amp; \~\~s\~\~ \$x\$`},
		{"{{x}}", `\{\{x\}\}`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := mdLine(tt.in); got != tt.want {
				t.Errorf("mdLine(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// hostile texts: each must read back as written and add no element.
var hostile = []string{
	"<script>alert(1)</script>",
	"<img src=x onerror=alert(1)>",
	"[click](https://evil.example/x)",
	"![pixel](https://evil.example/p.png)",
	"<https://evil.example>",
	"a | b | c",
	"**bold** __bold__ *it* _it_",
	"`code` ``` fenced",
	"# heading\n## heading 2",
	"line one\n- item\n+ item\n1. ordered\n> quote\n---\n===\n    indented code",
	"&lt;script&gt; &#60;b&#62; &copy;",
	"~~strike~~ $math$ \\*escaped\\*",
	"[ref]: https://evil.example\n[ref]",
	"<!-- comment --> <?php ?>",
	"trailing spaces   \nnext line",
	"\u0000nul \u202eRTL\u2028separator",
}

func TestMarkdownEscaping(t *testing.T) {
	// Each hostile text goes into a paragraph field, a table cell, a list
	// item and a heading.
	for i, s := range hostile {
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) {
			c := Card{
				EthicalConsiderations: s,
				System:                &System{IntendedUsers: []string{s}, InteractingSystems: []InteractingSystem{{Name: s, Interface: "x", Direction: "in"}}},
				RiskManagement:        &RiskManagement{Risks: []Risk{{ID: s, Hazard: "h"}}},
			}
			out := gfm(t, Markdown(c, minimalFacts()))
			for _, el := range []string{"<script", "<img", "<b>", "<strong>b", "<em>", "<code", "<pre", "<blockquote", "<del", "<hr", "<ol", "<!--", "<?php"} {
				if strings.Contains(out, el) && !strings.Contains(goldenElements, el) {
					t.Errorf("%q made an element %s:\n%s", s, el, out)
				}
			}
			if n := strings.Count(out, "<h1"); n != 1 {
				t.Errorf("%d h1 elements", n)
			}
			checkLinks(t, out)
			// The interacting systems table keeps its three columns.
			if !regexp.MustCompile(`<tr>\s*<td>.*?</td>\s*<td>x</td>\s*<td>in</td>\s*</tr>`).MatchString(out) {
				t.Errorf("table row broken:\n%s", out)
			}
			text := htmlText(t, out)
			want := collapse(strings.Map(func(r rune) rune {
				if r < 0x20 && r != '\n' {
					return -1
				}
				return r
			}, strings.NewReplacer("\u2028", "\n").Replace(s)))
			if !strings.Contains(text, want) {
				t.Errorf("the text does not read as written:\nwant %q\nin   %q", want, text)
			}
		})
	}
}

// goldenElements are the elements the page itself uses.
const goldenElements = "<strong><ul><li><table><thead><tbody><tr><th><td><em>"

// checkLinks fails on a link whose target is not its own text: a
// renderer may autolink a bare URL, but no text may hide where a link
// goes.
func checkLinks(t *testing.T, out string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`<a href="([^"]*)"[^>]*>(.*?)</a>`).FindAllStringSubmatch(out, -1) {
		href, text := html.UnescapeString(m[1]), html.UnescapeString(m[2])
		if strings.Contains(text, "<") || !strings.Contains(href, text) {
			t.Errorf("link to %q shows %q", href, text)
		}
	}
	if strings.Contains(out, "<img") {
		t.Errorf("an image:\n%s", out)
	}
}

func TestMarkdownRendersEveryValue(t *testing.T) {
	// Everything on the page reads back from the rendered Markdown.
	c, f := everyFieldCard(), fullFacts()
	text := htmlText(t, gfm(t, Markdown(c, f)))
	for _, s := range pageStrings(buildPage(c, f)) {
		if !strings.Contains(text, collapse(s)) {
			t.Errorf("%q is not in the rendered Markdown", s)
		}
	}
}

// pageStrings lists every text of a page.
func pageStrings(p page) []string {
	out := []string{p.Title, p.Summary}
	for _, s := range p.Sections {
		out = append(out, s.Title)
		for _, b := range s.Blocks {
			out = append(out, b.Heading, b.Text)
			out = append(out, b.List...)
			for _, f := range b.Fields {
				out = append(out, f.Label, f.Value)
				out = append(out, f.List...)
			}
			if b.Table != nil {
				out = append(out, b.Table.Caption)
				out = append(out, b.Table.Head...)
				for _, r := range b.Table.Rows {
					out = append(out, r...)
				}
			}
		}
	}
	var set []string
	for _, s := range out {
		if strings.TrimSpace(s) != "" {
			set = append(set, s)
		}
	}
	return set
}
