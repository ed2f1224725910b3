package modelcard

import "time"

// Facts are what the registry recorded about a version, filled into a
// rendered card beside what people wrote, so that nothing is retyped:
// identity, files and digest, datasets, runs, metrics, approvals and
// deployments.
type Facts struct {
	Model            string
	ModelDescription string
	Version          int
	Description      string
	Status           string // pending or ready
	Stage            string // none, staging, production, archived
	ManifestDigest   string // "sha256:" + hex; "" while pending
	CreatedBy        string
	CreatedAt        time.Time
	FinalizedAt      *time.Time
	Parent           *ParentFact
	Tags             map[string]string
	Params           map[string]string
	Files            []FileFact
	Datasets         []DatasetFact
	Runs             []RunFact
	// Metrics holds the latest point of every series (key, dataset,
	// dataset version, split) of the version, ordered by key.
	Metrics     []MetricFact
	Transitions []TransitionFact
	Deployments []DeploymentFact
	// CardRevision and ModelCardRevision are the revisions of the
	// version's and the model's cards merged into the card rendered (0: no
	// card at that level).
	CardRevision      int
	ModelCardRevision int
	GeneratedAt       time.Time
}

// ParentFact is the version a version came from.
type ParentFact struct {
	Model    string
	Version  int
	Relation string // derived_from, fine_tuned_from, distilled_from
}

// FileFact is one file of the version.
type FileFact struct {
	Path   string
	Size   int64
	SHA256 string
}

// DatasetFact is a dataset version the version used, and in which role.
type DatasetFact struct {
	Name    string
	Version string
	Role    string // training, validation, test, evaluation, input
	URI     string
	SHA256  string
	Size    int64
	License string
}

// RunFact is a run that produced or tested the version.
type RunFact struct {
	ID          string
	Kind        string // training, evaluation, robustness, fairness, security, monitoring
	StartedAt   *time.Time
	EndedAt     *time.Time
	TriggeredBy string
	CodeURI     string
	GitCommit   string
	Hardware    string
	// Hyperparameters are the run's parameters.
	Hyperparameters map[string]string
	Inputs          []DatasetFact
	OutputSHA256    string
	TestLog         *DocRef
	Report          *DocRef
	// Signoffs of the report: who signed it and when.
	ReportSignoffs []SignoffFact
}

// SignoffFact is a person's signed sign-off of a document.
type SignoffFact struct {
	Signer   string
	SignedAt time.Time
}

// MetricFact is the latest value of one metric series.
type MetricFact struct {
	Key            string
	Value          float64
	Step           int64
	Dataset        string
	DatasetVersion string
	Split          string
	RunID          string
	Timestamp      time.Time
}

// TransitionFact is a stage transition of the version with its approvals.
type TransitionFact struct {
	ID          string
	From, To    string
	Status      string // pending, approved, rejected
	RequestedBy string
	RequestedAt time.Time
	DecidedBy   string
	DecidedAt   *time.Time
	Approvals   []ApprovalFact
}

// ApprovalFact is one approval with the gates as evaluated then.
type ApprovalFact struct {
	Approver string
	At       time.Time
	Comment  string
	Gates    []GateFact
}

// GateFact is one promotion gate's outcome.
type GateFact struct {
	Gate   string
	Passed bool
	Detail string
}

// DeploymentFact is a rollout of the version.
type DeploymentFact struct {
	ID             string
	Environment    string
	Strategy       string
	TrafficPercent int
	DeployedBy     string
	DeployedAt     time.Time
	EndedAt        *time.Time
}
