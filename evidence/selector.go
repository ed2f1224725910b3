package evidence

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/modelkeep/modelkeep/modelcard"
)

// A selector names evidence in a pack, by path, as the coverage rules and
// evidence_paths write it:
//
//	system.intended_purpose                    the field is answered
//	runs[kind=robustness].report.signoffs      some robustness run's report is signed off
//	runs[all kind=evaluation|fairness].report  every such run (and at least one) has a report
//	declared_metrics[category=accuracy,declared_in_ifu=true].value
//	datasets[all role=training].provenance     every training dataset's provenance is told
//	datasets[each x=true].safeguards           every dataset with x true (if any) has safeguards
//	declared_metrics[all threshold].threshold_before_run=true
//	retention.logs_min_days>=184
//
// A path steps into objects by name; into a list without a filter it means
// "some element". A filter keeps the elements whose fields equal one of
// the values (key alone: whose field is answered); "all" asks the rest of
// the path of every kept element, of which there must be one; "each" asks
// it of every kept element and holds when none is kept (a condition that
// applies to no element is met). "Answered" is what a person would call
// an answer: a non-blank text that is not a placeholder, a number, true or
// false, a non-empty list or object.
type selector struct {
	text     string
	segments []segment
	op       string // "", "=" or ">="
	operand  string
}

type segment struct {
	name string
	all  bool
	// each is all that holds of an empty selection.
	each  bool
	conds []cond
	// filtered is true when the segment has [...], even [all].
	filtered bool
}

type cond struct {
	key    string
	values []string // empty: the key is answered
}

// parseSelector reads a selector; rules are code, so a bad one is a
// programming error that TestRulesParse catches.
func parseSelector(s string) (selector, error) {
	sel := selector{text: s}
	path := s
	// A comparison stands after the last filter.
	tail := 0
	if i := strings.LastIndex(s, "]"); i >= 0 {
		tail = i + 1
	}
	for _, op := range []string{">=", "="} {
		if i := strings.Index(s[tail:], op); i >= 0 {
			path, sel.op, sel.operand = s[:tail+i], op, s[tail+i+len(op):]
			break
		}
	}
	for part := range strings.SplitSeq(path, ".") {
		seg := segment{name: part}
		if i := strings.IndexByte(part, '['); i >= 0 {
			if !strings.HasSuffix(part, "]") {
				return selector{}, fmt.Errorf("selector %q: unclosed [", s)
			}
			seg.name, seg.filtered = part[:i], true
			f := strings.TrimSuffix(part[i+1:], "]")
			for _, word := range []string{"all", "each"} {
				if rest, ok := strings.CutPrefix(f, word); ok && (rest == "" || rest[0] == ' ') {
					seg.all, seg.each, f = true, word == "each", strings.TrimSpace(rest)
				}
			}
			for c := range strings.SplitSeq(f, ",") {
				if c == "" {
					continue
				}
				k, v, hasValue := strings.Cut(c, "=")
				cd := cond{key: k}
				if hasValue {
					cd.values = strings.Split(v, "|")
				}
				seg.conds = append(seg.conds, cd)
			}
		}
		if seg.name == "" {
			return selector{}, fmt.Errorf("selector %q: empty name", s)
		}
		sel.segments = append(sel.segments, seg)
	}
	return sel, nil
}

// holds reports whether the selector finds its evidence in doc (the pack as
// decoded JSON).
func (s selector) holds(doc any) bool { return s.eval(doc, s.segments) }

func (s selector) eval(v any, segs []segment) bool {
	if len(segs) == 0 {
		return s.leaf(v)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	seg := segs[0]
	child, ok := obj[seg.name]
	if !ok {
		return false
	}
	list, isList := child.([]any)
	if !isList {
		if !seg.filtered {
			return s.eval(child, segs[1:])
		}
		list = []any{child}
	}
	kept := list[:0:0]
	for _, e := range list {
		if matches(e, seg.conds) {
			kept = append(kept, e)
		}
	}
	if len(segs) == 1 && s.op == "" {
		// The list itself is the evidence: it must hold something, and
		// with "all", every kept element must be answered.
		if len(kept) == 0 {
			return seg.each
		}
		if seg.all {
			for _, e := range kept {
				if !answered(e) {
					return false
				}
			}
		}
		return true
	}
	if seg.all {
		if len(kept) == 0 {
			return seg.each
		}
		for _, e := range kept {
			if !s.eval(e, segs[1:]) {
				return false
			}
		}
		return true
	}
	for _, e := range kept {
		if len(segs) == 1 {
			if s.leaf(e) {
				return true
			}
			continue
		}
		if s.eval(e, segs[1:]) {
			return true
		}
	}
	return false
}

func matches(e any, conds []cond) bool {
	obj, ok := e.(map[string]any)
	if !ok {
		return len(conds) == 0
	}
	for _, c := range conds {
		v, ok := obj[c.key]
		if !ok {
			return false
		}
		if len(c.values) == 0 {
			if !answered(v) {
				return false
			}
			continue
		}
		found := false
		for _, want := range c.values {
			if scalarText(v) == want {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (s selector) leaf(v any) bool {
	switch s.op {
	case "":
		return answered(v)
	case "=":
		return scalarText(v) == s.operand
	case ">=":
		want, err := strconv.ParseFloat(s.operand, 64)
		n, ok := number(v)
		return err == nil && ok && n >= want
	}
	return false
}

// answered reports whether a value is an answer.
func answered(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return !modelcard.IsPlaceholder(x)
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true // numbers and booleans
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return ""
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}
