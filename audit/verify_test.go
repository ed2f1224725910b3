package audit

import (
	"testing"
)

// The verifier's view of a sequence of events, without exports.
func TestVerifier(t *testing.T) {
	signer := newTestSigner(t, 4)
	c := testChain(t, signer, 1, GenesisHash, 6, 3)
	v := NewVerifier(NewKeyring(signer.PublicKey()))
	for i, e := range c.events {
		if !v.Event(e) {
			t.Fatalf("event %d refused: %s", e.Seq, v.res.Reason)
		}
		if (i+1)%3 == 0 && !v.Checkpoint(c.cps[i/3]) {
			t.Fatalf("checkpoint %d refused: %s", e.Seq, v.res.Reason)
		}
	}
	res := v.Finish(6, c.events[5].Hash)
	if !res.OK || res.CheckpointsVerified != 2 || res.LatestCheckpoint.Seq != 6 || res.Head != c.events[5].Hash {
		t.Fatalf("%+v", res)
	}
	// A checkpoint signed by a key the verifier does not know proves
	// nothing, but is not damage either.
	v = NewVerifier(Keyring{})
	for _, e := range c.events[:3] {
		v.Event(e)
	}
	if !v.Checkpoint(c.cps[0]) || v.Finish(3, c.events[2].Hash).CheckpointsUnverified != 1 {
		t.Errorf("unknown key: %+v", v.res)
	}
}

// The first event a verifier checks is held to the same two checks as any
// other: its content against its hash, and its prev_hash against the
// trusted start it continues (genesis, the event before since_seq, a prune
// anchor). A tampered first event must be reported as the first broken
// one, whichever start the range has.
func TestVerifierFirstEventOfRange(t *testing.T) {
	signer := newTestSigner(t, 5)
	keys := NewKeyring(signer.PublicKey())
	full := testChain(t, signer, 1, GenesisHash, 12, 0)

	// Each start gives the events the verifier is fed (from index from of
	// the full chain) and sets the verifier up to continue where they do.
	starts := []struct {
		name  string
		from  int
		setup func(v *Verifier) bool
	}{
		{"from genesis", 0, func(v *Verifier) bool { return true }},
		{"from since_seq", 5, func(v *Verifier) bool {
			before := full.events[4]
			v.Start(before.Seq, before.Hash)
			return true
		}},
		{"after a prune anchor", 5, func(v *Verifier) bool {
			before := full.events[4]
			return v.Anchor(signer.Checkpoint(before.Seq, before.Hash, before.Time, CheckpointPrune), 0)
		}},
	}
	tampers := []struct {
		name   string
		change func(c *chain)
	}{
		// The hash stays as stored: only the content check can see it.
		{"content", func(c *chain) { c.events[0].Actor = "mallory" }},
		// The event is rehashed and the chain after it relinked: only the
		// link from the trusted start to the first event is wrong.
		{"link", func(c *chain) {
			c.events[0].PrevHash = full.events[2].Hash
			c.events[0].Hash = c.events[0].ComputeHash()
			c.relink(1)
		}},
	}
	for _, st := range starts {
		for _, tt := range tampers {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				c := &chain{events: append([]Event(nil), full.events[st.from:]...)}
				// A prune's range verifies only with the event that records it.
				if st.name == "after a prune anchor" {
					raw, _ := CanonicalDetails(map[string]any{"through_seq": full.events[st.from-1].Seq})
					c.append(Event{Action: ActionPrune, Actor: "admin", Resource: "audit", Outcome: OutcomeSuccess, Details: raw})
				}
				check := func(c *chain) Verification {
					v := NewVerifier(keys)
					if !st.setup(v) {
						t.Fatalf("the start does not verify: %+v", v.res)
					}
					for _, e := range c.events {
						if !v.Event(e) {
							break
						}
					}
					last := c.events[len(c.events)-1]
					return v.Finish(last.Seq, last.Hash)
				}
				if res := check(c); !res.OK {
					t.Fatalf("the untouched range does not verify: %+v", res)
				}
				tt.change(c)
				res := check(c)
				if res.OK || res.FirstBrokenSeq != c.events[0].Seq {
					t.Errorf("tampered first event %d: ok %v, first broken %d (%s)", c.events[0].Seq, res.OK, res.FirstBrokenSeq, res.Reason)
				}
			})
		}
	}
}
