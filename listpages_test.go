package modelkeep

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakePagesMeta answers ListMetricsPage, GetDataset and DatasetUsers (the
// metricPages and datasetUses the two listings consume) from slices, as the
// store does (in order, after the position, up to the limit), and records
// the filters it was given.
type fakePagesMeta struct {
	metrics []Metric
	uses    []DatasetUse
	mfs     []MetricFilter
	dfs     []DatasetUseFilter
}

func (f *fakePagesMeta) ListMetricsPage(_ context.Context, mf MetricFilter) ([]Metric, error) {
	f.mfs = append(f.mfs, mf)
	i := 0
	if mf.After != nil {
		i = slices.IndexFunc(f.metrics, func(m Metric) bool { return m.Seq == mf.After.Seq }) + 1
	}
	return f.metrics[i:min(len(f.metrics), i+mf.Limit)], nil
}

func (f *fakePagesMeta) GetDataset(_ context.Context, name, version string) (Dataset, error) {
	return Dataset{Name: name, Version: version}, nil
}

func (f *fakePagesMeta) DatasetUsers(_ context.Context, df DatasetUseFilter) ([]DatasetUse, error) {
	f.dfs = append(f.dfs, df)
	i := 0
	if df.After != nil {
		i = slices.Index(f.uses, *df.After) + 1
	}
	return f.uses[i:min(len(f.uses), i+df.Limit)], nil
}

// TestListMetricsPages: the page token is the last point's position and
// comes back as the store's After; every point once; bad tokens are
// ErrInvalid before the store is asked.
func TestListMetricsPages(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 500, time.UTC).Truncate(time.Microsecond)
	meta := &fakePagesMeta{}
	for i := range 7 {
		meta.metrics = append(meta.metrics, Metric{Key: "auc", Step: int64(i / 2), Timestamp: t0.Add(time.Duration(i%2) * time.Microsecond), Seq: int64(10 + i)})
	}
	ctx := context.Background()
	pager := newLocalPager()
	// signed makes the token the server would make of c: what its checks
	// of a token's fields see (they hold for every token it makes).
	signed := func(c pageCursor) string { return pager.encode(NewListing("listMetrics", "m", "1", ""), c) }

	var got []Metric
	token := ""
	for range 10 {
		ms, next, err := listMetrics(ctx, meta, pager, "m", 1, ListMetricsInput{Key: "auc", PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ms...)
		if token = next; token == "" {
			break
		}
	}
	if !reflect.DeepEqual(got, meta.metrics) {
		t.Errorf("paged %+v\nwant %+v", got, meta.metrics)
	}
	if len(meta.mfs) != 3 || meta.mfs[0].After != nil || meta.mfs[0].Limit != 4 || meta.mfs[0].Key != "auc" {
		t.Fatalf("filters %+v", meta.mfs)
	}
	if a := meta.mfs[1].After; a == nil || !reflect.DeepEqual(*a, Metric{Key: "auc", Step: 1, Timestamp: t0, Seq: 12}) {
		t.Errorf("second page after %+v, want the third point's position", a)
	}
	if _, _, err := listMetrics(ctx, meta, pager, "m", 1, ListMetricsInput{}); err != nil || meta.mfs[3].Limit != DefaultPageSize+1 {
		t.Errorf("default page: %v, filter %+v", err, meta.mfs[3])
	}

	_, next, err := listMetrics(ctx, meta, pager, "m", 1, ListMetricsInput{PageSize: 1})
	if err != nil || next == "" {
		t.Fatalf("first page: %q, %v", next, err)
	}
	asked := len(meta.mfs)
	for _, tc := range []struct {
		name string
		in   ListMetricsInput
		want string // in the message
	}{
		{"negative page size", ListMetricsInput{PageSize: -1}, "page_size"},
		{"page size too big", ListMetricsInput{PageSize: MaxPageSize + 1}, "page_size"},
		{"garbage token", ListMetricsInput{PageToken: "%%"}, foreignToken},
		{"unsigned token", ListMetricsInput{PageToken: "eyJuIjoiYXVjIiwidiI6MSwicyI6MTJ9"}, foreignToken}, // {"n":"auc","v":1,"s":12}
		{"token of other key", ListMetricsInput{Key: "loss", PageToken: next}, foreignToken},
		{"token of other version", ListMetricsInput{PageToken: pager.encode(NewListing("listMetrics", "m", "2", ""), pageCursor{Name: "auc", Seq: 12})}, foreignToken},
		// Signed, yet no listed point has that position.
		{"token of nothing", ListMetricsInput{PageToken: signed(pageCursor{})}, "invalid page_token"},
		{"token without seq", ListMetricsInput{PageToken: signed(pageCursor{Name: "auc", Num: 1})}, "invalid page_token"},
		{"negative step", ListMetricsInput{PageToken: signed(pageCursor{Name: "auc", Num: -1, Seq: 1})}, "invalid page_token"},
		{"year 10000", ListMetricsInput{PageToken: signed(pageCursor{Name: "auc", Seq: 1, Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()})}, "invalid page_token"},
		{"key too long", ListMetricsInput{Key: string(make([]byte, MaxMetricKeyLen+1))}, "key"},
	} {
		if _, _, err := listMetrics(ctx, meta, pager, "m", 1, tc.in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", tc.name, err, tc.want)
		}
	}
	if len(meta.mfs) != asked {
		t.Errorf("the store was asked %d times for bad pages", len(meta.mfs)-asked)
	}
}

// TestGetDatasetPages: used_by pages by the token the service makes; the
// caller's model scope goes to the store; truncated means a next page.
func TestGetDatasetPages(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	meta := &fakePagesMeta{uses: []DatasetUse{
		{Model: "fraud-b", Version: 2, Role: "training", VersionCreatedAt: t0.Add(time.Second)},
		{Model: "fraud-a", Version: 3, Role: "evaluation", VersionCreatedAt: t0},
		{Model: "fraud-a", Version: 3, Role: "training", VersionCreatedAt: t0},
		{Model: "fraud-b", Version: 1, Role: "training", VersionCreatedAt: t0},
	}}
	ctx := WithActor(context.Background(), Actor{Subject: "a", Roles: []string{RoleAuditor}, Models: []string{"fraud-*"}})
	pager := newLocalPager()
	signed := func(c pageCursor) string { return pager.encode(NewListing("getDataset", "tx", "1"), c) }

	var got []DatasetUse
	token := ""
	for range 10 {
		d, err := getDataset(ctx, meta, pager, "tx", "1", GetDatasetInput{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if d.Name != "tx" || len(d.UsedBy) > 2 {
			t.Fatalf("page %+v", d)
		}
		got = append(got, d.UsedBy...)
		if token = d.UsedByNextPageToken; token == "" {
			break
		}
	}
	if !reflect.DeepEqual(got, meta.uses) {
		t.Errorf("paged %+v\nwant %+v", got, meta.uses)
	}
	if len(meta.dfs) != 2 || !slices.Equal(meta.dfs[0].Patterns, []string{"fraud-*"}) || meta.dfs[0].Limit != 3 ||
		meta.dfs[1].After == nil || *meta.dfs[1].After != meta.uses[1] {
		t.Errorf("filters %+v", meta.dfs)
	}

	asked := len(meta.dfs)
	for _, tc := range []struct {
		name string
		in   GetDatasetInput
		want string // in the message
	}{
		{"page size too big", GetDatasetInput{PageSize: MaxPageSize + 1}, "page_size"},
		{"garbage token", GetDatasetInput{PageToken: "!"}, foreignToken},
		{"another dataset", GetDatasetInput{PageToken: pager.encode(NewListing("getDataset", "tx", "2"), pageCursor{Name: "fraud-a", Num: 3, Role: "training"})}, foreignToken},
		{"another key", GetDatasetInput{PageToken: newLocalPager().encode(NewListing("getDataset", "tx", "1"), pageCursor{Name: "fraud-a", Num: 3, Role: "training"})}, foreignToken},
		// Signed, yet no listed use has that position.
		{"token of nothing", GetDatasetInput{PageToken: signed(pageCursor{})}, "invalid page_token"},
		{"bad model name", GetDatasetInput{PageToken: signed(pageCursor{Name: "Fraud", Num: 1, Role: "training"})}, "invalid page_token"},
		{"no version", GetDatasetInput{PageToken: signed(pageCursor{Name: "fraud-a", Role: "training"})}, "invalid page_token"},
		{"no role", GetDatasetInput{PageToken: signed(pageCursor{Name: "fraud-a", Num: 1})}, "invalid page_token"},
	} {
		if _, err := getDataset(ctx, meta, pager, "tx", "1", tc.in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", tc.name, err, tc.want)
		}
	}
	if len(meta.dfs) != asked {
		t.Errorf("the store was asked %d times for bad pages", len(meta.dfs)-asked)
	}
}

// A page token whose time no stored item can have (year 10000 and later)
// was not made by the server, even when signed with its key: 400 before the
// store is asked, on every list keyed by time (the database would have
// refused the time with a 500).
func TestPageTokensOutOfRangeTimes(t *testing.T) {
	s := NewService(nil, nil, ServiceOptions{}) // no store: the tokens must be refused before one is asked
	ctx := WithActor(context.Background(), Actor{Subject: "admin", Roles: []string{RoleAdmin}})
	for _, us := range []int64{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), 1 << 62, -1 << 62} {
		token := func(op string, params ...string) string {
			return s.pager.encode(NewListing(op, params...), pageCursor{Name: "x", Time: us})
		}
		for name, list := range map[string]func() error{
			"tokens": func() error {
				_, _, err := s.ListTokens(ctx, ListTokensInput{PageToken: token("listTokens", "false")})
				return err
			},
			"transitions": func() error {
				_, _, err := s.ListTransitions(ctx, ListTransitionsInput{PageToken: token("listTransitions", "", "")})
				return err
			},
			"deployments": func() error {
				_, _, err := s.ListDeployments(ctx, ListDeploymentsInput{PageToken: token("listDeployments", "", "", "")})
				return err
			},
			"runs": func() error {
				_, _, err := s.ListRuns(ctx, ListRunsInput{PageToken: token("listRuns", "", "", "0")})
				return err
			},
		} {
			if err := list(); !errors.Is(err, ErrInvalid) || err.Error() != "invalid page_token" {
				t.Errorf("%s with a token at %d µs: %v, want ErrInvalid: invalid page_token", name, us, err)
			}
		}
	}
}
