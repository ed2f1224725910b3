package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/modelcard"
)

// The test fixtures: a pack that evidences every row of the catalogue, so
// that a test can take one piece of evidence away and watch exactly that
// row go missing, and a real stretch of the audit chain with signed
// checkpoints, a signed CycloneDX BOM and signed document sign-offs, so
// that Verify checks real signatures.

// newSigner is an Ed25519 signer from a fixed seed: the packs the tests
// make are the same bytes on every run.
func newSigner(t *testing.T, seed byte) *audit.Signer {
	t.Helper()
	s, err := audit.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keys are the registry's key (packs, checkpoints, BOMs) and a reviewer's
// key (document sign-offs).
type keys struct {
	registry, reviewer *audit.Signer
}

func newKeys(t *testing.T) keys {
	t.Helper()
	return keys{registry: newSigner(t, 1), reviewer: newSigner(t, 2)}
}

// trusted is the keyring a verifier is given.
func (k keys) trusted() audit.Keyring {
	return audit.NewKeyring(k.registry.PublicKey(), k.reviewer.PublicKey())
}

var fixtureEpoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// at is a time of the fixture, minutes after its epoch, as packs write
// times.
func at(minutes int) string {
	return audit.FormatTime(fixtureEpoch.Add(time.Duration(minutes) * time.Minute))
}

// docSHA is the SHA-256 of a made-up document.
func docSHA(name string) string {
	sum := sha256.Sum256([]byte("document " + name))
	return hex.EncodeToString(sum[:])
}

func doc(name string) *modelcard.DocRef { return &modelcard.DocRef{SHA256: docSHA(name), Title: name} }

func ptr[T any](v T) *T { return &v }

// signoff is a reviewer's real sign-off of a document.
func signoff(signer *audit.Signer, sha, who string, minutes int) SignoffRecord {
	when := fixtureEpoch.Add(time.Duration(minutes) * time.Minute)
	sig := signer.Sign(SignoffMessage(sha, who, when))
	return SignoffRecord{Signer: who, SignedAt: audit.FormatTime(when), Meaning: "reviewed", KeyID: signer.KeyID(),
		Signature: base64.StdEncoding.EncodeToString(sig)}
}

// testRun is a test run of kind with its test data, test log and a
// signed-off report; the report's document goes into docs.
func testRun(k keys, kind string, docs *[]Document) Run {
	report := DocumentRef{ID: "doc-report-" + kind, URI: "/api/v1/documents/doc-report-" + kind, SHA256: docSHA("report " + kind),
		Title: kind + " report", Version: "1", Signoffs: []SignoffRecord{signoff(k.reviewer, docSHA("report "+kind), "dana", 50)}}
	*docs = append(*docs, Document{ID: report.ID, URI: report.URI, SHA256: report.SHA256, Kind: "test_report",
		Title: report.Title, Version: "1", MediaType: "application/pdf", Size: 2048, CreatedBy: "erin", CreatedAt: at(40),
		Signoffs: slices.Clone(report.Signoffs)})
	return Run{
		ID: "run-" + kind, Kind: kind, StartedAt: at(20), EndedAt: at(30), TriggeredBy: "erin",
		CodeRef:     CodeRef{Repo: "https://git.example/credit", Commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904"},
		Environment: Environment{Framework: "torch", FrameworkVersion: "2.5"},
		Compute:     Compute{Hardware: "1x L4"},
		Inputs:      []RunInput{{Name: "loans-test", Version: "3", Role: "test"}},
		TestLog:     &DocumentRef{ID: "doc-log-" + kind, URI: "/api/v1/documents/doc-log-" + kind, SHA256: docSHA("log " + kind)},
		Report:      &report,
	}
}

// completePack is a high-risk pack that evidences every row of the
// catalogue, those of general-purpose models too (switch the risk class
// to see them): every applicability answer is true and its evidence is
// there. It is not sealed and its coverage is not evaluated.
func completePack(t *testing.T, k keys) *Pack {
	t.Helper()
	c := MustLoad()
	var docs []Document
	evaluation, robustness := testRun(k, "evaluation", &docs), testRun(k, "robustness", &docs)
	fairness, security := testRun(k, "fairness", &docs), testRun(k, "security", &docs)
	training := Run{
		ID: "run-training", Kind: "training", StartedAt: at(5), EndedAt: at(15), TriggeredBy: "erin",
		CodeRef: CodeRef{Repo: "https://git.example/credit", Commit: "9fceb02d0ae598e95dc970b74767f19372d61af8"},
		Environment: Environment{Framework: "torch", FrameworkVersion: "2.5",
			Libraries: map[string]string{"numpy": "2.1.0", "torch": "2.5.1"}},
		Hyperparameters: map[string]string{"learning_rate": "0.001", "epochs": "12"},
		Compute:         Compute{Hardware: "8x H100", DeviceHours: ptr(96.0), FLOPs: ptr(3.2e21)},
		EnergyKWh:       ptr(512.5),
		EnergyMethod:    "metered at the PDU",
		Inputs:          []RunInput{{Name: "loans", Version: "7", Role: "training"}},
		OutputSHA256:    docSHA("weights"),
	}
	monitoring := Run{ID: "run-monitoring", Kind: "monitoring", StartedAt: at(200), DeploymentID: "dep-1",
		CodeRef: CodeRef{}, Environment: Environment{}, Compute: Compute{}}
	governance := func(name, version string) modelcard.DatasetGovernance {
		return modelcard.DatasetGovernance{
			Name: name, Version: version, Provenance: "loan applications 2019-2024, bank-internal",
			CollectionProcess: "exported nightly from the loan system", SelectionCriteria: "closed applications",
			LabellingProcedure: "default within 24 months", CleaningMethods: "dedup, outlier removal",
			Preprocessing: "standard scaling", Assumptions: "stationary population", Suitability: "covers all branches",
			Representativeness: "stratified by region and age", KnownBiases: "young applicants under-represented",
			BiasMitigation: "reweighting", DataGaps: "no applicants under 18", SpecialCategoriesUsed: ptr(false),
			RecordCount: ptr(int64(120000)), Licence: "proprietary", Curation: "reviewed by the data office",
			UnsuitableSourceChecks: "no scraped sources",
		}
	}
	accuracy := DeclaredMetric{
		DeclaredMetric: modelcard.DeclaredMetric{Key: "auc", Dataset: "loans-test", DatasetVersion: "3", Split: "test",
			RunID: "run-evaluation", Category: modelcard.CategoryAccuracy, Slice: &modelcard.Slice{Attribute: "age", Value: "65+"},
			DeclaredInIFU: true, Rationale: "ranking quality independent of the cut-off", Threshold: ptr(0.8),
			MethodRef: "ISO/IEC TS 4213"},
		Value: ptr(0.91), RecordedAt: at(30), ThresholdDeclaredAt: at(1), ThresholdBeforeRun: ptr(true),
	}
	robust := DeclaredMetric{
		DeclaredMetric: modelcard.DeclaredMetric{Key: "auc_noisy", Dataset: "loans-test", DatasetVersion: "3",
			RunID: "run-robustness", Category: modelcard.CategoryRobustness, Rationale: "robust to input noise",
			MethodRef: "internal method RB-2"},
		Value: ptr(0.88), RecordedAt: at(30),
	}
	var qms []modelcard.QMSDocument
	for _, aspect := range modelcard.QMSAspects {
		qms = append(qms, modelcard.QMSDocument{Aspect: aspect, Doc: *doc("qms " + aspect)})
	}
	var threats []modelcard.Threat
	for _, class := range modelcard.ThreatClasses {
		threats = append(threats, modelcard.Threat{Class: class, Measure: "measure against " + class, TestRunID: "run-security"})
	}
	var measures []modelcard.OversightMeasure
	for i, capability := range modelcard.OversightCapabilities {
		kind := modelcard.OversightKinds[i%2]
		measures = append(measures, modelcard.OversightMeasure{ID: "m-" + capability, Kind: kind, Capability: capability,
			Description: "the operator can " + capability, MitigatesRiskIDs: []string{"r-1"}})
	}
	docs = append(docs, Document{ID: "doc-ifu", URI: "/api/v1/documents/doc-ifu", SHA256: docSHA("ifu"), Kind: "instructions_for_use",
		Title: "Instructions for use", Version: "2", MediaType: "application/pdf", Size: 4096, CreatedBy: "frank", CreatedAt: at(2),
		Signoffs: []SignoffRecord{signoff(k.reviewer, docSHA("ifu"), "grace", 3), signoff(k.registry, docSHA("ifu"), "heidi", 4)}})
	manifest := docSHA("manifest")

	p := &Pack{
		Export: Export{
			SchemaID: SchemaID, ExportID: "exp-0001", GeneratedAt: at(300), GeneratedBy: "ivan",
			Generator:             Generator{Name: "modelkeep", Version: "test"},
			Subject:               Subject{ID: "credit-scorer/versions/3", Model: "credit-scorer", Version: 3},
			RequirementsCatalogue: c.Name, RequirementsCatalogueVersion: c.Version, RiskClass: modelcard.RiskHighRisk,
			CycloneDX:        CycloneDXRef{MediaType: modelcard.CycloneDXMediaType, BOM: json.RawMessage("null")},
			Archive:          Archive{URI: "/api/v1/evidence/packs/exp-0001", ObjectLockMode: "COMPLIANCE", RetainUntil: "2036-03-02T09:00:00.000000Z"},
			VerificationTool: "modelkeep evidence verify FILE --public-key KEY",
		},
		Provider: &modelcard.Provider{Name: "Example Bank AG", LegalAddress: "Main St 1, Frankfurt",
			Contact: &modelcard.Contact{Email: "ai@bank.example"}, EstablishedInEU: ptr(true)},
		System: &modelcard.System{
			Name: "Credit scoring", RiskClass: modelcard.RiskHighRisk, AnnexIIIPoint: "5(b)",
			IntendedPurpose:      "score consumer credit applications for a human underwriter",
			ForeseeableMisuse:    []string{"fully automated rejection"},
			InteractingSystems:   []modelcard.InteractingSystem{{Name: "loan system", Interface: "REST"}},
			SoftwareDependencies: []modelcard.SoftwareDependency{{Name: "onnxruntime", Version: "1.20"}},
			UpdateRequirements:   "quarterly", MarketForms: []string{"API"}, TargetHardware: "x86-64 CPU",
			ProductMarkingDoc: doc("marking"), UIDescription: "underwriter console", InstructionsForUse: doc("ifu"),
			ComputeRequirements: "2 vCPU", ExpectedLifetime: "5 years",
			Maintenance:          &modelcard.Maintenance{Measures: "monthly drift review"},
			LogAccessDescription: "deployers read logs through the console", PlacedOnMarketAt: "2026-04-01T00:00:00Z",
			Architecture: doc("system architecture"), EUDatabaseRegistrationID: "EUDB-123",
			DocumentationForm: "sme_simplified", SectoralLegislation: []string{"Directive 2008/48/EC"},
			ProductTechnicalFile: doc("technical file"), FinancialRetentionPolicy: "kept under the CRD file rules",
			OutputMarking: &modelcard.OutputMarking{Method: "C2PA manifest"},
		},
		Applicability: &modelcard.Applicability{
			SMESimplifiedForm: ptr(true), AnnexIProduct: ptr(true), ProductComponent: ptr(true), PredeterminedChanges: ptr(true),
			RemoteBiometricIdentification: ptr(true), NotifiedBody: ptr(true), FinancialInstitution: ptr(true),
			DeployerManagedByRegistry: ptr(true), GenerativeAI: ptr(true),
		},
		Model: Model{Name: "credit-scorer", Description: "consumer credit scoring", CreatedBy: "alice", CreatedAt: at(0)},
		Version: Version{
			ID: "credit-scorer/versions/3", Model: "credit-scorer", Number: 3, Status: "ready", Stage: "production",
			EverProduction: true, ManifestDigest: "sha256:" + manifest, CreatedBy: "alice", CreatedAt: at(16), FinalizedAt: at(17),
			Parent: &Parent{Model: "credit-scorer", Version: 2},
			Artifact: Artifact{URI: "/api/v1/models/credit-scorer/versions/3/files", SHA256: manifest, SizeBytes: 1 << 20,
				Files: []File{{Path: "model.onnx", Size: 1 << 20, SHA256: docSHA("weights")}}},
			TrainingRunID: "run-training",
			VersionInfo: modelcard.VersionInfo{
				Task: "binary classification", ChangeSummary: "retrained on 2024 data", SubstantialModification: ptr(false),
				PredeterminedChanges: []modelcard.PredeterminedChange{{Description: "monthly recalibration", Bounds: "AUC within 0.02"}},
				Architecture:         "gradient boosted trees", ParameterCount: ptr(int64(250000)), Approach: "supervised",
				DesignChoices: "monotone constraints on income", OptimisationObjective: "log loss",
				ExpectedOutput: "probability of default", Tradeoffs: "interpretability over raw accuracy",
				Inputs: []modelcard.IOSpec{{Name: "application", Format: "JSON", Spec: "schema v4", Modality: "tabular", MaxSize: "64 KiB"}},
				Outputs: []modelcard.IOSpec{{Name: "score", Format: "float", Interpretation: "probability of default within 24 months",
					Modality: "tabular"}},
				Explainability:         &modelcard.Explainability{Methods: []string{"SHAP"}},
				PerformanceLimitations: []string{"less accurate for thin credit files"},
				MetricRationale:        "AUC ranks applicants", Licence: "proprietary", ContextWindow: ptr(int64(1)),
				ContinualLearning: ptr(false),
			},
			Card: CardRevisions{Revision: 4, ModelRevision: 2, UpdatedBy: "alice", UpdatedAt: at(1)},
		},
		ModelCard: ModelCard{IntendedUse: &modelcard.IntendedUse{PrimaryUses: "credit underwriting"}},
		Datasets: []Dataset{
			{Role: "training", URI: "s3://data/loans/7", SHA256: docSHA("loans 7"), Size: 1 << 30, License: "proprietary",
				DatasetGovernance: governance("loans", "7")},
			{Role: "test", URI: "s3://data/loans-test/3", SHA256: docSHA("loans-test 3"), Size: 1 << 28, License: "proprietary",
				DatasetGovernance: governance("loans-test", "3")},
		},
		Runs: []Run{training, evaluation, robustness, fairness, security, monitoring},
		Metrics: []Metric{
			{Key: "auc", Value: 0.91, Step: 1, Dataset: "loans-test", DatasetVersion: "3", Split: "test", RunID: "run-evaluation",
				RecordedAt: at(30), RecordedBy: "erin"},
			{Key: "auc", Value: 0.9, Step: 7, Environment: "production", RunID: "run-monitoring", RecordedAt: at(210), RecordedBy: "monitor"},
		},
		DeclaredMetrics: []DeclaredMetric{accuracy, robust},
		RiskManagement: &modelcard.RiskManagement{RMSDoc: doc("rms"), Risks: []modelcard.Risk{{ID: "r-1",
			Hazard: "wrongful denial of credit", Affected: []string{"applicants"}, Mitigation: "human review of denials",
			ResidualRisk: "low"}}},
		HumanOversight: &modelcard.HumanOversight{Assessment: doc("oversight assessment"), Measures: measures,
			InterpretationTools: []string{"SHAP waterfall per decision"}},
		Cybersecurity: &modelcard.Cybersecurity{Measures: []string{"signed artefacts"}, Threats: threats},
		Logging: &modelcard.Logging{
			EventsRecorded: []modelcard.LoggedEvent{{Type: "score", Purpose: "operation"}, {Type: "drift", Purpose: "risk"},
				{Type: "feedback", Purpose: "pmm"}},
			Format: "JSON lines", DeployerAccess: "console export",
			RBIFields: &modelcard.RBIFields{UsePeriod: ptr(true), ReferenceDBID: "refdb-1", MatchInput: ptr(true), VerifierIDs: ptr(true)},
		},
		StandardsApplied:        []modelcard.Standard{{Ref: "ISO/IEC 42001:2023"}},
		OtherSolutions:          doc("other solutions"),
		DeclarationOfConformity: &modelcard.Declaration{Doc: doc("declaration"), Date: "2026-03-30", Signatory: "CEO"},
		NotifiedBody: &modelcard.NotifiedBody{Name: "TÜV Example", IDNumber: "0123", Certificate: doc("certificate"),
			ApprovedChanges: []modelcard.DocRef{*doc("approved change")}},
		QMS: &modelcard.QMS{Documents: qms, ProportionalityNote: "a bank of 300 people"},
		PostMarketMonitoring: &modelcard.PostMarketMonitoring{Plan: &modelcard.DocRef{SHA256: docSHA("pmm"), Version: "1"},
			Signals: []string{"AUC on production labels"}, Thresholds: []string{"AUC below 0.85"}, ReviewFrequency: "monthly",
			IntegratedWith: "the product's PMS"},
		Incidents: []modelcard.Incident{{ID: "inc-1", Description: "outage", DetectedAt: "2026-05-01T10:00:00Z",
			AwareAt: "2026-05-01T11:00:00Z", ReportedAt: "2026-05-03T09:00:00Z", Authority: "BaFin"}},
		GPAI: &modelcard.GPAI{Tasks: []string{"scoring"}, IntegrationTargets: []string{"loan systems"}, AcceptableUsePolicy: doc("aup"),
			Distribution: []string{"API"}, Interfaces: []string{"REST"}, IntegrationDocs: doc("integration"),
			CopyrightPolicy: doc("copyright"), TrainingContentSummary: doc("training summary"),
			OpenSourceExemption: &modelcard.OpenSourceExemption{Licence: "Apache-2.0", WeightsPublic: ptr(false)},
			EvalStrategy:        doc("eval strategy")},
		Documents: docs,
		StageTransitions: []Transition{{
			ID: "tr-1", From: "staging", To: "production", Status: "approved", Decision: "approved", RequestedBy: "bob",
			RequestedAt: at(100), DecidedBy: "carol", DecidedAt: at(110), ManifestDigest: "sha256:" + manifest, RequiredApprovals: 1,
			Approvals: []Approval{{Approver: "carol", At: at(110), Gates: []Gate{{Gate: "metric auc>=0.8", Passed: true, Detail: "0.91"}}}},
		}},
		Deployments: []Deployment{{ID: "dep-1", Environment: "eu-prod", Strategy: "canary", TrafficPercent: 10, Stage: "production",
			ArtifactSHA256: manifest, ApprovalID: "tr-1", DeployedBy: "mallory", DeployedAt: at(120)}},
		Config: Config{TransitionPolicy: TransitionPolicy{RequiredApprovals: 1, RequireEvidence: true}, FourEyes: true,
			Roles: []string{"admin", "approver"}},
		Retention: Retention{LogsMinDays: 184, AuditMinDays: 3650, TechdocMinYears: 10, TechdocRetainUntil: "2036-04-01",
			WORM: WORM{Backend: "s3", Mode: "COMPLIANCE"}},
		NotApplicable: []NotApplicable{},
	}
	p.Audit = auditTrail(t, k.registry, "models/credit-scorer/versions/3", p)
	return p
}

// auditTrail is a real stretch of the audit hash chain as compliance
// exports it: events 1 to 8, the version's own (subject) events 2, 4 and
// 7, and two segments each running from a subject event to the signed
// checkpoint that covers it: 2 to 4 and 7 to 8. Event 6 is in no segment,
// so the second segment starts from a prev_hash it can only trust through
// its checkpoint. A third segment holds the events that recorded the
// pack's stage transitions, runs and deployments (the cross-references).
func auditTrail(t *testing.T, signer *audit.Signer, subject string, p *Pack) Audit {
	t.Helper()
	type entry struct{ action, resource, deployment string }
	entries := make([]entry, 8)
	for i := range entries {
		entries[i] = entry{"version.update", "models/other/versions/1", ""}
		if seq := i + 1; seq == 2 || seq == 4 || seq == 7 {
			entries[i].resource = subject
		}
	}
	for _, tr := range p.StageTransitions {
		entries = append(entries, entry{"transition.approve", "transitions/" + tr.ID, ""})
	}
	for _, r := range p.Runs {
		entries = append(entries, entry{"run.register", "runs/" + r.ID, ""})
	}
	for _, d := range p.Deployments {
		entries = append(entries, entry{"deployment.record", subject, d.ID})
	}
	var chain []audit.Event
	prev := audit.GenesisHash
	for i, en := range entries {
		seq := int64(i + 1)
		fields := map[string]any{"seq": seq, "note": "ünïcode, <tags> & \"quotes\"", "ratio": 0.25}
		if en.deployment != "" {
			fields["deployment"] = en.deployment
		}
		details, err := audit.CanonicalDetails(fields)
		if err != nil {
			t.Fatal(err)
		}
		e, err := audit.Event{Seq: seq, Time: fixtureEpoch.Add(time.Duration(seq) * time.Minute), Actor: fmt.Sprint("user-", seq%3),
			Action: en.action, Resource: en.resource, Outcome: audit.OutcomeSuccess, RequestID: fmt.Sprint("req-", seq),
			RemoteAddr: "192.0.2.7", Details: details, PrevHash: prev}.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		chain = append(chain, e)
	}
	segment := func(first, last int64) Segment {
		cp := signer.Checkpoint(last, chain[last-1].Hash, chain[last-1].Time.Add(time.Second), audit.CheckpointInterval)
		s := Segment{FirstSeq: first, LastSeq: last, Checkpoint: Checkpoint{Seq: cp.Seq, Hash: cp.Hash, Time: audit.FormatTime(cp.Time),
			Kind: cp.Kind, KeyID: cp.KeyID, Signature: base64.StdEncoding.EncodeToString(cp.Signature)}}
		for _, e := range chain[first-1 : last] {
			s.Events = append(s.Events, AuditEvent{Seq: e.Seq, Time: audit.FormatTime(e.Time), Actor: e.Actor, Action: e.Action,
				Resource: e.Resource, Outcome: e.Outcome, RequestID: e.RequestID, RemoteAddr: e.RemoteAddr, Details: e.Details,
				PrevHash: e.PrevHash, Hash: e.Hash, Subject: e.Resource == subject})
		}
		return s
	}
	segments := []Segment{segment(2, 4), segment(7, 8)}
	events := 5
	if n := int64(len(chain)); n > 8 {
		segments = append(segments, segment(9, n))
		events += int(n - 8)
	}
	return Audit{
		HashAlg: "sha256", Canonicalization: "RFC 8785", Genesis: audit.GenesisHash,
		Specification: "docs/audit.md", KeyID: signer.KeyID(), PublicKey: signer.PublicKeyPEM(),
		Segments: segments, SubjectEvents: 3,
		Verification: Verification{OK: true, Events: int64(events), Segments: len(segments)},
		Head:         Head{Seq: int64(len(chain)), Hash: chain[len(chain)-1].Hash},
	}
}

// attachBOM gives the pack its version's CycloneDX BOM, signed by the
// registry, inline with its digest, as compliance does.
func attachBOM(t *testing.T, p *Pack, signer *audit.Signer) {
	t.Helper()
	card := modelcard.Card{Provider: p.Provider, Version: &p.Version.VersionInfo}
	facts := modelcard.Facts{Model: p.Model.Name, Version: p.Version.Number, Status: p.Version.Status, Stage: p.Version.Stage,
		ManifestDigest: p.Version.ManifestDigest, CreatedBy: p.Version.CreatedBy, CreatedAt: fixtureEpoch}
	bom, err := modelcard.CycloneDX(card, facts, modelcard.BOMOptions{GeneratedAt: fixtureEpoch, ToolVersion: "test",
		Sign: signer.Sign, PublicKey: signer.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	canon, err := audit.CanonicalJSON(bom)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	p.Export.CycloneDX = CycloneDXRef{MediaType: modelcard.CycloneDXMediaType, SHA256: hex.EncodeToString(sum[:]), BOM: canon}
}

// evaluate decides the pack's coverage, the applicability answers given
// by their author.
func evaluate(t *testing.T, p *Pack) {
	t.Helper()
	if err := Evaluate(p, MustLoad(), cardAuthor); err != nil {
		t.Fatal(err)
	}
}

var cardAuthor = Answerer{By: "alice", At: at(1), AuditEventID: 2}

// sealedPack is the complete pack, evaluated, with its BOM, sealed by the
// registry: the file Verify is given.
func sealedPack(t *testing.T, k keys) (*Pack, []byte) {
	t.Helper()
	p := completePack(t, k)
	attachBOM(t, p, k.registry)
	evaluate(t, p)
	file, err := Seal(p, k.registry)
	if err != nil {
		t.Fatal(err)
	}
	return p, file
}

// coverageOf is the status of every row of the pack's coverage.
func coverageOf(p *Pack) map[string]string {
	out := map[string]string{}
	for _, it := range p.Coverage {
		out[it.RowID] = it.Status
	}
	return out
}

// itemOf is the coverage item of a row.
func itemOf(t *testing.T, p *Pack, id string) CoverageItem {
	t.Helper()
	for _, it := range p.Coverage {
		if it.RowID == id {
			return it
		}
	}
	t.Fatalf("row %s is not in the coverage", id)
	return CoverageItem{}
}

// compactPack is a small art50 pack (one catalogue row) that still carries
// every signed part: the seal, two audit segments with their checkpoints,
// the signed BOM, document sign-offs by two keys, a production approval
// and a justification. Small enough to flip every byte of.
func compactPack(t *testing.T, k keys) *Pack {
	t.Helper()
	full := completePack(t, k)
	p := &Pack{
		Export:           full.Export,
		System:           &modelcard.System{Name: "Chat", RiskClass: modelcard.RiskArt50, OutputMarking: &modelcard.OutputMarking{Method: "C2PA"}},
		Applicability:    &modelcard.Applicability{GenerativeAI: ptr(true)},
		Model:            Model{Name: "credit-scorer", CreatedBy: "alice", CreatedAt: at(0)},
		Version:          full.Version,
		Datasets:         []Dataset{},
		Runs:             []Run{},
		Metrics:          []Metric{},
		DeclaredMetrics:  []DeclaredMetric{},
		Documents:        []Document{full.Documents[len(full.Documents)-1]}, // the IFU, signed off by both keys
		StageTransitions: full.StageTransitions,
		Deployments:      []Deployment{},
		Config:           full.Config,
		Audit:            full.Audit,
		Retention:        full.Retention,
		NotApplicable: []NotApplicable{{RowID: "A15-5:model_poisoning", Justification: "no model updates from outside",
			EnteredBy: "alice", EnteredAt: at(2), AuditEventID: 4, Source: "version"}},
	}
	p.Export.RiskClass = modelcard.RiskArt50
	p.Version.VersionInfo = modelcard.VersionInfo{ChangeSummary: "retrained"}
	p.Version.Parent = nil
	return p
}

// sealedCompactPack is compactPack evaluated, with its BOM, sealed.
func sealedCompactPack(t *testing.T, k keys) (*Pack, []byte) {
	t.Helper()
	p := compactPack(t, k)
	attachBOM(t, p, k.registry)
	evaluate(t, p)
	file, err := Seal(p, k.registry)
	if err != nil {
		t.Fatal(err)
	}
	return p, file
}
