package modelkeep

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Run kinds: what a run did. A training run produces versions (they name it
// in source.run_id); the others test one version (evaluation, robustness,
// fairness, security) or watch a deployment after release (monitoring, the
// post-market monitoring of EU AI Act Art. 72).
const (
	RunTraining   = "training"
	RunEvaluation = "evaluation"
	RunRobustness = "robustness"
	RunFairness   = "fairness"
	RunSecurity   = "security"
	RunMonitoring = "monitoring"
)

// RunKinds lists the run kinds.
var RunKinds = []string{RunTraining, RunEvaluation, RunRobustness, RunFairness, RunSecurity, RunMonitoring}

// Run is a record of one run: the code and environment that produced
// versions (training), or that tested a version or watched a deployment.
// Its ID is the source.run_id versions name, or the id it was registered
// with.
type Run struct {
	ID          string
	Kind        string
	GitCommit   string
	CodeURI     string // the code's repository (or a URI of the exact code)
	Parameters  map[string]string
	Environment RunEnvironment
	StartedAt   *time.Time
	EndedAt     *time.Time
	TriggeredBy string
	// Subject is the version an evaluation, robustness, fairness or
	// security run tested, or the version a monitored deployment runs.
	Subject *VersionRef
	// DeploymentID is the deployment a monitoring run watched.
	DeploymentID string
	// OutputSHA256 is the artifact a training run produced: the manifest
	// digest ("sha256:" + hex) of its version's files.
	OutputSHA256 string
	// Inputs are the dataset versions the run read.
	Inputs  []RunInput
	Compute RunCompute
	// TestLog and Report name documents (by id) with the run's test log and
	// its signed report.
	TestLog   string
	Report    string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RunInput is a dataset version a run read, and in which role.
type RunInput struct {
	Name    string
	Version string
	Role    string // training, validation, test, evaluation; "" for input
}

// RunCompute is what a run consumed (EU AI Act Annex IV 2(c), Annex XI
// 2(d)-(e)).
type RunCompute struct {
	DeviceHours  *float64
	FLOPs        *float64
	EnergyKWh    *float64
	EnergyMethod string // measured, estimated_from_compute
}

// IsZero reports whether nothing is known about the compute.
func (c RunCompute) IsZero() bool {
	return c.DeviceHours == nil && c.FLOPs == nil && c.EnergyKWh == nil && c.EnergyMethod == ""
}

// EnergyMethods are how a run's energy was found.
var EnergyMethods = []string{"measured", "estimated_from_compute"}

// RunEnvironment is what a run ran on: framework and library versions and
// the hardware, so that a result can be reproduced (EU AI Act Annex IV 2(b)).
type RunEnvironment struct {
	Framework        string            // e.g. pytorch
	FrameworkVersion string            // e.g. 2.5.1
	Libraries        map[string]string // name -> version
	Hardware         string            // e.g. 8x NVIDIA A100 80GB
	ImageDigest      string            // the container image, sha256:<hex>
}

// IsZero reports whether nothing is known about the environment.
func (e RunEnvironment) IsZero() bool {
	return e.Framework == "" && e.FrameworkVersion == "" && len(e.Libraries) == 0 && e.Hardware == "" && e.ImageDigest == ""
}

// Equal reports whether two environments say the same (nil and empty
// library maps are equal).
func (e RunEnvironment) Equal(o RunEnvironment) bool {
	return e.Framework == o.Framework && e.FrameworkVersion == o.FrameworkVersion &&
		e.Hardware == o.Hardware && e.ImageDigest == o.ImageDigest && maps.Equal(e.Libraries, o.Libraries)
}

// RunDetails is what a version's creator may tell about the run of its
// source.run_id beyond the commit and code URI.
type RunDetails struct {
	Parameters  map[string]string
	Environment RunEnvironment
}

// validate checks what a version's creator tells about its run.
func (r RunDetails) validate() error {
	if err := ValidateTags("run.parameters", r.Parameters, MaxParams, MaxParamValueLen); err != nil {
		return err
	}
	return r.Environment.validate("run.environment")
}

func (e RunEnvironment) validate(field string) error {
	if len(e.Libraries) > MaxLibraries {
		return Errorf(ErrInvalid, "%s.libraries: at most %d entries", field, MaxLibraries)
	}
	for k, v := range e.Libraries {
		if k == "" || len(k) > 128 || len(v) > 128 {
			return Errorf(ErrInvalid, "%s.libraries: %q: names and versions of 1 to 128 bytes", field, k)
		}
	}
	for name, v := range map[string]string{"framework": e.Framework, "framework_version": e.FrameworkVersion, "hardware": e.Hardware} {
		if len(v) > MaxEnvFieldLen {
			return Errorf(ErrInvalid, "%s.%s is longer than %d bytes", field, name, MaxEnvFieldLen)
		}
	}
	if e.ImageDigest != "" {
		if _, err := ParseDigest(e.ImageDigest); err != nil {
			return Errorf(ErrInvalid, "%s.image_digest: %w", field, err)
		}
	}
	return nil
}

// ParseDigest normalises a SHA-256 digest written "sha256:<hex>" or as
// bare hex to "sha256:<lowercase hex>".
func ParseDigest(s string) (string, error) {
	hexPart, _ := strings.CutPrefix(strings.TrimSpace(s), "sha256:")
	h, err := ParseSHA256(hexPart)
	if err != nil {
		return "", Errorf(ErrInvalid, "invalid digest %q: want sha256:<64 hex digits>", s)
	}
	return "sha256:" + h, nil
}

// ValidateRunID checks a run id: 1 to 256 bytes, no control characters.
func ValidateRunID(id string) error {
	if id == "" || len(id) > MaxRunIDLen || strings.ContainsFunc(id, unicode.IsControl) {
		return Errorf(ErrInvalid, "invalid run id %q: 1 to %d bytes without control characters", id, MaxRunIDLen)
	}
	return nil
}

// MaxRunInputs bounds a run's inputs.
const MaxRunInputs = 64

// validate checks a run being registered: its kind, what it is about
// (a tested version for evaluation-like runs, a deployment or version for
// monitoring, nothing for training), times, digests and bounds.
func (r *Run) validate() error {
	if err := ValidateRunID(r.ID); err != nil {
		return err
	}
	if r.Kind == "" {
		r.Kind = RunTraining
	}
	if !slices.Contains(RunKinds, r.Kind) {
		return Errorf(ErrInvalid, "kind %q: want one of %s", r.Kind, strings.Join(RunKinds, ", "))
	}
	if err := checkRunSubject(*r); err != nil {
		return err
	}
	if r.StartedAt != nil && r.EndedAt != nil && r.EndedAt.Before(*r.StartedAt) {
		return Errorf(ErrInvalid, "ended_at is before started_at")
	}
	switch {
	case len(r.GitCommit) > MaxGitCommitLen:
		return Errorf(ErrInvalid, "code_ref.commit is longer than %d bytes", MaxGitCommitLen)
	case len(r.CodeURI) > MaxURILen:
		return Errorf(ErrInvalid, "code_ref.repo is longer than %d bytes", MaxURILen)
	case len(r.TriggeredBy) > 255:
		return Errorf(ErrInvalid, "triggered_by is longer than 255 bytes")
	case len(r.Inputs) > MaxRunInputs:
		return Errorf(ErrInvalid, "inputs: at most %d entries", MaxRunInputs)
	}
	if err := ValidateTags("parameters", r.Parameters, MaxParams, MaxParamValueLen); err != nil {
		return err
	}
	if err := r.Environment.validate("environment"); err != nil {
		return err
	}
	if r.OutputSHA256 != "" {
		d, err := ParseDigest(r.OutputSHA256)
		if err != nil {
			return Errorf(ErrInvalid, "output_artifact_sha256: %w", err)
		}
		r.OutputSHA256 = d
	}
	for i, in := range r.Inputs {
		if err := ValidateName("dataset", in.Name); err != nil {
			return Errorf(ErrInvalid, "inputs[%d]: %w", i, err)
		}
		if err := ValidateDatasetVersion(in.Version); err != nil {
			return Errorf(ErrInvalid, "inputs[%d]: %w", i, err)
		}
		if in.Role != "" && !slices.Contains(DatasetRoles, in.Role) {
			return Errorf(ErrInvalid, "inputs[%d]: role %q: want one of %s", i, in.Role, strings.Join(DatasetRoles, ", "))
		}
	}
	return r.Compute.validate()
}

// checkRunSubject is the rule of what a run is about: a training run makes
// versions (they name it), so it tests none; an evaluation, robustness,
// fairness or security run tests one version; a monitoring run watches a
// deployment or a version.
func checkRunSubject(r Run) error {
	switch {
	case r.Kind == RunTraining && (r.Subject != nil || r.DeploymentID != ""):
		return Errorf(ErrInvalid, "a training run tests no version and watches no deployment: its versions name it in source.run_id")
	case r.Kind == RunMonitoring && r.Subject == nil && r.DeploymentID == "":
		return Errorf(ErrInvalid, "a monitoring run names the deployment (deployment_id) or the version (subject) it watched")
	case r.Kind != RunTraining && r.Kind != RunMonitoring && r.Subject == nil:
		return Errorf(ErrInvalid, "a %s run names the version it tested: subject {model, version}", r.Kind)
	case r.Kind != RunMonitoring && r.DeploymentID != "":
		return Errorf(ErrInvalid, "only a monitoring run watches a deployment")
	case r.Kind != RunTraining && r.OutputSHA256 != "":
		return Errorf(ErrInvalid, "only a training run produces an artifact (output_artifact_sha256)")
	}
	if p := r.Subject; p != nil {
		if err := validateVersionRef(p.Model, p.Version); err != nil {
			return Errorf(ErrInvalid, "subject: %w", err)
		}
	}
	return nil
}

func (c RunCompute) validate() error {
	for name, v := range map[string]*float64{"compute.device_hours": c.DeviceHours, "compute.flops": c.FLOPs, "energy_kwh": c.EnergyKWh} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0) {
			return Errorf(ErrInvalid, "%s must be a finite number, not negative", name)
		}
	}
	if c.EnergyMethod != "" && !slices.Contains(EnergyMethods, c.EnergyMethod) {
		return Errorf(ErrInvalid, "energy_method %q: want one of %s", c.EnergyMethod, strings.Join(EnergyMethods, ", "))
	}
	return nil
}

// reconcileRun decides how an account of a run meets the stored run: what
// both tell must agree (a run has one kind, one commit, one set of
// parameters, one environment, one subject, ...), what only the new one
// tells is filled in. It returns the fields to fill, if any.
func reconcileRun(stored, in Run) (fill Run, changed bool, err error) {
	fill = Run{ID: stored.ID}
	conflict := func(field string) error {
		return Errorf(ErrConflict, "run %q is registered with another %s", stored.ID, field)
	}
	if in.Kind != "" && in.Kind != stored.Kind {
		return Run{}, false, conflict("kind")
	}
	texts := []struct {
		name      string
		have, new string
		set       func(string)
	}{
		{"git_commit", stored.GitCommit, in.GitCommit, func(v string) { fill.GitCommit = v }},
		{"code_uri", stored.CodeURI, in.CodeURI, func(v string) { fill.CodeURI = v }},
		{"triggered_by", stored.TriggeredBy, in.TriggeredBy, func(v string) { fill.TriggeredBy = v }},
		{"deployment_id", stored.DeploymentID, in.DeploymentID, func(v string) { fill.DeploymentID = v }},
		{"output_artifact_sha256", stored.OutputSHA256, in.OutputSHA256, func(v string) { fill.OutputSHA256 = v }},
		{"test_log", stored.TestLog, in.TestLog, func(v string) { fill.TestLog = v }},
		{"report", stored.Report, in.Report, func(v string) { fill.Report = v }},
	}
	for _, f := range texts {
		switch {
		case f.new == "" || f.new == f.have:
		case f.have == "":
			f.set(f.new)
			changed = true
		default:
			return Run{}, false, conflict(f.name)
		}
	}
	switch {
	case len(in.Parameters) == 0 || maps.Equal(in.Parameters, stored.Parameters):
	case len(stored.Parameters) == 0:
		fill.Parameters, changed = in.Parameters, true
	default:
		return Run{}, false, conflict("parameters")
	}
	switch {
	case in.Environment.IsZero() || in.Environment.Equal(stored.Environment):
	case stored.Environment.IsZero():
		fill.Environment, changed = in.Environment, true
	default:
		return Run{}, false, conflict("environment")
	}
	switch {
	case in.Subject == nil || stored.Subject != nil && *in.Subject == *stored.Subject:
	case stored.Subject == nil:
		fill.Subject, changed = in.Subject, true
	default:
		return Run{}, false, conflict("subject")
	}
	for _, t := range []struct {
		name      string
		have, new *time.Time
		set       func(*time.Time)
	}{
		{"started_at", stored.StartedAt, in.StartedAt, func(v *time.Time) { fill.StartedAt = v }},
		{"ended_at", stored.EndedAt, in.EndedAt, func(v *time.Time) { fill.EndedAt = v }},
	} {
		switch {
		case t.new == nil || t.have != nil && t.new.Equal(*t.have):
		case t.have == nil:
			t.set(t.new)
			changed = true
		default:
			return Run{}, false, conflict(t.name)
		}
	}
	switch {
	case len(in.Inputs) == 0 || slices.Equal(in.Inputs, stored.Inputs):
	case len(stored.Inputs) == 0:
		fill.Inputs, changed = in.Inputs, true
	default:
		return Run{}, false, conflict("inputs")
	}
	switch {
	case in.Compute.IsZero() || sameCompute(in.Compute, stored.Compute):
	case stored.Compute.IsZero():
		fill.Compute, changed = in.Compute, true
	default:
		return Run{}, false, conflict("compute")
	}
	return fill, changed, nil
}

func sameCompute(a, b RunCompute) bool {
	eq := func(x, y *float64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return eq(a.DeviceHours, b.DeviceHours) && eq(a.FLOPs, b.FLOPs) && eq(a.EnergyKWh, b.EnergyKWh) && a.EnergyMethod == b.EnergyMethod
}

// ensureRun creates the run record of r or reconciles r with the stored one
// (see reconcileRun), in tx. It reports whether it created the record.
func ensureRun(ctx context.Context, tx MetaStore, r Run) (created bool, err error) {
	stored, err := tx.GetRun(ctx, r.ID)
	if errors.Is(err, ErrNotFound) {
		err = tx.CreateRun(ctx, r)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return false, err
		}
		stored, err = tx.GetRun(ctx, r.ID)
	}
	if err != nil {
		return false, err
	}
	fill, changed, err := reconcileRun(stored, r)
	if err != nil || !changed {
		return false, err
	}
	fill.UpdatedAt = r.UpdatedAt
	return false, tx.FillRun(ctx, fill)
}

func runResource(id string) string { return "runs/" + id }

// RegisterRun records a run. Registering the same id again is idempotent
// when it tells the same: fields it leaves out are kept, fields the record
// lacks are added (a training run registered by a version's source.run_id
// learns its times, inputs and report this way), and a field it sets
// otherwise is ErrConflict. The dataset versions it read are registered
// and linked to it in the lineage graph, as are the version it tested and
// the deployment it watched. It returns the stored record and whether it
// was created.
func (s *Service) RegisterRun(ctx context.Context, r Run) (Run, bool, error) {
	if err := r.validate(); err != nil {
		return Run{}, false, err
	}
	if a, ok := ActorFrom(ctx); ok && r.Subject != nil && !a.CanAccessModel(r.Subject.Model) {
		s.RecordDenied(ctx, "createRun", ModelResource(r.Subject.Model), "the token is not valid for the run's subject model")
		return Run{}, false, Errorf(ErrForbidden, "the token is not valid for model %q", r.Subject.Model)
	}
	now := s.Now()
	r.CreatedBy, r.CreatedAt, r.UpdatedAt = ActorName(ctx), now, now
	if r.TriggeredBy == "" {
		r.TriggeredBy = r.CreatedBy
	}
	var out Run
	var created bool
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		links, err := s.runLinks(ctx, tx, &r)
		if err != nil {
			return err
		}
		if created, err = ensureRun(ctx, tx, r); err != nil {
			return err
		}
		if len(links) > 0 {
			if err := tx.AddLineage(ctx, links); err != nil {
				return err
			}
		}
		if out, err = tx.GetRun(ctx, r.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, "run.register", runResource(r.ID), runAuditDetails(r, created))
	})
	if err != nil {
		return Run{}, false, err
	}
	return out, created, nil
}

// runLinks checks what the run refers to and returns its lineage links:
// each input dataset (registered if new) into the run, the tested version
// into the run, the watched deployment into the run.
func (s *Service) runLinks(ctx context.Context, tx MetaStore, r *Run) ([]LineageLink, error) {
	me := RunNode(r.ID)
	var links []LineageLink
	inputs := slices.Clone(r.Inputs)
	slices.SortStableFunc(inputs, func(a, b RunInput) int { return strings.Compare(a.Name+"@"+a.Version, b.Name+"@"+b.Version) })
	for _, in := range inputs {
		d := Dataset{Name: in.Name, Version: in.Version, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.CreatedAt}
		if _, err := ensureDataset(ctx, tx, d, false); err != nil {
			return nil, err
		}
		rel := in.Role
		if rel == "" {
			rel = RelationInput
		}
		links = append(links, LineageLink{From: DatasetNode(in.Name, in.Version), To: me, Relation: rel})
	}
	if p := r.Subject; p != nil {
		if _, err := tx.GetVersion(ctx, p.Model, p.Version); errors.Is(err, ErrNotFound) {
			return nil, Errorf(ErrInvalid, "subject: version %s/%d does not exist", p.Model, p.Version)
		} else if err != nil {
			return nil, err
		}
		links = append(links, LineageLink{From: VersionNode(p.Model, p.Version), To: me, Relation: RelationTestedIn})
	}
	if r.DeploymentID != "" {
		ds, err := tx.ListDeployments(ctx, DeploymentFilter{ID: r.DeploymentID, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(ds) == 0 {
			return nil, Errorf(ErrInvalid, "deployment_id: deployment %q does not exist", r.DeploymentID)
		}
		d := ds[0]
		if r.Subject == nil {
			r.Subject = &VersionRef{Model: d.Model, Version: d.Version}
		} else if r.Subject.Model != d.Model || r.Subject.Version != d.Version {
			return nil, Errorf(ErrInvalid, "subject: deployment %s runs %s/%d, not %s/%d", d.ID, d.Model, d.Version, r.Subject.Model, r.Subject.Version)
		}
		links = append(links, LineageLink{From: DeploymentNode(d.ID), To: me, Relation: RelationMonitoredIn})
	}
	return links, nil
}

// runAuditDetails are a run registration's audit details, in the API's
// names.
func runAuditDetails(r Run, created bool) map[string]any {
	d := map[string]any{"created": created, "kind": r.Kind, "triggered_by": r.TriggeredBy,
		"code_ref": map[string]any{"repo": r.CodeURI, "commit": r.GitCommit}}
	if r.Subject != nil {
		d["subject"] = map[string]any{"model": r.Subject.Model, "version": r.Subject.Version}
	}
	for k, v := range map[string]string{"deployment_id": r.DeploymentID, "output_artifact_sha256": r.OutputSHA256,
		"test_log": r.TestLog, "report": r.Report} {
		if v != "" {
			d[k] = v
		}
	}
	if len(r.Inputs) > 0 {
		var in []map[string]any
		for _, i := range r.Inputs {
			in = append(in, map[string]any{"name": i.Name, "version": i.Version, "role": i.Role})
		}
		d["inputs"] = in
	}
	return d
}

// GetRun reads a run.
func (s *Service) GetRun(ctx context.Context, id string) (Run, error) {
	if err := ValidateRunID(id); err != nil {
		return Run{}, err
	}
	return s.meta.GetRun(ctx, id)
}

// ListRunsInput selects and pages runs.
type ListRunsInput struct {
	Kind      string
	Model     string // with Version: the runs about that version
	Version   int
	PageSize  int
	PageToken string
}

// ListRuns lists runs, newest first: all of them, or those about one
// version (Model and Version), optionally of one kind.
func (s *Service) ListRuns(ctx context.Context, in ListRunsInput) ([]Run, string, error) {
	if in.Kind != "" && !slices.Contains(RunKinds, in.Kind) {
		return nil, "", Errorf(ErrInvalid, "kind %q: want one of %s", in.Kind, strings.Join(RunKinds, ", "))
	}
	if (in.Model == "") != (in.Version == 0) {
		return nil, "", Errorf(ErrInvalid, "model and version go together")
	}
	if in.Model != "" {
		if err := validateVersionRef(in.Model, in.Version); err != nil {
			return nil, "", err
		}
	}
	if err := checkListScope(ctx, in.Model); err != nil {
		return nil, "", err
	}
	l := NewListing("listRuns", in.Kind, in.Model, strconv.Itoa(in.Version))
	pg, before, beforeID, err := s.pager.startTimed(l, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	f := RunFilter{Kind: in.Kind, BeforeCreatedAt: before, BeforeID: beforeID, Limit: pg.limit + 1}
	if in.Model != "" {
		f.Subject = &VersionRef{Model: in.Model, Version: in.Version}
	}
	runs, err := s.meta.ListRuns(ctx, f)
	if err != nil {
		return nil, "", err
	}
	runs, next := endPage(pg, runs, func(r Run) pageCursor {
		return pageCursor{Name: r.ID, Time: r.CreatedAt.UnixMicro()}
	})
	return runs, next, nil
}

// RunFilter selects runs in ListRuns.
type RunFilter struct {
	Kind string
	// Subject, when set, keeps the runs that tested (or watched) that
	// version; the training run that produced it is its source.run_id.
	Subject *VersionRef
	// Keyset: created before BeforeCreatedAt, or at it with an id below
	// BeforeID.
	BeforeCreatedAt time.Time
	BeforeID        string
	Limit           int
}
