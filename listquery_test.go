package modelkeep

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/search"
)

// The registry's lists parse filters over their own fields, and a parse
// error is an ErrInvalid that still carries the language's *search.Error.
func TestListSchemas(t *testing.T) {
	tests := []struct {
		name   string
		target FilterTarget
		in     string
		errMsg string // "" when it parses
	}{
		{"the README's version filter", FilterVersions, `tags.team = "risk" AND metrics.auc >= 0.9 AND stage IN ("staging","production")`, ""},
		{"a model filter", FilterModels, `tags.team = "risk" AND name LIKE "fraud%"`, ""},
		{"metrics belong to versions", FilterModels, `metrics.auc >= 0.9`, `unknown field "metrics.auc"`},
		{"stages are the registry's", FilterVersions, `stage = "prod"`, `want none, staging, production, archived`},
		{"statuses are the registry's", FilterVersions, `status = "done"`, `want pending, ready`},
		{"tag keys follow the tag rules", FilterVersions, `tags."a:b" = "x"`, `cannot contain ':'`},
		{"metric keys may hold a colon", FilterVersions, `metrics."val:auc" > 0.5`, ""},
		{"metric keys are bounded", FilterVersions, `metrics.` + strings.Repeat("k", MaxMetricKeyLen+1) + ` > 1`, `longer than 255 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFilter(tt.target, tt.in)
			if tt.errMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *search.Error
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &se) || !strings.Contains(err.Error(), tt.errMsg) {
				t.Fatalf("err = %v, want ErrInvalid with a *search.Error saying %q", err, tt.errMsg)
			}
		})
	}
	for _, tt := range []struct {
		target FilterTarget
		in     string
		want   search.Order
	}{
		{FilterModels, "name ASC", search.Order{}},
		{FilterVersions, "version DESC", search.Order{}},
		{FilterVersions, "metrics.auc", search.Order{Field: search.Field{Name: "metrics", Key: "auc"}}},
	} {
		if got, err := ParseOrder(tt.target, tt.in); err != nil || got != tt.want {
			t.Errorf("ParseOrder(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseOrder(FilterModels, "description"); !errors.Is(err, ErrInvalid) {
		t.Errorf("an unsortable field: %v, want ErrInvalid", err)
	}
}

func TestListQueryTokens(t *testing.T) {
	p := newLocalPager()
	start := func(filter, orderBy, token string) (listQuery, pageCursor, *SortKey, error) {
		q, _, cur, after, err := p.startList("listVersions", []string{"m", "", ""}, FilterVersions, filter, orderBy, 10, token)
		return q, cur, after, err
	}
	q1, _, _, err := start(`stage = "none"`, "created_at DESC", "")
	if err != nil {
		t.Fatal(err)
	}
	listing := func(q listQuery) Listing {
		return NewListing("listVersions", append([]string{"m", "", ""}, q.params()...)...)
	}
	now := time.Date(2025, 5, 6, 7, 8, 9, 123456000, time.UTC)
	tok := p.encode(listing(q1), q1.versionCursor(Version{Number: 7, CreatedAt: now}, nil))
	_, _, k, err := start(`stage = "none"`, "created_at DESC", tok)
	if err != nil || k.Number != 7 || k.Value != now {
		t.Fatalf("after = %+v, %v", k, err)
	}
	// Spelling does not matter, meaning does.
	if _, _, _, err := start(` stage="none" `, "created_at desc", tok); err != nil {
		t.Fatalf("same query, spelt otherwise: %v", err)
	}
	for _, other := range [][2]string{
		{`stage = "none"`, "created_at ASC"},
		{`stage = "staging"`, "created_at DESC"},
		{`stage = "none"`, ""},
		{"", "created_at DESC"},
		{"", ""},
	} {
		if _, _, _, err := start(other[0], other[1], tok); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), foreignToken) {
			t.Fatalf("token of %q used for %q: %v", q1.order, other, err)
		}
	}
	// The other parameters count too: another model, stage or status.
	for _, params := range [][]string{{"n", "", ""}, {"m", "staging", ""}, {"m", "", "ready"}} {
		_, _, _, _, err := p.startList("listVersions", params, FilterVersions, `stage = "none"`, "created_at DESC", 10, tok)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("token used with %q: %v", params, err)
		}
	}

	// Metric orders carry the value, or that there was none.
	qm, _, _, _ := start("", "metrics.auc DESC", "")
	v := 0.25
	for _, metric := range []*float64{&v, nil} {
		tok := p.encode(listing(qm), qm.versionCursor(Version{Number: 3}, metric))
		_, _, k, err := start("", "metrics.auc DESC", tok)
		if err != nil || k.Number != 3 || (metric == nil) != (k.Value == nil) || metric != nil && k.Value != v {
			t.Fatalf("after(%v) = %+v, %v", metric, k, err)
		}
	}
}
