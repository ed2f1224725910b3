package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"gorm.io/gorm/clause"
)

// SeedAuditChain appends n synthetic, valid events to the audit chain in
// bulk (thousands per statement), one second apart from start: a fixture for
// benchmarks and load tests of verification, export and the audit list,
// which need chains of a million events that AppendAudit would take minutes
// to build. It holds the chain head's lock per batch, like AppendAudit, so it
// may run beside a live server.
//
// The events are those of a busy registry, skewed as a real log is, and
// reproducible (the same n gives the same events, whatever the start):
//
//   - 1,000 actors, busiest first by a Zipf law (exponent 1.5): svc-deploy
//     writes 39 % of the events, svc-ci 14 %, the 100th actor 0.04 %, the
//     1,000th about a dozen spread over a million. Ranks 1–12 are service
//     accounts (svc-…), the others people (u0013@example.com, …), every 25th
//     of whom is an auditor. What an actor does depends on its kind: CI
//     accounts create versions, upload files and log metrics; deployment
//     accounts download and record deployments; people update, request and
//     approve; auditors export. So many actor/action pairs never occur.
//   - the actions and resource names the Service writes (file.download,
//     metrics.log, model.update, transition.approve, access.denied with
//     outcome denied, ...): file.download is 35 % of the log, model.delete
//     about 0.01 %.
//   - 2,000 models, by a Zipf law (exponent 1.2): fraud-detector has 22 % of
//     the model events, the 2,000th about 20. The first 20 have plain names
//     (fraud-detector, churn-predictor, ...), the others the same names with
//     their rank (fraud-detector-21, ...), so a prefix filter must tell
//     models/fraud-detector/ from models/fraud-detector-21/. A model's version
//     numbers grow through the log.
//   - every 3,600th event is the checkpoint job's (actor modelkeep, action
//     audit.checkpoint).
func SeedAuditChain(ctx context.Context, s *Store, n int, start time.Time) error {
	const batch = 2000
	g := newAuditSeed()
	for done := 0; done < n; {
		k := min(batch, n-done)
		err := s.inTxStore(ctx, func(tx *Store) error {
			db := tx.db.WithContext(ctx)
			var head auditHeadRow
			if err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", 1).Take(&head).Error; err != nil {
				return dbErr("seed audit chain: read head", err)
			}
			rows := make([]auditEventRow, k)
			prev := head.Hash
			for i := range rows {
				seq := head.Seq + int64(i) + 1
				e, err := g.event(uint64(done+i), float64(done+i)/float64(n))
				if err != nil {
					return err
				}
				e.Seq, e.Time, e.PrevHash = seq, utc(start.Add(time.Duration(done+i)*time.Second)), prev
				e.Hash = e.ComputeHash()
				prev = e.Hash
				rows[i] = auditEventRow{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Resource: e.Resource,
					Outcome: e.Outcome, RequestID: e.RequestID, RemoteAddr: e.RemoteAddr, Details: string(e.Details),
					PrevHash: e.PrevHash, Hash: e.Hash}
			}
			// Small multi-row inserts: the SQLite driver binds parameters in
			// time quadratic in their number per statement.
			if err := db.CreateInBatches(rows, 50).Error; err != nil {
				return dbErr("seed audit chain", err)
			}
			moved := head
			for _, r := range rows {
				moved = moved.after(r.Seq, r.Hash, r.Time)
			}
			return dbErr("seed audit chain: move head", db.Model(&auditHeadRow{}).Where("id = ? AND seq = ?", 1, head.Seq).
				Updates(moved.moveTo()).Error)
		})
		if err != nil {
			return err
		}
		done += k
	}
	return nil
}

// Kinds of seeded actors.
const (
	seedDeploy = iota
	seedCI
	seedPerson
	seedAuditor
)

// seedServiceAccounts are the busiest actors, rank 1 first, and their kind.
var seedServiceAccounts = []struct {
	name string
	kind int
}{
	{"svc-deploy", seedDeploy}, {"svc-ci", seedCI}, {"svc-train", seedCI}, {"svc-scoring", seedDeploy},
	{"svc-ci-risk", seedCI}, {"svc-deploy-eu", seedDeploy}, {"svc-ci-marketing", seedCI}, {"svc-batch", seedDeploy},
	{"svc-ci-ops", seedCI}, {"svc-deploy-us", seedDeploy}, {"svc-retrain", seedCI}, {"svc-shadow", seedDeploy},
}

// seedActions are each kind's actions with their weights.
var seedActions = [...][]struct {
	action string
	weight float64
}{
	seedDeploy: {{"file.download", 70}, {"file.presign", 20}, {"deployment.record", 7.5}, {"alias.set", 2}, {"access.denied", 0.5}},
	seedCI: {{"metrics.log", 45}, {"file.upload", 25}, {"version.create", 10}, {"version.finalize", 10}, {"run.register", 8},
		{"dataset.register", 1.5}, {"access.denied", 0.5}},
	seedPerson: {{"file.download", 25}, {"model.update", 12}, {"metrics.log", 10}, {"transition.request", 8},
		{"transition.approve", 6}, {"version.stage", 5}, {"card.update", 5}, {"access.denied", 5}, {"document.download", 4},
		{"alias.set", 3}, {"evidence.export", 2}, {"document.upload", 2}, {"model.create", 2}, {"transition.reject", 1},
		{"token.create", 1}, {"evidence.not_applicable", 0.5}, {"alias.delete", 0.5}, {"token.revoke", 0.5},
		{"policy.update", 0.3}, {"model.delete", 0.2}},
	seedAuditor: {{"evidence.export", 25}, {"document.download", 25}, {"file.download", 20}, {"audit.export", 10},
		{"document.signoff", 10}, {"access.denied", 10}},
}

var seedModelNames = []string{
	"fraud-detector", "churn-predictor", "credit-scoring", "demand-forecast", "price-optimizer", "claims-triage",
	"sentiment", "doc-classifier", "ner-tagger", "recommender", "ranker", "anomaly-detector", "ocr", "speech-to-text",
	"translator", "image-tagger", "risk-rating", "aml-screening", "kyc-matcher", "lead-scoring",
}

const (
	seedActors          = 1000
	seedModels          = 2000
	seedCheckpointEvery = 3600
)

// auditSeed draws the events of SeedAuditChain from fixed tables.
type auditSeed struct {
	actorCDF, modelCDF []float64
	actionCDF          [len(seedActions)][]float64
}

func newAuditSeed() *auditSeed {
	g := &auditSeed{actorCDF: zipfCDF(seedActors, 1.5), modelCDF: zipfCDF(seedModels, 1.2)}
	for k, as := range seedActions {
		w := make([]float64, len(as))
		for i, a := range as {
			w[i] = a.weight
		}
		g.actionCDF[k] = cdf(w)
	}
	return g
}

func zipfCDF(n int, s float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Pow(float64(i+1), -s)
	}
	return cdf(w)
}

func cdf(w []float64) []float64 {
	out := make([]float64, len(w))
	sum := 0.0
	for i, x := range w {
		sum += x
		out[i] = sum
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// pick returns the index whose CDF interval holds u in [0, 1).
func pick(cdf []float64, u float64) int {
	i, _ := slices.BinarySearch(cdf, u)
	return min(i, len(cdf)-1)
}

// seedMix is splitmix64: reproducible pseudo-random values from an event's
// index.
func seedMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// seedUnit is a value in [0, 1) from i and a salt.
func seedUnit(i, salt uint64) float64 {
	return float64(seedMix(i*0x100000001b3^salt)>>11) / (1 << 53)
}

func seedActor(rank int) (name string, kind int) {
	if rank <= len(seedServiceAccounts) {
		a := seedServiceAccounts[rank-1]
		return a.name, a.kind
	}
	if rank%25 == 0 {
		return fmt.Sprintf("u%04d@example.com", rank), seedAuditor
	}
	return fmt.Sprintf("u%04d@example.com", rank), seedPerson
}

func seedModel(rank int) string {
	base := seedModelNames[(rank-1)%len(seedModelNames)]
	if rank <= len(seedModelNames) {
		return base
	}
	return fmt.Sprintf("%s-%d", base, rank)
}

// event returns the i-th event (without seq, time and hashes); progress is
// how far through the log it lies, in [0, 1).
func (g *auditSeed) event(i uint64, progress float64) (audit.Event, error) {
	id := func(salt uint64) string { return fmt.Sprintf("%016x", seedMix(i^salt)) }
	e := audit.Event{Outcome: audit.OutcomeSuccess, RequestID: "req-" + id(0x1)}
	var details map[string]any
	if (i+1)%seedCheckpointEvery == 0 {
		e.Actor, e.Action, e.Resource, e.RemoteAddr = "modelkeep", "audit.checkpoint", "audit", ""
		details = map[string]any{"seq": int64(i), "key_id": "ed25519:5f1b2c3d4e5f6071"}
	} else {
		rank := pick(g.actorCDF, seedUnit(i, 1)) + 1
		var kind int
		e.Actor, kind = seedActor(rank)
		e.RemoteAddr = fmt.Sprintf("10.%d.%d.%d", kind, rank/250, rank%250+1)
		e.Action = seedActions[kind][pick(g.actionCDF[kind], seedUnit(i, 2))].action
		mrank := pick(g.modelCDF, seedUnit(i, 3)) + 1
		model := seedModel(mrank)
		// Versions: a model has up to 1 + 300/rank^0.6 by the end of the
		// log, created evenly through it; most events touch one of the
		// latest three.
		latest := 1 + int(progress*300/math.Pow(float64(mrank), 0.6))
		version := max(1, latest-int(seedMix(i^0x4)%3))
		modelRes := "models/" + model
		versionRes := fmt.Sprintf("%s/versions/%d", modelRes, version)
		switch e.Action {
		case "model.create", "model.delete", "policy.update":
			e.Resource = modelRes
			details = map[string]any{"name": model}
		case "model.update":
			e.Resource = modelRes
			details = map[string]any{
				"before": map[string]any{"description": "model of the fraud team", "tags": map[string]string{"team": "risk"}},
				"after":  map[string]any{"description": fmt.Sprint("model of the fraud team, revision ", i), "tags": map[string]string{"team": "risk"}},
			}
		case "card.update":
			e.Resource = modelRes + "/card"
			if i%2 == 0 {
				e.Resource = versionRes + "/card"
			}
			details = map[string]any{"revision": int64(i % 97), "sha256": id(0x5) + id(0x6) + id(0x7) + id(0x8)}
		case "alias.set", "alias.delete":
			e.Resource = modelRes + "/aliases/" + []string{"production", "staging", "champion"}[i%3]
			details = map[string]any{"version": version}
		case "evidence.export":
			e.Resource = versionRes + "/evidence"
			details = map[string]any{"pack": id(0x9), "sha256": id(0x5) + id(0x6) + id(0x7) + id(0x8)}
		case "evidence.not_applicable":
			e.Resource = fmt.Sprintf("%s/evidence/not-applicable/A%d-%d", versionRes, 9+i%7, 1+i%5)
			details = map[string]any{"row_id": fmt.Sprintf("A%d-%d", 9+i%7, 1+i%5), "reason": "not a high-risk use"}
		case "transition.request", "transition.approve", "transition.reject":
			e.Resource = "transitions/" + id(0xa)
			details = map[string]any{"model": model, "version": version, "to": "production"}
		case "token.create", "token.revoke":
			e.Resource = "tokens/" + id(0xb)
			details = map[string]any{"subject": e.Actor, "roles": []string{"reader"}}
		case "run.register":
			e.Resource = "runs/" + id(0xc)
			details = map[string]any{"model": model, "version": version}
		case "dataset.register":
			e.Resource = fmt.Sprintf("datasets/%s-train/versions/v%d", model, 1+version/10)
			details = map[string]any{"sha256": id(0x5) + id(0x6) + id(0x7) + id(0x8), "size": int64(seedMix(i^0xd) % (1 << 34))}
		case "document.upload", "document.download", "document.signoff":
			e.Resource = "documents/" + id(0xe)[:12]
			details = map[string]any{"sha256": id(0x5) + id(0x6) + id(0x7) + id(0x8), "size": int64(seedMix(i^0xd) % (1 << 24))}
		case "audit.export":
			e.Resource = "audit"
			details = map[string]any{"format": "jsonl", "through_seq": int64(i)}
		default: // file.*, metrics.log, version.*, deployment.record, access.denied
			e.Resource = versionRes
			details = map[string]any{"path": "weights/model.safetensors", "sha256": id(0x5) + id(0x6) + id(0x7) + id(0x8),
				"size": int64(seedMix(i^0xd) % (1 << 34))}
		}
		if e.Action == "access.denied" {
			e.Outcome = audit.OutcomeDenied
			details = map[string]any{"operation": "downloadFile", "reason": "the token's roles do not allow this operation"}
		}
	}
	d, err := audit.CanonicalDetails(details)
	if err != nil {
		return audit.Event{}, err
	}
	e.Details = d
	return e, nil
}
