package modelkeep

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// LineageNodeType is the kind of a node of the lineage graph.
type LineageNodeType string

const (
	NodeDataset      LineageNodeType = "dataset"
	NodeRun          LineageNodeType = "run"
	NodeModelVersion LineageNodeType = "model_version"
	NodeDeployment   LineageNodeType = "deployment"
)

// Lineage relations. Edges point downstream, from what was used to what
// was made of it, so that the relation of a parent edge reads "to was
// fine-tuned from from". A dataset's edges carry its role (training,
// validation, test, evaluation), or RelationInput when none was given.
const (
	RelationInput         = "input"
	RelationProduced      = "produced"
	RelationDerivedFrom   = "derived_from"
	RelationFineTunedFrom = "fine_tuned_from"
	RelationDistilledFrom = "distilled_from"
	RelationDeployedTo    = "deployed_to"
	// RelationTestedIn links a version to a run that tested it
	// (evaluation, robustness, fairness, security); RelationMonitoredIn a
	// deployment to a run that watched it.
	RelationTestedIn    = "tested_in"
	RelationMonitoredIn = "monitored_in"
)

// ParentRelations are the ways a version can come from its parent;
// RelationDerivedFrom when the creator does not say.
var ParentRelations = []string{RelationDerivedFrom, RelationFineTunedFrom, RelationDistilledFrom}

// Lineage walk bounds. The store reads one level per query (both
// directions, with the versions reached), so the depth bounds the queries
// and the caps bound the rows and the response.
const (
	DefaultLineageDepth = 3
	MaxLineageDepth     = 10
	MaxLineageNodes     = 1000
	MaxLineageEdges     = 4 * MaxLineageNodes
)

// LineageRef names a node by what identifies it outside the store.
type LineageRef struct {
	Type    LineageNodeType
	Name    string // dataset or model name, run id or deployment id
	Version string // dataset version
	Number  int    // model version number
}

// DatasetNode, RunNode, VersionNode and DeploymentNode name lineage nodes.
func DatasetNode(name, version string) LineageRef {
	return LineageRef{Type: NodeDataset, Name: name, Version: version}
}
func RunNode(id string) LineageRef { return LineageRef{Type: NodeRun, Name: id} }
func VersionNode(model string, number int) LineageRef {
	return LineageRef{Type: NodeModelVersion, Name: model, Number: number}
}
func DeploymentNode(id string) LineageRef { return LineageRef{Type: NodeDeployment, Name: id} }

// ID is the node's id in lineage responses: dataset:<name>@<version>,
// run:<run_id>, model_version:<model>/<n>, deployment:<id>.
func (r LineageRef) ID() string {
	switch r.Type {
	case NodeDataset:
		return fmt.Sprintf("dataset:%s@%s", r.Name, r.Version)
	case NodeModelVersion:
		return fmt.Sprintf("model_version:%s/%d", r.Name, r.Number)
	}
	return string(r.Type) + ":" + r.Name
}

// Label is how people read the node (deployments: DeploymentLabel).
func (r LineageRef) Label() string {
	switch r.Type {
	case NodeDataset:
		return r.Name + "@" + r.Version
	case NodeRun:
		return "run " + r.Name
	case NodeModelVersion:
		return fmt.Sprintf("%s v%d", r.Name, r.Number)
	}
	return r.Name
}

// Node is the node r names, labelled.
func (r LineageRef) Node() LineageNode {
	return LineageNode{ID: r.ID(), Type: r.Type, Label: r.Label()}
}

// DeploymentLabel is how people read a deployment node: where, how, and
// whether it still runs.
func DeploymentLabel(d Deployment) string {
	state := ""
	if d.EndedAt != nil {
		state = ", ended"
	}
	return fmt.Sprintf("%s v%d in %s (%s %d%%%s)", d.Model, d.Version, d.Environment, d.Strategy, d.TrafficPercent, state)
}

// LineageLink is an edge to record.
type LineageLink struct {
	From, To LineageRef
	Relation string
}

// LineageNode is a node of a lineage response.
type LineageNode struct {
	ID    string
	Type  LineageNodeType
	Label string
}

// LineageEdge is an edge of a lineage response, between node ids.
type LineageEdge struct {
	From, To string
	Relation string
}

// LineageGraph is the part of the lineage graph around one version.
type LineageGraph struct {
	Root  string // the version's node id
	Nodes []LineageNode
	Edges []LineageEdge
	// Truncated is true when the walk stopped at MaxLineageNodes or
	// MaxLineageEdges before reaching the depth asked for.
	Truncated bool
}

// LineageQuery is one walk of the lineage graph.
type LineageQuery struct {
	Start VersionRef
	// Upstream follows edges back towards data and parents, Downstream
	// forward towards derived versions and deployments.
	Upstream, Downstream bool
	Depth                int // edges from Start, 1 to MaxLineageDepth
	MaxNodes, MaxEdges   int
	// Models, when not empty, hides versions of models whose names match
	// none of these globs, and the walk does not pass through them: the
	// caller's model scope.
	Models []string
}

// LineageInput selects the part of the graph a Lineage call returns.
type LineageInput struct {
	Direction string // upstream, downstream or both ("" is both)
	Depth     int    // 0 is DefaultLineageDepth
}

// Lineage returns the graph around a version: upstream to the runs, datasets
// and parent versions it came from, downstream to the versions derived from
// it and their deployments, across models. A token restricted to some
// models does not see versions of other models (nor what lies beyond them):
// they are left out, not refused, so that the caller still sees the
// datasets and runs of its own versions.
func (s *Service) Lineage(ctx context.Context, model string, number int, in LineageInput) (LineageGraph, error) {
	if err := validateVersionRef(model, number); err != nil {
		return LineageGraph{}, err
	}
	q := LineageQuery{Start: VersionRef{Model: model, Version: number}, Depth: in.Depth,
		MaxNodes: MaxLineageNodes, MaxEdges: MaxLineageEdges}
	switch in.Direction {
	case "", "both":
		q.Upstream, q.Downstream = true, true
	case "upstream":
		q.Upstream = true
	case "downstream":
		q.Downstream = true
	default:
		return LineageGraph{}, Errorf(ErrInvalid, "direction %q: want upstream, downstream or both", in.Direction)
	}
	if q.Depth == 0 {
		q.Depth = DefaultLineageDepth
	}
	if q.Depth < 1 || q.Depth > MaxLineageDepth {
		return LineageGraph{}, Errorf(ErrInvalid, "depth must be between 1 and %d", MaxLineageDepth)
	}
	if a, ok := ActorFrom(ctx); ok {
		if !a.CanAccessModel(model) {
			return LineageGraph{}, Errorf(ErrForbidden, "the token is not valid for model %q", model)
		}
		q.Models = a.Models
	}
	return s.meta.Lineage(ctx, q)
}

// validateLineage checks the lineage parts of a CreateVersionInput.
func (in CreateVersionInput) validateLineage() error {
	for i, d := range in.Datasets {
		if d.Version != "" {
			if err := ValidateDatasetVersion(d.Version); err != nil {
				return Errorf(ErrInvalid, "datasets[%d]: %w", i, err)
			}
		}
		if len(d.URI) > MaxURILen {
			return Errorf(ErrInvalid, "datasets[%d]: uri is longer than %d bytes", i, MaxURILen)
		}
	}
	if in.Source.RunID != "" {
		if err := ValidateRunID(in.Source.RunID); err != nil {
			return Errorf(ErrInvalid, "source: %w", err)
		}
	}
	if len(in.Source.GitCommit) > MaxGitCommitLen || len(in.Source.CodeURI) > MaxURILen {
		return Errorf(ErrInvalid, "source: git_commit or code_uri too long")
	}
	if in.Run != nil {
		if in.Source.RunID == "" {
			return Errorf(ErrInvalid, "run: details of a run need its id in source.run_id")
		}
		if err := in.Run.validate(); err != nil {
			return err
		}
	}
	if in.ParentRelation != "" {
		if in.Parent == nil {
			return Errorf(ErrInvalid, "parent.relation without a parent")
		}
		if !slices.Contains(ParentRelations, in.ParentRelation) {
			return Errorf(ErrInvalid, "parent.relation %q: want one of %s", in.ParentRelation, strings.Join(ParentRelations, ", "))
		}
	}
	return nil
}

// checkParentScope refuses a parent in a model the caller's token does not
// cover: the new version would write itself into that model's lineage.
func (s *Service) checkParentScope(ctx context.Context, model string, in CreateVersionInput) error {
	a, ok := ActorFrom(ctx)
	if !ok || in.Parent == nil || a.CanAccessModel(in.Parent.Model) {
		return nil
	}
	reason := fmt.Sprintf("the token is not valid for the parent's model %q", in.Parent.Model)
	s.RecordDenied(ctx, "createVersion", ModelResource(model), reason)
	return Errorf(ErrForbidden, "%s", reason)
}

// recordVersionLineage registers what a new version came from and links it,
// in CreateVersion's transaction: each dataset it names (created, or matched
// with the registered record: see reconcileDataset) with an edge carrying
// the dataset's role; the run of source.run_id with a "produced" edge, and
// edges from the datasets to the run; the parent with the relation given.
func (s *Service) recordVersionLineage(ctx context.Context, tx MetaStore, v Version, in CreateVersionInput) error {
	me := VersionNode(v.Model, v.Number)
	var links []LineageLink
	var run *LineageRef
	if id := in.Source.RunID; id != "" {
		// The run of source.run_id is the training run that produced the
		// version: one registered as another kind is a conflict.
		r := Run{ID: id, Kind: RunTraining, GitCommit: in.Source.GitCommit, CodeURI: in.Source.CodeURI, TriggeredBy: v.CreatedBy,
			CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, UpdatedAt: v.CreatedAt}
		if in.Run != nil {
			r.Parameters, r.Environment = in.Run.Parameters, in.Run.Environment
		}
		if _, err := ensureRun(ctx, tx, r); err != nil {
			return err
		}
		ref := RunNode(id)
		run = &ref
		links = append(links, LineageLink{From: ref, To: me, Relation: RelationProduced})
	}
	// Datasets are registered in (name, version) order, so that two versions
	// naming the same new datasets lock their rows in the same order (MySQL
	// would otherwise deadlock one of them).
	refs := slices.Clone(in.Datasets)
	slices.SortStableFunc(refs, func(a, b DatasetRef) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(datasetVersionOf(a), datasetVersionOf(b)))
	})
	for _, ref := range refs {
		d := Dataset{Name: ref.Name, Version: datasetVersionOf(ref), URI: ref.URI, SHA256: strings.ToLower(ref.SHA256),
			CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt, UpdatedAt: v.CreatedAt}
		if _, err := ensureDataset(ctx, tx, d, false); err != nil {
			return err
		}
		rel := ref.Role
		if rel == "" {
			rel = RelationInput
		}
		node := DatasetNode(d.Name, d.Version)
		links = append(links, LineageLink{From: node, To: me, Relation: rel})
		if run != nil {
			links = append(links, LineageLink{From: node, To: *run, Relation: rel})
		}
	}
	if p := in.Parent; p != nil {
		rel := in.ParentRelation
		if rel == "" {
			rel = RelationDerivedFrom
		}
		links = append(links, LineageLink{From: VersionNode(p.Model, p.Version), To: me, Relation: rel})
	}
	if len(links) == 0 {
		return nil
	}
	return tx.AddLineage(ctx, links)
}

// lineageAuditDetails adds what CreateVersion's input told about lineage
// beyond the version's own fields to its audit event.
func lineageAuditDetails(details map[string]any, in CreateVersionInput) map[string]any {
	if in.Run != nil {
		details["run"] = map[string]any{"parameters": in.Run.Parameters, "environment": map[string]any{
			"framework": in.Run.Environment.Framework, "framework_version": in.Run.Environment.FrameworkVersion,
			"libraries": in.Run.Environment.Libraries, "hardware": in.Run.Environment.Hardware}}
	}
	if in.ParentRelation != "" {
		details["parent_relation"] = in.ParentRelation
	}
	return details
}
