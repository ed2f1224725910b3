package modelcard

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"strings"
)

// HTML renders the card with the registry's facts as one printable HTML5
// page, with the same content as Markdown. The page is self-contained:
// its CSS is in a <style> element (with print rules for A4), and it has no
// script, no event handler attribute and no external resource; a
// Content-Security-Policy allows nothing but that style element. All text
// is escaped by html/template.
func HTML(c Card, f Facts) []byte {
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, htmlData{page: normalisePage(buildPage(c, f)), CSP: htmlCSP}); err != nil {
		// The template is fixed and its data is plain strings: an error is a
		// bug in this package, not in the card.
		panic("modelcard: html template: " + err.Error())
	}
	return b.Bytes()
}

// normalisePage applies normaliseText to every text of a page, so that the
// HTML page has no control characters (html/template would write them).
func normalisePage(p page) page {
	n := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = normaliseText(s)
		}
		return out
	}
	p.Title, p.Summary = normaliseText(p.Title), normaliseText(p.Summary)
	secs := make([]section, len(p.Sections))
	for i, s := range p.Sections {
		s.Title = normaliseText(s.Title)
		blocks := make([]block, len(s.Blocks))
		for j, b := range s.Blocks {
			b.Heading, b.Text, b.List = normaliseText(b.Heading), normaliseText(b.Text), n(b.List)
			fields := make([]field, len(b.Fields))
			for k, f := range b.Fields {
				f.Label, f.Value, f.List = normaliseText(f.Label), normaliseText(f.Value), n(f.List)
				fields[k] = f
			}
			b.Fields = fields
			if t := b.Table; t != nil {
				t2 := *t
				t2.Caption, t2.Head = normaliseText(t.Caption), n(t.Head)
				t2.Rows = make([][]string, len(t.Rows))
				for k, r := range t.Rows {
					t2.Rows[k] = n(r)
				}
				b.Table = &t2
			}
			blocks[j] = b
		}
		s.Blocks = blocks
		secs[i] = s
	}
	p.Sections = secs
	return p
}

type htmlData struct {
	page
	CSP string
}

// pageCSS is the page's style sheet; its SHA-256 is in the page's
// Content-Security-Policy, so it must be written into the page unchanged.
const pageCSS = `
:root { color-scheme: light; }
body { font: 11pt/1.45 "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: #1a1a1a; background: #fff;
  max-width: 60rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.8em; margin: 0 0 .2em; }
h2 { font-size: 1.35em; margin: 1.8em 0 .5em; padding-bottom: .2em; border-bottom: 2px solid #1a1a1a; }
h3 { font-size: 1.1em; margin: 1.4em 0 .4em; }
h4 { font-size: 1em; margin: 1.1em 0 .3em; }
.summary { color: #444; margin: 0 0 1.5em; }
.missing { color: #8a1c1c; font-style: italic; }
.text, dd { white-space: pre-line; }
dl { display: grid; grid-template-columns: minmax(10em, 16em) 1fr; gap: .25em 1em; margin: .5em 0 1em; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
dd ul { margin: 0; padding-left: 1.1em; white-space: normal; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; font-size: .9em; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border: 1px solid #999; padding: .25em .4em; text-align: left; vertical-align: top; overflow-wrap: break-word; }
thead th { background: #e8e8e8; }
tbody th { font-weight: 600; background: #f4f4f4; }
.mono { font-family: "DejaVu Sans Mono", Consolas, "Liberation Mono", monospace; font-size: .85em; overflow-wrap: anywhere; }
@page { size: A4; margin: 16mm 14mm 18mm; }
@media print {
  body { font-size: 9.5pt; max-width: none; margin: 0; padding: 0; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  table, dl { break-inside: auto; }
  tr, dt, dd { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  thead th, tbody th { background: none; }
}
`

// htmlCSP allows the page's own style sheet and nothing else.
var htmlCSP = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'"
}()

var htmlPage = template.Must(template.New("card").Funcs(template.FuncMap{
	"notProvided": func() string { return notProvided },
	"mono":        func(t *table, col int) bool { return t.mono(col) },
	"rowHeader":   func(t *table, col int) bool { return t.RowHeader && col == 0 },
}).Parse(strings.Replace(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Modelkeep">
<title>{{.Title}}</title>
<style>@CSS@</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="summary">{{.Summary}}</p>
</header>
<main>
{{- range .Sections}}
<section id="{{.ID}}" aria-labelledby="{{.ID}}-h">
{{if eq .Level 2}}<h2 id="{{.ID}}-h">{{.Title}}</h2>{{else}}<h3 id="{{.ID}}-h">{{.Title}}</h3>{{end}}
{{- if not .Blocks}}
<p class="missing">{{notProvided}}</p>
{{- end}}
{{- range .Blocks}}
{{- if .Heading}}
<h4>{{.Heading}}</h4>
{{- end}}
{{- if .Text}}
<p class="text">{{.Text}}</p>
{{- end}}
{{- if .Fields}}
<dl>
{{- range .Fields}}
<dt>{{.Label}}</dt>
{{- if .List}}
<dd><ul>{{range .List}}<li>{{.}}</li>{{end}}</ul></dd>
{{- else if .Value}}
<dd{{if .Mono}} class="mono"{{end}}>{{.Value}}</dd>
{{- else}}
<dd class="missing">{{notProvided}}</dd>
{{- end}}
{{- end}}
</dl>
{{- end}}
{{- if .List}}
<ul>
{{- range .List}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
{{- with .Table}}{{$t := .}}
<table>
{{- if .Caption}}
<caption>{{.Caption}}</caption>
{{- end}}
<thead><tr>{{range .Head}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr>{{range $i, $c := .}}{{if rowHeader $t $i}}<th scope="row">{{$c}}</th>{{else}}<td{{if mono $t $i}} class="mono"{{end}}>{{$c}}</td>{{end}}{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- end}}
</section>
{{- end}}
</main>
</body>
</html>
`, "@CSS@", pageCSS, 1)))
