package modelkeep

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// ValidateName checks a model (or alias, dataset) name against
// [a-z0-9][a-z0-9._-]{0,127}.
func ValidateName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return Errorf(ErrInvalid, "invalid %s name %q: must match [a-z0-9][a-z0-9._-]{0,127}", kind, name)
	}
	return nil
}

// Limits on free-form metadata, so that one call cannot store megabytes of tags.
const (
	MaxDescriptionLen = 16 << 10
	MaxTags           = 64
	MaxTagKeyLen      = 128
	MaxTagValueLen    = 1024
	MaxParams         = 1024
	MaxParamValueLen  = 8 << 10
	MaxDatasets       = 64
	MaxPathLen        = 1024
)

// ValidateDescription bounds a description's length.
func ValidateDescription(s string) error {
	if len(s) > MaxDescriptionLen {
		return Errorf(ErrInvalid, "description is longer than %d bytes", MaxDescriptionLen)
	}
	return nil
}

// ValidateTags checks tag counts and sizes; field names the map in messages.
func ValidateTags(field string, tags map[string]string, maxN, maxValue int) error {
	if len(tags) > maxN {
		return Errorf(ErrInvalid, "%s: at most %d entries", field, maxN)
	}
	for k, v := range tags {
		if k == "" || len(k) > MaxTagKeyLen || strings.ContainsAny(k, ":\x00") {
			return Errorf(ErrInvalid, "%s: invalid key %q (1 to %d bytes, no ':')", field, k, MaxTagKeyLen)
		}
		// MySQL compares keys with trailing spaces ignored (PAD SPACE), so
		// "a" and "a " would collide there and be two keys on SQLite.
		if strings.TrimSpace(k) != k {
			return Errorf(ErrInvalid, "%s: key %q must not begin or end with whitespace", field, k)
		}
		if len(v) > maxValue {
			return Errorf(ErrInvalid, "%s: value of %q is longer than %d bytes", field, k, maxValue)
		}
	}
	return nil
}

// MaxMetricKeyLen is the longest metric key, in bytes: metrics, gates,
// comparisons and filters all keep to it.
const MaxMetricKeyLen = 255

// ValidateMetricKey checks a metric key named field: 1 to MaxMetricKeyLen
// bytes, no whitespace at either end (MySQL compares keys ignoring trailing
// spaces and SQLite does not: "auc " and "auc" would be one metric on one
// database and two on the other).
func ValidateMetricKey(field, key string) error {
	switch {
	case key == "" || len(key) > MaxMetricKeyLen:
		return Errorf(ErrInvalid, "%s: a metric key of 1 to %d bytes is required", field, MaxMetricKeyLen)
	case strings.TrimSpace(key) != key:
		return Errorf(ErrInvalid, "%s: a metric key must not begin or end with whitespace", field)
	}
	return nil
}

// ValidateFilePath checks an artifact path: relative, '/'-separated, no empty,
// "." or ".." segments, no backslashes or control characters.
func ValidateFilePath(p string) error {
	switch {
	case p == "":
		return Errorf(ErrInvalid, "file path is empty")
	case len(p) > MaxPathLen:
		return Errorf(ErrInvalid, "file path is longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(p):
		return Errorf(ErrInvalid, "file path is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return Errorf(ErrInvalid, "file path %q is absolute", p)
	case strings.ContainsRune(p, '\\'):
		return Errorf(ErrInvalid, "file path %q contains a backslash", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return Errorf(ErrInvalid, "file path %q contains a control character", p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return Errorf(ErrInvalid, "file path %q has an empty segment", p)
		case ".", "..":
			return Errorf(ErrInvalid, "file path %q has a %q segment", p, seg)
		}
	}
	return nil
}

var sha256HexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseSHA256 normalises a hex SHA-256 given by a client (case-insensitive).
func ParseSHA256(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if !sha256HexRE.MatchString(s) {
		return "", Errorf(ErrInvalid, "invalid SHA-256 %q: want 64 hex digits", s)
	}
	return s, nil
}

// ManifestDigest is "sha256:" + the hex SHA-256 of the lines
// "<sha256>  <size>  <path>\n", one per file, sorted by path (bytewise).
func ManifestDigest(files []File) string {
	sorted := make([]File, len(files))
	copy(sorted, files)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%s  %d  %s\n", f.SHA256, f.Size, f.Path)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ValidStages lists the stages a version can be in.
var ValidStages = []Stage{StageNone, StageStaging, StageProduction, StageArchived}

// ParseStage checks a stage name.
func ParseStage(s string) (Stage, error) {
	for _, st := range ValidStages {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Errorf(ErrInvalid, "invalid stage %q: want none, staging, production or archived", s)
}

// ParseStatus checks a version status name.
func ParseStatus(s string) (VersionStatus, error) {
	switch VersionStatus(s) {
	case StatusPending, StatusReady:
		return VersionStatus(s), nil
	}
	return "", Errorf(ErrInvalid, "invalid status %q: want pending or ready", s)
}

// DatasetRoles are the roles a dataset can play for a version.
var DatasetRoles = []string{"training", "validation", "test", "evaluation"}
