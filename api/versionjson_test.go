package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
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
	opt := func() string {
		if r.IntN(2) == 0 {
			return ""
		}
		return pick()
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
		dv := modelkeep.Version{
			CreatedAt: times[r.IntN(3)], CreatedBy: pick(), Description: pick(), ManifestDigest: opt(), Model: pick(),
			Params: strMap(), Tags: strMap(), Source: modelkeep.Source{CodeURI: opt(), GitCommit: opt(), RunID: opt()},
			Stage: modelkeep.Stage(pick()), Status: modelkeep.VersionStatus(pick()), UpdatedAt: times[r.IntN(len(times))],
			Number: r.IntN(1 << 20), EverProduction: r.IntN(2) == 0,
		}
		switch r.IntN(3) {
		case 1:
			dv.Aliases = []string{}
		case 2:
			dv.Aliases = []string{pick(), pick()}
		}
		switch r.IntN(3) {
		case 1:
			dv.Datasets = []modelkeep.DatasetRef{}
		case 2:
			dv.Datasets = []modelkeep.DatasetRef{{Name: pick(), Role: "training", Version: opt(), URI: opt(), SHA256: opt()}}
		}
		if r.IntN(2) == 0 {
			ft := times[r.IntN(3)]
			dv.FinalizedAt = &ft
		}
		if r.IntN(2) == 0 {
			dv.Parent = &modelkeep.VersionRef{Model: pick(), Version: r.IntN(100)}
		}
		v := toVersion(dv) // what the generated code would encode
		want, wantErr := json.Marshal(v)
		got, err := appendVersion([]byte("prefix"), dv)
		if (err != nil) != (wantErr != nil) || err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("case %d:\n got %s (%v)\nwant %s (%v)", i, got, err, want, wantErr)
		}
		if err != nil {
			continue
		}
		// The whole responses, as the generated code would send them.
		token := pick()
		list := openapi.VersionList{NextPageToken: token, Versions: []openapi.Version{v, v}}
		for _, tc := range []struct {
			ours, generated interface {
				VisitListVersionsResponse(w http.ResponseWriter) error
			}
		}{
			{versionListResponse{versions: []modelkeep.Version{dv, dv}, nextPageToken: token}, openapi.ListVersions200JSONResponse{Body: list}},
			{versionListResponse{versions: []modelkeep.Version{}, nextPageToken: token},
				openapi.ListVersions200JSONResponse{Body: openapi.VersionList{NextPageToken: token, Versions: []openapi.Version{}}}},
		} {
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
		if err := versionResponse(dv).VisitGetVersionResponse(a); err != nil {
			t.Fatal(err)
		}
		if err := (openapi.GetVersion200JSONResponse{Body: v}).VisitGetVersionResponse(b); err != nil {
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
	vs := make([]modelkeep.Version, 100)
	for i := range vs {
		vs[i] = modelkeep.Version{Aliases: []string{}, CreatedAt: now, CreatedBy: "bench-seed", Datasets: []modelkeep.DatasetRef{}, ManifestDigest: d,
			Model: "bench-big", Params: map[string]string{"batch_size": "32", "lr": "0.018"}, Parent: &modelkeep.VersionRef{Model: "bench-big", Version: i},
			Stage: "none", Status: "ready", Tags: map[string]string{"team": "team-4", "tier": "platinum"}, UpdatedAt: now, FinalizedAt: &now, Number: i + 1}
	}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			list := openapi.VersionList{NextPageToken: "token", Versions: make([]openapi.Version, 0, len(vs))}
			for _, v := range vs {
				list.Versions = append(list.Versions, toVersion(v))
			}
			openapi.ListVersions200JSONResponse{Body: list}.VisitListVersionsResponse(httptest.NewRecorder())
		}
	})
	b.Run("appendVersion", func(b *testing.B) {
		for b.Loop() {
			versionListResponse{versions: vs, nextPageToken: "token"}.VisitListVersionsResponse(httptest.NewRecorder())
		}
	})
}
