package client

import (
	"slices"
	"testing"
)

func TestInterleave(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want []string
	}{
		{"both empty", nil, nil, []string{}},
		{"only a", []string{"a1", "a2"}, nil, []string{"a1", "a2"}},
		{"only b", nil, []string{"b1", "b2"}, []string{"b1", "b2"}},
		{"equal lengths alternate", []string{"a1", "a2", "a3"}, []string{"b1", "b2", "b3"}, []string{"a1", "b1", "a2", "b2", "a3", "b3"}},
		{"one large, many small", []string{"a1"}, []string{"b1", "b2", "b3"}, []string{"a1", "b1", "b2", "b3"}},
		{"spread evenly", []string{"a1", "a2"}, []string{"b1", "b2", "b3", "b4", "b5", "b6"},
			[]string{"a1", "b1", "b2", "b3", "a2", "b4", "b5", "b6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := interleave(tc.a, tc.b)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("interleave(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	tests := []struct {
		name   string
		groups [][]string
		want   []string
	}{
		{"none", nil, nil},
		{"one group", [][]string{{"a1", "a2"}}, []string{"a1", "a2"}},
		{"equal groups", [][]string{{"a1", "a2"}, {"b1", "b2"}}, []string{"a1", "b1", "a2", "b2"}},
		{"uneven groups", [][]string{{"a1"}, {"b1", "b2", "b3"}, {}, {"c1", "c2"}}, []string{"a1", "b1", "c1", "b2", "c2", "b3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := roundRobin(tc.groups); !slices.Equal(got, tc.want) {
				t.Fatalf("roundRobin(%v) = %v, want %v", tc.groups, got, tc.want)
			}
		})
	}
}
