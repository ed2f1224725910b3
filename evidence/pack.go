package evidence

import (
	"encoding/json"

	"github.com/modelkeep/modelkeep/modelcard"
)

// SchemaID is the pack's format, in export.schema_id and the $id of its
// JSON Schema.
const SchemaID = "https://modelkeep.dev/schemas/evidence-pack/v1"

// Pack is the EU AI Act evidence of one model version: GUIDE.md §3's
// skeleton in its names, adapted as §3.1 says (docs/evidence.md maps the
// rest). What a person wrote comes from the version's card in force; what
// the registry observed comes from its records; coverage says, row by row
// of the catalogue, whether the pack evidences the requirement.
//
// A pack file is the RFC 8785 canonical JSON of the pack; its integrity
// member holds the SHA-256 of the canonical JSON of the pack without it
// and an Ed25519 signature of that digest (see Seal, Verify).
type Pack struct {
	Export        Export                   `json:"export"`
	Provider      *modelcard.Provider      `json:"provider,omitempty"`
	System        *modelcard.System        `json:"system,omitempty"`
	Applicability *modelcard.Applicability `json:"applicability,omitempty"`
	Model         Model                    `json:"model"`
	Version       Version                  `json:"version"`
	ModelCard     ModelCard                `json:"model_card"`
	Datasets      []Dataset                `json:"datasets"`
	Runs          []Run                    `json:"runs"`
	// Metrics is the latest point of every metric series of the version.
	Metrics                 []Metric                        `json:"metrics"`
	DeclaredMetrics         []DeclaredMetric                `json:"declared_metrics"`
	RiskManagement          *modelcard.RiskManagement       `json:"risk_management,omitempty"`
	HumanOversight          *modelcard.HumanOversight       `json:"human_oversight,omitempty"`
	Cybersecurity           *modelcard.Cybersecurity        `json:"cybersecurity,omitempty"`
	Logging                 *modelcard.Logging              `json:"logging,omitempty"`
	StandardsApplied        []modelcard.Standard            `json:"standards_applied,omitempty"`
	OtherSolutions          *modelcard.DocRef               `json:"other_solutions,omitempty"`
	DeclarationOfConformity *modelcard.Declaration          `json:"declaration_of_conformity,omitempty"`
	NotifiedBody            *modelcard.NotifiedBody         `json:"notified_body,omitempty"`
	QMS                     *modelcard.QMS                  `json:"qms,omitempty"`
	PostMarketMonitoring    *modelcard.PostMarketMonitoring `json:"post_market_monitoring,omitempty"`
	Incidents               []modelcard.Incident            `json:"incidents,omitempty"`
	GPAI                    *modelcard.GPAI                 `json:"gpai,omitempty"`
	// Documents are the registered documents the pack references, with
	// their sign-offs.
	Documents        []Document      `json:"documents"`
	StageTransitions []Transition    `json:"stage_transitions"`
	Deployments      []Deployment    `json:"deployments"`
	Config           Config          `json:"config"`
	Audit            Audit           `json:"audit"`
	Retention        Retention       `json:"retention"`
	NotApplicable    []NotApplicable `json:"not_applicable"`
	Coverage         []CoverageItem  `json:"coverage"`
	Summary          CoverageSummary `json:"summary"`
	Integrity        *Integrity      `json:"integrity,omitempty"`
}

// Export describes the pack itself.
type Export struct {
	SchemaID                     string       `json:"schema_id"`
	ExportID                     string       `json:"export_id"`
	GeneratedAt                  string       `json:"generated_at"`
	GeneratedBy                  string       `json:"generated_by"`
	Generator                    Generator    `json:"generator"`
	Subject                      Subject      `json:"subject"`
	RequirementsCatalogue        string       `json:"requirements_catalogue"`
	RequirementsCatalogueVersion string       `json:"requirements_catalogue_version"`
	RiskClass                    string       `json:"risk_class"`
	CycloneDX                    CycloneDXRef `json:"cyclonedx"`
	Archive                      Archive      `json:"archive"`
	// VerificationTool names how to check the pack offline (A18-2).
	VerificationTool string `json:"verification_tool"`
}

// Generator is the software that made the pack.
type Generator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Subject is the version the pack is about: id "<model>/versions/<n>".
type Subject struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Version int    `json:"version"`
}

// CycloneDXRef carries the version's CycloneDX 1.6 ML-BOM inline, with
// the SHA-256 of its RFC 8785 canonical JSON.
type CycloneDXRef struct {
	MediaType string          `json:"media_type"`
	SHA256    string          `json:"sha256"`
	BOM       json.RawMessage `json:"bom"`
}

// Archive says where the registry keeps this pack and under which
// retention: the Object Lock mode it really got (none on a plain
// directory) and until when.
type Archive struct {
	URI            string `json:"uri"`
	ObjectLockMode string `json:"object_lock_mode"`
	RetainUntil    string `json:"retain_until,omitempty"`
}

// Model is the model the version belongs to.
type Model struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	CreatedBy   string            `json:"created_by"`
	CreatedAt   string            `json:"created_at"`
}

// Version is the version as recorded (number, status, digest, lineage,
// artifact) and as described in its card (GUIDE §3 "version").
type Version struct {
	ID             string            `json:"id"`
	Model          string            `json:"model"`
	Number         int               `json:"version"`
	Status         string            `json:"status"`
	Stage          string            `json:"stage"`
	EverProduction bool              `json:"ever_production"`
	ManifestDigest string            `json:"manifest_digest,omitempty"`
	CreatedBy      string            `json:"created_by"`
	CreatedAt      string            `json:"created_at"`
	FinalizedAt    string            `json:"finalized_at,omitempty"`
	Parent         *Parent           `json:"parent,omitempty"`
	Artifact       Artifact          `json:"artifact"`
	TrainingRunID  string            `json:"training_run_id,omitempty"`
	Params         map[string]string `json:"params,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	// The card's "version" section.
	modelcard.VersionInfo
	// Card is the card in force: its revisions, who wrote the last one and
	// when, and the revisions in force when the version was approved for
	// production.
	Card CardRevisions `json:"card"`
}

// Parent is the version a version came from.
type Parent struct {
	Model   string `json:"model"`
	Version int    `json:"version"`
}

// Artifact is the version's files: the manifest digest (bare hex, as
// CycloneDX writes it) over them.
type Artifact struct {
	URI       string `json:"uri"`
	SHA256    string `json:"sha256,omitempty"`
	SizeBytes int64  `json:"size_bytes"`
	Files     []File `json:"files"`
}

// File is one file of the version.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// CardRevisions names the card revisions a pack rests on.
type CardRevisions struct {
	Revision      int    `json:"revision"`
	ModelRevision int    `json:"model_revision"`
	UpdatedBy     string `json:"updated_by,omitempty"`
	UpdatedAt     string `json:"updated_at,omitempty"`
	// AtProductionApproval are the revisions in force when the version was
	// last approved into production (nil when it never was).
	AtProductionApproval *RevisionsAt `json:"at_production_approval,omitempty"`
}

// RevisionsAt are card revisions in force at a time.
type RevisionsAt struct {
	At            string `json:"at"`
	Revision      int    `json:"revision"`
	ModelRevision int    `json:"model_revision"`
}

// ModelCard is Mitchell et al.'s narrative sections of the card.
type ModelCard struct {
	ModelDetails              *modelcard.ModelDetails         `json:"model_details,omitempty"`
	IntendedUse               *modelcard.IntendedUse          `json:"intended_use,omitempty"`
	Factors                   *modelcard.Factors              `json:"factors,omitempty"`
	Metrics                   *modelcard.MetricsNarrative     `json:"metrics,omitempty"`
	EvaluationData            *modelcard.DataNarrative        `json:"evaluation_data,omitempty"`
	TrainingData              *modelcard.DataNarrative        `json:"training_data,omitempty"`
	QuantitativeAnalyses      *modelcard.QuantitativeAnalyses `json:"quantitative_analyses,omitempty"`
	EthicalConsiderations     string                          `json:"ethical_considerations,omitempty"`
	CaveatsAndRecommendations string                          `json:"caveats_and_recommendations,omitempty"`
}

// Dataset is a dataset version the version used, as recorded (name,
// version, role, digest) and as described in the card (its governance).
type Dataset struct {
	Role    string `json:"role"`
	URI     string `json:"uri,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Size    int64  `json:"size,omitempty"`
	License string `json:"license,omitempty"`
	modelcard.DatasetGovernance
}

// Run is a run that produced or tested the version (GUIDE §3 "runs").
type Run struct {
	ID              string            `json:"id"`
	Kind            string            `json:"kind"`
	StartedAt       string            `json:"started_at,omitempty"`
	EndedAt         string            `json:"ended_at,omitempty"`
	TriggeredBy     string            `json:"triggered_by,omitempty"`
	CodeRef         CodeRef           `json:"code_ref"`
	Environment     Environment       `json:"environment"`
	Hyperparameters map[string]string `json:"hyperparameters,omitempty"`
	Compute         Compute           `json:"compute"`
	EnergyKWh       *float64          `json:"energy_kwh,omitempty"`
	EnergyMethod    string            `json:"energy_method,omitempty"`
	Inputs          []RunInput        `json:"inputs,omitempty"`
	Subject         *Subject          `json:"subject,omitempty"`
	DeploymentID    string            `json:"deployment_id,omitempty"`
	OutputSHA256    string            `json:"output_artifact_sha256,omitempty"`
	TestLog         *DocumentRef      `json:"test_log,omitempty"`
	Report          *DocumentRef      `json:"report,omitempty"`
}

// CodeRef is the code a run ran.
type CodeRef struct {
	Repo   string `json:"repo,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// Environment is what a run ran on.
type Environment struct {
	Framework        string            `json:"framework,omitempty"`
	FrameworkVersion string            `json:"framework_version,omitempty"`
	Libraries        map[string]string `json:"libraries,omitempty"`
	Hardware         string            `json:"hardware,omitempty"`
	ImageDigest      string            `json:"image_digest,omitempty"`
}

// Compute is what a run used.
type Compute struct {
	Hardware    string   `json:"hardware,omitempty"`
	DeviceHours *float64 `json:"device_hours,omitempty"`
	FLOPs       *float64 `json:"flops,omitempty"`
}

// RunInput is a dataset version a run read.
type RunInput struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Role    string `json:"role,omitempty"`
}

// DocumentRef is a registered document as a run refers to it, with its
// sign-offs: who signed it and when (the signatures are in documents).
type DocumentRef struct {
	ID       string          `json:"id"`
	URI      string          `json:"uri"`
	SHA256   string          `json:"sha256"`
	Title    string          `json:"title,omitempty"`
	Version  string          `json:"version,omitempty"`
	Signoffs []SignoffRecord `json:"signoffs,omitempty"`
}

// Metric is the latest point of one metric series of the version.
type Metric struct {
	Key            string  `json:"key"`
	Value          float64 `json:"value"`
	Step           int64   `json:"step"`
	Dataset        string  `json:"dataset,omitempty"`
	DatasetVersion string  `json:"dataset_version,omitempty"`
	Split          string  `json:"split,omitempty"`
	Environment    string  `json:"environment,omitempty"`
	RunID          string  `json:"run_id,omitempty"`
	RecordedAt     string  `json:"recorded_at"`
	RecordedBy     string  `json:"recorded_by"`
}

// DeclaredMetric is a metric the card declares, with the recorded value
// it resolves to (the latest matching point), and when its threshold was
// first declared (A9-6: before the run that measured it).
type DeclaredMetric struct {
	modelcard.DeclaredMetric
	Value               *float64 `json:"value,omitempty"`
	RecordedAt          string   `json:"recorded_at,omitempty"`
	ThresholdDeclaredAt string   `json:"threshold_declared_at,omitempty"`
	ThresholdBeforeRun  *bool    `json:"threshold_before_run,omitempty"`
}

// Document is a registered document the pack references.
type Document struct {
	ID        string          `json:"id"`
	URI       string          `json:"uri"`
	SHA256    string          `json:"sha256"`
	Kind      string          `json:"kind"`
	Title     string          `json:"title"`
	Version   string          `json:"version"`
	MediaType string          `json:"media_type"`
	Size      int64           `json:"size"`
	CreatedBy string          `json:"created_by"`
	CreatedAt string          `json:"created_at"`
	Signoffs  []SignoffRecord `json:"signoffs"`
}

// SignoffRecord is a signed sign-off of a document: Signature is the
// base64 Ed25519 signature of the RFC 8785 JSON {"sha256", "signed_at",
// "signer"} by KeyID.
type SignoffRecord struct {
	Signer    string `json:"signer"`
	SignedAt  string `json:"signed_at"`
	Meaning   string `json:"meaning"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

// Transition is a stage transition of the version with its approvals.
type Transition struct {
	ID                string     `json:"id"`
	From              string     `json:"from"`
	To                string     `json:"to"`
	Status            string     `json:"status"`
	Decision          string     `json:"decision,omitempty"` // approved or rejected
	RequestedBy       string     `json:"requested_by"`
	RequestedAt       string     `json:"requested_at"`
	Comment           string     `json:"comment,omitempty"`
	DecidedBy         string     `json:"decided_by,omitempty"`
	DecidedAt         string     `json:"decided_at,omitempty"`
	Justification     string     `json:"justification,omitempty"`
	ManifestDigest    string     `json:"manifest_digest"`
	RequiredApprovals int        `json:"required_approvals"`
	Approvals         []Approval `json:"approvals"`
}

// Approval is one approval with the gate results as evaluated then: the
// transition's evidence_refs.
type Approval struct {
	Approver string `json:"approver"`
	At       string `json:"at"`
	Comment  string `json:"comment,omitempty"`
	Gates    []Gate `json:"gates"`
}

// Gate is one promotion gate's outcome.
type Gate struct {
	Gate   string `json:"gate"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Deployment is a rollout of the version: the digest it ran and the
// approval it rests on (the transition that put the version in the stage
// it was deployed from).
type Deployment struct {
	ID             string `json:"id"`
	Environment    string `json:"environment"`
	Strategy       string `json:"strategy"`
	TrafficPercent int    `json:"traffic_percent"`
	Stage          string `json:"stage"`
	ArtifactSHA256 string `json:"artifact_sha256"`
	ApprovalID     string `json:"approval_id,omitempty"`
	DeployedBy     string `json:"deployed_by"`
	DeployedAt     string `json:"deployed_at"`
	RetiredAt      string `json:"retired_at,omitempty"`
}

// Config is the registry configuration that is itself evidence: how
// promotions are governed.
type Config struct {
	TransitionPolicy TransitionPolicy `json:"transition_policy"`
	// FourEyes: an approver into production is never the requester nor
	// the version's creator (enforced by the registry, A17-1m).
	FourEyes bool     `json:"four_eyes"`
	Roles    []string `json:"roles"`
}

// TransitionPolicy is the model's promotion policy.
type TransitionPolicy struct {
	RequiredApprovals int      `json:"required_approvals"`
	RequiredTags      []string `json:"required_tags,omitempty"`
	MetricGates       []string `json:"metric_gates,omitempty"`
	RequireEvidence   bool     `json:"require_evidence"`
}

// Audit is the version's audit trail: segments of the hash chain that hold
// the version's events, each running from a version event to the signed
// checkpoint that covers it, so that every event's hash and every link up
// to a signature verify offline (docs/evidence.md).
type Audit struct {
	HashAlg          string       `json:"hash_alg"`
	Canonicalization string       `json:"canonicalization"`
	Genesis          string       `json:"genesis"`
	Specification    string       `json:"specification"`
	KeyID            string       `json:"key_id"`
	PublicKey        string       `json:"public_key"`
	Segments         []Segment    `json:"segments"`
	SubjectEvents    int          `json:"subject_events"`
	Verification     Verification `json:"verification"`
	Head             Head         `json:"head"`
}

// Segment is a contiguous run of the chain ending at a checkpoint.
type Segment struct {
	FirstSeq   int64        `json:"first_seq"`
	LastSeq    int64        `json:"last_seq"`
	Events     []AuditEvent `json:"events"`
	Checkpoint Checkpoint   `json:"checkpoint"`
}

// AuditEvent is an event as the audit export writes it (docs/audit.md),
// with Subject set on the version's own events.
type AuditEvent struct {
	Seq        int64           `json:"seq"`
	Time       string          `json:"time"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	Resource   string          `json:"resource"`
	Outcome    string          `json:"outcome"`
	RequestID  string          `json:"request_id"`
	RemoteAddr string          `json:"remote_addr"`
	Details    json.RawMessage `json:"details"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
	Subject    bool            `json:"subject"`
}

// Checkpoint is a signed checkpoint of the chain (docs/audit.md §3).
type Checkpoint struct {
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	Kind      string `json:"kind"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

// Verification is the registry's own check of the segments.
type Verification struct {
	OK             bool   `json:"ok"`
	Events         int64  `json:"events"`
	Segments       int    `json:"segments"`
	FirstBrokenSeq int64  `json:"first_broken_seq,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// Head is the chain's head when the pack was made.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Retention is the retention in force (A18-1, A19-1).
type Retention struct {
	LogsMinDays        int    `json:"logs_min_days"`
	AuditMinDays       int    `json:"audit_min_days"`
	TechdocMinYears    int    `json:"techdoc_min_years"`
	TechdocRetainUntil string `json:"techdoc_retain_until,omitempty"`
	WORM               WORM   `json:"worm"`
}

// WORM is the write-once archive of packs.
type WORM struct {
	Backend string `json:"backend"`
	Mode    string `json:"mode"`
	// DefaultRetentionDays is how long the archived pack is locked, from
	// its export (0 without a lock).
	DefaultRetentionDays int `json:"default_retention_days"`
}

// NotApplicable is a requirement row (or a qualified part of one) that does
// not apply, with who said so, when, and the audit event that recorded it.
type NotApplicable struct {
	RowID         string `json:"row_id"`
	Justification string `json:"justification"`
	EnteredBy     string `json:"entered_by"`
	EnteredAt     string `json:"entered_at"`
	AuditEventID  int64  `json:"audit_event_id"`
	// Source says where it comes from: a justification entered for the
	// version or the model, or the card's applicability answer.
	Source string `json:"source"`
}

// Coverage statuses.
const (
	StatusPresent       = "present"
	StatusMissing       = "missing"
	StatusNotApplicable = "not_applicable"
)

// CoverageItem is one applicable requirement row and whether the pack
// evidences it, with the paths of its evidence (or of what is missing).
type CoverageItem struct {
	RowID         string   `json:"row_id"`
	Status        string   `json:"status"`
	EvidencePaths []string `json:"evidence_paths"`
	Missing       []string `json:"missing,omitempty"`
	// PostMarket rows are evidenced after the version is placed on the
	// market (monitoring data): the production gate does not wait for them.
	PostMarket bool   `json:"post_market,omitempty"`
	Note       string `json:"note,omitempty"`
}

// CoverageSummary counts the coverage items.
type CoverageSummary struct {
	Applicable    int      `json:"applicable"`
	Present       int      `json:"present"`
	Missing       int      `json:"missing"`
	NotApplicable int      `json:"not_applicable"`
	MissingRows   []string `json:"missing_rows"`
}

// Integrity seals the pack: SHA256 is the hex SHA-256 of the RFC 8785
// canonical JSON of the pack without this member, Signature the Ed25519
// signature of the 32 bytes of that digest.
type Integrity struct {
	SHA256    string    `json:"sha256"`
	Signature Signature `json:"signature"`
}

// Signature is an Ed25519 signature with the key that made it.
type Signature struct {
	Alg       string `json:"alg"`
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	Value     string `json:"value"`
}
