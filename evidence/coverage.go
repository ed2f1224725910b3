package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/modelkeep/modelkeep/modelcard"
)

var (
	parsedOnce sync.Once
	parsed     map[string]selector
	parseErr   error
)

// selectorOf returns the parsed selector of a rule's check.
func selectorOf(text string) selector {
	parsedOnce.Do(func() {
		parsed = map[string]selector{}
		for _, r := range rules {
			for _, alt := range r.Any {
				for _, c := range alt {
					s, err := parseSelector(c.Selector)
					if err != nil {
						parseErr = err
						return
					}
					parsed[c.Selector] = s
				}
			}
		}
	})
	if parseErr != nil {
		panic(parseErr) // TestRulesParse
	}
	return parsed[text]
}

// Qualifiers are the parts of a row that a justification may waive alone
// (A15-5: each threat class and the security run).
func (r Rule) Qualifiers() []string {
	var out []string
	for _, alt := range r.Any {
		for _, c := range alt {
			if c.Qualifier != "" && !slices.Contains(out, c.Qualifier) {
				out = append(out, c.Qualifier)
			}
		}
	}
	return out
}

// RuleFor returns the rule of a catalogue row.
func RuleFor(id string) (Rule, bool) {
	r, ok := rules[id]
	return r, ok
}

// Answerer is who gave the card's applicability answers, for the
// not-applicable entries a false answer makes: For names who gave one
// answer (a version's card may answer some, its model's card the rest),
// the other fields who gave the answers For does not name.
type Answerer struct {
	By           string
	At           string
	AuditEventID int64
	For          map[string]Answerer
}

// of is who gave the answer to condition.
func (a Answerer) of(condition string) Answerer {
	if x, ok := a.For[condition]; ok {
		return x
	}
	return a
}

// sourceApplicability is the Source of the not-applicable entries that
// the card's applicability answers make.
const sourceApplicability = "card applicability"

// Evaluate decides the coverage of every catalogue row that applies to the
// pack's risk class (Export.RiskClass), from the pack's content and its
// NotApplicable entries (justifications), and sets Coverage, Summary and
// the not-applicable entries that the card's applicability answers make.
// It reads the pack as its JSON: the rules are selectors over it.
func Evaluate(p *Pack, c Catalogue, applicability Answerer) error {
	doc, err := packDocument(p)
	if err != nil {
		return err
	}
	// The card's answers are decided again below: the entries an earlier
	// Evaluate made from them are not justifications (the answer may have
	// changed since).
	p.NotApplicable = slices.DeleteFunc(slices.Clone(p.NotApplicable), func(na NotApplicable) bool { return na.Source == sourceApplicability })
	exempt := map[string]bool{}
	waived := map[string]map[string]bool{}
	for _, na := range p.NotApplicable {
		if !justified(na) {
			continue // it exempts nothing; Verify names it
		}
		row, qualifier, qualified := strings.Cut(na.RowID, ":")
		if !qualified {
			exempt[row] = true
			continue
		}
		if waived[row] == nil {
			waived[row] = map[string]bool{}
		}
		waived[row][qualifier] = true
	}
	answers, _ := doc["applicability"].(map[string]any)

	applicable := c.Applicable(p.Export.RiskClass)
	items := make([]CoverageItem, len(applicable))
	status := map[string]string{}
	var metas []int
	for i, row := range applicable {
		rule, ok := rules[row.ID]
		if !ok {
			return fmt.Errorf("evidence: no coverage rule for catalogue row %s", row.ID)
		}
		item := CoverageItem{RowID: row.ID, PostMarket: rule.PostMarket, Note: rule.Note, EvidencePaths: []string{}}
		switch {
		case exempt[row.ID]:
			item.Status = StatusNotApplicable
			item.EvidencePaths = []string{fmt.Sprintf("not_applicable[row_id=%s]", row.ID)}
		case rule.Condition != "" && answers[rule.Condition] == false:
			item.Status = StatusNotApplicable
			item.EvidencePaths = []string{"applicability." + rule.Condition + "=false"}
			who := applicability.of(rule.Condition)
			p.NotApplicable = append(p.NotApplicable, NotApplicable{
				RowID: row.ID, Justification: fmt.Sprintf("the row applies %s; the card answers applicability.%s = false", conditionText(row), rule.Condition),
				EnteredBy: who.By, EnteredAt: who.At, AuditEventID: who.AuditEventID, Source: sourceApplicability,
			})
		case rule.Meta != "":
			metas = append(metas, i)
		default:
			item.Status, item.EvidencePaths, item.Missing = decide(rule, doc, waived[row.ID])
		}
		items[i] = item
		status[row.ID] = item.Status
	}
	for _, i := range metas {
		item := &items[i]
		prefix := rules[item.RowID].Meta
		item.Status = StatusPresent
		for _, row := range applicable {
			if !strings.HasPrefix(row.ID, prefix) {
				continue
			}
			if status[row.ID] == StatusMissing {
				item.Status = StatusMissing
				item.Missing = append(item.Missing, fmt.Sprintf("coverage[row_id=%s]", row.ID))
			} else {
				item.EvidencePaths = append(item.EvidencePaths, fmt.Sprintf("coverage[row_id=%s]", row.ID))
			}
		}
		status[item.RowID] = item.Status
	}
	p.Coverage = items
	p.Summary = summarize(items)
	slices.SortStableFunc(p.NotApplicable, func(a, b NotApplicable) int { return strings.Compare(a.RowID, b.RowID) })
	return nil
}

// justified reports whether a not-applicable entry says why (not a
// placeholder), who and when: only then does it make a row not applicable.
func justified(na NotApplicable) bool {
	return !modelcard.IsPlaceholder(na.Justification) && na.EnteredBy != "" && na.EnteredAt != ""
}

// decide evaluates a rule's alternatives; the first that holds gives the
// evidence paths, else the alternative closest to holding gives what is
// missing.
func decide(rule Rule, doc map[string]any, waived map[string]bool) (string, []string, []string) {
	var bestMissing []string
	for i, alt := range rule.Any {
		var found, missing []string
		for _, c := range alt {
			if c.Qualifier != "" && waived[c.Qualifier] {
				continue
			}
			if selectorOf(c.Selector).holds(doc) {
				found = append(found, c.Selector)
			} else {
				missing = append(missing, c.Selector)
			}
		}
		if len(missing) == 0 {
			if found == nil {
				found = []string{}
			}
			return StatusPresent, found, nil
		}
		if i == 0 || len(missing) < len(bestMissing) {
			bestMissing = missing
		}
	}
	return StatusMissing, []string{}, bestMissing
}

func conditionText(r Row) string {
	if r.Condition == nil {
		return "always"
	}
	return *r.Condition
}

func summarize(items []CoverageItem) CoverageSummary {
	s := CoverageSummary{Applicable: len(items), MissingRows: []string{}}
	for _, it := range items {
		switch it.Status {
		case StatusPresent:
			s.Present++
		case StatusMissing:
			s.Missing++
			s.MissingRows = append(s.MissingRows, it.RowID)
		case StatusNotApplicable:
			s.NotApplicable++
		}
	}
	return s
}

// MissingBeforeMarket returns the rows the production gate waits for: the
// missing ones, apart from those evidenced after placing on the market.
func MissingBeforeMarket(items []CoverageItem) []string {
	out := []string{}
	for _, it := range items {
		if it.Status == StatusMissing && !it.PostMarket {
			out = append(out, it.RowID)
		}
	}
	return out
}

// packDocument is the pack as the rules read it: its JSON, without the
// audit events (none of the rules looks into them) and what Evaluate
// writes.
func packDocument(p *Pack) (map[string]any, error) {
	light := *p
	light.Audit.Segments = nil
	light.Coverage, light.Summary, light.Integrity = nil, CoverageSummary{}, nil
	b, err := json.Marshal(light)
	if err != nil {
		return nil, fmt.Errorf("encode pack: %w", err)
	}
	if len(p.Audit.Segments) > 0 {
		// The segments are evidence (A12-1): keep that they are there.
		b = bytes.Replace(b, []byte(`"segments":null`), []byte(`"segments":[{}]`), 1)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode pack: %w", err)
	}
	return doc, nil
}
