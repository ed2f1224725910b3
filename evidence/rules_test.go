package evidence

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep/modelcard"
)

func TestEveryRowHasARule(t *testing.T) {
	for _, row := range MustLoad().Rows {
		if _, ok := RuleFor(row.ID); !ok {
			t.Errorf("row %s has no coverage rule", row.ID)
		}
	}
}

func TestEveryRuleNamesARow(t *testing.T) {
	c := MustLoad()
	if len(rules) != len(c.Rows) {
		t.Errorf("%d rules for %d rows", len(rules), len(c.Rows))
	}
	for id := range rules {
		if _, ok := c.Row(id); !ok {
			t.Errorf("rule %s names no row of catalogue %s", id, c.Version)
		}
	}
}

func TestRulesParse(t *testing.T) {
	for id, r := range rules {
		for _, alt := range r.Any {
			for _, c := range alt {
				if _, err := parseSelector(c.Selector); err != nil {
					t.Errorf("rule %s: %v", id, err)
				}
			}
		}
	}
}

// A rule either decides from its alternatives or from other rows (Meta),
// never both or neither, and an alternative is never empty (which would
// hold on any pack).
func TestRuleShape(t *testing.T) {
	c := MustLoad()
	for id, r := range rules {
		row, _ := c.Row(id)
		switch {
		case r.Meta != "" && len(r.Any) > 0:
			t.Errorf("rule %s is a meta rule with checks too", id)
		case r.Meta == "" && len(r.Any) == 0:
			t.Errorf("rule %s has no alternative", id)
		case r.Meta != "":
			// The rows it reads apply where it applies.
			n := 0
			for _, other := range c.Rows {
				if strings.HasPrefix(other.ID, r.Meta) && slices.ContainsFunc(row.Classes, other.AppliesTo) {
					n++
				}
			}
			if n == 0 {
				t.Errorf("meta rule %s reads rows %s*, none of which applies to %v", id, r.Meta, row.Classes)
			}
		}
		for i, alt := range r.Any {
			if len(alt) == 0 {
				t.Errorf("rule %s: alternative %d has no check", id, i)
			}
		}
	}
}

// A condition names an answer of the card's applicability block, and the
// rows the catalogue makes conditional are exactly the rows with one.
func TestRuleConditionsAreApplicabilityAnswers(t *testing.T) {
	answers := map[string]bool{}
	typ := reflect.TypeFor[modelcard.Applicability]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		answers[name] = true
	}
	for _, row := range MustLoad().Rows {
		r := rules[row.ID]
		if r.Condition != "" && !answers[r.Condition] {
			t.Errorf("rule %s: condition %q is not an applicability answer", row.ID, r.Condition)
		}
		if (row.Condition != nil) != (r.Condition != "") {
			t.Errorf("row %s: catalogue condition %v, rule condition %q", row.ID, row.Condition, r.Condition)
		}
	}
}

// A15-5's checks can each be waived on their own: one for each threat
// class of Art. 15(5) and the security run.
func TestThreatQualifiers(t *testing.T) {
	r, _ := RuleFor("A15-5")
	var got []string
	for _, c := range r.Any[0] {
		got = append(got, c.Qualifier)
	}
	want := append(slices.Clone(modelcard.ThreatClasses), "security_run")
	if !slices.Equal(got, want) {
		t.Errorf("qualifiers %v, want %v", got, want)
	}
	for id, r := range rules {
		for _, alt := range r.Any {
			for _, c := range alt {
				if c.Qualifier != "" && id != "A15-5" {
					t.Errorf("rule %s has qualifier %q: only A15-5 is split", id, c.Qualifier)
				}
			}
		}
	}
}

// Annex XII's rows that repeat Annex XI's have the same checks.
func TestSameAs(t *testing.T) {
	for id, same := range map[string]string{"AXII-1a": "AXI-1a", "AXII-1b": "AXI-1b", "AXII-1c": "AXI-1c", "AXII-1f": "AXI-1d",
		"AXII-1g": "AXI-1e", "AXII-1h": "AXI-1f", "AXII-2a": "AXI-2a"} {
		a, b := rules[id], rules[same]
		if !reflect.DeepEqual(a.Any, b.Any) || a.Condition != b.Condition || a.PostMarket != b.PostMarket {
			t.Errorf("%s does not have %s's checks", id, same)
		}
		if a.Note != "the same evidence as "+same {
			t.Errorf("%s: note %q", id, a.Note)
		}
	}
}

// Every name a selector steps into, and every key its filters read, is a
// member of the pack (its JSON Schema says which): a misspelt selector
// would otherwise simply never hold.
func TestRuleSelectorsNameMembersOfThePack(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatal(err)
	}
	for id, r := range rules {
		for _, alt := range r.Any {
			for _, c := range alt {
				s, err := parseSelector(c.Selector)
				if err != nil {
					t.Fatal(err)
				}
				if err := schemaHasPath(root, s.segments); err != "" {
					t.Errorf("rule %s, %s: %s", id, c.Selector, err)
				}
			}
		}
	}
}

// schemaHasPath follows segments through a schema: it returns what is not
// there ("" when all is).
func schemaHasPath(node map[string]any, segs []segment) string {
	for _, seg := range segs {
		node = elementOf(node)
		props, ok := node["properties"].(map[string]any)
		if !ok {
			return seg.name + " is not a member: its parent is not an object"
		}
		child, ok := props[seg.name].(map[string]any)
		if !ok {
			return seg.name + " is not a member"
		}
		if seg.filtered {
			elemProps, _ := elementOf(child)["properties"].(map[string]any)
			for _, c := range seg.conds {
				if _, ok := elemProps[c.key]; !ok {
					return "filter key " + c.key + " is not a member of " + seg.name
				}
			}
		}
		node = child
	}
	return ""
}

// elementOf is the schema of a list's elements, or the schema itself.
func elementOf(node map[string]any) map[string]any {
	if items, ok := node["items"].(map[string]any); ok {
		return items
	}
	return node
}

// Post-market rows are the monitoring ones: Art. 72(2)'s data, Art. 73's
// incident reports and the deployers' logs.
func TestPostMarketRules(t *testing.T) {
	var got []string
	for _, row := range MustLoad().Rows {
		if rules[row.ID].PostMarket {
			got = append(got, row.ID)
		}
	}
	if want := []string{"A26-6", "A72-2", "A73-2"}; !slices.Equal(got, want) {
		t.Errorf("post-market rules %v, want %v", got, want)
	}
}
