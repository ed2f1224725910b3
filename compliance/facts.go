package compliance

import (
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/evidence"
	"github.com/modelkeep/modelkeep/modelcard"
)

// FactsOf is what the registry recorded about a version, as the card's
// renderers and its CycloneDX BOM fill it in: taken from a gathered pack
// and the records it was gathered from.
func FactsOf(p *evidence.Pack, v modelkeep.Version, latest []modelkeep.Metric, ts []modelkeep.Transition, ds []modelkeep.Deployment) modelcard.Facts {
	f := modelcard.Facts{
		Model: v.Model, ModelDescription: p.Model.Description, Version: v.Number, Description: v.Description,
		Status: string(v.Status), Stage: string(v.Stage), ManifestDigest: v.ManifestDigest, CreatedBy: v.CreatedBy,
		CreatedAt: v.CreatedAt, FinalizedAt: v.FinalizedAt, Tags: v.Tags, Params: v.Params,
		CardRevision: p.Version.Card.Revision, ModelCardRevision: p.Version.Card.ModelRevision,
	}
	f.GeneratedAt, _ = audit.ParseTime(p.Export.GeneratedAt)
	if v.Parent != nil {
		f.Parent = &modelcard.ParentFact{Model: v.Parent.Model, Version: v.Parent.Version}
	}
	for _, file := range p.Version.Artifact.Files {
		f.Files = append(f.Files, modelcard.FileFact{Path: file.Path, Size: file.Size, SHA256: file.SHA256})
	}
	for _, d := range p.Datasets {
		f.Datasets = append(f.Datasets, modelcard.DatasetFact{Name: d.Name, Version: d.Version, Role: d.Role, URI: d.URI,
			SHA256: d.SHA256, Size: d.Size, License: d.License})
	}
	for _, r := range p.Runs {
		rf := modelcard.RunFact{ID: r.ID, Kind: r.Kind, StartedAt: parsedTime(r.StartedAt), EndedAt: parsedTime(r.EndedAt),
			TriggeredBy: r.TriggeredBy, CodeURI: r.CodeRef.Repo, GitCommit: r.CodeRef.Commit, Hardware: r.Compute.Hardware,
			Hyperparameters: r.Hyperparameters, OutputSHA256: r.OutputSHA256, TestLog: docRefOf(r.TestLog), Report: docRefOf(r.Report)}
		for _, in := range r.Inputs {
			rf.Inputs = append(rf.Inputs, modelcard.DatasetFact{Name: in.Name, Version: in.Version, Role: in.Role})
		}
		if r.Report != nil {
			for _, so := range r.Report.Signoffs {
				at, _ := audit.ParseTime(so.SignedAt)
				rf.ReportSignoffs = append(rf.ReportSignoffs, modelcard.SignoffFact{Signer: so.Signer, SignedAt: at})
			}
		}
		f.Runs = append(f.Runs, rf)
	}
	for _, m := range latest {
		f.Metrics = append(f.Metrics, modelcard.MetricFact{Key: m.Key, Value: m.Value, Step: m.Step, Dataset: m.Dataset,
			DatasetVersion: m.DatasetVersion, Split: m.Split, RunID: m.RunID, Timestamp: m.Timestamp})
	}
	for _, t := range ts {
		tf := modelcard.TransitionFact{ID: t.ID, From: string(t.From), To: string(t.To), Status: string(t.Status),
			RequestedBy: t.RequestedBy, RequestedAt: t.RequestedAt, DecidedBy: t.DecidedBy, DecidedAt: t.DecidedAt}
		for _, a := range t.Approvals {
			af := modelcard.ApprovalFact{Approver: a.Approver, At: a.At, Comment: a.Comment}
			for _, g := range a.Gates {
				af.Gates = append(af.Gates, modelcard.GateFact{Gate: g.Gate, Passed: g.Passed, Detail: g.Detail})
			}
			tf.Approvals = append(tf.Approvals, af)
		}
		f.Transitions = append(f.Transitions, tf)
	}
	for _, d := range ds {
		f.Deployments = append(f.Deployments, modelcard.DeploymentFact{ID: d.ID, Environment: d.Environment, Strategy: d.Strategy,
			TrafficPercent: d.TrafficPercent, DeployedBy: d.DeployedBy, DeployedAt: d.DeployedAt, EndedAt: d.EndedAt})
	}
	return f
}

func parsedTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := audit.ParseTime(s)
	if err != nil {
		return nil
	}
	return &t
}

func docRefOf(d *evidence.DocumentRef) *modelcard.DocRef {
	if d == nil {
		return nil
	}
	return &modelcard.DocRef{SHA256: d.SHA256, URI: d.URI, Version: d.Version, Title: d.Title}
}
