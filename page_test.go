package modelkeep

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// foreignToken is what every list answers to a page token that is not its
// own.
const foreignToken = "page_token belongs to another listing or was not made by this server; leave it out to start from the first page"

func testPager(t *testing.T, fill byte) *Pager {
	t.Helper()
	p, err := NewPager(bytes.Repeat([]byte{fill}, PageKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPageTokenRoundTrip: what encode makes for a listing, decode gives
// back for that listing, whatever the cursor holds; "" is the first page.
func TestPageTokenRoundTrip(t *testing.T) {
	p := testPager(t, 7)
	metric := -0.125
	tests := []struct {
		name    string
		listing Listing
		cursor  pageCursor
	}{
		{"empty cursor", NewListing("listAuditCheckpoints"), pageCursor{}},
		{"a name", NewListing("listModels", "", "", "", ""), pageCursor{Name: "fraud-detector"}},
		{"a time and an id", NewListing("listTokens", "true"), pageCursor{Name: "0123abcd", Time: 1767225600123456}},
		{"a metric", NewListing("listVersions", "m", "", "", "", "metrics.auc DESC"), pageCursor{Num: 3, Metric: &metric}},
		{"no value", NewListing("listVersions", "m", "", "", "", "finalized_at ASC"), pageCursor{Num: 2, Null: true}},
		{"every field", NewListing("getDataset", "tx", "2026-11"), pageCursor{Name: "ünïcode\x00name", Num: -1, Time: -5, Seq: 9, Role: "training"}},
		{"long parameters", NewListing("listAuditEvents", strings.Repeat("a", 5000), "\x00", "", "", "", "", "desc"), pageCursor{Num: 1 << 62}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := p.encode(tt.listing, tt.cursor)
			got, err := p.decode(tt.listing, tok)
			if err != nil {
				t.Fatalf("decode(%q): %v", tok, err)
			}
			if !reflect.DeepEqual(got, tt.cursor) {
				t.Errorf("decoded %+v, want %+v", got, tt.cursor)
			}
			// The same key in another Pager (another replica) reads it.
			if got, err := testPager(t, 7).decode(tt.listing, tok); err != nil || !reflect.DeepEqual(got, tt.cursor) {
				t.Errorf("another Pager of the key: %+v, %v", got, err)
			}
			if strings.ContainsAny(tok, "+/=") {
				t.Errorf("token %q is not unpadded base64url", tok)
			}
		})
	}
	if c, err := p.decode(NewListing("listModels"), ""); err != nil || c != (pageCursor{}) {
		t.Errorf(`decode("") = %+v, %v; want the first page`, c, err)
	}
}

// TestPageTokenFormat: version byte, the cursor as JSON, then a 16-byte
// tag, in unpadded base64url.
func TestPageTokenFormat(t *testing.T) {
	p := testPager(t, 1)
	tok := p.encode(NewListing("listModels", "q"), pageCursor{Num: 178})
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 1 || string(raw[1:len(raw)-16]) != `{"v":178}` || len(raw) != 1+len(`{"v":178}`)+16 {
		t.Errorf("token bytes %q", raw)
	}
}

// TestPageTokenRefused: a token from another listing, another key, changed
// in any way, or never signed is refused, always with the same message.
func TestPageTokenRefused(t *testing.T) {
	p := testPager(t, 7)
	listing := NewListing("listRuns", "evaluation", "m", "1")
	cursor := pageCursor{Name: "0123456789abcdef", Time: 1767225600123456}
	tok := p.encode(listing, cursor)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(cursor)

	tests := []struct {
		name    string
		pager   *Pager
		listing Listing
		token   string
	}{
		{"another operation", p, NewListing("listDocuments", "evaluation", "m", "1"), tok},
		{"another parameter value", p, NewListing("listRuns", "training", "m", "1"), tok},
		{"a parameter left out", p, NewListing("listRuns", "evaluation", "m"), tok},
		{"a parameter added", p, NewListing("listRuns", "evaluation", "m", "1", ""), tok},
		{"parameters split otherwise", p, NewListing("listRuns", "evaluationm", "", "1"), tok},
		{"parameters in another order", p, NewListing("listRuns", "m", "evaluation", "1"), tok},
		{"another key", testPager(t, 8), listing, tok},
		{"unsigned JSON", p, listing, b64([]byte(`{"v":999}`))},
		{"the cursor unsigned", p, listing, b64(payload)},
		{"the cursor without its tag", p, listing, b64(raw[:len(raw)-16])},
		{"a tag of zeros", p, listing, b64(append(raw[:len(raw)-16:len(raw)-16], make([]byte, 16)...))},
		{"cut by one byte", p, listing, b64(raw[:len(raw)-1])},
		{"one byte added", p, listing, b64(append(raw[:len(raw):len(raw)], 0))},
		{"only a tag", p, listing, b64(raw[len(raw)-16:])},
		{"padded", p, listing, base64.URLEncoding.EncodeToString(raw)},
		{"standard alphabet", p, listing, base64.StdEncoding.EncodeToString(raw) + "+/"},
		{"not base64", p, listing, "%%"},
		{"one character", p, listing, "A"},
		{"whitespace around", p, listing, " " + tok},
		{"another version", p, listing, func() string {
			// Signed with the key, yet of a version this server does not make.
			v2 := append([]byte{2}, raw[1:len(raw)-16]...)
			return b64(append(v2, p.tag(listing, v2)...))
		}()},
		{"signed, not JSON", p, listing, func() string {
			s := []byte{1, '{'}
			return b64(append(s, p.tag(listing, s)...))
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.pager.decode(tt.listing, tt.token)
			if !errors.Is(err, ErrInvalid) || err.Error() != foreignToken {
				t.Errorf("decode = %+v, %v; want ErrInvalid %q", c, err, foreignToken)
			}
			if c != (pageCursor{}) {
				t.Errorf("a refused token gave a position: %+v", c)
			}
		})
	}

	// Every byte, every bit.
	for i := range raw {
		for bit := range 8 {
			changed := bytes.Clone(raw)
			changed[i] ^= 1 << bit
			if _, err := p.decode(listing, b64(changed)); err == nil {
				t.Fatalf("byte %d with bit %d flipped accepted", i, bit)
			}
		}
	}
	// The last character of an unpadded encoding has unused low bits:
	// setting them is another string for the same bytes, refused too.
	if len(raw)%3 == 0 {
		t.Fatal("the test token has no unused bits: change its cursor")
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	alt := tok[:len(tok)-1] + string(alphabet[strings.IndexByte(alphabet, tok[len(tok)-1])|1])
	if got, _ := base64.RawURLEncoding.DecodeString(alt); !bytes.Equal(got, raw) || alt == tok {
		t.Fatalf("%q is not another encoding of the token's bytes", alt)
	}
	if _, err := p.decode(listing, alt); err == nil {
		t.Errorf("non-canonical encoding %q of %q accepted", alt, tok)
	}
}

// A token holds at any page size: page_size is not part of the listing.
func TestPageTokenAnyPageSize(t *testing.T) {
	p := testPager(t, 3)
	l := NewListing("listDatasets", "")
	tok := p.encode(l, pageCursor{Name: "a@1"})
	for _, size := range []int{0, 1, 7, MaxPageSize} {
		want := size
		if size == 0 {
			want = DefaultPageSize
		}
		pg, cur, err := p.start(l, size, tok)
		if err != nil || cur.Name != "a@1" || pg.limit != want {
			t.Errorf("page_size %d: %+v %+v %v", size, pg, cur, err)
		}
	}
	if _, _, err := p.start(l, MaxPageSize+1, tok); err == nil || !strings.Contains(err.Error(), "page_size") {
		t.Errorf("page_size %d: %v", MaxPageSize+1, err)
	}
}

func TestNewPager(t *testing.T) {
	for _, n := range []int{0, 1, PageKeySize - 1} {
		if _, err := NewPager(make([]byte, n)); err == nil {
			t.Errorf("a key of %d bytes was accepted", n)
		}
	}
	key := bytes.Repeat([]byte{5}, PageKeySize)
	p, err := NewPager(key)
	if err != nil {
		t.Fatal(err)
	}
	tok := p.encode(NewListing("x"), pageCursor{Num: 1})
	key[0] = 6 // the Pager keeps its own copy
	if _, err := p.decode(NewListing("x"), tok); err != nil {
		t.Errorf("the caller's key slice changed the Pager: %v", err)
	}
	if a, b := NewPageKey(), NewPageKey(); len(a) != PageKeySize || bytes.Equal(a, b) {
		t.Errorf("NewPageKey: %x, %x", a, b)
	}
}

// fakePageKeys keeps a key as the store does: the first candidate wins.
type fakePageKeys struct {
	key []byte
	err error
}

func (f *fakePageKeys) PageTokenKey(_ context.Context, candidate []byte) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.key == nil {
		f.key = bytes.Clone(candidate)
	}
	return f.key, nil
}

// TestLoadPager: replicas of one database share the key its first start
// stored, and so accept each other's tokens; a database that fails fails
// the start.
func TestLoadPager(t *testing.T) {
	db := &fakePageKeys{}
	a, err := LoadPager(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadPager(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	l := NewListing("listModels", "", "", "", "")
	if _, err := b.decode(l, a.encode(l, pageCursor{Name: "m"})); err != nil {
		t.Errorf("replica b refused replica a's token: %v", err)
	}
	other, _ := LoadPager(context.Background(), &fakePageKeys{})
	if _, err := other.decode(l, a.encode(l, pageCursor{Name: "m"})); err == nil {
		t.Error("another database's key accepted the token")
	}
	down := errors.New("database down")
	if _, err := LoadPager(context.Background(), &fakePageKeys{err: down}); !errors.Is(err, down) {
		t.Errorf("LoadPager with a failing store: %v", err)
	}
	if _, err := LoadPager(context.Background(), &fakePageKeys{key: []byte("short")}); err == nil {
		t.Error("a stored key too short was accepted")
	}
}
