package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/modelkeep/modelkeep/api/openapi"
)

// appendVersion appends v as JSON exactly as encoding/json writes it by
// reflection (the same fields in the same order, the same escaping), at a
// fraction of the cost: encoding a page of 100 versions was a fifth of a
// version list's CPU (bench/README.md). A MarshalJSON method would not do:
// encoding/json re-reads and compacts what a marshaler returns, which costs
// more than it saves. TestVersionJSON compares the two on odd values.
func appendVersion(b []byte, v openapi.Version) ([]byte, error) {
	start := len(b)
	b = append(b, `{"aliases":`...)
	b = appendStrings(b, v.Aliases)
	b = append(b, `,"created_at":`...)
	b, ok := appendTime(b, v.CreatedAt)
	b = append(b, `,"created_by":`...)
	b = appendString(b, v.CreatedBy)
	b = append(b, `,"datasets":`...)
	if len(v.Datasets) == 0 && v.Datasets != nil {
		b = append(b, "[]"...)
	} else {
		ds, err := json.Marshal(v.Datasets)
		if err != nil {
			return nil, err
		}
		b = append(b, ds...)
	}
	b = append(b, `,"description":`...)
	b = appendString(b, v.Description)
	if v.FinalizedAt != nil {
		b = append(b, `,"finalized_at":`...)
		var okF bool
		b, okF = appendTime(b, *v.FinalizedAt)
		ok = ok && okF
	}
	if v.ManifestDigest != nil {
		b = append(b, `,"manifest_digest":`...)
		b = appendString(b, *v.ManifestDigest)
	}
	b = append(b, `,"model":`...)
	b = appendString(b, v.Model)
	b = append(b, `,"params":`...)
	b = appendMap(b, v.Params)
	if v.Parent != nil {
		b = append(b, `,"parent":{"model":`...)
		b = appendString(b, v.Parent.Model)
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(v.Parent.Version), 10)
		b = append(b, '}')
	}
	b = append(b, `,"source":{`...)
	sep := ""
	if v.Source.CodeUri != nil {
		b = append(b, `"code_uri":`...)
		b = appendString(b, *v.Source.CodeUri)
		sep = ","
	}
	if v.Source.GitCommit != nil {
		b = append(b, sep+`"git_commit":`...)
		b = appendString(b, *v.Source.GitCommit)
		sep = ","
	}
	if v.Source.RunId != nil {
		b = append(b, sep+`"run_id":`...)
		b = appendString(b, *v.Source.RunId)
	}
	b = append(b, `},"stage":`...)
	b = appendString(b, string(v.Stage))
	b = append(b, `,"status":`...)
	b = appendString(b, string(v.Status))
	b = append(b, `,"tags":`...)
	b = appendMap(b, v.Tags)
	b = append(b, `,"updated_at":`...)
	var okU bool
	b, okU = appendTime(b, v.UpdatedAt)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(v.Version), 10)
	b = append(b, '}')
	if !ok || !okU {
		// A time encoding/json refuses (a year outside 0-9999): let it say so.
		enc, err := json.Marshal(v)
		return append(b[:start], enc...), err
	}
	return b, nil
}

// appendString appends s as a JSON string. Plain text is copied; anything
// encoding/json would escape (quotes, backslashes, control characters, <, >,
// &, non-ASCII that may be invalid or U+2028/9) goes through it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendMap appends m with its keys sorted, as encoding/json does.
func appendMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	var small [16]string // most maps are small: sort their keys on the stack
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds); ok is false for the years it refuses.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// writeJSON sends body, a complete JSON document, as encoding/json's
// Encoder would (with its trailing newline).
func writeJSON(w http.ResponseWriter, status int, body []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(append(body, '\n'))
	return err
}

// versionResponse is GetVersion's 200 answer, encoded by appendVersion.
type versionResponse openapi.Version

func (r versionResponse) VisitGetVersionResponse(w http.ResponseWriter) error {
	b, err := appendVersion(make([]byte, 0, 1024), openapi.Version(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// versionListResponse is ListVersions' 200 answer, encoded by appendVersion.
type versionListResponse openapi.VersionList

func (r versionListResponse) VisitListVersionsResponse(w http.ResponseWriter) error {
	b, err := appendVersionList(make([]byte, 0, 1024+768*len(r.Versions)), openapi.VersionList(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

// appendVersionList appends l as encoding/json writes it.
func appendVersionList(b []byte, l openapi.VersionList) ([]byte, error) {
	b = append(b, `{"next_page_token":`...)
	b = appendString(b, l.NextPageToken)
	b = append(b, `,"versions":`...)
	if l.Versions == nil {
		return append(b, "null}"...), nil
	}
	b = append(b, '[')
	for i, v := range l.Versions {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendVersion(b, v); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}
