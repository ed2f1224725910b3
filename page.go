package modelkeep

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"time"
)

// Page sizes for list calls.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// pageCursor is what an opaque page token holds: the sort key of the last
// item of the previous page (keyset pagination).
type pageCursor struct {
	Name string `json:"n,omitempty"`
	Num  int64  `json:"v,omitempty"`
	Time int64  `json:"t,omitempty"` // Unix microseconds
	// Search lists (listquery.go): a metric sort value, and whether the
	// item had no value of the sort field.
	Metric *float64 `json:"f,omitempty"`
	Null   bool     `json:"z,omitempty"`
	// Further tie-breakers of lists whose order needs them: a metric
	// point's recording order (ListMetrics) and a dataset use's role
	// (GetDataset's used_by).
	Seq  int64  `json:"s,omitempty"`
	Role string `json:"r,omitempty"`
}

// Page tokens are signed and bound to their listing, so that a token is
// only ever read by the listing that made it:
//
//	token = base64url(version || cursor || tag), unpadded
//	version = 0x01
//	cursor  = the pageCursor as compact JSON
//	tag     = HMAC-SHA256(key, domain || listing || version || cursor), first 16 bytes
//	listing = uvarint-length-prefixed operation name, the number of
//	          parameters (uvarint), then each parameter length-prefixed
//
// The key is the Pager's, kept in the database so that every replica
// accepts the tokens of the others (LoadPager). The listing is not in the
// token: the reader computes the tag for its own listing, and any other
// listing, any change and any token not made with the key fail alike.
// Tokens carry no expiry: a position stays meaningful, and keyset pages
// neither skip nor repeat items added in between.
const (
	pageTokenVersion = 1
	// pageTagSize is the MAC's length: 128 bits, beyond guessing online
	// (each guess is a request) and the usual truncation of HMAC-SHA256.
	pageTagSize = 16
	// PageKeySize is the length of a new page token key.
	PageKeySize = 32
	pageDomain  = "modelkeep page token\x00"
)

// pageTokenEncoding is strict: an encoding's unused low bits must be zero,
// so that no two strings decode to the same token.
var pageTokenEncoding = base64.RawURLEncoding.Strict()

// errForeignToken is the one answer to a page token that is not the
// listing's own: made for another operation or other parameters, changed,
// or not made by this server (or made with a key it no longer has).
func errForeignToken() error {
	return Errorf(ErrInvalid, "page_token belongs to another listing or was not made by this server; leave it out to start from the first page")
}

// Pager makes and checks page tokens with the server's page token key.
// Every replica of one database must use the same key (LoadPager).
type Pager struct {
	key []byte
}

// NewPageKey returns a fresh random page token key.
func NewPageKey() []byte {
	k := make([]byte, PageKeySize)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

// NewPager returns a Pager signing with key, of at least PageKeySize bytes.
func NewPager(key []byte) (*Pager, error) {
	if len(key) < PageKeySize {
		return nil, fmt.Errorf("page token key of %d bytes: want at least %d", len(key), PageKeySize)
	}
	return &Pager{key: append([]byte(nil), key...)}, nil
}

// newLocalPager is the Pager of a Service given none: a random key, so
// its tokens are good only in this process (tests, command-line tools).
func newLocalPager() *Pager {
	p, _ := NewPager(NewPageKey()) // a new key has the size
	return p
}

// PageKeyStore keeps the page token key every replica shares.
type PageKeyStore interface {
	// PageTokenKey returns the stored key. When there is none it stores
	// candidate first, unless another replica stored its own meanwhile:
	// every caller gets the one key that was stored.
	PageTokenKey(ctx context.Context, candidate []byte) ([]byte, error)
}

// LoadPager returns the Pager of the key kept in the database, made by the
// first replica that starts. A database restored from a backup of another
// install (or a new key, for that matter) only makes the page tokens given
// out before refused: their clients start again from the first page.
func LoadPager(ctx context.Context, store PageKeyStore) (*Pager, error) {
	key, err := store.PageTokenKey(ctx, NewPageKey())
	if err != nil {
		return nil, fmt.Errorf("load page token key: %w", err)
	}
	return NewPager(key)
}

// Listing is what a page token is bound to: the list operation (its
// operationId in openapi.yaml) and the canonical value of every parameter
// that selects or orders its items, path parameters included, in a fixed
// order. page_size is not one: a position holds at any page size, and a
// client may well ask for bigger pages as it goes. Nor are parameters that
// only add to each item (listTransitions' review).
type Listing struct {
	op     string
	params []string
}

// NewListing returns the listing of operation op with these parameters.
func NewListing(op string, params ...string) Listing {
	return Listing{op: op, params: params}
}

// tag is the MAC of a token's version and cursor for l.
func (p *Pager) tag(l Listing, signed []byte) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(pageDomain))
	writeField(m, l.op)
	m.Write(binary.AppendUvarint(nil, uint64(len(l.params))))
	for _, v := range l.params {
		writeField(m, v)
	}
	m.Write(signed)
	return m.Sum(nil)[:pageTagSize]
}

// writeField writes s length-prefixed: no two lists of strings write the
// same bytes.
func writeField(h hash.Hash, s string) {
	h.Write(binary.AppendUvarint(nil, uint64(len(s))))
	h.Write([]byte(s))
}

// encode makes the token of c for l.
func (p *Pager) encode(l Listing, c pageCursor) string {
	b, _ := json.Marshal(c) // strings, ints and finite floats always marshal
	raw := append([]byte{pageTokenVersion}, b...)
	raw = append(raw, p.tag(l, raw)...)
	return pageTokenEncoding.EncodeToString(raw)
}

// decode reads a token made by encode for l: "" is the first page (the
// zero cursor), anything else that encode did not make for l is refused.
// The tag is compared in constant time.
func (p *Pager) decode(l Listing, tok string) (pageCursor, error) {
	var c pageCursor
	if tok == "" {
		return c, nil
	}
	raw, err := pageTokenEncoding.DecodeString(tok)
	if err != nil || len(raw) < 1+pageTagSize || raw[0] != pageTokenVersion {
		return c, errForeignToken()
	}
	signed, tag := raw[:len(raw)-pageTagSize], raw[len(raw)-pageTagSize:]
	if !hmac.Equal(tag, p.tag(l, signed)) {
		return c, errForeignToken()
	}
	if err := json.Unmarshal(signed[1:], &c); err != nil {
		return pageCursor{}, errForeignToken() // signed by this key, yet not a cursor: not ours
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

// listPage is a page being read: its size, and the listing its token was
// checked against and its next token is made for.
type listPage struct {
	pager   *Pager
	listing Listing
	limit   int
}

// start checks a list call's page size and token (which must be one p made
// for l) and returns the page and the token's position.
func (p *Pager) start(l Listing, size int, token string) (listPage, pageCursor, error) {
	limit, err := pageLimit(size)
	if err != nil {
		return listPage{}, pageCursor{}, err
	}
	cur, err := p.decode(l, token)
	if err != nil {
		return listPage{}, pageCursor{}, err
	}
	return listPage{pager: p, listing: l, limit: limit}, cur, nil
}

// token is the page token of position c in pg's listing.
func (pg listPage) token(c pageCursor) string { return pg.pager.encode(pg.listing, c) }

// startTimed starts a page of a list ordered by time, newest first, and
// then by id (deployments, transitions, tokens, runs, documents): the
// page, and the time and id to continue before (zero and "" on the first
// page).
func (p *Pager) startTimed(l Listing, size int, token string) (pg listPage, before time.Time, beforeID string, err error) {
	pg, cur, err := p.start(l, size, token)
	if err != nil {
		return listPage{}, time.Time{}, "", err
	}
	if before, err = microTime(cur.Time); err != nil {
		return listPage{}, time.Time{}, "", err
	}
	return pg, before, cur.Name, nil
}

// endPage trims a store result fetched with pg.limit+1 rows (the extra one
// only says that there is more) and makes the next page's token from the
// last item kept.
func endPage[T any](pg listPage, items []T, cursor func(T) pageCursor) ([]T, string) {
	if len(items) <= pg.limit {
		return items, ""
	}
	items = items[:pg.limit]
	return items, pg.token(cursor(items[pg.limit-1]))
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

// timeParam is a time parameter of a listing, canonical ("" for none).
func timeParam(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// TimedPage is where a page of a list ordered by time, newest first, and
// then by id starts: for the use cases of other packages (compliance).
type TimedPage struct {
	Limit    int
	Before   time.Time // zero on the first page
	BeforeID string
	page     listPage
}

// StartTimedPage checks a page size and token of such a list: the token
// must be one p made for l.
func (p *Pager) StartTimedPage(l Listing, size int, token string) (TimedPage, error) {
	pg, before, beforeID, err := p.startTimed(l, size, token)
	return TimedPage{Limit: pg.limit, Before: before, BeforeID: beforeID, page: pg}, err
}

// EndTimedPage trims items fetched with page.Limit+1 and makes the next
// page's token, for the page's listing, from the last item kept, whose id
// and time key gives.
func EndTimedPage[T any](page TimedPage, items []T, key func(T) (string, time.Time)) ([]T, string) {
	return endPage(page.page, items, func(it T) pageCursor {
		id, at := key(it)
		return pageCursor{Name: id, Time: at.UnixMicro()}
	})
}
