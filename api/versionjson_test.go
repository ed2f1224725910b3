package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/api/openapi"
)

// TestVersionJSON checks appendVersion and the responses built on it against
// encoding/json on values with every optional field set or not and strings
// that need escaping.
func TestVersionJSON(t *testing.T) {
	odd := []string{"", "plain", `quo"te`, `back\slash`, "new\nline", "tab\t", "\x01ctl", "<b>&amp;</b>", "ünï 😀",
		"bad\xffutf8", "line\u2028sep", "fraud-detector", "sha256:abc"}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return odd[r.IntN(len(odd))] }
	opt := func() *string {
		if r.IntN(2) == 0 {
			return nil
		}
		s := pick()
		return &s
	}
	strMap := func() map[string]string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return map[string]string{}
		}
		m := map[string]string{}
		for range r.IntN(5) + 1 {
			m[pick()] = pick()
		}
		return m
	}
	times := []time.Time{{}, time.Date(2026, 11, 25, 23, 1, 2, 345678000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range 2000 {
		v := openapi.Version{
			CreatedAt: times[r.IntN(3)], CreatedBy: pick(), Description: pick(), ManifestDigest: opt(), Model: pick(),
			Params: strMap(), Tags: strMap(), Source: openapi.Source{CodeUri: opt(), GitCommit: opt(), RunId: opt()},
			Stage: openapi.Stage(pick()), Status: openapi.VersionStatus(pick()), UpdatedAt: times[r.IntN(len(times))], Version: r.IntN(1 << 20),
		}
		switch r.IntN(3) {
		case 1:
			v.Aliases = []string{}
		case 2:
			v.Aliases = []string{pick(), pick()}
		}
		switch r.IntN(3) {
		case 1:
			v.Datasets = []openapi.DatasetRef{}
		case 2:
			role := openapi.DatasetRefRole("training")
			v.Datasets = []openapi.DatasetRef{{Name: pick(), Role: &role, Version: opt()}}
		}
		if r.IntN(2) == 0 {
			ft := times[r.IntN(3)]
			v.FinalizedAt = &ft
		}
		if r.IntN(2) == 0 {
			v.Parent = &openapi.VersionRef{Model: pick(), Version: r.IntN(100)}
		}
		want, wantErr := json.Marshal(v)
		got, err := appendVersion([]byte("prefix"), v)
		if (err != nil) != (wantErr != nil) || err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("case %d:\n got %s (%v)\nwant %s (%v)", i, got, err, want, wantErr)
		}
		if err != nil {
			continue
		}
		// The whole responses, as the generated code would send them.
		list := openapi.VersionList{NextPageToken: pick(), Versions: []openapi.Version{v, v}}
		for _, tc := range []struct {
			ours, generated interface {
				VisitListVersionsResponse(w http.ResponseWriter) error
			}
		}{{versionListResponse(list), openapi.ListVersions200JSONResponse(list)}} {
			a, b := httptest.NewRecorder(), httptest.NewRecorder()
			if err := tc.ours.VisitListVersionsResponse(a); err != nil {
				t.Fatal(err)
			}
			if err := tc.generated.VisitListVersionsResponse(b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Body.Bytes(), b.Body.Bytes()) || a.Code != b.Code || a.Header().Get("Content-Type") != b.Header().Get("Content-Type") {
				t.Fatalf("case %d: list response\n got %s\nwant %s", i, a.Body, b.Body)
			}
		}
		a, b := httptest.NewRecorder(), httptest.NewRecorder()
		if err := versionResponse(v).VisitGetVersionResponse(a); err != nil {
			t.Fatal(err)
		}
		if err := openapi.GetVersion200JSONResponse(v).VisitGetVersionResponse(b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Body.Bytes(), b.Body.Bytes()) || a.Code != b.Code {
			t.Fatalf("case %d: get response\n got %s\nwant %s", i, a.Body, b.Body)
		}
	}
}

func BenchmarkVersionJSON(b *testing.B) {
	d := "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	now := time.Now().UTC()
	vs := make([]openapi.Version, 100)
	for i := range vs {
		vs[i] = openapi.Version{Aliases: []string{}, CreatedAt: now, CreatedBy: "bench-seed", Datasets: []openapi.DatasetRef{}, ManifestDigest: &d,
			Model: "bench-big", Params: map[string]string{"batch_size": "32", "lr": "0.018"}, Parent: &openapi.VersionRef{Model: "bench-big", Version: i},
			Stage: "none", Status: "ready", Tags: openapi.Tags{"team": "team-4", "tier": "platinum"}, UpdatedAt: now, FinalizedAt: &now, Version: i + 1}
	}
	list := openapi.VersionList{NextPageToken: "token", Versions: vs}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			openapi.ListVersions200JSONResponse(list).VisitListVersionsResponse(httptest.NewRecorder())
		}
	})
	b.Run("appendVersion", func(b *testing.B) {
		for b.Loop() {
			versionListResponse(list).VisitListVersionsResponse(httptest.NewRecorder())
		}
	})
}
