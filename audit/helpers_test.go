package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"
)

// chain is a sequence of events with the checkpoints of some of them, as a
// store would hold it.
type chain struct {
	events []Event
	cps    []Checkpoint
}

// testChain makes n events (seq from firstSeq, the first linked to prev)
// with a checkpoint every cpEvery events, signed by signer.
func testChain(t *testing.T, signer *Signer, firstSeq int64, prev string, n, cpEvery int) *chain {
	t.Helper()
	c := &chain{}
	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		details, err := CanonicalDetails(map[string]any{"i": i, "note": "a \"quoted\", <tagged> & ünïcode value\n", "size": 1.5})
		if err != nil {
			t.Fatal(err)
		}
		e := Event{
			Seq: firstSeq + int64(i), Time: base.Add(time.Duration(i) * time.Second), Actor: fmt.Sprint("user-", i%3),
			Action: "model.update", Resource: fmt.Sprint("models/m", i%5), Outcome: OutcomeSuccess,
			RequestID: fmt.Sprint("req-", i), RemoteAddr: "192.0.2.7", Details: details, PrevHash: prev,
		}
		if i == 2 {
			e.Actor, e.RequestID = "=HYPERLINK(\"http://evil\")", "'quoted" // spreadsheet bait
		}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		c.events = append(c.events, e)
		if cpEvery > 0 && (i+1)%cpEvery == 0 {
			c.cps = append(c.cps, signer.Checkpoint(e.Seq, e.Hash, e.Time.Add(time.Second), CheckpointInterval))
		}
	}
	return c
}

// append adds an event at the end of the chain, linked and hashed.
func (c *chain) append(e Event) {
	e.Seq, e.PrevHash = 1, GenesisHash
	if n := len(c.events); n > 0 {
		e.Seq, e.PrevHash = c.events[n-1].Seq+1, c.events[n-1].Hash
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Hash = e.ComputeHash()
	c.events = append(c.events, e)
}

// relink recomputes the links and hashes of the events from index i on,
// so that a change to event i-1 is visible only in the link to it.
func (c *chain) relink(i int) {
	for ; i < len(c.events); i++ {
		c.events[i].PrevHash = c.events[i-1].Hash
		c.events[i].Hash = c.events[i].ComputeHash()
	}
}

func newTestSigner(t *testing.T, seed byte) *Signer {
	t.Helper()
	s, err := NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// exportOf encodes the chain as an export sealed by signer, the way the
// registry streams one: header, the prune anchor (when given), each event
// with its checkpoints after it, the seal.
func exportOf(t *testing.T, c *chain, anchor *Checkpoint, signer *Signer, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc, err := NewEncoder(&buf, format)
	if err != nil {
		t.Fatal(err)
	}
	first, last, head := int64(1), int64(0), GenesisHash
	if anchor != nil {
		first = anchor.Seq + 1
	}
	if n := len(c.events); n > 0 {
		first, last, head = c.events[0].Seq, c.events[n-1].Seq, c.events[n-1].Hash
	}
	at := time.Date(2026, 2, 3, 4, 5, 6, 789000, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.Header(NewHeader(first, last, at, signer)))
	if anchor != nil {
		must(enc.Checkpoint(*anchor))
	}
	cps := c.cps
	for _, e := range c.events {
		must(enc.Event(e))
		for len(cps) > 0 && cps[0].Seq <= e.Seq {
			if cps[0].Seq == e.Seq {
				must(enc.Checkpoint(cps[0]))
			}
			cps = cps[1:]
		}
	}
	must(enc.Seal(signer.Seal(first, last, head, at)))
	must(enc.Flush())
	return buf.Bytes()
}

// flip changes a base64 digit.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// lines splits a JSONL export, or a CSV one made only of one-line records.
func lines(b []byte) []string {
	return strings.SplitAfter(string(b), "\n")[:bytes.Count(b, []byte("\n"))]
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
