package server_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// The rules below have more than one guard. Each guard gets a case of its
// own, in a state where it alone decides, so that removing it changes the
// status code (or, where a second guard answers alike, the error's message),
// and each refusal is checked to have written nothing. Where two guards
// share a condition and the state cannot tell them apart, the case says
// which one answers and how the other is tested.

// eventsAfter lists the audit events after seq that match query.
func (e *env) eventsAfter(seq int64, query string) []auditEvent {
	e.t.Helper()
	var out []auditEvent
	for _, ev := range e.auditEvents(query) {
		if ev.Seq > seq {
			out = append(out, ev)
		}
	}
	return out
}

// setVersion changes a version's row behind the server's back, to reach a
// state the API cannot produce and so test a guard that another one hides.
func setVersion(t *testing.T, e *env, model string, number int, set string, args ...any) {
	t.Helper()
	res, err := rawDB(t, e.database).Exec(
		"UPDATE versions SET "+set+" WHERE number = ? AND model_id = (SELECT id FROM models WHERE name = ?)",
		append(args, number, model)...)
	if err != nil {
		t.Fatalf("set %s of version %s/%d: %v", set, model, number, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("set %s of version %s/%d: %d rows changed (%v), want 1", set, model, number, n, err)
	}
}

// rawJSON is the body of a GET that must answer 200.
func (e *env) rawJSON(path string) string {
	e.t.Helper()
	var body json.RawMessage
	e.expect(e.do("GET", path, nil), http.StatusOK, &body)
	return string(body)
}

// TestDeployerDownloadGuards: a deployer downloads only ready versions
// (guard 1), and only in staging or production or once in production
// (guard 2); both refuse with 403 and an access.denied event, nothing else.
func TestDeployerDownloadGuards(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		pub := admin.as(admin.issue("publisher", []string{"publisher"}))
		appr := admin.as(admin.issue("approver", []string{"approver"}))
		dep := admin.as(admin.issue("deployer", []string{"deployer"}))
		pub.mustCreateModel("m")
		versions := "/api/v1/models/m/versions/"
		file := func(n int) string { return fmt.Sprintf("%s%d/files/model.bin", versions, n) }
		pendingVersion := func() int {
			n := pub.mustCreateVersion("m")
			pub.expect(pub.do("PUT", file(n), []byte("weights")), http.StatusCreated, nil)
			return n
		}
		toStage := func(n int, stage string) {
			if stage != "production" {
				appr.expect(appr.do("POST", fmt.Sprintf("%s%d/transitions", versions, n), map[string]any{"to": stage}), http.StatusCreated, nil)
				return
			}
			tr := pub.requestTransition("m", n, stage)
			appr.expect(appr.do("POST", "/api/v1/transitions/"+tr.ID+"/approve", map[string]any{"comment": "ok"}), http.StatusOK, nil)
		}

		pending := pendingVersion()
		// A pending version is in stage none, so guard 2 refuses it too;
		// put one in staging, so that guard 1 alone keeps it back.
		pendingStaged := pendingVersion()
		setVersion(t, admin, "m", pendingStaged, "stage = ?", "staging")
		readyNone := pub.readyVersion("m", map[string]any{})
		archivedNever := pub.readyVersion("m", map[string]any{})
		toStage(archivedNever, "archived")
		staging := pub.readyVersion("m", map[string]any{})
		toStage(staging, "staging")
		wasProduction := pub.readyVersion("m", map[string]any{})
		toStage(wasProduction, "production")
		production := pub.readyVersion("m", map[string]any{})
		toStage(production, "production") // archives wasProduction
		if got := admin.stageOf("m", wasProduction); got != "archived" {
			t.Fatalf("version %d is %s after the next one's promotion", wasProduction, got)
		}

		tests := []struct {
			name          string
			version       int
			status        int
			code, message string
		}{
			{"pending", pending, http.StatusForbidden, "forbidden", "ready versions only"},
			{"pending in staging", pendingStaged, http.StatusForbidden, "forbidden", "ready versions only"},
			{"ready in stage none", readyNone, http.StatusForbidden, "forbidden", "in stage none"},
			{"archived, never in production", archivedNever, http.StatusForbidden, "forbidden", "in stage archived"},
			{"staging", staging, http.StatusOK, "", ""},
			{"production", production, http.StatusOK, "", ""},
			{"archived once in production", wasProduction, http.StatusOK, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				admin, dep := admin.on(t), dep.on(t)
				before := admin.headSeq()
				resp := dep.do("GET", file(tt.version), nil)
				want := "file.download"
				if tt.status == http.StatusOK {
					dep.expect(resp, http.StatusOK, nil)
				} else {
					dep.expectError(resp, tt.status, tt.code, tt.message)
					want = "access.denied"
				}
				got := admin.eventsAfter(before, "")
				if len(got) != 1 || got[0].Action != want || got[0].Actor != "deployer" {
					t.Errorf("events after the download: %+v; want one %s by deployer", got, want)
				}
			})
		}
	})
}

// countingReader yields size zero bytes and counts how many were read.
type countingReader struct {
	size int64
	read atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	left := r.size - r.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), left)
	clear(p[:n])
	r.read.Add(n)
	return int(n), nil
}

// TestReadyVersionGuards: a ready version's files cannot change and it is
// not finalized again (409), and a refused write leaves the version, its
// files, the blob store and the audit log as they were. The store's own
// re-check, reached only by a write racing a finalize, is tested in
// store.TestPutFile ("ready versions refuse files") and
// store.TestFinalizeVersion ("twice is a conflict").
func TestReadyVersionGuards(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		ready := e.readyVersion("m", map[string]any{})
		// A ready version always has files, so finalizing it again would
		// also fail on the store's compare-and-swap (409 as well). Without
		// files, only the status guard answers 409 before "no files" (412).
		noFiles := e.mustCreateVersion("m")
		setVersion(t, e, "m", noFiles, "status = ?", "ready")
		version := func(n int) string { return fmt.Sprintf("/api/v1/models/m/versions/%d", n) }
		state := func(e *env) string {
			var b strings.Builder
			for _, n := range []int{ready, noFiles} {
				b.WriteString(e.rawJSON(version(n)))
				b.WriteString(e.rawJSON(version(n) + "/files"))
			}
			b.WriteString(strings.Join(e.blobKeys(), ","))
			return b.String()
		}

		// Uploads are refused before the body is read: the store would
		// refuse the row too, but only after storing the whole body.
		const size = 64 << 20
		tests := []struct {
			name    string
			method  string
			path    string
			upload  bool
			message string
		}{
			{"upload a new file", "PUT", version(ready) + "/files/new.bin", true, "immutable"},
			{"replace a file", "PUT", version(ready) + "/files/model.bin", true, "immutable"},
			{"finalize again", "POST", version(ready) + "/finalize", false, "already ready"},
			{"finalize a ready version without files", "POST", version(noFiles) + "/finalize", false, "already ready"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := e.on(t)
				was, before := state(e), e.headSeq()
				var resp *http.Response
				body := &countingReader{size: size}
				if tt.upload {
					resp = e.do(tt.method, tt.path, body)
				} else {
					resp = e.do(tt.method, tt.path, nil)
				}
				read := body.read.Load()
				e.expectError(resp, http.StatusConflict, "conflict", tt.message)
				if read == size {
					t.Errorf("the server read all %d bytes of the body before refusing it", size)
				}
				if got := e.eventsAfter(before, ""); len(got) != 0 {
					t.Errorf("events after a refused write: %+v", got)
				}
				if now := state(e); now != was {
					t.Errorf("state after a refused write:\n%s\nwant\n%s", now, was)
				}
			})
		}
	})
}

// TestTokenRevocationGuards: a revoked token is refused at once (401), even
// when its record is cached; revoking an unknown id is 404; revoking twice
// keeps the first revocation.
func TestTokenRevocationGuards(t *testing.T) {
	// Token records stay cached for a minute here: a revocation that left
	// the cached record in place would let the next request through.
	forEachBackendFlags(t, []string{"--token-cache-ttl", "1m"}, func(t *testing.T, admin *env) {
		type token struct {
			ID        string
			RevokedAt *string `json:"revoked_at"`
		}
		revokedAt := func(e *env, id string) *string {
			e.t.Helper()
			var l struct{ Tokens []token }
			e.expect(e.do("GET", "/api/v1/tokens?include_revoked=true&page_size=100", nil), http.StatusOK, &l)
			for _, tok := range l.Tokens {
				if tok.ID == id {
					return tok.RevokedAt
				}
			}
			e.t.Fatalf("token %s not listed", id)
			return nil
		}

		// The verifier refuses a revoked record by name ("revoked"); the
		// record's expiry check would refuse it too, as "token expired".
		refused := []struct {
			name   string
			cached bool // the token made a request before its revocation
		}{
			{"revoked", false},
			{"revoked while cached", true},
		}
		for i, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				admin := admin.on(t)
				id, tok := admin.issueWithID(fmt.Sprint("ci-", i), []string{"publisher"})
				ci := admin.as(tok)
				other := admin.as(admin.issue(fmt.Sprint("other-", i), []string{"publisher"}))
				if tt.cached {
					ci.expect(ci.do("GET", "/api/v1/models", nil), http.StatusOK, nil)
				}
				admin.expect(admin.do("DELETE", "/api/v1/tokens/"+id, nil), http.StatusNoContent, nil)
				before := admin.headSeq()
				model := fmt.Sprint("by-revoked-", i)
				ci.expectError(ci.do("POST", "/api/v1/models", map[string]any{"name": model}), http.StatusUnauthorized, "unauthenticated", "revoked")
				admin.expectError(admin.do("GET", "/api/v1/models/"+model, nil), http.StatusNotFound, "not_found", "")
				if got := admin.eventsAfter(before, "outcome=success"); len(got) != 0 {
					t.Errorf("events after a revoked token's request: %+v", got)
				}
				// Only the revoked token is refused.
				other.expect(other.do("GET", "/api/v1/models", nil), http.StatusOK, nil)
			})
		}

		// The service's lookup and the store's update both answer 404 for
		// an unknown id, alike; the store's alone is store.TestTokens's.
		t.Run("unknown id", func(t *testing.T) {
			admin := admin.on(t)
			before := admin.headSeq()
			admin.expectError(admin.do("DELETE", "/api/v1/tokens/"+strings.Repeat("0", 32), nil), http.StatusNotFound, "not_found", "")
			if got := admin.eventsAfter(before, ""); len(got) != 0 {
				t.Errorf("events after revoking an unknown token: %+v", got)
			}
		})

		t.Run("twice", func(t *testing.T) {
			admin := admin.on(t)
			id, _ := admin.issueWithID("twice", []string{"auditor"})
			admin.expect(admin.do("DELETE", "/api/v1/tokens/"+id, nil), http.StatusNoContent, nil)
			first := revokedAt(admin, id)
			if first == nil {
				t.Fatal("not revoked")
			}
			admin.expect(admin.do("DELETE", "/api/v1/tokens/"+id, nil), http.StatusNoContent, nil)
			if again := revokedAt(admin, id); again == nil || *again != *first {
				t.Errorf("revoked_at %s after revoking again, want the first revocation's %s", *cmp.Or(again, new(string)), *first)
			}
			got := admin.eventsAfter(0, "action=token.revoke&resource=tokens/"+id)
			if len(got) != 2 || !strings.Contains(string(got[0].Details), `"already_revoked":true`) ||
				!strings.Contains(string(got[1].Details), `"already_revoked":false`) {
				t.Errorf("token.revoke events (newest first): %+v", got)
			}
		})
	})
}
