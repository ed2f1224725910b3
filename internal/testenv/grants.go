package testenv

import (
	"os"
	"strings"
	"testing"
)

// AuditGrants returns the statements of the least-privilege block of
// docs/audit.md (section 7, between its "least-privilege grants" markers),
// found at docPath, with the database, user and password of the caller
// instead of the documented ones: one statement per element, without its
// ';', whitespace collapsed. TestAuditLeastPrivilege runs them; the
// packaging tests check that compose.yaml's grants service runs the same.
func AuditGrants(t testing.TB, docPath, db, user, password string) []string {
	t.Helper()
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "-- least-privilege grants: begin\n")
	block, _, ok2 := strings.Cut(block, "-- least-privilege grants: end")
	if !ok || !ok2 {
		t.Fatal("docs/audit.md has no least-privilege grants block")
	}
	block = strings.NewReplacer(
		"''modelkeep_app''", "''"+user+"''", "'modelkeep_app'", "'"+user+"'", "'change-me'", "'"+password+"'",
		"modelkeep.", db+".", "'modelkeep'", "'"+db+"'",
	).Replace(block)
	var stmts []string
	for _, stmt := range strings.Split(block, ";\n") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			stmts = append(stmts, strings.Join(strings.Fields(strings.Join(lines, " ")), " "))
		}
	}
	if len(stmts) < 5 {
		t.Fatalf("docs/audit.md grants block has %d statements: %q", len(stmts), stmts)
	}
	return stmts
}
