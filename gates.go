package modelkeep

import (
	"fmt"
	"sort"
	"strings"
)

// MetricGate requires a metric of the version to meet a threshold.
type MetricGate struct {
	Key       string
	Op        string // >=, >, <=, <, == (or =, the same)
	Threshold float64
	Dataset   string // "" for any
	Split     string // "" for any
}

// GateResult is the outcome of one promotion gate.
type GateResult struct {
	Gate   string // e.g. "metric auc >= 0.9 on holdout", "tag risk_review"
	Passed bool
	Detail string // e.g. "auc = 0.93 (step 12)", "tag missing"
}

// GateError is the refusal of an approval whose promotion gates failed
// (412); Results lists every gate with its outcome.
type GateError struct {
	Results []GateResult
}

func (e *GateError) Error() string {
	var failed []string
	for _, r := range e.Results {
		if !r.Passed {
			failed = append(failed, fmt.Sprintf("%s (%s)", r.Gate, r.Detail))
		}
	}
	return "promotion gates failed: " + strings.Join(failed, "; ")
}

func (e *GateError) Unwrap() error { return ErrPrecondition }

// Failed returns the gates that did not pass.
func (e *GateError) Failed() []GateResult {
	var out []GateResult
	for _, r := range e.Results {
		if !r.Passed {
			out = append(out, r)
		}
	}
	return out
}

// gateOps are the operators of metric gates: the filter language's
// comparisons (search.md), "=" and "==" both meaning equality.
var gateOps = []string{">=", ">", "<=", "<", "==", "="}

func compare(v float64, op string, threshold float64) bool {
	switch op {
	case ">=":
		return v >= threshold
	case ">":
		return v > threshold
	case "<=":
		return v <= threshold
	case "<":
		return v < threshold
	case "==", "=":
		return v == threshold
	}
	return false
}

func (g MetricGate) String() string {
	s := fmt.Sprintf("metric %s %s %g", g.Key, g.Op, g.Threshold)
	if g.Dataset != "" {
		s += " on " + g.Dataset
	}
	if g.Split != "" {
		s += " (" + g.Split + ")"
	}
	return s
}

// EvaluateGates checks a version against a policy's gates: each required
// tag, and each metric gate against the latest matching point (highest
// step, then newest, then the last recorded: metrics come in the order
// ListMetricsPage gives, and the latest is what filters and order_by see).
// A missing tag or metric fails its gate.
func EvaluateGates(p Policy, v Version, metrics []Metric) []GateResult {
	var out []GateResult
	keys := make([]string, 0, len(p.RequiredTags))
	for k := range p.RequiredTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := p.RequiredTags[k]
		gate := "tag " + k
		if want != "" {
			gate += " = " + want
		}
		got, ok := v.Tags[k]
		switch {
		case !ok:
			out = append(out, GateResult{Gate: gate, Passed: false, Detail: "tag missing"})
		case want != "" && got != want:
			out = append(out, GateResult{Gate: gate, Passed: false, Detail: fmt.Sprintf("tag is %q", got)})
		default:
			out = append(out, GateResult{Gate: gate, Passed: true, Detail: fmt.Sprintf("tag is %q", got)})
		}
	}
	for _, g := range p.MetricGates {
		var latest *Metric
		for i := range metrics {
			m := &metrics[i]
			if m.Key != g.Key || (g.Dataset != "" && m.Dataset != g.Dataset) || (g.Split != "" && m.Split != g.Split) {
				continue
			}
			if latest == nil || m.Step > latest.Step || (m.Step == latest.Step && !m.Timestamp.Before(latest.Timestamp)) {
				latest = m
			}
		}
		if latest == nil {
			out = append(out, GateResult{Gate: g.String(), Passed: false, Detail: "no such metric recorded"})
			continue
		}
		out = append(out, GateResult{
			Gate: g.String(), Passed: compare(latest.Value, g.Op, g.Threshold),
			Detail: fmt.Sprintf("%s = %g (step %d)", g.Key, latest.Value, latest.Step),
		})
	}
	return out
}
