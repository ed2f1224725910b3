package modelkeep

import (
	"context"
	"time"
)

// TransitionStatus is where a stage transition request stands.
type TransitionStatus string

const (
	TransitionPending  TransitionStatus = "pending"
	TransitionApproved TransitionStatus = "approved" // approved and executed
	TransitionRejected TransitionStatus = "rejected"
)

// Transition is a request to move a version to another stage. It is bound
// to the version's manifest digest: what was approved is what moves.
type Transition struct {
	ID             string
	Model          string
	Version        int
	From           Stage // the stage when requested
	To             Stage
	Status         TransitionStatus
	Comment        string
	RequestedBy    string
	RequestedAt    time.Time
	ManifestDigest string
	// RequiredApprovals is the model's policy when the request was made.
	RequiredApprovals int
	Approvals         []Approval
	// DecidedBy/DecidedAt/DecisionComment record the approval that executed
	// the transition, or the rejection.
	DecidedBy       string
	DecidedAt       *time.Time
	DecisionComment string
}

// Approval is one approver's yes to a transition, with the promotion gates
// as they were evaluated at that moment.
type Approval struct {
	Approver string
	Comment  string
	At       time.Time
	Gates    []GateResult
}

// GateResult is the outcome of one promotion gate.
type GateResult struct {
	Gate   string // e.g. "metric auc >= 0.9 on holdout", "tag risk_review"
	Passed bool
	Detail string // e.g. "auc = 0.93 (step 12)", "tag missing"
}

// Policy governs a model's promotions.
type Policy struct {
	// RequiredApprovals is the number of distinct approvers a move into
	// production needs (at least 1).
	RequiredApprovals int
	// RequiredTags must be set on a version (with this value, when not "")
	// before it can be approved into production.
	RequiredTags map[string]string
	MetricGates  []MetricGate
	// ProtectedAliases may be moved by approvers (and admins) only.
	ProtectedAliases []string
	UpdatedBy        string
	UpdatedAt        time.Time
}

// MetricGate requires a metric of the version to meet a threshold.
type MetricGate struct {
	Key       string
	Op        string // >=, >, <=, <, ==
	Threshold float64
	Dataset   string // "" for any
	Split     string // "" for any
}

// Alias is a named, movable pointer to one version of a model.
type Alias struct {
	Model     string
	Name      string
	Version   int
	UpdatedBy string
	UpdatedAt time.Time
}

// Deployment strategies.
var DeploymentStrategies = []string{"blue_green", "canary", "rolling", "shadow", "ab_test", "direct"}

// Deployment is one entry of the deployments ledger: a version rolled out to
// an environment. It runs from DeployedAt until EndedAt (nil: still running),
// which is set when a full rollout of the same model to the same
// environment replaces it.
type Deployment struct {
	ID             string
	Model          string
	Version        int
	Environment    string
	Strategy       string
	TrafficPercent int
	Replaces       *int // the version this one replaces (canary, blue/green)
	DeployedBy     string
	DeployedAt     time.Time
	EndedAt        *time.Time
}

// Metric is one measured value of a version.
type Metric struct {
	Key         string
	Value       float64
	Step        int64
	Dataset     string
	Split       string // training, validation, test, evaluation, production, ...
	Environment string // for production monitoring
	Timestamp   time.Time
	RecordedBy  string
	// Seq is the point's place in the order of recording, set when the
	// store lists points (0 otherwise): the last tie-breaker of the list
	// order, which page tokens carry. It is not shown.
	Seq int64
}

// GovernanceStore keeps stages, transitions, policies, aliases,
// deployments and metrics. Part of MetaStore.
type GovernanceStore interface {
	// LockModel serialises changes of one model's stages until the
	// transaction ends (SELECT ... FOR UPDATE on the model's row; SQLite's
	// write transactions serialise anyway). ErrNotFound if absent.
	LockModel(ctx context.Context, model string) error
	// SetStage moves a version from one stage to another (compare and swap:
	// ErrConflict when it is not in from), recording when; moving into
	// production also sets EverProduction. The store refuses (ErrConflict)
	// a second production version of a model.
	SetStage(ctx context.Context, model string, number int, from, to Stage, at time.Time) error
	// VersionsInStage lists a model's versions in a stage, the one moved
	// there last first: at most limit of them (all when limit <= 0).
	// ErrNotFound when the model does not exist.
	VersionsInStage(ctx context.Context, model string, stage Stage, limit int) ([]Version, error)

	CreateTransition(ctx context.Context, t Transition) error
	// GetTransition reads a transition with its approvals (oldest first).
	GetTransition(ctx context.Context, id string) (Transition, error)
	// ListTransitions returns up to f.Limit transitions, newest first.
	ListTransitions(ctx context.Context, f TransitionFilter) ([]Transition, error)
	// AddApproval records an approval; ErrConflict when this approver
	// already approved this transition.
	AddApproval(ctx context.Context, transitionID string, a Approval) error
	// DecideTransition moves a pending transition to approved or rejected
	// (compare and swap on pending: ErrConflict otherwise).
	DecideTransition(ctx context.Context, id string, status TransitionStatus, by, comment string, at time.Time) error

	// GetPolicy returns the model's policy (RequiredApprovals 1 and nothing
	// else when none was set); PutPolicy replaces it.
	GetPolicy(ctx context.Context, model string) (Policy, error)
	PutPolicy(ctx context.Context, model string, p Policy) error

	// SetAlias points alias at a version, creating or moving it; it returns
	// the version it pointed at before (nil when new).
	SetAlias(ctx context.Context, a Alias) (previous *int, err error)
	GetAlias(ctx context.Context, model, alias string) (Alias, error)
	DeleteAlias(ctx context.Context, model, alias string) error

	CreateDeployment(ctx context.Context, d Deployment) error
	// EndDeployments ends every running deployment of model in environment
	// (a full rollout replaces them), returning their ids.
	EndDeployments(ctx context.Context, model, environment string, at time.Time) ([]string, error)
	// ListDeployments returns up to f.Limit deployments, newest first.
	ListDeployments(ctx context.Context, f DeploymentFilter) ([]Deployment, error)

	// AddMetrics records points of a version; ErrNotFound when the model or
	// the version does not exist.
	AddMetrics(ctx context.Context, model string, number int, metrics []Metric) error
	// ListMetricsPage returns up to f.Limit of the version's points (all
	// when Limit <= 0; one key when f.Key is set), ordered by key, then
	// step, then timestamp, then Seq, after f.After; ErrNotFound when the
	// model or the version does not exist.
	ListMetricsPage(ctx context.Context, f MetricFilter) ([]Metric, error)
}

// MetricFilter selects and pages a version's metric points.
type MetricFilter struct {
	Model  string
	Number int
	Key    string // "" for every key
	// After, when not nil, is the keyset position: the points after it in
	// (Key, Step, Timestamp, Seq) order.
	After *Metric
	Limit int // every point when <= 0
}

// TransitionFilter selects transitions.
type TransitionFilter struct {
	Model  string
	Status TransitionStatus
	// Keyset: requested before BeforeRequestedAt, or at it with an id below
	// BeforeID.
	BeforeRequestedAt time.Time
	BeforeID          string
	Limit             int
}

// DeploymentFilter selects deployments.
type DeploymentFilter struct {
	Environment string
	Model       string
	// At, when set, keeps the deployments running at that time
	// (DeployedAt <= At and not ended by then).
	At *time.Time
	// Keyset: deployed before BeforeDeployedAt, or at it with an id below
	// BeforeID.
	BeforeDeployedAt time.Time
	BeforeID         string
	Limit            int
}
