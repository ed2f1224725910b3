package evidence

import (
	"bytes"
	"html/template"
)

// HTML renders a pack as a printable page for people: the coverage of
// every applicable requirement (missing rows first), what is not
// applicable and why, the approvals, deployments, documents and their
// sign-offs, the audit trail's verification and the pack's seal. The page
// has no scripts and loads nothing.
func HTML(p *Pack, c Catalogue) []byte {
	type row struct {
		Item        CoverageItem
		Requirement string
		Section     string
	}
	var missing, rest []row
	for _, it := range p.Coverage {
		r, _ := c.Row(it.RowID)
		x := row{Item: it, Requirement: r.Requirement, Section: r.Section}
		if it.Status == StatusMissing {
			missing = append(missing, x)
		} else {
			rest = append(rest, x)
		}
	}
	var b bytes.Buffer
	err := packPage.Execute(&b, map[string]any{"P": p, "Rows": append(missing, rest...)})
	if err != nil {
		panic("evidence: the page template is broken: " + err.Error())
	}
	return b.Bytes()
}

var packPage = template.Must(template.New("pack").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EU AI Act evidence: {{.P.Export.Subject.ID}}</title>
<style>
body { font: 11pt/1.4 system-ui, sans-serif; color: #111; margin: 2em auto; max-width: 60em; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #999; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: .25em .4em; text-align: left; vertical-align: top; }
th { background: #eee; }
.missing { background: #fde2e2; } .present { background: #e3f4e3; } .not_applicable { background: #eef; }
code { font-size: .9em; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; } dt { font-weight: 600; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
@page { size: A4; margin: 15mm; }
</style>
</head>
<body>
<h1>EU AI Act evidence of {{.P.Export.Subject.Model}} version {{.P.Export.Subject.Version}}</h1>
<dl>
<dt>Risk class</dt><dd>{{.P.Export.RiskClass}}</dd>
<dt>Catalogue</dt><dd>{{.P.Export.RequirementsCatalogue}} ({{.P.Export.RequirementsCatalogueVersion}})</dd>
<dt>Generated</dt><dd>{{.P.Export.GeneratedAt}} by {{.P.Export.GeneratedBy}} ({{.P.Export.Generator.Name}} {{.P.Export.Generator.Version}})</dd>
<dt>Pack id</dt><dd><code>{{.P.Export.ExportID}}</code></dd>
<dt>Manifest digest</dt><dd><code>{{.P.Version.ManifestDigest}}</code></dd>
<dt>Archive</dt><dd>{{.P.Export.Archive.ObjectLockMode}}{{with .P.Export.Archive.RetainUntil}} until {{.}}{{end}}</dd>
{{with .P.Integrity}}<dt>Pack SHA-256</dt><dd><code>{{.SHA256}}</code>, signed by key <code>{{.Signature.KeyID}}</code></dd>{{end}}
</dl>

<h2>Coverage</h2>
<p>{{.P.Summary.Applicable}} requirements apply: {{.P.Summary.Present}} present, {{.P.Summary.Missing}} missing, {{.P.Summary.NotApplicable}} not applicable.</p>
<table>
<thead><tr><th scope="col">Row</th><th scope="col">Requirement</th><th scope="col">Status</th><th scope="col">Evidence</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="{{.Item.Status}}"><th scope="row">{{.Item.RowID}}</th><td>{{.Requirement}}</td><td>{{.Item.Status}}{{if .Item.PostMarket}} (after release){{end}}</td>
<td>{{range .Item.EvidencePaths}}<code>{{.}}</code><br>{{end}}{{if .Item.Missing}}missing: {{range .Item.Missing}}<code>{{.}}</code><br>{{end}}{{end}}{{with .Item.Note}}<small>{{.}}</small>{{end}}</td></tr>
{{end}}</tbody>
</table>

<h2>Not applicable</h2>
{{if .P.NotApplicable}}<table>
<thead><tr><th scope="col">Row</th><th scope="col">Justification</th><th scope="col">Entered</th><th scope="col">Audit event</th></tr></thead>
<tbody>{{range .P.NotApplicable}}<tr><th scope="row">{{.RowID}}</th><td>{{.Justification}}</td><td>{{.EnteredBy}}, {{.EnteredAt}} ({{.Source}})</td><td>{{.AuditEventID}}</td></tr>
{{end}}</tbody></table>{{else}}<p>None.</p>{{end}}

<h2>Stage transitions and approvals</h2>
{{if .P.StageTransitions}}<table>
<thead><tr><th scope="col">Move</th><th scope="col">Requested</th><th scope="col">Approvals</th><th scope="col">Decision</th></tr></thead>
<tbody>{{range .P.StageTransitions}}<tr><th scope="row">{{.From}} → {{.To}}</th><td>{{.RequestedBy}}, {{.RequestedAt}}</td>
<td>{{range .Approvals}}{{.Approver}}, {{.At}}{{range .Gates}}<br><small>{{if .Passed}}passed{{else}}failed{{end}}: {{.Gate}} ({{.Detail}})</small>{{end}}<br>{{end}}</td>
<td>{{.Status}}{{with .DecidedBy}} by {{.}}{{end}}{{with .DecidedAt}}, {{.}}{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>None.</p>{{end}}

<h2>Deployments</h2>
{{if .P.Deployments}}<table>
<thead><tr><th scope="col">Environment</th><th scope="col">Strategy</th><th scope="col">Stage and approval</th><th scope="col">Deployed</th></tr></thead>
<tbody>{{range .P.Deployments}}<tr><th scope="row">{{.Environment}}</th><td>{{.Strategy}} {{.TrafficPercent}}%</td><td>{{.Stage}} <code>{{.ApprovalID}}</code></td>
<td>{{.DeployedBy}}, {{.DeployedAt}}{{with .RetiredAt}}; retired {{.}}{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>None.</p>{{end}}

<h2>Documents</h2>
{{if .P.Documents}}<table>
<thead><tr><th scope="col">Document</th><th scope="col">Kind</th><th scope="col">SHA-256</th><th scope="col">Signed off</th></tr></thead>
<tbody>{{range .P.Documents}}<tr><th scope="row">{{.Title}} ({{.Version}})</th><td>{{.Kind}}</td><td><code>{{.SHA256}}</code></td>
<td>{{range .Signoffs}}{{.Signer}} ({{.Meaning}}), {{.SignedAt}}<br>{{else}}not signed off{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>None.</p>{{end}}

<h2>Audit trail</h2>
<p>{{.P.Audit.SubjectEvents}} events of this version in {{len .P.Audit.Segments}} segments of the hash chain, each ending at a signed checkpoint.
Verification: {{if .P.Audit.Verification.OK}}the segments verify{{else}}<strong>failed</strong> {{.P.Audit.Verification.Reason}}{{end}}.</p>

<h2>Retention</h2>
<p>Logs at least {{.P.Retention.LogsMinDays}} days; technical documentation {{.P.Retention.TechdocMinYears}} years{{with .P.Retention.TechdocRetainUntil}} (until {{.}}){{end}}; archive {{.P.Retention.WORM.Backend}}, mode {{.P.Retention.WORM.Mode}}.</p>
<p><small>Verify offline: {{.P.Export.VerificationTool}}.</small></p>
</body>
</html>
`))
