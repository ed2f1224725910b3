package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/modelkeep/modelkeep"
)

// appendVersion appends the JSON of v's API representation (toVersion)
// exactly as encoding/json writes it by reflection (the same fields in the
// same order, the same escaping), at a fraction of the cost and without
// building the representation: encoding a page of 100 versions was a fifth
// of a version list's CPU (bench/README.md at commit 8f700e0). A MarshalJSON
// method would not do: encoding/json re-reads and compacts what a marshaler
// returns, which costs more than it saves. TestVersionJSON compares the two on odd values.
func appendVersion(b []byte, v modelkeep.Version) ([]byte, error) {
	start := len(b)
	b = append(b, `{"aliases":`...)
	b = appendStrings(b, v.Aliases)
	b = append(b, `,"created_at":`...)
	b, ok := appendTime(b, v.CreatedAt)
	b = append(b, `,"created_by":`...)
	b = appendString(b, v.CreatedBy)
	b = append(b, `,"datasets":`...)
	if len(v.Datasets) == 0 {
		b = append(b, "[]"...)
	} else {
		ds, err := json.Marshal(toDatasetRefs(v.Datasets))
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
	if v.ManifestDigest != "" {
		b = append(b, `,"manifest_digest":`...)
		b = appendString(b, v.ManifestDigest)
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
	if v.Source.CodeURI != "" {
		b = append(b, `"code_uri":`...)
		b = appendString(b, v.Source.CodeURI)
		sep = ","
	}
	if v.Source.GitCommit != "" {
		b = append(b, sep+`"git_commit":`...)
		b = appendString(b, v.Source.GitCommit)
		sep = ","
	}
	if v.Source.RunID != "" {
		b = append(b, sep+`"run_id":`...)
		b = appendString(b, v.Source.RunID)
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
	b = strconv.AppendInt(b, int64(v.Number), 10)
	b = append(b, '}')
	if !ok || !okU {
		// A time encoding/json refuses (a year outside 0-9999): let it say so.
		enc, err := json.Marshal(toVersion(v))
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

// appendStrings appends ss as a JSON array; nil as [] (toVersion makes nil
// aliases empty).
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendMap appends m with its keys sorted, as encoding/json does; nil as
// {} (toVersion's nonNilMap).
func appendMap(b []byte, m map[string]string) []byte {
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

// encodeBuffers recycles the buffers responses are encoded into: a page of
// 100 versions is about 70 KiB, garbage the collector would otherwise
// sweep after every list.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer keeps the rare huge response's buffer out of the pool.
const maxPooledBuffer = 1 << 20

// writeEncoded encodes a response with encode into a pooled buffer and sends
// it as encoding/json's Encoder would (with its trailing newline).
func writeEncoded(w http.ResponseWriter, status int, encode func([]byte) ([]byte, error)) error {
	buf := encodeBuffers.Get().(*[]byte)
	b, err := encode((*buf)[:0])
	if err == nil {
		b = append(b, '\n')
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, err = w.Write(b)
	}
	if b != nil && cap(b) <= maxPooledBuffer {
		*buf = b[:0]
		encodeBuffers.Put(buf)
	}
	return err
}

// versionResponse is GetVersion's 200 answer: the JSON of
// GetVersion200JSONResponse{Body: toVersion(v)}, encoded by appendVersion.
type versionResponse modelkeep.Version

func (r versionResponse) VisitGetVersionResponse(w http.ResponseWriter) error {
	return writeEncoded(w, http.StatusOK, func(b []byte) ([]byte, error) {
		return appendVersion(b, modelkeep.Version(r))
	})
}

// versionListResponse is ListVersions' 200 answer: the JSON of
// ListVersions200JSONResponse with toVersion of each version, encoded by
// appendVersion.
type versionListResponse struct {
	versions      []modelkeep.Version
	nextPageToken string
}

func (r versionListResponse) VisitListVersionsResponse(w http.ResponseWriter) error {
	return writeEncoded(w, http.StatusOK, r.append)
}

// append appends the list as encoding/json writes an openapi.VersionList.
func (r versionListResponse) append(b []byte) ([]byte, error) {
	b = append(b, `{"next_page_token":`...)
	b = appendString(b, r.nextPageToken)
	b = append(b, `,"versions":[`...)
	for i, v := range r.versions {
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
