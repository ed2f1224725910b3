package modelkeep

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Page sizes for list calls.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// pageCursor is what an opaque page token encodes: the sort key of the last
// item of the previous page (keyset pagination).
type pageCursor struct {
	Name string `json:"n,omitempty"`
	Num  int64  `json:"v,omitempty"`
	Time int64  `json:"t,omitempty"` // Unix microseconds
	// Search lists (listquery.go): a metric sort value, whether the item had
	// no value of the sort field, and the fingerprint of the filter and
	// order the token belongs to.
	Metric *float64 `json:"f,omitempty"`
	Null   bool     `json:"z,omitempty"`
	Query  string   `json:"q,omitempty"`
	// Further tie-breakers of lists whose order needs them: a metric
	// point's recording order (ListMetrics) and a dataset use's role
	// (GetDataset's used_by).
	Seq  int64  `json:"s,omitempty"`
	Role string `json:"r,omitempty"`
}

func encodePageToken(c pageCursor) string {
	b, _ := json.Marshal(c) // strings, ints and finite floats always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok string) (pageCursor, error) {
	var c pageCursor
	if tok == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, Errorf(ErrInvalid, "invalid page_token")
	}
	return c, nil
}

// pageLimit checks a requested page size, 0 meaning the default.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, Errorf(ErrInvalid, "page_size must be between 1 and %d", MaxPageSize)
	}
	return n, nil
}

// startPage checks a list call's page size and token.
func startPage(size int, token string) (int, pageCursor, error) {
	limit, err := pageLimit(size)
	if err != nil {
		return 0, pageCursor{}, err
	}
	cur, err := decodePageToken(token)
	return limit, cur, err
}

// listingSum fingerprints what a listing selects (its parts joined), for
// pageCursor.Query: a token is refused by a listing of another selection,
// whose position it does not name. "" for no parts.
func listingSum(parts ...string) string {
	if len(parts) == 0 {
		return ""
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

// checkListing refuses a token made for another selection than sum's.
func checkListing(cur pageCursor, sum string) error {
	if cur.Query != sum {
		return Errorf(ErrInvalid, "page_token belongs to another listing; leave it out to start from the first page")
	}
	return nil
}

// startTimedPage starts a page of a list ordered by time, newest first,
// and then by id (deployments, transitions, tokens): the page size, and the
// time and id to continue before (zero and "" on the first page).
func startTimedPage(size int, token string) (limit int, before time.Time, beforeID string, err error) {
	limit, cur, err := startPage(size, token)
	if err != nil {
		return 0, time.Time{}, "", err
	}
	if before, err = microTime(cur.Time); err != nil {
		return 0, time.Time{}, "", err
	}
	return limit, before, cur.Name, nil
}

// endPage trims a store result fetched with limit+1 rows (the extra one
// only says that there is more) and makes the next page's token from the
// last item kept.
func endPage[T any](items []T, limit int, cursor func(T) pageCursor) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, encodePageToken(cursor(items[limit-1]))
}

// cursorTime turns a cursor's Unix microseconds back into a time that a
// stored item can have (RFC 3339 years, 0000 to 9999): a token that says
// otherwise was not made by this server.
func cursorTime(us int64) (time.Time, error) {
	t := time.UnixMicro(us).UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return time.Time{}, Errorf(ErrInvalid, "invalid page_token")
	}
	return t, nil
}

// microTime is cursorTime where 0 means no time (the first page).
func microTime(us int64) (time.Time, error) {
	if us == 0 {
		return time.Time{}, nil
	}
	return cursorTime(us)
}

// TimedPage is where a page of a list ordered by time, newest first, and
// then by id starts: for the use cases of other packages (compliance).
type TimedPage struct {
	Limit    int
	Before   time.Time // zero on the first page
	BeforeID string
}

// StartTimedPage checks a page size and token of such a list.
func StartTimedPage(size int, token string) (TimedPage, error) {
	limit, before, beforeID, err := startTimedPage(size, token)
	return TimedPage{Limit: limit, Before: before, BeforeID: beforeID}, err
}

// EndTimedPage trims items fetched with limit+1 and makes the next page's
// token from the last item kept, whose id and time key gives.
func EndTimedPage[T any](items []T, limit int, key func(T) (string, time.Time)) ([]T, string) {
	return endPage(items, limit, func(it T) pageCursor {
		id, at := key(it)
		return pageCursor{Name: id, Time: at.UnixMicro()}
	})
}
