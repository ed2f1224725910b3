package modelkeep

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

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

// DeploymentInput describes a rollout to record.
type DeploymentInput struct {
	Environment    string
	Strategy       string
	TrafficPercent *int // 100 when nil
	Replaces       *int
}

// RecordDeployment adds a rollout of a ready staging or production version
// to the ledger. A full rollout (100% of the traffic, not a shadow) ends the
// model's deployments running in that environment.
func (s *Service) RecordDeployment(ctx context.Context, model string, number int, in DeploymentInput) (Deployment, error) {
	if err := validateVersionRef(model, number); err != nil {
		return Deployment{}, err
	}
	if err := ValidateName("environment", in.Environment); err != nil {
		return Deployment{}, err
	}
	if !slices.Contains(DeploymentStrategies, in.Strategy) {
		return Deployment{}, Errorf(ErrInvalid, "strategy %q: want one of %s", in.Strategy, strings.Join(DeploymentStrategies, ", "))
	}
	traffic := 100
	if in.TrafficPercent != nil {
		traffic = *in.TrafficPercent
	}
	if traffic < 0 || traffic > 100 {
		return Deployment{}, Errorf(ErrInvalid, "traffic_percent must be between 0 and 100")
	}
	d := Deployment{
		ID: randomID(), Model: model, Version: number, Environment: in.Environment, Strategy: in.Strategy,
		TrafficPercent: traffic, Replaces: in.Replaces, DeployedBy: ActorName(ctx), DeployedAt: s.Now(),
	}
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		v, err := tx.GetVersion(ctx, model, number)
		if err != nil {
			return err
		}
		if v.Status != StatusReady || (v.Stage != StageStaging && v.Stage != StageProduction) {
			return Errorf(ErrConflict, "version %s/%d is %s in stage %s: only ready versions in staging or production are deployed", model, number, v.Status, v.Stage)
		}
		if in.Replaces != nil {
			if *in.Replaces == number {
				return Errorf(ErrInvalid, "a version does not replace itself")
			}
			if _, err := tx.GetVersion(ctx, model, *in.Replaces); errors.Is(err, ErrNotFound) {
				return Errorf(ErrInvalid, "replaces: version %s/%d does not exist", model, *in.Replaces)
			} else if err != nil {
				return err
			}
		}
		var ended []string
		if traffic == 100 && in.Strategy != "shadow" {
			if ended, err = tx.EndDeployments(ctx, model, in.Environment, d.DeployedAt); err != nil {
				return err
			}
		}
		if err := tx.CreateDeployment(ctx, d); err != nil {
			return err
		}
		if err := tx.AddLineage(ctx, []LineageLink{{From: VersionNode(model, number), To: DeploymentNode(d.ID), Relation: RelationDeployedTo}}); err != nil {
			return err
		}
		return s.record(ctx, tx, "deployment.record", VersionResource(model, number), map[string]any{
			"deployment": d.ID, "environment": d.Environment, "strategy": d.Strategy,
			"traffic_percent": d.TrafficPercent, "replaces": d.Replaces, "ended": ended,
			"manifest_digest": v.ManifestDigest})
	})
	if err != nil {
		return Deployment{}, err
	}
	return d, nil
}

// ListDeploymentsInput selects and pages the ledger.
type ListDeploymentsInput struct {
	Environment string
	Model       string
	At          *time.Time
	PageSize    int
	PageToken   string
}

// ListDeployments reads the ledger, newest first; with At, what was running
// then.
func (s *Service) ListDeployments(ctx context.Context, in ListDeploymentsInput) ([]Deployment, string, error) {
	if err := checkListScope(ctx, in.Model); err != nil {
		return nil, "", err
	}
	var at time.Time
	if in.At != nil {
		at = *in.At
	}
	l := NewListing("listDeployments", in.Environment, in.Model, timeParam(at))
	pg, before, beforeID, err := s.pager.startTimed(l, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	ds, err := s.meta.ListDeployments(ctx, DeploymentFilter{
		Environment: in.Environment, Model: in.Model, At: in.At,
		BeforeDeployedAt: before, BeforeID: beforeID, Limit: pg.limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	ds, next := endPage(pg, ds, func(d Deployment) pageCursor {
		return pageCursor{Name: d.ID, Time: d.DeployedAt.UnixMicro()}
	})
	return ds, next, nil
}
