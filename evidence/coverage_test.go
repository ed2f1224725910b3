package evidence

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep/modelcard"
)

// rowIDs are the ids of rows, in order.
func rowIDs(rows []Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

// itemIDs are the row ids of coverage items, in order.
func itemIDs(items []CoverageItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.RowID)
	}
	return out
}

// notPresent maps every row that is not present to its status.
func notPresent(p *Pack) map[string]string {
	out := map[string]string{}
	for _, it := range p.Coverage {
		if it.Status != StatusPresent {
			out[it.RowID] = it.Status
		}
	}
	return out
}

// Every rule can be met: the complete pack evidences every row of every
// risk class, and nothing waits before the market.
func TestCompletePackCoversEveryRow(t *testing.T) {
	k := newKeys(t)
	c := MustLoad()
	for _, class := range []string{modelcard.RiskHighRisk, modelcard.RiskGPAI, modelcard.RiskGPAISystemicRisk, modelcard.RiskArt50} {
		t.Run(class, func(t *testing.T) {
			p := completePack(t, k)
			p.Export.RiskClass = class
			evaluate(t, p)
			for _, it := range p.Coverage {
				if it.Status != StatusPresent {
					t.Errorf("%s is %s: missing %v", it.RowID, it.Status, it.Missing)
				}
			}
			if got, want := itemIDs(p.Coverage), rowIDs(c.Applicable(class)); !slices.Equal(got, want) {
				t.Errorf("coverage rows %v, want the catalogue's %v", got, want)
			}
			for _, it := range p.Coverage {
				if it.Status == StatusPresent && len(it.EvidencePaths) == 0 && rules[it.RowID].Meta == "" {
					t.Errorf("%s is present without evidence paths", it.RowID)
				}
			}
			if got := MissingBeforeMarket(p.Coverage); len(got) != 0 {
				t.Errorf("missing before market: %v", got)
			}
		})
	}
}

// A pack holds one item for every row that applies to its risk class, in
// catalogue order, and none for the others.
func TestRowsOutsideTheRiskClassAreAbsent(t *testing.T) {
	c := MustLoad()
	for _, class := range append(slices.Clone(modelcard.RiskClasses), "unknown") {
		t.Run(class, func(t *testing.T) {
			p := &Pack{Export: Export{SchemaID: SchemaID, RiskClass: class}}
			evaluate(t, p)
			want := rowIDs(c.Applicable(class))
			if got := itemIDs(p.Coverage); !slices.Equal(got, want) {
				t.Errorf("coverage rows %v, want %v", got, want)
			}
			for _, it := range p.Coverage {
				if row, _ := c.Row(it.RowID); !row.AppliesTo(class) {
					t.Errorf("row %s does not apply to %s", it.RowID, class)
				}
			}
		})
	}
	for _, tt := range []struct {
		class       string
		has, hasNot []string
	}{
		{modelcard.RiskHighRisk, []string{"A11-1", "A15-5", "A73-2"}, []string{"A53-1a", "AXI-1a", "A50-2"}},
		{modelcard.RiskGPAI, []string{"A53-1a", "AXI-1a", "AXII-2c"}, []string{"A11-1", "AXI-S2-1", "A50-2"}},
		{modelcard.RiskGPAISystemicRisk, []string{"A53-1a", "AXI-S2-1", "AXI-S2-3"}, []string{"A11-1", "A50-2"}},
		{modelcard.RiskArt50, []string{"A50-2"}, []string{"A11-1", "A53-1a"}},
		{modelcard.RiskMinimal, nil, []string{"A11-1", "A53-1a", "A50-2"}},
	} {
		p := &Pack{Export: Export{SchemaID: SchemaID, RiskClass: tt.class}}
		evaluate(t, p)
		ids := itemIDs(p.Coverage)
		for _, id := range tt.has {
			if !slices.Contains(ids, id) {
				t.Errorf("%s: %s is absent", tt.class, id)
			}
		}
		for _, id := range tt.hasNot {
			if slices.Contains(ids, id) {
				t.Errorf("%s: %s is present", tt.class, id)
			}
		}
	}
}

// A pack with nothing but what the registry always writes evidences the
// two rows that rest on the export itself; everything else is missing and
// says what it misses.
func TestMinimalPack(t *testing.T) {
	c := MustLoad()
	p := &Pack{
		Export: Export{SchemaID: SchemaID, RiskClass: modelcard.RiskHighRisk, RequirementsCatalogue: c.Name,
			RequirementsCatalogueVersion: c.Version, VerificationTool: "modelkeep evidence verify"},
		Audit: Audit{KeyID: "k", PublicKey: "-----BEGIN PUBLIC KEY-----"},
	}
	evaluate(t, p)
	var present []string
	for _, it := range p.Coverage {
		switch it.Status {
		case StatusPresent:
			present = append(present, it.RowID)
		case StatusMissing:
			if len(it.Missing) == 0 || len(it.EvidencePaths) != 0 {
				t.Errorf("%s: missing %v, evidence %v", it.RowID, it.Missing, it.EvidencePaths)
			}
		default:
			t.Errorf("%s is %s: nothing was answered or justified", it.RowID, it.Status)
		}
	}
	if want := []string{"A11-3", "A18-2"}; !slices.Equal(present, want) {
		t.Errorf("present %v, want %v", present, want)
	}
	if got := itemOf(t, p, "A11-3").EvidencePaths; !slices.Equal(got, []string{"export.requirements_catalogue_version"}) {
		t.Errorf("A11-3 evidence %v", got)
	}
	// An unanswered condition leaves the rule to decide.
	if got := itemOf(t, p, "A14-5"); got.Status != StatusMissing {
		t.Errorf("A14-5 is %s without an answer", got.Status)
	}
	if len(p.NotApplicable) != 0 {
		t.Errorf("not applicable %v", p.NotApplicable)
	}
}

// Taking one piece of evidence away makes exactly the rows that rest on it
// missing, each naming what it misses (the closest alternative's checks).
func TestEvidenceTakenAway(t *testing.T) {
	k := newKeys(t)
	const annexIV = "coverage[row_id=%s]" // A11-1 reads the Annex IV rows
	meta := func(id string) string { return fmt.Sprintf(annexIV, id) }
	tests := []struct {
		name   string
		change func(p *Pack)
		want   map[string][]string // row: its missing selectors
	}{
		{"intended purpose a placeholder", func(p *Pack) { p.System.IntendedPurpose = "TBD" }, map[string][]string{
			"AIV-1a": {"system.intended_purpose"}, "A13-3b-i": {"system.intended_purpose"}, "A11-1": {meta("AIV-1a")}}},
		{"intended purpose n/a", func(p *Pack) { p.System.IntendedPurpose = "n/a" }, map[string][]string{
			"AIV-1a": {"system.intended_purpose"}, "A13-3b-i": {"system.intended_purpose"}, "A11-1": {meta("AIV-1a")}}},
		{"no provider", func(p *Pack) { p.Provider = nil }, map[string][]string{
			"AIV-1a": {"provider.name"}, "A11-1": {meta("AIV-1a")},
			"A13-3a": {"provider.name", "provider.contact", "provider.established_in_eu=true"}}},
		{"provider outside the EU", func(p *Pack) { p.Provider.EstablishedInEU = ptr(false) }, map[string][]string{
			"A13-3a": {"provider.established_in_eu=true"}}},
		{"provider outside the EU with a representative", func(p *Pack) {
			p.Provider.EstablishedInEU = ptr(false)
			p.Provider.EUAuthorisedRepresentative = &modelcard.Party{Name: "Rep GmbH"}
		}, nil},
		{"software dependencies from the training run", func(p *Pack) { p.System.SoftwareDependencies = nil }, nil},
		{"no software dependencies anywhere", func(p *Pack) {
			p.System.SoftwareDependencies = nil
			p.Runs[0].Environment.Libraries = nil
		}, map[string][]string{"AIV-1c": {"system.software_dependencies"}, "A11-1": {meta("AIV-1c")}}},
		{"a threat without a measure", func(p *Pack) { p.Cybersecurity.Threats[1].Measure = "TODO" }, map[string][]string{
			"A15-5": {"cybersecurity.threats[class=model_poisoning].measure"}}},
		{"logs kept under six months", func(p *Pack) { p.Retention.LogsMinDays = 183 }, map[string][]string{
			"A17-1k": {"retention.logs_min_days>=184"}, "A19-1": {"retention.logs_min_days>=184"},
			"A26-6": {"retention.logs_min_days>=184"}}},
		{"a test report not signed off", func(p *Pack) { p.Runs[3].Report.Signoffs = nil }, map[string][]string{
			"AIV-2g": {"runs[all kind=" + testRuns + "].report.signoffs"}, "A11-1": {meta("AIV-2g")}}},
		{"a threshold declared after its run", func(p *Pack) { p.DeclaredMetrics[0].ThresholdBeforeRun = ptr(false) }, map[string][]string{
			"A9-6": {"declared_metrics[all threshold].threshold_before_run=true"}}},
		{"special categories used without safeguards", func(p *Pack) { p.Datasets[0].SpecialCategoriesUsed = ptr(true) }, map[string][]string{
			"A10-5": {"datasets[each special_categories_used=true].safeguards.sha256"}}},
		{"special categories used with safeguards", func(p *Pack) {
			p.Datasets[0].SpecialCategoriesUsed = ptr(true)
			p.Datasets[0].Safeguards = doc("safeguards")
		}, nil},
		{"special categories not answered", func(p *Pack) { p.Datasets[0].SpecialCategoriesUsed = nil }, map[string][]string{
			"A10-5": {"datasets[all role=training].special_categories_used"}}},
		{"four eyes not enforced", func(p *Pack) { p.Config.FourEyes = false }, map[string][]string{
			"A17-1m": {"config.four_eyes=true"}}},
		{"no approvals required", func(p *Pack) { p.Config.TransitionPolicy.RequiredApprovals = 0 }, map[string][]string{
			"A17-1a": {"config.transition_policy.required_approvals>=1"}, "A17-1c": {"config.transition_policy.required_approvals>=1"}}},
		{"no audit segments", func(p *Pack) { p.Audit.Segments = []Segment{} }, map[string][]string{"A12-1": {"audit.segments"}}},
		{"the audit trail did not verify", func(p *Pack) { p.Audit.Verification.OK = false }, map[string][]string{
			"AIV-6": {"audit.verification.ok=true"}, "A12-1": {"audit.verification.ok=true"},
			"A17-1k": {"audit.verification.ok=true"}, "A11-1": {meta("AIV-6")}}},
		{"an aspect of the QMS undocumented", func(p *Pack) { p.QMS.Documents = p.QMS.Documents[1:] }, map[string][]string{
			"A17-1a": {"qms.documents[aspect=a].doc.sha256"}}},
		{"an oversight capability missing", func(p *Pack) {
			p.HumanOversight.Measures = slices.DeleteFunc(p.HumanOversight.Measures,
				func(m modelcard.OversightMeasure) bool { return m.Capability == "stop" })
		}, map[string][]string{"A14-4e": {"human_oversight.measures[capability=stop].description"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := completePack(t, k)
			tt.change(p)
			evaluate(t, p)
			got := notPresent(p)
			for id := range got {
				if _, ok := tt.want[id]; !ok {
					t.Errorf("%s is %s: %v", id, got[id], itemOf(t, p, id).Missing)
				}
			}
			for id, missing := range tt.want {
				it := itemOf(t, p, id)
				if it.Status != StatusMissing || !slices.Equal(it.Missing, missing) {
					t.Errorf("%s is %s, missing %v; want missing %v", id, it.Status, it.Missing, missing)
				}
				if len(it.EvidencePaths) != 0 && rules[id].Meta == "" {
					t.Errorf("%s is missing with evidence paths %v", id, it.EvidencePaths)
				}
			}
		})
	}
}

// removeInteractingSystems takes AIV-1b's only evidence away.
func removeInteractingSystems(p *Pack) { p.System.InteractingSystems = nil }

// A justification makes a row not applicable only with why, who and when.
func TestNotApplicableNeedsAJustification(t *testing.T) {
	k := newKeys(t)
	full := NotApplicable{RowID: "AIV-1b", Justification: "the system works alone", EnteredBy: "alice", EnteredAt: at(3),
		AuditEventID: 9, Source: "version"}
	tests := []struct {
		name   string
		change func(na *NotApplicable)
		want   string
	}{
		{"justified", func(*NotApplicable) {}, StatusNotApplicable},
		{"no justification", func(na *NotApplicable) { na.Justification = "" }, StatusMissing},
		{"a blank justification", func(na *NotApplicable) { na.Justification = " \t" }, StatusMissing},
		{"a placeholder justification", func(na *NotApplicable) { na.Justification = "n/a" }, StatusMissing},
		{"nobody entered it", func(na *NotApplicable) { na.EnteredBy = "" }, StatusMissing},
		{"no time", func(na *NotApplicable) { na.EnteredAt = "" }, StatusMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := completePack(t, k)
			removeInteractingSystems(p)
			na := full
			tt.change(&na)
			p.NotApplicable = []NotApplicable{na}
			evaluate(t, p)
			it := itemOf(t, p, "AIV-1b")
			if it.Status != tt.want {
				t.Fatalf("AIV-1b is %s, want %s", it.Status, tt.want)
			}
			annexIV := itemOf(t, p, "A11-1")
			if tt.want == StatusNotApplicable {
				if !slices.Equal(it.EvidencePaths, []string{"not_applicable[row_id=AIV-1b]"}) {
					t.Errorf("evidence %v", it.EvidencePaths)
				}
				// A row not applicable counts for the rows that read it.
				if annexIV.Status != StatusPresent || !slices.Contains(annexIV.EvidencePaths, "coverage[row_id=AIV-1b]") {
					t.Errorf("A11-1 is %s with evidence %v", annexIV.Status, annexIV.EvidencePaths)
				}
				if got := MissingBeforeMarket(p.Coverage); len(got) != 0 {
					t.Errorf("missing before market %v", got)
				}
			} else if got := MissingBeforeMarket(p.Coverage); !slices.Equal(got, []string{"A11-1", "AIV-1b"}) {
				t.Errorf("missing before market %v, want A11-1 and AIV-1b", got)
			}
		})
	}
	t.Run("over evidence", func(t *testing.T) {
		p := completePack(t, k)
		p.NotApplicable = []NotApplicable{full}
		evaluate(t, p)
		if got := itemOf(t, p, "AIV-1b").Status; got != StatusNotApplicable {
			t.Errorf("AIV-1b is %s: a justification is the provider's word, even where evidence exists", got)
		}
	})
	t.Run("a row of another risk class", func(t *testing.T) {
		p := completePack(t, k)
		p.NotApplicable = []NotApplicable{{RowID: "AXI-1a", Justification: "not a GPAI model", EnteredBy: "alice", EnteredAt: at(3)}}
		evaluate(t, p)
		if got := notPresent(p); len(got) != 0 || slices.Contains(itemIDs(p.Coverage), "AXI-1a") {
			t.Errorf("not present %v", got)
		}
	})
}

// A qualified justification (A15-5:<class>) waives one check of the row,
// not the row.
func TestQualifiedNotApplicable(t *testing.T) {
	k := newKeys(t)
	justify := func(id string) NotApplicable {
		return NotApplicable{RowID: id, Justification: "the weights are never updated in place", EnteredBy: "alice", EnteredAt: at(3)}
	}
	const (
		modelPoisoning = "cybersecurity.threats[class=model_poisoning].measure"
		securityRun    = "runs[kind=security].report.signoffs"
	)
	noModelPoisoningMeasure := func(p *Pack) { p.Cybersecurity.Threats[1].Measure = "" }
	noSecurityReport := func(p *Pack) { p.Runs[4].Report = nil }
	tests := []struct {
		name    string
		change  func(p *Pack)
		na      []NotApplicable
		want    string
		missing []string
		waived  string // the check that is not evidence when present
	}{
		{"unjustified", noModelPoisoningMeasure, nil, StatusMissing, []string{modelPoisoning}, ""},
		{"waived", noModelPoisoningMeasure, []NotApplicable{justify("A15-5:model_poisoning")}, StatusPresent, nil, modelPoisoning},
		{"another class waived", noModelPoisoningMeasure, []NotApplicable{justify("A15-5:data_poisoning")}, StatusMissing,
			[]string{modelPoisoning}, ""},
		{"waived without a justification", noModelPoisoningMeasure, []NotApplicable{{RowID: "A15-5:model_poisoning", EnteredBy: "alice",
			EnteredAt: at(3)}}, StatusMissing, []string{modelPoisoning}, ""},
		{"security run waived", noSecurityReport, []NotApplicable{justify("A15-5:security_run")}, StatusPresent, nil, securityRun},
		{"security run missing", noSecurityReport, nil, StatusMissing, []string{securityRun}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := completePack(t, k)
			tt.change(p)
			p.NotApplicable = tt.na
			evaluate(t, p)
			it := itemOf(t, p, "A15-5")
			if it.Status != tt.want || !slices.Equal(it.Missing, tt.missing) {
				t.Errorf("A15-5 is %s, missing %v; want %s, missing %v", it.Status, it.Missing, tt.want, tt.missing)
			}
			// What is waived is not claimed as evidence; the other five
			// checks are.
			if tt.want == StatusPresent && (len(it.EvidencePaths) != 5 || slices.Contains(it.EvidencePaths, tt.waived)) {
				t.Errorf("evidence %v: want the five checks other than %s", it.EvidencePaths, tt.waived)
			}
		})
	}
}

// setAnswer sets the applicability answer with JSON name to v.
func setAnswer(t *testing.T, p *Pack, name string, v *bool) {
	t.Helper()
	a := reflect.ValueOf(p.Applicability).Elem()
	for i := range a.NumField() {
		if tag, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("json"), ","); tag == name {
			a.Field(i).Set(reflect.ValueOf(v))
			return
		}
	}
	t.Fatalf("no applicability answer %q", name)
}

// A false applicability answer makes the rows of its condition not
// applicable, recorded with who answered and when; an unanswered or true
// one leaves the rule to decide.
func TestConditions(t *testing.T) {
	k := newKeys(t)
	c := MustLoad()
	for _, class := range []string{modelcard.RiskHighRisk, modelcard.RiskArt50} {
		for _, row := range c.Applicable(class) {
			cond := rules[row.ID].Condition
			if cond == "" {
				continue
			}
			t.Run(row.ID, func(t *testing.T) {
				for _, answer := range []*bool{nil, ptr(true), ptr(false)} {
					p := completePack(t, k)
					p.Export.RiskClass = class
					setAnswer(t, p, cond, answer)
					evaluate(t, p)
					it := itemOf(t, p, row.ID)
					if answer == nil || *answer {
						if it.Status != StatusPresent || len(p.NotApplicable) != 0 {
							t.Errorf("answer %v: %s is %s, not applicable %v", fmtAnswer(answer), row.ID, it.Status, p.NotApplicable)
						}
						continue
					}
					if it.Status != StatusNotApplicable || !slices.Equal(it.EvidencePaths, []string{"applicability." + cond + "=false"}) {
						t.Errorf("answer false: %s is %s with evidence %v", row.ID, it.Status, it.EvidencePaths)
					}
					// Exactly the rows of this condition went.
					for id, status := range notPresent(p) {
						if rules[id].Condition != cond {
							t.Errorf("answer %s=false made %s %s", cond, id, status)
						}
					}
					na := entryFor(p, row.ID)
					if na == nil {
						t.Fatalf("no not-applicable entry for %s", row.ID)
					}
					if na.EnteredBy != cardAuthor.By || na.EnteredAt != cardAuthor.At || na.AuditEventID != cardAuthor.AuditEventID ||
						na.Source != sourceApplicability || !strings.Contains(na.Justification, "applicability."+cond+" = false") {
						t.Errorf("entry %+v", *na)
					}
				}
			})
		}
	}
}

func fmtAnswer(b *bool) string {
	if b == nil {
		return "unanswered"
	}
	return fmt.Sprint(*b)
}

func entryFor(p *Pack, id string) *NotApplicable {
	for i := range p.NotApplicable {
		if p.NotApplicable[i].RowID == id {
			return &p.NotApplicable[i]
		}
	}
	return nil
}

// A true (or no) answer without the evidence leaves a conditional row
// missing: the answer only ever excuses.
func TestConditionalRowWithoutEvidence(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		row, answer string
		change      func(p *Pack)
		missing     []string
	}{
		{"A19-2", "financial_institution", func(p *Pack) { p.System.FinancialRetentionPolicy = "" },
			[]string{"system.financial_retention_policy"}},
		{"A11-1-SME", "sme_simplified_form", func(p *Pack) { p.System.DocumentationForm = "full" },
			[]string{"system.documentation_form=sme_simplified"}},
		{"A14-5", "remote_biometric_identification", func(p *Pack) {
			p.HumanOversight.Measures = slices.DeleteFunc(p.HumanOversight.Measures,
				func(m modelcard.OversightMeasure) bool { return m.Capability == "dual_verification" })
		}, []string{"human_oversight.measures[capability=dual_verification].description"}},
		{"A18-1d", "notified_body", func(p *Pack) { p.NotifiedBody.Certificate = nil }, []string{"notified_body.certificate.sha256"}},
	}
	for _, tt := range tests {
		for _, answer := range []*bool{nil, ptr(true), ptr(false)} {
			t.Run(tt.row+" "+fmtAnswer(answer), func(t *testing.T) {
				p := completePack(t, k)
				tt.change(p)
				setAnswer(t, p, tt.answer, answer)
				evaluate(t, p)
				it := itemOf(t, p, tt.row)
				switch {
				case answer != nil && !*answer:
					if it.Status != StatusNotApplicable {
						t.Errorf("%s is %s", tt.row, it.Status)
					}
				case it.Status != StatusMissing || !slices.Equal(it.Missing, tt.missing):
					t.Errorf("%s is %s, missing %v; want missing %v", tt.row, it.Status, it.Missing, tt.missing)
				}
			})
		}
	}
}

// A meta row is present when every row it reads is present or not
// applicable, and names them.
func TestMetaRows(t *testing.T) {
	k := newKeys(t)
	c := MustLoad()
	paths := func(class, prefix string) []string {
		var out []string
		for _, r := range c.Applicable(class) {
			if strings.HasPrefix(r.ID, prefix) {
				out = append(out, "coverage[row_id="+r.ID+"]")
			}
		}
		return out
	}
	tests := []struct {
		name, class, row, prefix string
		change                   func(p *Pack)
		status                   string
		missing                  []string
	}{
		{"Annex IV complete", modelcard.RiskHighRisk, "A11-1", "AIV-", func(*Pack) {}, StatusPresent, nil},
		{"Annex IV with a row not applicable", modelcard.RiskHighRisk, "A11-1", "AIV-", func(p *Pack) {
			p.Applicability.ProductComponent = ptr(false)
		}, StatusPresent, nil},
		{"Annex IV with a row missing", modelcard.RiskHighRisk, "A11-1", "AIV-", removeInteractingSystems,
			StatusMissing, []string{"coverage[row_id=AIV-1b]"}},
		{"Annex XI of a GPAI model", modelcard.RiskGPAI, "A53-1a", "AXI-", func(*Pack) {}, StatusPresent, nil},
		{"Annex XI with systemic risk", modelcard.RiskGPAISystemicRisk, "A53-1a", "AXI-", func(*Pack) {}, StatusPresent, nil},
		{"Annex XI with systemic risk, no security report", modelcard.RiskGPAISystemicRisk, "A53-1a", "AXI-",
			func(p *Pack) { p.Runs[4].Report = nil }, StatusMissing, []string{"coverage[row_id=AXI-S2-2]"}},
		{"Annex XII", modelcard.RiskGPAI, "A53-1b", "AXII-", func(*Pack) {}, StatusPresent, nil},
		{"Annex XII with a row missing", modelcard.RiskGPAI, "A53-1b", "AXII-", func(p *Pack) { p.GPAI.Interfaces = nil },
			StatusMissing, []string{"coverage[row_id=AXII-1d]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := completePack(t, k)
			p.Export.RiskClass = tt.class
			tt.change(p)
			evaluate(t, p)
			it := itemOf(t, p, tt.row)
			if it.Status != tt.status || !slices.Equal(it.Missing, tt.missing) {
				t.Errorf("%s is %s, missing %v; want %s, missing %v", tt.row, it.Status, it.Missing, tt.status, tt.missing)
			}
			// Every row read is named, as evidence or as missing.
			named := append(slices.Clone(it.EvidencePaths), it.Missing...)
			slices.Sort(named)
			want := paths(tt.class, tt.prefix)
			slices.Sort(want)
			if !slices.Equal(named, want) {
				t.Errorf("%s names %v, want %v", tt.row, named, want)
			}
		})
	}
	t.Run("justified itself", func(t *testing.T) {
		p := completePack(t, k)
		removeInteractingSystems(p)
		p.NotApplicable = []NotApplicable{{RowID: "A11-1", Justification: "documented under the product's file", EnteredBy: "alice", EnteredAt: at(3)}}
		evaluate(t, p)
		if got := itemOf(t, p, "A11-1").Status; got != StatusNotApplicable {
			t.Errorf("A11-1 is %s", got)
		}
	})
}

// Post-market rows may be missing at release: the production gate does
// not wait for them, but the summary still counts them.
func TestPostMarketRows(t *testing.T) {
	k := newKeys(t)
	p := completePack(t, k)
	p.Runs = slices.DeleteFunc(p.Runs, func(r Run) bool { return r.Kind == "monitoring" })
	p.Incidents[0].ReportedAt = ""
	p.Deployments = []Deployment{}
	evaluate(t, p)
	postMarket := []string{"A26-6", "A72-2", "A73-2"}
	if got := p.Summary.MissingRows; !slices.Equal(got, postMarket) {
		t.Errorf("missing rows %v, want %v", got, postMarket)
	}
	for _, id := range postMarket {
		if it := itemOf(t, p, id); !it.PostMarket || it.Status != StatusMissing {
			t.Errorf("%s: post-market %v, %s", id, it.PostMarket, it.Status)
		}
	}
	if got := MissingBeforeMarket(p.Coverage); len(got) != 0 {
		t.Errorf("missing before market %v: the gate waits for post-market rows", got)
	}
	if got := itemOf(t, p, "A72-2").Missing; !slices.Equal(got, []string{"runs[kind=monitoring].started_at", "runs[kind=monitoring].deployment_id"}) {
		t.Errorf("A72-2 missing %v", got)
	}
	removeInteractingSystems(p)
	evaluate(t, p)
	if got := MissingBeforeMarket(p.Coverage); !slices.Equal(got, []string{"A11-1", "AIV-1b"}) {
		t.Errorf("missing before market %v, want A11-1 and AIV-1b", got)
	}
}

func TestMissingBeforeMarket(t *testing.T) {
	tests := []struct {
		name  string
		items []CoverageItem
		want  []string
	}{
		{"none", nil, []string{}},
		{"present and not applicable", []CoverageItem{{RowID: "a", Status: StatusPresent}, {RowID: "b", Status: StatusNotApplicable}}, []string{}},
		{"missing, in order", []CoverageItem{{RowID: "b", Status: StatusMissing}, {RowID: "a", Status: StatusMissing}}, []string{"b", "a"}},
		{"post-market missing", []CoverageItem{{RowID: "a", Status: StatusMissing, PostMarket: true}, {RowID: "b", Status: StatusMissing}}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MissingBeforeMarket(tt.items)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("%#v, want %v", got, tt.want)
			}
		})
	}
}

// The summary counts the items: they add up, and the missing rows are
// listed in coverage order.
func TestSummaryCountsAddUp(t *testing.T) {
	k := newKeys(t)
	packs := map[string]func() *Pack{
		"complete": func() *Pack { return completePack(t, k) },
		"minimal":  func() *Pack { return &Pack{Export: Export{SchemaID: SchemaID, RiskClass: modelcard.RiskHighRisk}} },
		"mixed": func() *Pack {
			p := completePack(t, k)
			removeInteractingSystems(p)
			p.Applicability.RemoteBiometricIdentification = ptr(false)
			p.Retention.LogsMinDays = 30
			p.NotApplicable = []NotApplicable{{RowID: "A49-1", Justification: "registered by the deployer", EnteredBy: "alice", EnteredAt: at(3)}}
			return p
		},
		"gpai, nothing": func() *Pack { return &Pack{Export: Export{SchemaID: SchemaID, RiskClass: modelcard.RiskGPAI}} },
	}
	for name, mk := range packs {
		t.Run(name, func(t *testing.T) {
			p := mk()
			evaluate(t, p)
			s := p.Summary
			count := map[string]int{}
			var missing []string
			for _, it := range p.Coverage {
				count[it.Status]++
				if it.Status == StatusMissing {
					missing = append(missing, it.RowID)
				}
			}
			if s.Applicable != len(p.Coverage) || s.Present+s.Missing+s.NotApplicable != s.Applicable ||
				s.Present != count[StatusPresent] || s.Missing != count[StatusMissing] || s.NotApplicable != count[StatusNotApplicable] {
				t.Errorf("summary %+v for counts %v of %d items", s, count, len(p.Coverage))
			}
			if s.MissingRows == nil || !slices.Equal(s.MissingRows, missing) {
				t.Errorf("missing rows %#v, want %v", s.MissingRows, missing)
			}
		})
	}
}

// Evaluating again gives the same coverage, and follows an answer that
// changed.
func TestEvaluateAgain(t *testing.T) {
	k := newKeys(t)
	p := completePack(t, k)
	p.Applicability.RemoteBiometricIdentification = ptr(false)
	evaluate(t, p)
	first, _ := json.Marshal(struct {
		C []CoverageItem
		S CoverageSummary
		N []NotApplicable
	}{p.Coverage, p.Summary, p.NotApplicable})
	evaluate(t, p)
	again, _ := json.Marshal(struct {
		C []CoverageItem
		S CoverageSummary
		N []NotApplicable
	}{p.Coverage, p.Summary, p.NotApplicable})
	if string(first) != string(again) {
		t.Errorf("a second Evaluate differs:\n%s\n%s", first, again)
	}
	p.Applicability.RemoteBiometricIdentification = ptr(true)
	evaluate(t, p)
	if got := notPresent(p); len(got) != 0 || len(p.NotApplicable) != 0 {
		t.Errorf("after the answer changed to true: not present %v, not applicable %v", got, p.NotApplicable)
	}
}

// Evaluate writes the coverage, the summary and the applicability
// entries, and nothing else of the pack.
func TestEvaluateChangesOnlyTheCoverage(t *testing.T) {
	k := newKeys(t)
	p := completePack(t, k)
	attachBOM(t, p, k.registry)
	before, err := Canonical(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Applicability.NotifiedBody = ptr(false)
	evaluate(t, p)
	p.Applicability.NotifiedBody = ptr(true)
	p.Coverage, p.Summary, p.NotApplicable = nil, CoverageSummary{}, []NotApplicable{}
	after, err := Canonical(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("Evaluate changed the pack's evidence")
	}
}

// Every item carries its rule's note and post-market flag.
func TestCoverageItemsCarryTheirRule(t *testing.T) {
	k := newKeys(t)
	for _, class := range []string{modelcard.RiskHighRisk, modelcard.RiskGPAISystemicRisk} {
		p := completePack(t, k)
		p.Export.RiskClass = class
		evaluate(t, p)
		for _, it := range p.Coverage {
			r := rules[it.RowID]
			if it.Note != r.Note || it.PostMarket != r.PostMarket {
				t.Errorf("%s: note %q post-market %v; rule %q %v", it.RowID, it.Note, it.PostMarket, r.Note, r.PostMarket)
			}
			if it.EvidencePaths == nil {
				t.Errorf("%s: evidence paths null", it.RowID)
			}
		}
	}
}

// A catalogue row without a rule is an error, not a row quietly left out.
func TestEvaluateNeedsARuleForEveryRow(t *testing.T) {
	saved := rules["A49-1"]
	delete(rules, "A49-1")
	t.Cleanup(func() { rules["A49-1"] = saved })
	p := &Pack{Export: Export{SchemaID: SchemaID, RiskClass: modelcard.RiskHighRisk}}
	err := Evaluate(p, MustLoad(), cardAuthor)
	if err == nil || !strings.Contains(err.Error(), "A49-1") {
		t.Errorf("error %v, want one naming A49-1", err)
	}
}
