package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
	"github.com/modelkeep/modelkeep/store"
)

func TestAuditConfig(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		args          []string
		wantRetention time.Duration
		wantInterval  time.Duration
		wantErr       string
	}{
		{nil, 184 * day, 15 * time.Minute, ""},
		{[]string{"--audit-retention", "400d", "--audit-checkpoint-interval", "0"}, 400 * day, 0, ""},
		{[]string{"--audit-retention", "4416h"}, 184 * day, 15 * time.Minute, ""},
		{[]string{"--audit-retention", "183d"}, 0, 0, "minimum of 184d"},
		{[]string{"--audit-retention", "4415h"}, 0, 0, "minimum of 184d"},
		{[]string{"--audit-retention", "1y"}, 0, 0, "invalid retention"},
		{[]string{"--audit-checkpoint-interval", "-1m"}, 0, 0, "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := server.ParseConfig("serve", tt.args, func(string) string { return "" }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.AuditRetention != tt.wantRetention || cfg.AuditCheckpointInterval != tt.wantInterval {
				t.Errorf("retention %s, interval %s (%v)", cfg.AuditRetention, cfg.AuditCheckpointInterval, err)
			}
		})
	}
	env := map[string]string{"MODELKEEP_AUDIT_RETENTION": "10d"}
	if _, err := server.ParseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard); err == nil {
		t.Error("MODELKEEP_AUDIT_RETENTION=10d accepted")
	}
}

// seedOldEvents appends n events dated age ago to the (migrated) database,
// as if the registry had run for that long.
func seedOldEvents(t *testing.T, database string, n int, age time.Duration) {
	t.Helper()
	s, err := store.Open(t.Context(), store.Options{URL: database})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		_, err := s.AppendAudit(t.Context(), audit.Event{
			Time: time.Now().Add(-age), Actor: "early-bird", Action: "model.create", Resource: fmt.Sprint("models/old-", i),
			Outcome: audit.OutcomeSuccess,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := server.Main(context.Background(), args, func(string) string { return "" }, &out, &out)
	return code, out.String()
}

// TestAuditPruneCommand: `modelkeep audit prune` removes what is older than
// the retention and leaves a chain that verifies, on each backend.
func TestAuditPruneCommand(t *testing.T) {
	forEachBackendStores(t, func(t *testing.T, database, blobs string) {
		if code, out := runCLI(t, "migrate", "--data-dir", t.TempDir(), "--database", database); code != 0 {
			t.Fatalf("migrate: %s", out)
		}
		seedOldEvents(t, database, 5, 200*24*time.Hour)
		e := startEnv(t, database, blobs)
		e.mustCreateModel("recent")
		flags := []string{"--data-dir", e.dataDir, "--database", database, "--blobs", blobs}

		code, out := runCLI(t, append([]string{"audit", "prune", "--dry-run"}, flags...)...)
		if code != 0 || !strings.Contains(out, "would remove 5 events (seq 1 to 5)") {
			t.Fatalf("dry run: exit %d: %s", code, out)
		}
		code, out = runCLI(t, append([]string{"audit", "prune", "--audit-retention", "199d"}, flags...)...)
		if code != 0 || !strings.Contains(out, "removed 5 events (seq 1 to 5)") {
			t.Fatalf("prune: exit %d: %s", code, out)
		}
		if code, out := runCLI(t, append([]string{"audit", "prune"}, flags...)...); code != 0 || !strings.Contains(out, "nothing to prune") {
			t.Errorf("second prune: exit %d: %s", code, out)
		}
		if code, out := runCLI(t, append([]string{"audit", "prune", "--audit-retention", "100d"}, flags...)...); code != 2 || !strings.Contains(out, "184d") {
			t.Errorf("short retention: exit %d: %s", code, out)
		}
		v := e.verifyAudit()
		if !v.OK || v.FirstBrokenSeq != 0 {
			t.Fatalf("after the prune: %+v", v)
		}
		if got := e.auditEvents("action=audit.prune"); len(got) != 1 || !strings.Contains(string(got[0].Details), `"through_seq":5`) {
			t.Errorf("prune events %+v", got)
		}
		// The export of a pruned chain carries its anchor and verifies.
		var list struct {
			PublicKey string `json:"public_key"`
		}
		e.expect(e.do("GET", "/api/v1/audit/checkpoints", nil), http.StatusOK, &list)
		dir := t.TempDir()
		keyFile, file := filepath.Join(dir, "key.pem"), filepath.Join(dir, "audit.jsonl")
		resp := e.do("GET", "/api/v1/audit/export", nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		os.WriteFile(keyFile, []byte(list.PublicKey), 0o600)
		os.WriteFile(file, body, 0o600)
		if code, out := runCLI(t, "audit", "verify", file, "--public-key", keyFile); code != 0 || !strings.Contains(out, "(seq 6 to") {
			t.Errorf("verify the pruned export: exit %d: %s", code, out)
		}
	})
}

// TestAuditLeastPrivilege: with the grants of docs/audit.md the server
// works, and its database user can neither change nor delete audit events,
// nor prune.
func TestAuditLeastPrivilege(t *testing.T) {
	t.Parallel()
	admin := testenv.MySQLDatabase(t) // skips without MySQL
	blobs := "file:" + t.TempDir()
	if code, out := runCLI(t, "migrate", "--data-dir", t.TempDir(), "--database", admin); code != 0 {
		t.Fatalf("migrate: %s", out)
	}
	seedOldEvents(t, admin, 3, 300*24*time.Hour)
	adminDB := rawDB(t, admin)
	u, _ := url.Parse(admin)
	dbName := strings.TrimPrefix(u.Path, "/")
	var b [6]byte
	_, _ = rand.Read(b[:])
	user, password := "mk_lp_"+hex.EncodeToString(b[:]), hex.EncodeToString(b[:])+"Pw!"
	for i, stmt := range testenv.AuditGrants(t, "../docs/audit.md", dbName, user, password) {
		if i == 0 {
			if _, err := adminDB.Exec(stmt); err != nil {
				t.Skipf("the test's MySQL user cannot create users (%v): grant it CREATE USER to run this test", err)
			}
			t.Cleanup(func() { adminDB.Exec("DROP USER '" + user + "'@'%'") })
			continue
		}
		if !strings.HasPrefix(stmt, "SELECT") {
			mustExec(t, adminDB, stmt)
			continue
		}
		rows, err := adminDB.Query(stmt)
		if err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		var generated []string
		for rows.Next() {
			var g string
			rows.Scan(&g)
			generated = append(generated, g)
		}
		rows.Close()
		if len(generated) < 5 {
			t.Fatalf("the grant generator found %d tables", len(generated))
		}
		for _, g := range generated {
			mustExec(t, adminDB, g)
		}
		t.Logf("granted ordinary reads and writes on %d tables", len(generated))
	}
	limited := *u
	limited.User = url.UserPassword(user, password)
	e := startEnv(t, limited.String(), blobs)
	e.mustCreateModel("m")
	e.expect(e.do("PATCH", "/api/v1/models/m", map[string]any{"description": "changed"}), http.StatusOK, nil)
	e.expect(e.do("POST", "/api/v1/audit/checkpoints", nil), http.StatusCreated, nil)
	e.expect(e.do("DELETE", "/api/v1/models/m", nil), http.StatusNoContent, nil)
	if v := e.verifyAudit(); !v.OK {
		t.Fatalf("verify: %+v", v)
	}

	db := rawDB(t, limited.String())
	for _, stmt := range []string{
		"UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
		"DELETE FROM audit_events WHERE seq = 1",
		"UPDATE audit_checkpoints SET hash = hash",
		"DELETE FROM audit_checkpoints",
		"DROP TABLE audit_events",
	} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "denied") {
			t.Errorf("%s as the server's user: %v, want access denied", stmt, err)
		}
	}

	flags := []string{"--data-dir", e.dataDir, "--blobs", blobs}
	code, out := runCLI(t, append([]string{"audit", "prune", "--database", limited.String()}, flags...)...)
	if code != 1 || !strings.Contains(out, "privileged") {
		t.Errorf("prune as the server's user: exit %d: %s", code, out)
	}
	if code, out := runCLI(t, append([]string{"audit", "prune", "--database", admin}, flags...)...); code != 0 || !strings.Contains(out, "removed 3 events") {
		t.Errorf("prune as admin: exit %d: %s", code, out)
	}
	if v := e.verifyAudit(); !v.OK {
		t.Errorf("verify after the prune: %+v", v)
	}
}
