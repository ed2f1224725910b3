package audit

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Verification is the outcome of checking an audit chain.
type Verification struct {
	OK bool
	// Events is how many events were checked, FirstSeq..LastSeq their range.
	Events   int64
	FirstSeq int64
	LastSeq  int64
	// Head is the hash of the last event checked (the chain head when OK).
	Head    string
	HeadSeq int64
	// FirstBrokenSeq is the first seq whose event was changed, removed,
	// inserted or moved (0 when OK); Reason says what was found there.
	FirstBrokenSeq int64
	Reason         string
	// Checkpoints whose signature verified, and those signed by keys the
	// verifier does not know (which prove nothing to it).
	CheckpointsVerified   int
	CheckpointsUnverified int
	// LatestCheckpoint is the last verified checkpoint within the range.
	LatestCheckpoint *Checkpoint
	// Pending is how many events were recorded (their changes committed)
	// but not yet chained when the server verified: they are beyond
	// HeadSeq and not covered. Always 0 for an offline verification.
	Pending int64
}

// Verifier checks the events of a chain fed to it in seq order, with the
// checkpoints of each right after it. It keeps no per-event state, so a
// chain of any length takes constant memory. A chain starts at genesis
// unless Start or Anchor says where it continues; the first event fed must
// then link to that trusted start like every other event to the one before.
type Verifier struct {
	keys   Keyring
	h      chainHasher
	next   int64  // the seq the next event must have
	prev   string // the hash the next event's prev_hash must equal
	failed bool
	res    Verification
	// pruneAnchor, when not 0, is a prune anchor that an audit.prune event
	// of the chain must name; pruneBase is the seq before the anchor's own
	// prune range (for reporting).
	pruneAnchor int64
	pruneSeen   bool
	pruneBase   int64
}

// NewVerifier starts a chain at genesis, trusting the checkpoint
// signatures of keys.
func NewVerifier(keys Keyring) *Verifier {
	return &Verifier{keys: keys, next: 1, prev: GenesisHash}
}

// Start makes the chain continue after an event known by its seq and hash
// (0 and GenesisHash for a chain from its beginning).
func (v *Verifier) Start(afterSeq int64, hash string) {
	v.next, v.prev = afterSeq+1, hash
}

// Anchor starts the chain after a prune anchor: a checkpoint of the last
// removed event, signed by a trusted key, that an audit.prune event later
// in the chain must name. base is the seq of the previous prune anchor (0
// if none is known): events after it are what is missing if the anchor
// fails. It returns false when the anchor does not verify.
func (v *Verifier) Anchor(c Checkpoint, base int64) bool {
	if err := v.keys.checkCheckpoint(c); err != nil {
		return v.Fail(base+1, fmt.Sprintf("the events up to seq %d are missing and their prune anchor is not valid: %v", c.Seq, err))
	}
	v.Start(c.Seq, c.Hash)
	v.pruneAnchor, v.pruneBase = c.Seq, base
	v.res.CheckpointsVerified++
	v.res.LatestCheckpoint = &c
	return true
}

// Fail records that the chain is broken at seq (only the first failure
// counts) and returns false.
func (v *Verifier) Fail(seq int64, reason string) bool {
	if !v.failed {
		v.failed = true
		v.res.FirstBrokenSeq, v.res.Reason = seq, reason
	}
	return false
}

// Event checks the next event: its seq, its link to the event before (or
// to the trusted start) and its hash. It returns false once the chain is
// broken.
func (v *Verifier) Event(e Event) bool {
	if v.failed {
		return false
	}
	switch {
	case e.Seq > v.next:
		return v.Fail(v.next, fmt.Sprintf("event %d is missing (the next stored event is %d)", v.next, e.Seq))
	case e.Seq < v.next:
		return v.Fail(v.next, fmt.Sprintf("event %d appears where event %d belongs (inserted or out of order)", e.Seq, v.next))
	case e.PrevHash != v.prev:
		return v.Fail(e.Seq, fmt.Sprintf("event %d: prev_hash does not match the hash of event %d", e.Seq, e.Seq-1))
	}
	if h := v.h.hash(e); h != e.Hash {
		return v.Fail(e.Seq, fmt.Sprintf("event %d: its content does not match its hash (changed after it was written)", e.Seq))
	}
	if v.res.Events == 0 {
		v.res.FirstSeq = e.Seq
	}
	v.res.Events++
	v.res.LastSeq = e.Seq
	v.next, v.prev = e.Seq+1, e.Hash
	if v.pruneAnchor != 0 && !v.pruneSeen && e.Action == ActionPrune {
		var d struct {
			ThroughSeq int64 `json:"through_seq"`
		}
		if json.Unmarshal(e.Details, &d) == nil && d.ThroughSeq == v.pruneAnchor {
			v.pruneSeen = true
		}
	}
	return true
}

// Checkpoint checks a checkpoint of the event just verified: its hash and,
// when its key is trusted, its signature. A checkpoint by an unknown key is
// counted, not trusted.
func (v *Verifier) Checkpoint(c Checkpoint) bool {
	if v.failed {
		return false
	}
	if c.Seq != v.next-1 || v.res.Events == 0 {
		return v.Fail(c.Seq, fmt.Sprintf("checkpoint at seq %d has no event before it", c.Seq))
	}
	if c.Hash != v.prev {
		return v.Fail(c.Seq, fmt.Sprintf("event %d does not match its signed checkpoint: the chain up to it was rewritten", c.Seq))
	}
	switch err := v.keys.checkCheckpoint(c); {
	case errors.Is(err, errUnknownKey):
		v.res.CheckpointsUnverified++
	case err != nil:
		return v.Fail(c.Seq, err.Error())
	default:
		v.res.CheckpointsVerified++
		v.res.LatestCheckpoint = &c
	}
	return true
}

// Finish checks that the chain reached lastSeq with hash head, and returns
// the result.
func (v *Verifier) Finish(lastSeq int64, head string) Verification {
	v.res.HeadSeq = lastSeq
	switch {
	case v.failed:
	case v.next-1 < lastSeq:
		v.Fail(v.next, fmt.Sprintf("events %d to %d are missing: the chain ends before its head", v.next, lastSeq))
	case v.next-1 > lastSeq:
		v.Fail(lastSeq+1, fmt.Sprintf("events after the head (seq %d) were found", lastSeq))
	case v.prev != head:
		v.Fail(lastSeq, fmt.Sprintf("event %d does not match the recorded chain head", lastSeq))
	case v.pruneAnchor != 0 && !v.pruneSeen:
		v.Fail(v.pruneBase+1, fmt.Sprintf("events up to seq %d are missing and no %s event records their removal", v.pruneAnchor, ActionPrune))
	}
	v.res.OK = !v.failed
	v.res.Head = v.prev
	return v.res
}
