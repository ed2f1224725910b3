package modelkeep

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLineageRef(t *testing.T) {
	tests := []struct {
		ref       LineageRef
		id, label string
	}{
		{DatasetNode("transactions", "2026-11"), "dataset:transactions@2026-11", "transactions@2026-11"},
		{RunNode("mlflow/7/3f2a"), "run:mlflow/7/3f2a", "run mlflow/7/3f2a"},
		{VersionNode("fraud-detector", 3), "model_version:fraud-detector/3", "fraud-detector v3"},
		{DeploymentNode("0f1e"), "deployment:0f1e", "0f1e"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			n := tt.ref.Node()
			if n.ID != tt.id || n.Label != tt.label || n.Type != tt.ref.Type {
				t.Errorf("node %+v, want id %q label %q", n, tt.id, tt.label)
			}
		})
	}
}

func TestDeploymentLabel(t *testing.T) {
	ended := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	d := Deployment{Model: "fraud", Version: 2, Environment: "prod-eu", Strategy: "canary", TrafficPercent: 10}
	if got, want := DeploymentLabel(d), "fraud v2 in prod-eu (canary 10%)"; got != want {
		t.Errorf("running: %q, want %q", got, want)
	}
	d.EndedAt = &ended
	if got, want := DeploymentLabel(d), "fraud v2 in prod-eu (canary 10%, ended)"; got != want {
		t.Errorf("ended: %q, want %q", got, want)
	}
}

func TestValidateLineageInput(t *testing.T) {
	parent := &VersionRef{Model: "base", Version: 1}
	tests := []struct {
		name string
		in   CreateVersionInput
		want string // "" for valid
	}{
		{"nothing", CreateVersionInput{}, ""},
		{"everything", CreateVersionInput{
			Source:   Source{RunID: "r1", GitCommit: "abc"},
			Datasets: []DatasetRef{{Name: "tx", Version: "2026-11", Role: "training"}},
			Parent:   parent, ParentRelation: RelationFineTunedFrom,
			Run: &RunDetails{Parameters: map[string]string{"lr": "1"}, Environment: RunEnvironment{Framework: "pytorch"}},
		}, ""},
		{"dataset version with a slash", CreateVersionInput{Datasets: []DatasetRef{{Name: "tx", Version: "2026/11"}}}, "datasets[0]"},
		{"run details without a run id", CreateVersionInput{Run: &RunDetails{}}, "source.run_id"},
		{"run id with a newline", CreateVersionInput{Source: Source{RunID: "a\nb"}}, "run id"},
		{"relation without a parent", CreateVersionInput{ParentRelation: RelationDistilledFrom}, "without a parent"},
		{"unknown relation", CreateVersionInput{Parent: parent, ParentRelation: "copied_from"}, "copied_from"},
		{"too many libraries", CreateVersionInput{Source: Source{RunID: "r"}, Run: &RunDetails{Environment: RunEnvironment{
			Libraries: func() map[string]string {
				m := map[string]string{}
				for i := range MaxLibraries + 1 {
					m[strings.Repeat("x", i+1)] = "1"
				}
				return m
			}(),
		}}}, "libraries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestMetricAggregateReplaces(t *testing.T) {
	lo, hi := Metric{Value: 0.1, Step: 2}, Metric{Value: 0.9, Step: 1}
	tests := []struct {
		agg       MetricAggregate
		cur, next Metric
		want      bool
	}{
		{AggregateLast, hi, lo, true}, // read in order, the later point is the last
		{AggregateMin, hi, lo, true},
		{AggregateMin, lo, hi, false},
		{AggregateMin, lo, lo, true}, // ties: the later point
		{AggregateMax, lo, hi, true},
		{AggregateMax, hi, lo, false},
	}
	for _, tt := range tests {
		if got := tt.agg.Replaces(tt.cur, tt.next); got != tt.want {
			t.Errorf("%s.Replaces(%v, %v) = %v, want %v", tt.agg, tt.cur.Value, tt.next.Value, got, tt.want)
		}
	}
}
