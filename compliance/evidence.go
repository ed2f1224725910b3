package compliance

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/evidence"
	"github.com/modelkeep/modelkeep/modelcard"
)

// TechdocRetention is how long technical documentation is kept after the
// system is placed on the market (EU AI Act Art. 18(1)): archived packs are
// locked for at least that long.
const TechdocRetention = 10

// gathering is what building a pack should include: the coverage alone
// reads no audit segments and makes no BOM.
type gathering struct {
	audit     bool
	cyclonedx bool
	revision  int // of the version's card; 0 for the latest
}

// EvidenceCoverage decides the coverage of a version's evidence without
// exporting a pack: what a publisher or approver looks at before asking
// for the pack or the approval.
func (s *Service) EvidenceCoverage(ctx context.Context, model string, version int) (*evidence.Pack, error) {
	if err := s.checkCardRef(ctx, CardRef{Model: model, Version: version}, "getEvidenceCoverage"); err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "version must be a number from 1 to %d", modelkeep.MaxVersionNumber)
	}
	v, err := s.store.GetVersion(ctx, model, version)
	if err != nil {
		return nil, err
	}
	g, err := s.gather(ctx, s.store, v, gathering{})
	return g.pack, err
}

// MissingEvidence is the production gate of policies that require evidence
// (modelkeep.EvidenceGate): the applicable rows neither present nor
// justified, apart from those evidenced after placing on the market. It
// reads in the approval's transaction.
func (s *Service) MissingEvidence(ctx context.Context, tx modelkeep.MetaStore, v modelkeep.Version) ([]string, error) {
	r, ok := tx.(Records)
	if !ok {
		return nil, fmt.Errorf("evidence gate: the store (%T) cannot read evidence", tx)
	}
	g, err := s.gather(ctx, r, v, gathering{})
	if err != nil {
		return nil, err
	}
	return evidence.MissingBeforeMarket(g.pack.Coverage), nil
}

// PackFile is an exported, sealed and archived pack.
type PackFile struct {
	Pack   *evidence.Pack
	Bytes  []byte
	Record PackRecord
}

// requireWholeLog refuses a token limited to models what holds a pack: its
// audit segments carry other models' events between the version's own,
// which such a token may not read (GET /api/v1/audit refuses it too).
func (s *Service) requireWholeLog(ctx context.Context, operation, resource string) error {
	if a, ok := modelkeep.ActorFrom(ctx); ok && len(a.Models) > 0 {
		s.log.RecordDenied(ctx, operation, resource, "the token is limited to models")
		return modelkeep.Errorf(modelkeep.ErrForbidden,
			"an evidence pack carries segments of the whole audit chain, with events of other models: use a token not limited to models")
	}
	return nil
}

// ExportEvidence builds the evidence pack of a version, signs it, archives
// it in the blob store as an immutable object (under Object Lock in
// compliance mode when the store has it), and records the export in the
// audit log with the pack's id.
func (s *Service) ExportEvidence(ctx context.Context, model string, version int) (PackFile, error) {
	if err := s.checkCardRef(ctx, CardRef{Model: model, Version: version}, "exportEvidence"); err != nil {
		return PackFile{}, err
	}
	if version < 1 {
		return PackFile{}, modelkeep.Errorf(modelkeep.ErrInvalid, "version must be a number from 1 to %d", modelkeep.MaxVersionNumber)
	}
	if err := s.requireWholeLog(ctx, "exportEvidence", modelkeep.VersionResource(model, version)+"/evidence"); err != nil {
		return PackFile{}, err
	}
	if s.signer == nil {
		return PackFile{}, modelkeep.Errorf(modelkeep.ErrPrecondition, "this server has no signing key to seal an evidence pack")
	}
	v, err := s.store.GetVersion(ctx, model, version)
	if err != nil {
		return PackFile{}, err
	}
	// The pack's audit trail holds every change committed before the export.
	if _, err := s.log.SyncAudit(ctx); err != nil {
		return PackFile{}, err
	}
	g, err := s.gather(ctx, s.store, v, gathering{audit: true, cyclonedx: true})
	if err != nil {
		return PackFile{}, err
	}
	p := g.pack
	rec := PackRecord{ID: p.Export.ExportID, Model: model, Version: version, GeneratedBy: p.Export.GeneratedBy}
	rec.GeneratedAt, _ = audit.ParseTime(p.Export.GeneratedAt)
	rec.BlobKey = fmt.Sprintf("evidence/%s/%d/%s.json", model, version, rec.ID)
	rec.LockMode, rec.RetainUntil, err = s.archivePlan(ctx, p)
	if err != nil {
		return PackFile{}, err
	}
	p.Export.Archive = evidence.Archive{URI: "/api/v1/evidence/packs/" + rec.ID, ObjectLockMode: rec.LockMode}
	p.Retention.WORM.Mode = rec.LockMode
	if rec.LockMode != modelkeep.LockNone {
		p.Retention.WORM.Backend = "s3 object lock"
		// Whole days: retain-until is cut to the second after the export's time.
		p.Retention.WORM.DefaultRetentionDays = int(rec.RetainUntil.Sub(rec.GeneratedAt.Truncate(time.Second)).Hours() / 24)
	}
	if rec.RetainUntil != nil {
		p.Export.Archive.RetainUntil = audit.FormatTime(*rec.RetainUntil)
	}
	file, err := evidence.Seal(p, s.signer)
	if err != nil {
		return PackFile{}, err
	}
	sum := sha256.Sum256(file)
	rec.SHA256, rec.Size = hex.EncodeToString(sum[:]), int64(len(file))
	if err := s.archive(ctx, rec, file); err != nil {
		return PackFile{}, err
	}
	err = s.store.InComplianceTx(ctx, func(tx Store) error {
		if err := tx.AddEvidencePack(ctx, rec); err != nil {
			return err
		}
		details := map[string]any{"pack_id": rec.ID, "sha256": rec.SHA256, "size": rec.Size, "object_lock_mode": rec.LockMode,
			"missing": p.Summary.MissingRows, "present": p.Summary.Present, "applicable": p.Summary.Applicable}
		if rec.RetainUntil != nil {
			details["retain_until"] = audit.FormatTime(*rec.RetainUntil)
		}
		err := s.log.RecordChange(ctx, tx, "evidence.export", modelkeep.VersionResource(model, version)+"/evidence", details)
		return err
	})
	if err != nil {
		return PackFile{}, err
	}
	return PackFile{Pack: p, Bytes: file, Record: rec}, nil
}

// archivePlan decides the lock of a pack before it is sealed (the pack says
// which lock it got): compliance mode until ten years after the system is
// placed on the market (or from now, when it is not yet), when the blob
// store can lock objects.
func (s *Service) archivePlan(ctx context.Context, p *evidence.Pack) (string, *time.Time, error) {
	r, ok := s.blobs.(modelkeep.Retainer)
	if !ok {
		return modelkeep.LockNone, nil, nil
	}
	mode, err := r.RetentionMode(ctx)
	if err != nil || mode == modelkeep.LockNone {
		return modelkeep.LockNone, nil, err
	}
	from := s.clock()
	if p.System != nil && p.System.PlacedOnMarketAt != "" {
		if placed, err := time.Parse(time.RFC3339, p.System.PlacedOnMarketAt); err == nil && placed.After(from) {
			from = placed
		}
	}
	until := from.AddDate(TechdocRetention, 0, 0).UTC().Truncate(time.Second)
	return mode, &until, nil
}

// archive stores the sealed pack and checks that it got the lock it says.
func (s *Service) archive(ctx context.Context, rec PackRecord, file []byte) error {
	r, ok := s.blobs.(modelkeep.Retainer)
	if !ok || rec.LockMode == modelkeep.LockNone {
		if _, err := s.blobs.Put(ctx, rec.BlobKey, bytes.NewReader(file), int64(len(file))); err != nil {
			return fmt.Errorf("archive evidence pack: %w", err)
		}
		return nil
	}
	if _, err := r.PutRetained(ctx, rec.BlobKey, bytes.NewReader(file), int64(len(file)), *rec.RetainUntil); err != nil {
		return fmt.Errorf("archive evidence pack: %w", err)
	}
	mode, until, err := r.Retention(ctx, rec.BlobKey)
	if err != nil {
		return fmt.Errorf("read the archived pack's lock: %w", err)
	}
	if mode != rec.LockMode || until.Before(*rec.RetainUntil) {
		return fmt.Errorf("the archived pack got lock %s until %s, not %s until %s: %w", mode, until.Format(time.RFC3339),
			rec.LockMode, rec.RetainUntil.Format(time.RFC3339), modelkeep.ErrUnavailable)
	}
	return nil
}

// gathered is a version's pack (not sealed), the merged card it was built
// from and the facts the card's renderers fill in.
type gathered struct {
	pack  *evidence.Pack
	card  modelcard.Card
	facts modelcard.Facts
}

// gather builds a version's pack.
func (s *Service) gather(ctx context.Context, st Records, v modelkeep.Version, what gathering) (gathered, error) {
	cat, err := evidence.Load()
	if err != nil {
		return gathered{}, err
	}
	m, err := st.GetModel(ctx, v.Model)
	if err != nil {
		return gathered{}, err
	}
	ref := CardRef{Model: v.Model, Version: v.Number}
	card, err := cardInForce(ctx, st, ref, what.revision, time.Time{})
	if err != nil {
		return gathered{}, err
	}
	now := s.clock()
	c := card.Card
	p := &evidence.Pack{
		Provider: c.Provider, System: c.System, Applicability: c.Applicability,
		RiskManagement: c.RiskManagement, HumanOversight: c.HumanOversight, Cybersecurity: c.Cybersecurity,
		Logging: c.Logging, StandardsApplied: c.StandardsApplied, OtherSolutions: c.OtherSolutions,
		DeclarationOfConformity: c.DeclarationOfConformity, NotifiedBody: c.NotifiedBody, QMS: c.QMS,
		PostMarketMonitoring: c.PostMarketMonitoring, Incidents: c.Incidents, GPAI: c.GPAI,
		ModelCard: evidence.ModelCard{ModelDetails: c.ModelDetails, IntendedUse: c.IntendedUse, Factors: c.Factors,
			Metrics: c.Metrics, EvaluationData: c.EvaluationData, TrainingData: c.TrainingData,
			QuantitativeAnalyses: c.QuantitativeAnalyses, EthicalConsiderations: c.EthicalConsiderations,
			CaveatsAndRecommendations: c.CaveatsAndRecommendations},
		Model: evidence.Model{Name: m.Name, Description: m.Description, Tags: m.Tags, CreatedBy: m.CreatedBy, CreatedAt: audit.FormatTime(m.CreatedAt)},
	}
	riskClass := modelcard.RiskHighRisk
	if c.System != nil && c.System.RiskClass != "" {
		riskClass = c.System.RiskClass
	}
	p.Export = evidence.Export{
		SchemaID: evidence.SchemaID, ExportID: newID(), GeneratedAt: audit.FormatTime(now), GeneratedBy: modelkeep.ActorName(ctx),
		Generator:             evidence.Generator{Name: "modelkeep", Version: cmp.Or(s.opts.GeneratorVersion, "dev")},
		Subject:               evidence.Subject{ID: fmt.Sprintf("%s/versions/%d", v.Model, v.Number), Model: v.Model, Version: v.Number},
		RequirementsCatalogue: cat.Name, RequirementsCatalogueVersion: cat.Version, RiskClass: riskClass,
		VerificationTool: "modelkeep evidence verify FILE --public-key KEY (docs/evidence.md)",
		CycloneDX:        evidence.CycloneDXRef{MediaType: modelcard.CycloneDXMediaType, BOM: json.RawMessage("null")},
		Archive:          evidence.Archive{ObjectLockMode: modelkeep.LockNone},
	}

	files, err := st.ListFiles(ctx, v.Model, v.Number)
	if err != nil {
		return gathered{}, err
	}
	transitions, err := allTransitions(ctx, st, v)
	if err != nil {
		return gathered{}, err
	}
	p.Version = versionOf(v, files, c.Version, card)
	if at := productionApproval(transitions); at != nil {
		then, err := cardInForce(ctx, st, ref, 0, *at)
		if err != nil && !errors.Is(err, modelkeep.ErrNotFound) {
			return gathered{}, err
		}
		p.Version.Card.AtProductionApproval = &evidence.RevisionsAt{At: audit.FormatTime(*at), Revision: then.Revision, ModelRevision: then.ModelRevision}
	}
	p.StageTransitions = toPackTransitions(transitions)

	docs := newDocCollector(st)
	if p.Datasets, err = s.packDatasets(ctx, st, v, c.Datasets); err != nil {
		return gathered{}, err
	}
	runs, err := versionRuns(ctx, st, v)
	if err != nil {
		return gathered{}, err
	}
	if p.Runs, err = packRuns(ctx, runs, docs); err != nil {
		return gathered{}, err
	}
	points, err := st.ListMetricsPage(ctx, modelkeep.MetricFilter{Model: v.Model, Number: v.Number})
	if err != nil {
		return gathered{}, err
	}
	latest := latestPoints(points)
	p.Metrics = toPackMetrics(latest)
	if p.DeclaredMetrics, err = declaredMetrics(ctx, st, ref, c.DeclaredMetrics, latest, runs); err != nil {
		return gathered{}, err
	}
	deployments, err := allDeployments(ctx, st, v)
	if err != nil {
		return gathered{}, err
	}
	p.Deployments = toPackDeployments(deployments, transitions, v)
	policy, err := st.GetPolicy(ctx, v.Model)
	if err != nil {
		return gathered{}, err
	}
	p.Config = configOf(policy)
	for _, r := range modelcard.DocRefs(&c) {
		if err := docs.add(ctx, r.Ref.SHA256); err != nil {
			return gathered{}, err
		}
	}
	if p.Documents, err = docs.list(ctx); err != nil {
		return gathered{}, err
	}
	p.Retention = s.retentionOf(c.System)
	exemptions, err := st.ListExemptions(ctx, v.Model, v.Number)
	if err != nil {
		return gathered{}, err
	}
	p.NotApplicable = toPackExemptions(exemptions)

	p.Audit = evidence.Audit{HashAlg: "sha256", Canonicalization: "RFC 8785", Genesis: audit.GenesisHash,
		Specification: "https://github.com/modelkeep/modelkeep/blob/main/docs/audit.md", Segments: []evidence.Segment{}}
	if s.signer != nil {
		p.Audit.KeyID, p.Audit.PublicKey = s.signer.KeyID(), s.signer.PublicKeyPEM()
	}
	subject, err := subjectEvents(ctx, st, v, transitions, runs, p.Documents)
	if err != nil {
		return gathered{}, err
	}
	if what.audit {
		err = s.auditSegments(ctx, st, subject, p)
	} else {
		err = checkEventHashes(subject, p)
	}
	if err != nil {
		return gathered{}, err
	}

	answerer := applicabilityAnswerer(card)
	if err := evidence.Evaluate(p, cat, answerer); err != nil {
		return gathered{}, err
	}
	facts := FactsOf(p, v, latest, transitions, deployments)
	if what.cyclonedx {
		if err := s.attachBOM(p, c, facts); err != nil {
			return gathered{}, err
		}
	}
	return gathered{pack: p, card: c, facts: facts}, nil
}

// attachBOM makes the version's CycloneDX BOM, signed like the pack, and
// carries it inline with the SHA-256 of its canonical JSON.
func (s *Service) attachBOM(p *evidence.Pack, c modelcard.Card, f modelcard.Facts) error {
	bom, err := s.bom(c, f)
	if err != nil {
		return err
	}
	canon, err := audit.CanonicalJSON(bom)
	if err != nil {
		return fmt.Errorf("canonical BOM: %w", err)
	}
	sum := sha256.Sum256(canon)
	p.Export.CycloneDX = evidence.CycloneDXRef{MediaType: modelcard.CycloneDXMediaType, SHA256: hex.EncodeToString(sum[:]), BOM: canon}
	return nil
}

// bom renders the CycloneDX BOM of a card and its facts, signed when the
// server has a key.
func (s *Service) bom(c modelcard.Card, f modelcard.Facts) ([]byte, error) {
	opts := modelcard.BOMOptions{GeneratedAt: f.GeneratedAt, ToolVersion: cmp.Or(s.opts.GeneratorVersion, "dev")}
	if s.signer != nil {
		opts.Sign, opts.PublicKey = s.signer.Sign, s.signer.PublicKey()
	}
	return modelcard.CycloneDX(c, f, opts)
}

// applicabilityAnswerer is who gave the card's applicability answers: the
// version's revision when it sets them, else the model's.
func applicabilityAnswerer(card Card) evidence.Answerer {
	answerer := func(r CardRevision) evidence.Answerer {
		return evidence.Answerer{By: r.CreatedBy, At: audit.FormatTime(r.CreatedAt), AuditEventID: r.AuditSeq}
	}
	if card.Model.Revision == 0 && card.Own.Revision == 0 {
		return evidence.Answerer{}
	}
	if card.Model.Revision == 0 || card.Own.Revision != 0 && card.Own.Version == 0 {
		return answerer(card.Own) // one level gave every answer
	}
	// The model's card gave the answers the version's own revision does
	// not: each answer is credited to the revision that gave it.
	a := answerer(card.Model)
	if card.Own.Revision != 0 && card.OwnApplicability != nil {
		a.For = map[string]evidence.Answerer{}
		for _, condition := range answeredConditions(card.OwnApplicability) {
			a.For[condition] = answerer(card.Own)
		}
	}
	return a
}

// answeredConditions are the applicability answers an applicability block
// gives, by their JSON names.
func answeredConditions(a *modelcard.Applicability) []string {
	b, err := json.Marshal(a)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func versionOf(v modelkeep.Version, files []modelkeep.File, info *modelcard.VersionInfo, card Card) evidence.Version {
	out := evidence.Version{
		ID: fmt.Sprintf("%s/versions/%d", v.Model, v.Number), Model: v.Model, Number: v.Number, Status: string(v.Status),
		Stage: string(v.Stage), EverProduction: v.EverProduction, ManifestDigest: v.ManifestDigest, CreatedBy: v.CreatedBy,
		CreatedAt: audit.FormatTime(v.CreatedAt), TrainingRunID: v.Source.RunID, Params: v.Params, Tags: v.Tags,
		Artifact: evidence.Artifact{URI: fmt.Sprintf("/api/v1/models/%s/versions/%d/files", v.Model, v.Number),
			SHA256: bareDigest(v.ManifestDigest), Files: []evidence.File{}},
		Card: evidence.CardRevisions{Revision: card.Revision, ModelRevision: card.ModelRevision, UpdatedBy: card.UpdatedBy},
	}
	if !card.UpdatedAt.IsZero() {
		out.Card.UpdatedAt = audit.FormatTime(card.UpdatedAt)
	}
	if v.FinalizedAt != nil {
		out.FinalizedAt = audit.FormatTime(*v.FinalizedAt)
	}
	if v.Parent != nil {
		out.Parent = &evidence.Parent{Model: v.Parent.Model, Version: v.Parent.Version}
	}
	for _, f := range files {
		out.Artifact.Files = append(out.Artifact.Files, evidence.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
		out.Artifact.SizeBytes += f.Size
	}
	if info != nil {
		out.VersionInfo = *info
	}
	return out
}

// productionApproval is when the version was last approved into production.
func productionApproval(ts []modelkeep.Transition) *time.Time {
	var at *time.Time
	for _, t := range ts {
		if t.To == modelkeep.StageProduction && t.Status == modelkeep.TransitionApproved && t.DecidedAt != nil {
			if at == nil || t.DecidedAt.After(*at) {
				d := *t.DecidedAt
				at = &d
			}
		}
	}
	return at
}

// allTransitions reads every transition of a version, oldest first.
func allTransitions(ctx context.Context, st Records, v modelkeep.Version) ([]modelkeep.Transition, error) {
	f := modelkeep.TransitionFilter{Model: v.Model, Version: v.Number, Limit: listPage}
	return oldestFirst(func(last *modelkeep.Transition) ([]modelkeep.Transition, error) {
		if last != nil {
			f.BeforeRequestedAt, f.BeforeID = last.RequestedAt, last.ID
		}
		return st.ListTransitions(ctx, f)
	})
}

// listPage is the page size of the listings a pack reads whole.
const listPage = 500

// oldestFirst reads a whole listing that pages newest first (each page
// asked for with the last item of the one before, nil for the first) and
// returns it oldest first. A page shorter than listPage is the last.
func oldestFirst[T any](page func(last *T) ([]T, error)) ([]T, error) {
	var all []T
	var last *T
	for {
		items, err := page(last)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) < listPage {
			break
		}
		last = &items[len(items)-1]
	}
	slices.Reverse(all)
	return all, nil
}

func toPackTransitions(ts []modelkeep.Transition) []evidence.Transition {
	out := make([]evidence.Transition, 0, len(ts))
	for _, t := range ts {
		pt := evidence.Transition{ID: t.ID, From: string(t.From), To: string(t.To), Status: string(t.Status),
			RequestedBy: t.RequestedBy, RequestedAt: audit.FormatTime(t.RequestedAt), Comment: t.Comment,
			DecidedBy: t.DecidedBy, Justification: t.DecisionComment, ManifestDigest: t.ManifestDigest,
			RequiredApprovals: t.RequiredApprovals, Approvals: []evidence.Approval{}}
		if t.Status != modelkeep.TransitionPending {
			pt.Decision = string(t.Status)
		}
		if t.DecidedAt != nil {
			pt.DecidedAt = audit.FormatTime(*t.DecidedAt)
		}
		for _, a := range t.Approvals {
			pa := evidence.Approval{Approver: a.Approver, At: audit.FormatTime(a.At), Comment: a.Comment, Gates: []evidence.Gate{}}
			for _, g := range a.Gates {
				pa.Gates = append(pa.Gates, evidence.Gate{Gate: g.Gate, Passed: g.Passed, Detail: g.Detail})
			}
			pt.Approvals = append(pt.Approvals, pa)
		}
		out = append(out, pt)
	}
	return out
}

// packDatasets are the version's datasets, each with what the card tells
// of it (the entry of its name and version, else of its name alone).
func (s *Service) packDatasets(ctx context.Context, st Records, v modelkeep.Version, told []modelcard.DatasetGovernance) ([]evidence.Dataset, error) {
	out := make([]evidence.Dataset, 0, len(v.Datasets))
	for _, d := range v.Datasets {
		version := d.Version
		if version == "" {
			version = registeredVersion(d)
		}
		pd := evidence.Dataset{Role: cmp.Or(d.Role, modelkeep.RelationInput), URI: d.URI, SHA256: strings.ToLower(d.SHA256)}
		rec, err := st.GetDataset(ctx, d.Name, version)
		if err == nil {
			pd.URI, pd.SHA256, pd.Size, pd.License = cmp.Or(pd.URI, rec.URI), cmp.Or(pd.SHA256, rec.SHA256), rec.Size, rec.License
		} else if !errors.Is(err, modelkeep.ErrNotFound) {
			return nil, err
		}
		gov := modelcard.DatasetGovernance{Name: d.Name, Version: version}
		for _, t := range told {
			if t.Name == d.Name && (t.Version == version || t.Version == "" && gov.Provenance == "") {
				gov = t
				gov.Version = version
			}
		}
		pd.DatasetGovernance = gov
		out = append(out, pd)
	}
	return out, nil
}

// registeredVersion is the version the registry records for a dataset named
// without one (see modelkeep's datasetVersionOf).
func registeredVersion(d modelkeep.DatasetRef) string {
	if d.SHA256 != "" {
		return "sha256-" + strings.ToLower(d.SHA256)[:12]
	}
	return "unversioned"
}

// versionRuns are the runs of a version: its training run (source.run_id)
// and the runs that tested it or watched its deployments, oldest first.
func versionRuns(ctx context.Context, st Records, v modelkeep.Version) ([]modelkeep.Run, error) {
	var out []modelkeep.Run
	if id := v.Source.RunID; id != "" {
		r, err := st.GetRun(ctx, id)
		if err != nil && !errors.Is(err, modelkeep.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			out = append(out, r)
		}
	}
	f := modelkeep.RunFilter{Subject: &modelkeep.VersionRef{Model: v.Model, Version: v.Number}, Limit: listPage}
	tested, err := oldestFirst(func(last *modelkeep.Run) ([]modelkeep.Run, error) {
		if last != nil {
			f.BeforeCreatedAt, f.BeforeID = last.CreatedAt, last.ID
		}
		return st.ListRuns(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	return append(out, tested...), nil
}

func packRuns(ctx context.Context, runs []modelkeep.Run, docs *docCollector) ([]evidence.Run, error) {
	out := make([]evidence.Run, 0, len(runs))
	for _, r := range runs {
		pr := evidence.Run{
			ID: r.ID, Kind: r.Kind, TriggeredBy: r.TriggeredBy, CodeRef: evidence.CodeRef{Repo: r.CodeURI, Commit: r.GitCommit},
			Environment: evidence.Environment{Framework: r.Environment.Framework, FrameworkVersion: r.Environment.FrameworkVersion,
				Libraries: r.Environment.Libraries, Hardware: r.Environment.Hardware, ImageDigest: r.Environment.ImageDigest},
			Hyperparameters: r.Parameters, Compute: evidence.Compute{Hardware: r.Environment.Hardware, DeviceHours: r.Compute.DeviceHours, FLOPs: r.Compute.FLOPs},
			EnergyKWh: r.Compute.EnergyKWh, EnergyMethod: r.Compute.EnergyMethod, DeploymentID: r.DeploymentID, OutputSHA256: r.OutputSHA256,
		}
		if len(pr.Hyperparameters) == 0 {
			pr.Hyperparameters = nil
		}
		if r.StartedAt != nil {
			pr.StartedAt = audit.FormatTime(*r.StartedAt)
		}
		if r.EndedAt != nil {
			pr.EndedAt = audit.FormatTime(*r.EndedAt)
		}
		if r.Subject != nil {
			pr.Subject = &evidence.Subject{ID: fmt.Sprintf("%s/versions/%d", r.Subject.Model, r.Subject.Version), Model: r.Subject.Model, Version: r.Subject.Version}
		}
		for _, in := range r.Inputs {
			pr.Inputs = append(pr.Inputs, evidence.RunInput{Name: in.Name, Version: in.Version, Role: in.Role})
		}
		var err error
		if pr.TestLog, err = docs.refByID(ctx, r.TestLog); err != nil {
			return nil, err
		}
		if pr.Report, err = docs.refByID(ctx, r.Report); err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

// series names a metric series: its latest point is its value.
type series struct{ key, dataset, datasetVersion, split, environment string }

// latestPoints keeps the latest point of every series: points come ordered
// by key, step, time and recording, so the last one of a series wins (as
// in filters and gates).
func latestPoints(points []modelkeep.Metric) []modelkeep.Metric {
	idx := map[series]int{}
	var out []modelkeep.Metric
	for _, m := range points {
		k := series{m.Key, m.Dataset, m.DatasetVersion, m.Split, m.Environment}
		if i, ok := idx[k]; ok {
			out[i] = m
			continue
		}
		idx[k] = len(out)
		out = append(out, m)
	}
	return out
}

func toPackMetrics(ms []modelkeep.Metric) []evidence.Metric {
	out := make([]evidence.Metric, 0, len(ms))
	for _, m := range ms {
		out = append(out, evidence.Metric{Key: m.Key, Value: m.Value, Step: m.Step, Dataset: m.Dataset, DatasetVersion: m.DatasetVersion,
			Split: m.Split, Environment: m.Environment, RunID: m.RunID, RecordedAt: audit.FormatTime(m.Timestamp), RecordedBy: m.RecordedBy})
	}
	return out
}

// declaredMetrics resolves each declared metric to the latest recorded
// point that matches it, and finds when its threshold was first declared
// (A9-6: before the run that measured it started).
func declaredMetrics(ctx context.Context, st Records, ref CardRef, declared []modelcard.DeclaredMetric, latest []modelkeep.Metric, runs []modelkeep.Run) ([]evidence.DeclaredMetric, error) {
	out := make([]evidence.DeclaredMetric, 0, len(declared))
	var history []CardRevision // loaded on the first threshold
	for _, d := range declared {
		pd := evidence.DeclaredMetric{DeclaredMetric: d}
		for _, m := range latest {
			if m.Key == d.Key && (d.Dataset == "" || m.Dataset == d.Dataset) && (d.DatasetVersion == "" || m.DatasetVersion == d.DatasetVersion) &&
				(d.Split == "" || m.Split == d.Split) && (d.RunID == "" || m.RunID == d.RunID) {
				v := m.Value
				pd.Value, pd.RecordedAt = &v, audit.FormatTime(m.Timestamp)
			}
		}
		if d.Threshold != nil {
			if history == nil {
				var err error
				if history, err = cardHistory(ctx, st, ref); err != nil {
					return nil, err
				}
			}
			if at, ok := thresholdDeclaredAt(history, d); ok {
				pd.ThresholdDeclaredAt = audit.FormatTime(at)
				before := false
				for _, r := range runs {
					if r.ID == d.RunID && r.StartedAt != nil {
						before = at.Before(*r.StartedAt)
					}
				}
				pd.ThresholdBeforeRun = &before
			}
		}
		out = append(out, pd)
	}
	return out, nil
}

// cardHistory reads every revision of a version's card and of its model's,
// oldest first.
func cardHistory(ctx context.Context, st Records, ref CardRef) ([]CardRevision, error) {
	var out []CardRevision
	for _, level := range []int{0, ref.Version} {
		revs, err := st.ListCardRevisions(ctx, ref.Model, level)
		if err != nil {
			return nil, err
		}
		for _, r := range revs {
			full, err := st.GetCardRevision(ctx, ref.Model, level, r.Revision)
			if err != nil {
				return nil, err
			}
			out = append(out, full)
		}
	}
	slices.SortStableFunc(out, func(a, b CardRevision) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// thresholdDeclaredAt is when a declared metric's threshold first
// appeared in a card revision (of the version's card or its model's).
func thresholdDeclaredAt(history []CardRevision, d modelcard.DeclaredMetric) (time.Time, bool) {
	for _, r := range history {
		if slices.ContainsFunc(r.Card.DeclaredMetrics, func(x modelcard.DeclaredMetric) bool {
			return x.Key == d.Key && x.Dataset == d.Dataset && x.Threshold != nil && *x.Threshold == *d.Threshold && sameSlice(x.Slice, d.Slice)
		}) {
			return r.CreatedAt, true
		}
	}
	return time.Time{}, false
}

func sameSlice(a, b *modelcard.Slice) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// allDeployments reads every deployment of a version, oldest first.
func allDeployments(ctx context.Context, st Records, v modelkeep.Version) ([]modelkeep.Deployment, error) {
	f := modelkeep.DeploymentFilter{Model: v.Model, Version: v.Number, Limit: listPage}
	return oldestFirst(func(last *modelkeep.Deployment) ([]modelkeep.Deployment, error) {
		if last != nil {
			f.BeforeDeployedAt, f.BeforeID = last.DeployedAt, last.ID
		}
		return st.ListDeployments(ctx, f)
	})
}

// toPackDeployments gives each deployment the digest it ran and the
// approval it rests on: the last transition that moved the version into a
// stage before it was deployed.
func toPackDeployments(ds []modelkeep.Deployment, ts []modelkeep.Transition, v modelkeep.Version) []evidence.Deployment {
	out := make([]evidence.Deployment, 0, len(ds))
	for _, d := range ds {
		pd := evidence.Deployment{ID: d.ID, Environment: d.Environment, Strategy: d.Strategy, TrafficPercent: d.TrafficPercent,
			ArtifactSHA256: bareDigest(v.ManifestDigest), DeployedBy: d.DeployedBy, DeployedAt: audit.FormatTime(d.DeployedAt)}
		if d.EndedAt != nil {
			pd.RetiredAt = audit.FormatTime(*d.EndedAt)
		}
		for _, t := range ts {
			if t.Status == modelkeep.TransitionApproved && t.DecidedAt != nil && !t.DecidedAt.After(d.DeployedAt) {
				pd.Stage, pd.ApprovalID, pd.ArtifactSHA256 = string(t.To), t.ID, bareDigest(t.ManifestDigest)
			}
		}
		out = append(out, pd)
	}
	return out
}

// bareDigest is a manifest digest as the pack's sha256 members write it:
// bare hex, without the "sha256:" of the API (its manifest_digest members
// keep the API's form).
func bareDigest(d string) string { return strings.TrimPrefix(d, "sha256:") }

func configOf(p modelkeep.Policy) evidence.Config {
	tp := evidence.TransitionPolicy{RequiredApprovals: p.RequiredApprovals, RequireEvidence: p.RequireEvidence}
	for k, v := range p.RequiredTags {
		tp.RequiredTags = append(tp.RequiredTags, strings.TrimSuffix(k+"="+v, "="))
	}
	slices.Sort(tp.RequiredTags)
	for _, g := range p.MetricGates {
		tp.MetricGates = append(tp.MetricGates, g.String())
	}
	return evidence.Config{TransitionPolicy: tp, FourEyes: true, Roles: slices.Clone(modelkeep.Roles)}
}

func (s *Service) retentionOf(sys *modelcard.System) evidence.Retention {
	days := int(math.Ceil(s.opts.AuditRetention.Hours() / 24))
	r := evidence.Retention{LogsMinDays: days, AuditMinDays: days, TechdocMinYears: TechdocRetention,
		WORM: evidence.WORM{Backend: "directory", Mode: modelkeep.LockNone}}
	if _, ok := s.blobs.(modelkeep.Retainer); ok {
		r.WORM.Backend = "s3" // "s3 object lock" once the archive plan finds the bucket locked
	}
	if sys != nil && sys.PlacedOnMarketAt != "" {
		if placed, err := time.Parse(time.RFC3339, sys.PlacedOnMarketAt); err == nil {
			r.TechdocRetainUntil = placed.UTC().AddDate(TechdocRetention, 0, 0).Format(time.RFC3339)
		}
	}
	return r
}

func toPackExemptions(es []Exemption) []evidence.NotApplicable {
	out := make([]evidence.NotApplicable, 0, len(es))
	for _, e := range es {
		source := "version"
		if e.Version == 0 {
			source = "model"
		}
		out = append(out, evidence.NotApplicable{RowID: e.RowID, Justification: e.Justification, EnteredBy: e.EnteredBy,
			EnteredAt: audit.FormatTime(e.EnteredAt), AuditEventID: e.AuditSeq, Source: source})
	}
	return out
}

// docCollector gathers the documents a pack references, once each.
type docCollector struct {
	st   Records
	docs map[string]Document // by SHA-256
	ids  map[string]string   // id -> SHA-256
}

func newDocCollector(st Records) *docCollector {
	return &docCollector{st: st, docs: map[string]Document{}, ids: map[string]string{}}
}

func (c *docCollector) add(ctx context.Context, sha string) error {
	if _, ok := c.docs[sha]; ok {
		return nil
	}
	d, err := c.st.GetDocumentBySHA256(ctx, sha)
	if errors.Is(err, modelkeep.ErrNotFound) {
		return nil // the card's reference was checked when stored; a pack says what there is
	}
	if err != nil {
		return err
	}
	return c.keep(ctx, d)
}

func (c *docCollector) keep(ctx context.Context, d Document) error {
	so, err := c.st.Signoffs(ctx, d.ID)
	if err != nil {
		return err
	}
	d.Signoffs = so[d.ID]
	c.docs[d.SHA256], c.ids[d.ID] = d, d.SHA256
	return nil
}

// refByID is a run's reference to a document by id, with its sign-offs.
func (c *docCollector) refByID(ctx context.Context, id string) (*evidence.DocumentRef, error) {
	if id == "" {
		return nil, nil
	}
	if _, ok := c.ids[id]; !ok {
		d, err := c.st.GetDocument(ctx, id)
		if errors.Is(err, modelkeep.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if err := c.keep(ctx, d); err != nil {
			return nil, err
		}
	}
	d := c.docs[c.ids[id]]
	ref := &evidence.DocumentRef{ID: d.ID, URI: "/api/v1/documents/" + d.ID, SHA256: d.SHA256, Title: d.Title, Version: d.Version}
	for _, so := range d.Signoffs {
		ref.Signoffs = append(ref.Signoffs, toSignoffRecord(so))
	}
	return ref, nil
}

func toSignoffRecord(so Signoff) evidence.SignoffRecord {
	return evidence.SignoffRecord{Signer: so.Signer, SignedAt: audit.FormatTime(so.SignedAt), Meaning: so.Meaning, KeyID: so.KeyID,
		Signature: base64.StdEncoding.EncodeToString(so.Signature)}
}

func (c *docCollector) list(ctx context.Context) ([]evidence.Document, error) {
	out := make([]evidence.Document, 0, len(c.docs))
	for _, d := range c.docs {
		pd := evidence.Document{ID: d.ID, URI: "/api/v1/documents/" + d.ID, SHA256: d.SHA256, Kind: d.Kind, Title: d.Title,
			Version: d.Version, MediaType: d.MediaType, Size: d.Size, CreatedBy: d.CreatedBy, CreatedAt: audit.FormatTime(d.CreatedAt),
			Signoffs: []evidence.SignoffRecord{}}
		for _, so := range d.Signoffs {
			pd.Signoffs = append(pd.Signoffs, toSignoffRecord(so))
		}
		out = append(out, pd)
	}
	slices.SortFunc(out, func(a, b evidence.Document) int { return strings.Compare(a.CreatedAt+a.ID, b.CreatedAt+b.ID) })
	return out, nil
}

// subjectEvents are the seqs of the version's audit events: those on the
// version and below it (files, metrics, card, justifications, evidence),
// on its transitions, its runs and the documents its pack references.
func subjectEvents(ctx context.Context, st Records, v modelkeep.Version, ts []modelkeep.Transition, runs []modelkeep.Run, docs []evidence.Document) ([]audit.Event, error) {
	base := modelkeep.VersionResource(v.Model, v.Number)
	model := modelkeep.ModelResource(v.Model)
	// The version's own events, and those of its model that the pack
	// rests on: the model's creation and policy, its card and its
	// not-applicable justifications (the pack names their events).
	resources := []string{base, base + "/*", model, model + "/card", model + "/evidence/*"}
	for _, t := range ts {
		resources = append(resources, "transitions/"+t.ID)
	}
	for _, r := range runs {
		resources = append(resources, "runs/"+r.ID)
	}
	for _, d := range docs {
		resources = append(resources, documentResource(d.ID))
	}
	seen := map[int64]bool{}
	var out []audit.Event
	for _, r := range resources {
		evs, err := st.QueryAudit(ctx, modelkeep.AuditQuery{Resource: r, Ascending: true})
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if !seen[e.Seq] {
				seen[e.Seq] = true
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b audit.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// checkEventHashes is the coverage's view of the audit trail, without
// segments: the version's events are retained and each matches its hash.
func checkEventHashes(subject []audit.Event, p *evidence.Pack) error {
	p.Audit.SubjectEvents = len(subject)
	p.Audit.Verification = evidence.Verification{OK: len(subject) > 0, Events: int64(len(subject))}
	if len(subject) == 0 {
		p.Audit.Verification.Reason = "no audit event of the version is retained"
		return nil
	}
	for _, e := range subject {
		if e.ComputeHash() != e.Hash {
			p.Audit.Verification = evidence.Verification{OK: false, Events: int64(len(subject)), FirstBrokenSeq: e.Seq,
				Reason: fmt.Sprintf("event %d does not match its hash", e.Seq)}
			return nil
		}
	}
	// The segments are there (their events are not carried): the rules
	// read only that they exist.
	p.Audit.Segments = []evidence.Segment{{FirstSeq: subject[0].Seq, LastSeq: subject[len(subject)-1].Seq}}
	return nil
}

// auditSegments cuts the chain into the segments that prove the version's
// events: each runs from a version event to the first signed checkpoint at
// or after it (events of other resources in between are carried too: the
// links need them). The newest version event is covered by a checkpoint
// signed now when none covers it yet.
func (s *Service) auditSegments(ctx context.Context, st Records, subject []audit.Event, p *evidence.Pack) error {
	headSeq, headHash, err := st.AuditHead(ctx)
	if err != nil {
		return err
	}
	p.Audit.Head = evidence.Head{Seq: headSeq, Hash: headHash}
	p.Audit.SubjectEvents = len(subject)
	if len(subject) == 0 {
		p.Audit.Verification = evidence.Verification{Reason: "no audit event of the version is retained"}
		return nil
	}
	last := subject[len(subject)-1].Seq
	newest, err := st.LastAuditCheckpoint(ctx, math.MaxInt64, "")
	if err != nil && !errors.Is(err, modelkeep.ErrNotFound) {
		return err
	}
	if errors.Is(err, modelkeep.ErrNotFound) || newest.Seq < last {
		if _, _, err := s.log.CheckpointAudit(ctx); err != nil {
			return fmt.Errorf("sign a checkpoint of the version's newest event: %w", err)
		}
	}
	isSubject := map[int64]bool{}
	for _, e := range subject {
		isSubject[e.Seq] = true
	}
	// Group the version's events by the first checkpoint at or after each:
	// one look-up per group, however long the chain has grown since.
	type group struct {
		from int64
		cp   audit.Checkpoint
	}
	var groups []group
	for _, e := range subject {
		if n := len(groups); n > 0 && groups[n-1].cp.Seq >= e.Seq {
			continue
		}
		cps, err := st.AuditCheckpointsBetween(ctx, e.Seq, math.MaxInt64, 1)
		if err != nil {
			return err
		}
		if len(cps) == 0 {
			return fmt.Errorf("no signed checkpoint covers audit event %d: %w", e.Seq, modelkeep.ErrConflict)
		}
		groups = append(groups, group{from: e.Seq, cp: cps[0]})
	}
	for _, g := range groups {
		seg := evidence.Segment{FirstSeq: g.from, LastSeq: g.cp.Seq, Checkpoint: evidence.Checkpoint{
			Seq: g.cp.Seq, Hash: g.cp.Hash, Time: audit.FormatTime(g.cp.Time), Kind: g.cp.Kind, KeyID: g.cp.KeyID,
			Signature: base64.StdEncoding.EncodeToString(g.cp.Signature)}}
		err := st.ScanAudit(ctx, g.from, g.cp.Seq, func(e audit.Event) error {
			seg.Events = append(seg.Events, evidence.AuditEvent{Seq: e.Seq, Time: audit.FormatTime(e.Time), Actor: e.Actor,
				Action: e.Action, Resource: e.Resource, Outcome: e.Outcome, RequestID: e.RequestID, RemoteAddr: e.RemoteAddr,
				Details: e.Details, PrevHash: e.PrevHash, Hash: e.Hash, Subject: isSubject[e.Seq]})
			return nil
		})
		if err != nil {
			return err
		}
		p.Audit.Segments = append(p.Audit.Segments, seg)
	}
	keys := audit.Keyring{}
	if s.signer != nil {
		keys = audit.NewKeyring(s.signer.PublicKey())
	}
	p.Audit.Verification = evidence.Verification{OK: true, Segments: len(p.Audit.Segments)}
	for _, seg := range p.Audit.Segments {
		p.Audit.Verification.Events += int64(len(seg.Events))
	}
	if err := evidence.VerifySegments(p.Audit, keys); err != nil {
		p.Audit.Verification.OK, p.Audit.Verification.Reason = false, err.Error()
	}
	return nil
}
