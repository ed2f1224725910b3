package audit

import (
	"math"
	"strings"
	"testing"
	"time"
)

// An event's hash, as docs/audit.md computes it in Python:
//
//	canon = json.dumps(ev, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
//	hashlib.sha256(prev.encode() + canon.encode()).hexdigest()
func TestEventHashVector(t *testing.T) {
	details, err := CanonicalDetails(map[string]any{
		"before": map[string]any{"description": "old <desc>", "tags": map[string]string{}},
		"after":  map[string]any{"description": "new & ünïcode", "tags": map[string]string{"team": "risk"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := Event{
		Seq: 7, Time: time.Date(2025, 7, 8, 18, 10, 11, 123450000, time.FixedZone("CEST", 2*3600)),
		Actor: "alice", Action: "model.update", Resource: "models/fraud-detector", Outcome: OutcomeSuccess,
		RequestID: "req-1", RemoteAddr: "192.0.2.1", Details: details, PrevHash: strings.Repeat("ab", 32),
	}
	wantCanon := `{"action":"model.update","actor":"alice","details":{"after":{"description":"new & ünïcode","tags":{"team":"risk"}},` +
		`"before":{"description":"old <desc>","tags":{}}},"outcome":"success","remote_addr":"192.0.2.1","request_id":"req-1",` +
		`"resource":"models/fraud-detector","seq":7,"time":"2025-07-08T16:10:11.123450Z"}`
	if got := string(e.CanonicalBytes()); got != wantCanon {
		t.Errorf("canonical bytes\n got %s\nwant %s", got, wantCanon)
	}
	if got, want := e.ComputeHash(), "032430d830f93f303436163770ea8413c9b8a5d185b61c2a129809226f561741"; got != want {
		t.Errorf("hash %s, want %s", got, want)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2025-01-02T03:04:05.000000Z", "1999-12-31T23:59:59.999999Z"} {
		if _, err := ParseTime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"2025-01-02T03:04:05Z", "2025-01-02T03:04:05.00000Z", "2025-01-02T03:04:05.000000+00:00", ""} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("%q parsed; only the canonical spelling may", s)
		}
	}
}

func TestCanonicalDetailsNumbers(t *testing.T) {
	raw, err := CanonicalDetails(map[string]any{"size": int64(1) << 40, "ratio": 0.1, "big": math.MaxInt32})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"big":2147483647,"ratio":0.1,"size":1099511627776}` {
		t.Errorf("got %s", raw)
	}
}
