package modelkeep_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestEvaluateGates(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	metrics := []modelkeep.Metric{
		{Key: "auc", Value: 0.95, Step: 1, Dataset: "holdout", Timestamp: t0},
		{Key: "auc", Value: 0.88, Step: 3, Dataset: "holdout", Timestamp: t0}, // latest step wins
		{Key: "auc", Value: 0.99, Step: 5, Dataset: "train", Timestamp: t0},
		{Key: "latency_ms", Value: 40, Step: 0, Split: "production", Timestamp: t0},
		{Key: "latency_ms", Value: 60, Step: 0, Split: "production", Timestamp: t0.Add(time.Hour)}, // same step: newest wins
		// Same step and time: the last recorded wins, as in the store.
		{Key: "f1", Value: 0.5, Step: 2, Timestamp: t0},
		{Key: "f1", Value: 0.7, Step: 2, Timestamp: t0},
	}
	version := modelkeep.Version{Tags: map[string]string{"risk_review": "passed", "owner": "risk"}}
	for _, tc := range []struct {
		name   string
		policy modelkeep.Policy
		passed []bool
	}{
		{"no gates", modelkeep.Policy{}, nil},
		{"tag present with value", modelkeep.Policy{RequiredTags: map[string]string{"risk_review": "passed"}}, []bool{true}},
		{"tag present, any value", modelkeep.Policy{RequiredTags: map[string]string{"owner": ""}}, []bool{true}},
		{"tag wrong value", modelkeep.Policy{RequiredTags: map[string]string{"risk_review": "waived"}}, []bool{false}},
		{"tag missing", modelkeep.Policy{RequiredTags: map[string]string{"dpia": ""}}, []bool{false}},
		{"latest step on dataset fails", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "auc", Op: ">=", Threshold: 0.9, Dataset: "holdout"}}}, []bool{false}},
		{"any dataset: highest step", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "auc", Op: ">=", Threshold: 0.9}}}, []bool{true}},
		{"newest of a step", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "latency_ms", Op: "<", Threshold: 50, Split: "production"}}}, []bool{false}},
		{"metric missing", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "precision", Op: ">", Threshold: 0}}}, []bool{false}},
		{"tie: the last recorded", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "f1", Op: ">=", Threshold: 0.6}}}, []bool{true}},
		{"equality", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "latency_ms", Op: "==", Threshold: 60}}}, []bool{true}},
		{"equality spelled =", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "latency_ms", Op: "=", Threshold: 60}}}, []bool{true}},
		{"inequality with =", modelkeep.Policy{MetricGates: []modelkeep.MetricGate{{Key: "latency_ms", Op: "=", Threshold: 61}}}, []bool{false}},
		{"tags before metrics", modelkeep.Policy{
			RequiredTags: map[string]string{"risk_review": "passed"},
			MetricGates:  []modelkeep.MetricGate{{Key: "auc", Op: "<=", Threshold: 0.9, Dataset: "holdout"}},
		}, []bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := modelkeep.EvaluateGates(tc.policy, version, metrics)
			if len(got) != len(tc.passed) {
				t.Fatalf("got %d results, want %d: %+v", len(got), len(tc.passed), got)
			}
			for i, r := range got {
				if r.Passed != tc.passed[i] || r.Gate == "" || r.Detail == "" {
					t.Errorf("result %d = %+v, want passed=%v", i, r, tc.passed[i])
				}
			}
		})
	}
}

func TestGateError(t *testing.T) {
	err := error(&modelkeep.GateError{Results: []modelkeep.GateResult{
		{Gate: "metric auc >= 0.9", Passed: false, Detail: "auc = 0.8 (step 1)"},
		{Gate: "tag x", Passed: true, Detail: "tag is \"y\""},
	}})
	if !errors.Is(err, modelkeep.ErrPrecondition) || modelkeep.KindOf(err) != modelkeep.ErrPrecondition {
		t.Fatalf("%v is not a precondition failure", err)
	}
	if !strings.Contains(err.Error(), "auc") || strings.Contains(err.Error(), "tag x") {
		t.Fatalf("message %q should list only the failed gate", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    modelkeep.Policy
		ok   bool
	}{
		{"default", modelkeep.Policy{RequiredApprovals: 1}, true},
		{"full", modelkeep.Policy{RequiredApprovals: 3, RequiredTags: map[string]string{"a": "b"},
			MetricGates: []modelkeep.MetricGate{{Key: "auc", Op: ">=", Threshold: 0.9}}, ProtectedAliases: []string{"champion"}}, true},
		{"zero approvals", modelkeep.Policy{RequiredApprovals: 0}, false},
		{"too many approvals", modelkeep.Policy{RequiredApprovals: 11}, false},
		{"bad op", modelkeep.Policy{RequiredApprovals: 1, MetricGates: []modelkeep.MetricGate{{Key: "auc", Op: "=>", Threshold: 1}}}, false},
		{"empty key", modelkeep.Policy{RequiredApprovals: 1, MetricGates: []modelkeep.MetricGate{{Op: ">", Threshold: 1}}}, false},
		{"bad alias", modelkeep.Policy{RequiredApprovals: 1, ProtectedAliases: []string{"Champion"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
