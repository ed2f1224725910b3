package server_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite", for tampering
	"github.com/go-sql-driver/mysql"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
)

// auditEvent and auditVerification are the wire forms of openapi.yaml.
type auditEvent struct {
	Seq        int64           `json:"seq"`
	Time       string          `json:"time"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Resource   string          `json:"resource"`
	Outcome    string          `json:"outcome"`
	RequestID  string          `json:"request_id"`
	RemoteAddr string          `json:"remote_addr"`
	Details    json.RawMessage `json:"details"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

type auditVerification struct {
	OK                  bool   `json:"ok"`
	Events              int64  `json:"events"`
	Head                string `json:"head"`
	HeadSeq             int64  `json:"head_seq"`
	FirstBrokenSeq      int64  `json:"first_broken_seq"`
	Reason              string `json:"reason"`
	CheckpointsVerified int    `json:"checkpoints_verified"`
}

// auditEvents lists events with a query, following every page.
func (e *env) auditEvents(query string) []auditEvent {
	e.t.Helper()
	var all []auditEvent
	token := ""
	for {
		var page struct {
			Events        []auditEvent `json:"events"`
			NextPageToken string       `json:"next_page_token"`
		}
		q := query
		if token != "" {
			q += "&page_token=" + url.QueryEscape(token)
		}
		e.expect(e.do("GET", "/api/v1/audit?"+q, nil), http.StatusOK, &page)
		all = append(all, page.Events...)
		if token = page.NextPageToken; token == "" {
			return all
		}
	}
}

// headSeq is the seq of the newest event.
func (e *env) headSeq() int64 {
	e.t.Helper()
	var v auditVerification
	e.expect(e.do("GET", "/api/v1/audit/verify", nil), http.StatusOK, &v)
	return v.HeadSeq
}

func (e *env) verifyAudit() auditVerification {
	e.t.Helper()
	var v auditVerification
	e.expect(e.do("GET", "/api/v1/audit/verify", nil), http.StatusOK, &v)
	return v
}

// domainEvent turns a listed event back into the domain type, to recompute
// its hash as an outside verifier would.
func (a auditEvent) domain(t *testing.T) audit.Event {
	t.Helper()
	tm, err := audit.ParseTime(a.Time)
	if err != nil {
		t.Fatal(err)
	}
	details, err := audit.CanonicalJSON(a.Details)
	if err != nil {
		t.Fatal(err)
	}
	return audit.Event{Seq: a.Seq, Time: tm, Actor: a.Actor, Action: a.Action, Resource: a.Resource,
		Outcome: a.Outcome, RequestID: a.RequestID, RemoteAddr: a.RemoteAddr, Details: details, PrevHash: a.PrevHash, Hash: a.Hash}
}

// TestAuditLog: what each kind of call leaves in the log, the filters and
// pages of the list, and who may read it.
func TestAuditLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		start := e.headSeq()

		e.mustCreateModel("fraud")
		e.expect(e.do("PATCH", "/api/v1/models/fraud", map[string]any{"description": "new <desc>", "tags": map[string]string{"team": "risk"}}), http.StatusOK, nil)
		n := e.mustCreateVersion("fraud")
		filePath := fmt.Sprintf("/api/v1/models/fraud/versions/%d/files/w/model.bin", n)
		e.expect(e.do("PUT", filePath, []byte("weights")), http.StatusCreated, nil)
		resp := e.do("GET", filePath, nil, "X-Request-ID", "req-download-1")
		e.expect(resp, http.StatusOK, nil)
		if strings.HasPrefix(e.blobs, "s3://") {
			e.expect(e.do("GET", filePath+"?redirect=true", nil), http.StatusTemporaryRedirect, nil)
		}
		var issued struct{ ID, Token string }
		e.expect(e.do("POST", "/api/v1/tokens", map[string]any{"subject": "ci", "roles": []string{"publisher"}}), http.StatusCreated, &issued)
		e.expect(e.do("DELETE", "/api/v1/tokens/"+issued.ID, nil), http.StatusNoContent, nil)

		// A call that fails changes nothing and records nothing.
		before := e.headSeq()
		e.expectError(e.do("POST", "/api/v1/models", map[string]any{"name": "fraud"}), http.StatusConflict, "conflict", "")
		if after := e.headSeq(); after != before {
			t.Errorf("a failed create added %d events", after-before)
		}
		// A refused one records exactly one denied event.
		deployer := e.as(e.issue("dora", []string{"deployer"}))
		before = e.headSeq()
		deployer.expectError(deployer.do("POST", "/api/v1/models", map[string]any{"name": "sneaky"}), http.StatusForbidden, "forbidden", "")
		denied := e.auditEvents(fmt.Sprintf("outcome=denied&order=asc&page_size=1000&actor=dora"))
		if after := e.headSeq(); after != before+1 || len(denied) != 1 || denied[0].Action != "access.denied" || denied[0].Seq != before+1 {
			t.Fatalf("denied call: head %d → %d, events %+v", before, after, denied)
		}

		// One event by its seq, as listed.
		var one auditEvent
		e.expect(e.do("GET", fmt.Sprintf("/api/v1/audit/events/%d", denied[0].Seq), nil), http.StatusOK, &one)
		if one.Seq != denied[0].Seq || one.Hash != denied[0].Hash || one.Action != "access.denied" {
			t.Errorf("event %d read alone: %+v", denied[0].Seq, one)
		}
		e.expectError(e.do("GET", fmt.Sprintf("/api/v1/audit/events/%d", e.headSeq()+1000), nil), http.StatusNotFound, "not_found", "pruned")

		all := e.auditEvents(fmt.Sprintf("order=asc&page_size=3"))
		var mine []auditEvent
		for _, ev := range all {
			if ev.Seq > start {
				mine = append(mine, ev)
			}
		}
		want := []string{"model.create", "model.update", "version.create", "file.upload", "file.download"}
		if strings.HasPrefix(e.blobs, "s3://") {
			want = append(want, "file.presign")
		}
		want = append(want, "token.create", "token.revoke", "token.create", "access.denied")
		var got []string
		for i, ev := range mine {
			got = append(got, ev.Action)
			if ev.Seq != start+int64(i)+1 {
				t.Errorf("seq %d at position %d", ev.Seq, i)
			}
			if d := ev.domain(t); d.ComputeHash() != ev.Hash {
				t.Errorf("event %d: listed fields do not hash to its hash", ev.Seq)
			}
			if i > 0 && ev.PrevHash != mine[i-1].Hash {
				t.Errorf("event %d: prev_hash does not link", ev.Seq)
			}
			if strings.Contains(string(ev.Details), issued.Token) {
				t.Errorf("event %d holds the issued token", ev.Seq)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("actions %v\nwant    %v", got, want)
		}
		update := mine[1]
		var upd struct {
			Before, After struct {
				Description string
				Tags        map[string]string
			}
		}
		if err := json.Unmarshal(update.Details, &upd); err != nil || upd.Before.Description != "" || upd.After.Description != "new <desc>" || upd.After.Tags["team"] != "risk" {
			t.Errorf("update details %s", update.Details)
		}
		if dl := mine[4]; dl.RequestID != "req-download-1" || dl.RemoteAddr == "" || dl.Actor != "test-admin" || dl.Resource != fmt.Sprintf("models/fraud/versions/%d", n) {
			t.Errorf("download event %+v", dl)
		}

		newestFirst := e.auditEvents("page_size=2")
		if len(newestFirst) != len(all) || newestFirst[0].Seq != all[len(all)-1].Seq {
			t.Errorf("newest first: %d events, first seq %d", len(newestFirst), newestFirst[0].Seq)
		}
		since := url.QueryEscape(mine[2].Time)
		filters := []struct {
			query string
			want  []string
		}{
			{"action=model.update", []string{"model.update"}},
			{"resource=" + url.QueryEscape("models/fraud/*") + "&actor=test-admin", []string{"file.download", "file.upload", "version.create"}},
			{"resource=models/fraud", []string{"model.update", "model.create"}},
			{"outcome=denied", []string{"access.denied"}},
			{"since=" + since + "&action=model.create", nil},
			{"until=" + since + "&action=model.create", []string{"model.create"}},
		}
		for _, f := range filters {
			var acts []string
			for _, ev := range e.auditEvents(f.query) {
				if ev.Seq > start && ev.Action != "file.presign" {
					acts = append(acts, ev.Action)
				}
			}
			if !slices.Equal(acts, f.want) {
				t.Errorf("%s: %v, want %v", f.query, acts, f.want)
			}
		}
		e.expectError(e.do("GET", "/api/v1/audit?page_token=!!", nil), http.StatusBadRequest, "invalid_argument", "page_token")
		e.expectError(e.do("GET", "/api/v1/audit?outcome=maybe", nil), http.StatusBadRequest, "invalid_argument", "outcome")

		// Auditors read and verify; publishers may not; a token scoped to
		// some models may not read the log of all of them.
		auditor := e.as(e.issue("audrey", []string{"auditor"}))
		if v := auditor.verifyAudit(); !v.OK || v.HeadSeq != e.headSeq()-0 {
			t.Errorf("verify as auditor: %+v", v)
		}
		pub := e.as(e.issue("pete", []string{"publisher"}))
		pub.expectError(pub.do("GET", "/api/v1/audit", nil), http.StatusForbidden, "forbidden", "")
		scoped := e.as(e.issue("scoped-auditor", []string{"auditor"}, "fraud*"))
		scoped.expectError(scoped.do("GET", "/api/v1/audit/verify", nil), http.StatusForbidden, "forbidden", "restricted")
		if got := e.auditEvents("actor=scoped-auditor&outcome=denied"); len(got) != 1 {
			t.Errorf("the scoped auditor's refusal left %d events", len(got))
		}
		if v := e.verifyAudit(); !v.OK {
			t.Errorf("chain after all this: %+v", v)
		}
		deployer.expectError(deployer.do("GET", "/api/v1/audit/events/1", nil), http.StatusForbidden, "forbidden", "")
	})
}

// rawDB opens the database of a MODELKEEP_DATABASE value directly, as an
// administrator with SQL access (and bad intentions) could.
func rawDB(t *testing.T, database string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		db, err = sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	} else {
		u, perr := url.Parse(database)
		if perr != nil {
			t.Fatal(perr)
		}
		cfg := mysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		cfg.ParseTime, cfg.Loc = true, time.UTC
		db, err = sql.Open("mysql", cfg.FormatDSN())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestAuditTampering: changes made behind the server's back, through SQL,
// are found by GET /api/v1/audit/verify at the first broken seq.
func TestAuditTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, db *sql.DB, base int64) int64 // returns the seq that must be reported
	}{
		{"changed a field of one row", func(t *testing.T, db *sql.DB, base int64) int64 {
			mustExec(t, db, "UPDATE audit_events SET remote_addr = ? WHERE seq = ?", "203.0.113.66", base+4)
			return base + 4
		}},
		{"deleted a row", func(t *testing.T, db *sql.DB, base int64) int64 {
			mustExec(t, db, "DELETE FROM audit_events WHERE seq = ?", base+3)
			return base + 3
		}},
		{"swapped two rows' content", func(t *testing.T, db *sql.DB, base int64) int64 {
			cols := "time, actor, action, resource, outcome, request_id, remote_addr, details, prev_hash, hash"
			read := func(seq int64) []any {
				vals := make([]any, 10)
				ptrs := make([]any, 10)
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := db.QueryRow("SELECT "+cols+" FROM audit_events WHERE seq = ?", seq).Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				return vals
			}
			a, b := read(base+2), read(base+5)
			set := "UPDATE audit_events SET time = ?, actor = ?, action = ?, resource = ?, outcome = ?, request_id = ?, " +
				"remote_addr = ?, details = ?, prev_hash = ?, hash = ? WHERE seq = ?"
			mustExec(t, db, set, append(b, base+2)...)
			mustExec(t, db, set, append(a, base+5)...)
			return base + 2
		}},
		{"deleted the newest rows", func(t *testing.T, db *sql.DB, base int64) int64 {
			mustExec(t, db, "DELETE FROM audit_events WHERE seq > ?", base+5)
			return base + 6
		}},
	}
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel() // each case on stores of its own
					database, blobs := b.New(t)
					e := startEnv(t, database, blobs)
					base := e.headSeq()
					for i := range 8 {
						e.mustCreateModel(fmt.Sprint("m", i))
					}
					if v := e.verifyAudit(); !v.OK || v.HeadSeq != base+8 {
						t.Fatalf("before tampering: %+v", v)
					}
					want := tt.tamper(t, rawDB(t, database), base)
					v := e.verifyAudit()
					if v.OK || v.FirstBrokenSeq != want {
						t.Errorf("ok %v, first_broken_seq %d (%s); want %d", v.OK, v.FirstBrokenSeq, v.Reason, want)
					}
				})
			}
		})
	}
}

// TestAuditExport: exports in both formats verify offline with the CLI and
// the server's public key, and stop verifying once edited or cut.
func TestAuditExport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for i := range 5 {
			e.mustCreateModel(fmt.Sprint("m", i))
		}
		var cp struct {
			Seq       int64  `json:"seq"`
			Hash      string `json:"hash"`
			KeyID     string `json:"key_id"`
			Signature []byte `json:"signature"`
		}
		auditor := e.as(e.issue("audrey", []string{"auditor"}))
		auditor.expect(auditor.do("POST", "/api/v1/audit/checkpoints", nil), http.StatusCreated, &cp)
		e.mustCreateModel("after-checkpoint")
		var list struct {
			Checkpoints []struct {
				Seq  int64  `json:"seq"`
				Kind string `json:"kind"`
			} `json:"checkpoints"`
			KeyID     string `json:"key_id"`
			PublicKey string `json:"public_key"`
		}
		auditor.expect(auditor.do("GET", "/api/v1/audit/checkpoints?page_size=10", nil), http.StatusOK, &list)
		if len(list.Checkpoints) != 1 || list.Checkpoints[0].Seq != cp.Seq || list.Checkpoints[0].Kind != "request" || list.KeyID != cp.KeyID {
			t.Fatalf("checkpoints %+v, created %+v", list, cp)
		}
		if got := e.auditEvents("action=audit.checkpoint"); len(got) != 1 || got[0].Actor != "audrey" || got[0].Seq != cp.Seq+1 {
			t.Errorf("checkpoint request events: %+v", got)
		}
		dir := t.TempDir()
		keyFile := filepath.Join(dir, "modelkeep-audit.pub.pem")
		if err := os.WriteFile(keyFile, []byte(list.PublicKey), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"jsonl", "csv"} {
			t.Run(format, func(t *testing.T) {
				head := e.headSeq()
				resp := auditor.do("GET", "/api/v1/audit/export?format="+format, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("export: %d", resp.StatusCode)
				}
				wantType := map[string]string{"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}[format]
				if ct := resp.Header.Get("Content-Type"); ct != wantType || !strings.Contains(resp.Header.Get("Content-Disposition"), "."+format) {
					t.Errorf("headers %v", resp.Header)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(dir, "export."+format)
				if err := os.WriteFile(file, body, 0o600); err != nil {
					t.Fatal(err)
				}
				var out, errOut bytes.Buffer
				code := server.Main(t.Context(), []string{"audit", "verify", file, "--public-key", keyFile}, func(string) string { return "" }, &out, &errOut)
				if code != 0 || !strings.Contains(out.String(), fmt.Sprintf("OK: %d events (seq 1 to %d)", head, head)) ||
					!strings.Contains(out.String(), "1 checkpoints verified") {
					t.Fatalf("verify: exit %d\n%s%s", code, out.String(), errOut.String())
				}
				if got := e.auditEvents("action=audit.export&order=asc"); len(got) == 0 || got[len(got)-1].Seq != head+1 {
					t.Errorf("export not recorded after its range: %+v", got)
				}

				// The model "m2" was created by event 4 of the chain.
				edited := bytes.Replace(body, []byte("models/m2"), []byte("models/mX"), 1)
				cut := body[:bytes.LastIndexByte(body[:len(body)-1], '\n')+1]
				for name, tampered := range map[string][]byte{"edited": edited, "cut": cut} {
					if err := os.WriteFile(file, tampered, 0o600); err != nil {
						t.Fatal(err)
					}
					out.Reset()
					code := server.Main(t.Context(), []string{"audit", "verify", "--json", file, "--public-key", keyFile}, func(string) string { return "" }, &out, &errOut)
					var res struct {
						OK             bool  `json:"ok"`
						FirstBrokenSeq int64 `json:"first_broken_seq"`
					}
					if err := json.Unmarshal(out.Bytes(), &res); err != nil {
						t.Fatalf("%s: %v: %s", name, err, out.String())
					}
					wantSeq := map[string]int64{"edited": 4, "cut": head + 1}[name]
					if code != 1 || res.OK || res.FirstBrokenSeq != wantSeq {
						t.Errorf("%s export: exit %d, %+v; want broken at %d", name, code, res, wantSeq)
					}
				}
			})
		}
		e.expectError(auditor.do("GET", "/api/v1/audit/export?format=xml", nil), http.StatusBadRequest, "invalid_argument", "format")
	})
}

// TestAuditConcurrentServers: two servers on one database, eight clients
// mutating through both at once, one linear chain.
func TestAuditConcurrentServers(t *testing.T) {
	const clients, perClient = 8, 200
	if testing.Short() {
		t.Skip("1600 mutations")
	}
	forEachBackend(t, func(t *testing.T, a *env) {
		// The same data dir: the same signing keys, as instances behind
		// one load balancer share them.
		bsrv := startEnv(t, a.database, a.blobs, "--data-dir", a.dataDir)
		servers := []*env{a, bsrv.as(a.token)}
		for i := range clients {
			a.mustCreateModel(fmt.Sprint("c", i))
		}
		before := a.headSeq()
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			wg.Go(func() {
				client := &http.Client{}
				for i := range perClient {
					srv := servers[(c+i)%2]
					body := fmt.Sprintf(`{"description":"client %d change %d"}`, c, i)
					req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/api/v1/models/c%d", srv.http.URL, c), strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+srv.token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						errs <- fmt.Errorf("client %d change %d: status %d", c, i, resp.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, s := range servers {
			v := s.verifyAudit()
			if !v.OK || v.HeadSeq != before+clients*perClient || v.Events != v.HeadSeq {
				t.Errorf("verify: %+v, want ok and head %d with every event present", v, before+clients*perClient)
			}
		}
		perActor := map[string]int{}
		for _, ev := range a.auditEvents(fmt.Sprintf("action=model.update&page_size=1000")) {
			var d struct{ After struct{ Description string } }
			_ = json.Unmarshal(ev.Details, &d)
			perActor[strings.Fields(d.After.Description + " x x")[1]]++
		}
		for c := range clients {
			if got := perActor[fmt.Sprint(c)]; got != perClient {
				t.Errorf("client %d: %d update events, want %d", c, got, perClient)
			}
		}
	})
}

// TestAuditDeniedLongPath: a refused request for a path longer than the
// resource column still leaves its denied event.
func TestAuditDeniedLongPath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		deployer := e.as(e.issue("dora", []string{"deployer"}))
		long := strings.Repeat("d/", 1500) + "f.bin"
		before := e.headSeq()
		deployer.expectError(deployer.do("PUT", fmt.Sprintf("/api/v1/models/m/versions/%d/files/%s", n, long), []byte("x")),
			http.StatusForbidden, "forbidden", "")
		got := e.auditEvents("actor=dora&outcome=denied")
		if len(got) != 1 || got[0].Seq != before+1 || !strings.HasPrefix(got[0].Resource, "models/m/versions/") {
			t.Fatalf("denied events %+v after head %d", got, before)
		}
	})
}
