package server

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/evidence"
)

const evidenceUsage = `Usage:
  modelkeep evidence verify FILE --public-key KEY [--public-key KEY] [--json]
      check an EU AI Act evidence pack offline, trusting only the given
      public keys (PEM; the server's is at GET /api/v1/audit/checkpoints):
      its canonical form, SHA-256 and Ed25519 signature, every audit
      segment's event hashes and links and the signed checkpoint ending it,
      that every stage transition, run and deployment has its audit event,
      the CycloneDX BOM's digest and signature, the document and report
      sign-offs, four eyes on the production approvals, and the coverage and
      its summary, decided again from the pack. FILE - reads standard input. Exit status 0 when every check
      passes, 1 when one fails (it is named), 2 on bad usage.
`

// evidenceCommand runs `modelkeep evidence ...`.
func evidenceCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, evidenceUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return evidenceVerifyCommand(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, evidenceUsage)
		return 0
	}
	fmt.Fprintf(stderr, "modelkeep evidence: unknown command %q\n\n%s", args[0], evidenceUsage)
	return 2
}

func evidenceVerifyCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keyFiles listFlag
	fs.Var(&keyFiles, "public-key", "PEM file of a public key whose signatures are trusted (repeatable; required)")
	asJSON := fs.Bool("json", false, "print the checks as JSON")
	fs.Usage = func() { fmt.Fprint(stderr, evidenceUsage+"\nFlags:\n"); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil && (len(pos) != 1 || len(keyFiles) == 0) {
		err = errors.New("want one FILE and at least one --public-key")
	}
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep evidence verify: %v\n", err)
		return 2
	}
	keys, err := readPublicKeys(keyFiles)
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep evidence verify: %v\n", err)
		return 2
	}
	file, err := readFileOrStdin(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep evidence verify: %v\n", err)
		return 2
	}
	report, err := evidence.Verify(file, keys)
	if err != nil {
		// Not a pack at all (a changed byte can make it invalid JSON).
		report.Checks = append(report.Checks, evidence.CheckResult{Name: "format", Detail: err.Error()})
	}
	printEvidenceReport(stdout, report, *asJSON)
	if err != nil || !report.OK {
		return 1
	}
	return 0
}

// printEvidenceReport prints every check in order, a failed one marked
// FAIL, and then the first that failed.
func printEvidenceReport(w io.Writer, r evidence.Report, asJSON bool) {
	if asJSON {
		type check struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		}
		out := struct {
			OK     bool    `json:"ok"`
			Pack   string  `json:"pack,omitempty"`
			Checks []check `json:"checks"`
		}{OK: r.OK, Checks: []check{}}
		if r.Pack != nil {
			out.Pack = r.Pack.Export.ExportID
		}
		for _, c := range r.Checks {
			out.Checks = append(out.Checks, check(c))
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return
	}
	if p := r.Pack; p != nil {
		fmt.Fprintf(w, "pack %s: %s, %d of %d applicable rows present, %d missing, %d not applicable\n",
			p.Export.ExportID, p.Export.Subject.ID, p.Summary.Present, p.Summary.Applicable, p.Summary.Missing, p.Summary.NotApplicable)
	}
	for _, c := range r.Checks {
		status := "ok  "
		if !c.OK {
			status = "FAIL"
		}
		fmt.Fprintf(w, "%s %-18s %s\n", status, c.Name, c.Detail)
	}
	if failed := r.Failed(); len(failed) > 0 {
		fmt.Fprintf(w, "BROKEN: %s failed\n", failed[0].Name)
	} else if r.OK {
		fmt.Fprintln(w, "OK: every check passed")
	}
}

// readPublicKeys reads the PEM public keys an offline check trusts.
func readPublicKeys(files []string) (audit.Keyring, error) {
	var keys []ed25519.PublicKey
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		pub, err := audit.ParsePublicKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", f, err)
		}
		keys = append(keys, pub)
	}
	return audit.NewKeyring(keys...), nil
}

// readFileOrStdin reads a named file whole, or standard input for "-".
func readFileOrStdin(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}
