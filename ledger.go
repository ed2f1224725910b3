package modelkeep

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
		ID: newUploadID(), Model: model, Version: number, Environment: in.Environment, Strategy: in.Strategy,
		TrafficPercent: traffic, Replaces: in.Replaces, DeployedBy: actorName(ctx), DeployedAt: s.Now(),
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
		return s.audit(ctx, tx, "deployment.record", versionResource(model, number), map[string]any{
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
	limit, before, beforeID, err := startTimedPage(in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	ds, err := s.meta.ListDeployments(ctx, DeploymentFilter{
		Environment: in.Environment, Model: in.Model, At: in.At,
		BeforeDeployedAt: before, BeforeID: beforeID, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	ds, next := endPage(ds, limit, func(d Deployment) pageCursor {
		return pageCursor{Name: d.ID, Time: d.DeployedAt.UnixMicro()}
	})
	return ds, next, nil
}

// MaxMetricsPerCall bounds one LogMetrics call.
const MaxMetricsPerCall = 1000

// LogMetrics records metric points of a version, pending or ready
// (evaluation and production monitoring go on after release).
func (s *Service) LogMetrics(ctx context.Context, model string, number int, metrics []Metric) ([]Metric, error) {
	if err := validateVersionRef(model, number); err != nil {
		return nil, err
	}
	if len(metrics) == 0 || len(metrics) > MaxMetricsPerCall {
		return nil, Errorf(ErrInvalid, "send 1 to %d metrics", MaxMetricsPerCall)
	}
	now := s.Now()
	keys := map[string]bool{}
	for i := range metrics {
		m := &metrics[i]
		if err := ValidateMetricKey(fmt.Sprintf("metrics[%d].key", i), m.Key); err != nil {
			return nil, err
		}
		switch {
		case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
			return nil, Errorf(ErrInvalid, "metrics[%d]: value must be a finite number", i)
		case m.Step < 0:
			return nil, Errorf(ErrInvalid, "metrics[%d]: step must not be negative", i)
		case len(m.Dataset) > 255 || len(m.Split) > 64 || len(m.Environment) > 128:
			return nil, Errorf(ErrInvalid, "metrics[%d]: dataset, split or environment too long", i)
		}
		if m.Timestamp.IsZero() {
			m.Timestamp = now
		}
		m.Timestamp = m.Timestamp.UTC().Truncate(time.Microsecond)
		m.RecordedBy = actorName(ctx)
		keys[m.Key] = true
	}
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		// AddMetrics says ErrNotFound for a missing model or version.
		if err := tx.AddMetrics(ctx, model, number, metrics); err != nil {
			return err
		}
		return s.audit(ctx, tx, "metrics.log", versionResource(model, number), map[string]any{
			"count": len(metrics), "keys": slices.Sorted(maps.Keys(keys))})
	})
	if err != nil {
		return nil, err
	}
	return metrics, nil
}

// ListMetricsInput selects and pages a version's metric points.
type ListMetricsInput struct {
	Key       string // "" for every key
	PageSize  int
	PageToken string
}

// ListMetrics returns a page of a version's metric points (of one key when
// in.Key is not ""), ordered by key, step, timestamp and then the order of
// recording; the second result is the next page token ("" on the last
// page). The token is a point's position in that order, so points recorded
// meanwhile are listed when they sort after it and never repeat any.
func (s *Service) ListMetrics(ctx context.Context, model string, number int, in ListMetricsInput) ([]Metric, string, error) {
	if err := validateVersionRef(model, number); err != nil {
		return nil, "", err
	}
	if in.Key != "" {
		if err := ValidateMetricKey("key", in.Key); err != nil {
			return nil, "", err
		}
	}
	limit, cur, err := startPage(in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	f := MetricFilter{Model: model, Number: number, Key: in.Key, Limit: limit + 1}
	// A token names a point of one version's listing with or without one key.
	sum := listingSum("metrics", model, strconv.Itoa(number), in.Key)
	if in.PageToken != "" {
		// Every listed point has a key, a step >= 0 and a Seq >= 1.
		if cur.Name == "" || cur.Num < 0 || cur.Seq < 1 {
			return nil, "", Errorf(ErrInvalid, "invalid page_token")
		}
		if err := checkListing(cur, sum); err != nil {
			return nil, "", err
		}
		ts, err := cursorTime(cur.Time)
		if err != nil {
			return nil, "", err
		}
		f.After = &Metric{Key: cur.Name, Step: cur.Num, Timestamp: ts, Seq: cur.Seq}
	}
	// ListMetricsPage says ErrNotFound for a missing model or version.
	ms, err := s.meta.ListMetricsPage(ctx, f)
	if err != nil {
		return nil, "", err
	}
	ms, next := endPage(ms, limit, func(m Metric) pageCursor {
		return pageCursor{Name: m.Key, Num: m.Step, Time: m.Timestamp.UnixMicro(), Seq: m.Seq, Query: sum}
	})
	return ms, next, nil
}
