package compliance

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
)

// deleteTimeout bounds the clean-up of a blob nothing references.
const deleteTimeout = time.Minute

// newID returns a fresh random 128-bit id in hex (documents, packs).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

var idRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// validateID checks an id newID made.
func validateID(id string) error {
	if !idRE.MatchString(id) {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid id %q: 32 lowercase hex digits", clip(id))
	}
	return nil
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "…"
}

// auditTime writes a time as the audit log does.
func auditTime(t time.Time) string { return audit.FormatTime(t) }

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
