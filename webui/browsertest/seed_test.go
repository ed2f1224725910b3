package browsertest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/modelcard"
)

// The registry the tests look at: a bank's card fraud model in production
// and its successor waiting for approval, two other models, the datasets
// and runs behind them, deployments, cards and an audit trail with a
// refused call and a signed checkpoint.
const (
	fraudModel     = "fraud-detector"
	trainingSet    = "card-transactions"
	trainingSetV1  = "2026.06"
	trainingSetV2  = "2026.09"
	holdoutSet     = "card-transactions-holdout"
	holdoutSetV1   = "2026.07"
	holdoutSetV2   = "2026.10"
	prodEnv        = "prod-eu"
	stagingEnv     = "staging-eu"
	productionNote = "beats the rules engine on the Q3 holdout"
)

// world is what seed made: who is who, and the ids the tests need.
type world struct {
	training, lead    *client // publishers: the training pipeline, the ML lead
	rita, sam         *client // approvers
	deployer, officer *client // a deploy pipeline; a compliance officer (auditor)
	pendingID         string  // fraud-detector v2's transition into production, requested by rita
	prodDeployment    string  // fraud-detector v1 in prod-eu
}

// seed fills the registry through the API, as the pipelines and people
// would.
func (e *env) seed() *world {
	e.t.Helper()
	w := &world{
		training: e.issue("svc-training", modelkeep.RolePublisher),
		lead:     e.issue("maria.lead", modelkeep.RolePublisher),
		rita:     e.issue("rita.approver", modelkeep.RoleApprover),
		sam:      e.issue("sam.approver", modelkeep.RoleApprover),
		deployer: e.issue("deploy-pipeline", modelkeep.RoleDeployer),
		officer:  e.issue("carol.compliance", modelkeep.RoleAuditor),
	}
	tr, lead := w.training, w.lead

	lead.call("POST", "/api/v1/models", map[string]any{"name": fraudModel, "description": "Card fraud scoring for online payments",
		"tags": map[string]string{"team": "risk", "risk": "high"}}, http.StatusCreated, nil)
	lead.call("POST", "/api/v1/models", map[string]any{"name": "credit-limits", "description": "Credit limit bands for new card applicants",
		"tags": map[string]string{"team": "risk", "risk": "high"}}, http.StatusCreated, nil)
	lead.call("POST", "/api/v1/models", map[string]any{"name": "churn-predictor", "description": "Which customers may leave within 90 days",
		"tags": map[string]string{"team": "growth"}}, http.StatusCreated, nil)
	w.rita.call("PUT", "/api/v1/models/"+fraudModel+"/policy", map[string]any{
		"required_approvals": 1,
		"metric_gates":       []any{map[string]any{"key": "auc", "op": ">=", "threshold": 0.9, "dataset": holdoutSet, "split": "test"}},
		"protected_aliases":  []string{"champion"},
	}, http.StatusOK, nil)
	lead.call("PUT", "/api/v1/models/"+fraudModel+"/card", modelcard.Card{
		ModelDetails: &modelcard.ModelDetails{Developers: "Risk analytics, Hansa Kreditbank", ModelType: "Gradient-boosted trees", Contact: "risk-ml@bank.example"},
		IntendedUse: &modelcard.IntendedUse{PrimaryUses: "Score card-not-present payments for fraud before authorisation",
			PrimaryUsers: "The payments platform; fraud analysts review the flagged payments", OutOfScopeUses: "Credit decisions"},
		EthicalConsiderations: "False positives block legitimate payments; the threshold is reviewed monthly.",
	}, http.StatusOK, nil)

	for _, d := range []struct{ name, version, uri, license string }{
		{trainingSet, trainingSetV1, "s3://datalake/card-transactions/2026-06/", "internal"},
		{trainingSet, trainingSetV2, "s3://datalake/card-transactions/2026-09/", "internal"},
		{holdoutSet, holdoutSetV1, "s3://datalake/card-transactions-holdout/2026-07/", "internal"},
		{holdoutSet, holdoutSetV2, "s3://datalake/card-transactions-holdout/2026-10/", "internal"},
	} {
		tr.call("POST", "/api/v1/datasets", map[string]any{"name": d.name, "version": d.version, "uri": d.uri, "license": d.license,
			"sha256": digest(d.name + "@" + d.version), "size": 48_000_000_000, "description": "Card payments with chargeback labels"},
			http.StatusCreated, nil)
	}

	// Version 1: trained, approved into production, deployed.
	start := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	e.trainingRun(tr, "train-fd-41", start, strings.Repeat("a1", 20), trainingSetV1, holdoutSetV1)
	v1 := e.version(tr, fraudModel, map[string]any{
		"description": "Gradient-boosted trees on the June transactions",
		"tags":        map[string]string{"framework": "lightgbm"},
		"params":      map[string]string{"learning_rate": "0.05", "num_trees": "600"},
		"source":      map[string]any{"run_id": "train-fd-41", "git_commit": strings.Repeat("a1", 20)},
		"datasets": []any{
			map[string]any{"name": trainingSet, "version": trainingSetV1, "role": "training"},
			map[string]any{"name": holdoutSet, "version": holdoutSetV1, "role": "test"},
		},
	}, 0.91, 0.41)
	lead.call("PUT", versionPath(fraudModel, v1)+"/card", modelcard.Card{Version: &modelcard.VersionInfo{
		Task: "binary-classification", ChangeSummary: "First model to replace the rules engine",
		Architecture: "LightGBM, 600 trees of 63 leaves", Approach: "supervised",
	}}, http.StatusOK, nil)
	var req struct{ ID string }
	lead.call("POST", versionPath(fraudModel, v1)+"/transitions", map[string]any{"to": "production", "comment": productionNote}, http.StatusCreated, &req)
	w.rita.call("POST", "/api/v1/transitions/"+req.ID+"/approve", map[string]any{"comment": "gates pass; reviewed the card"}, http.StatusOK, nil)
	var dep struct{ ID string }
	w.deployer.call("POST", versionPath(fraudModel, v1)+"/deployments", map[string]any{"environment": prodEnv, "strategy": "blue_green"}, http.StatusCreated, &dep)
	w.prodDeployment = dep.ID

	// Version 2: retrained on newer data, in staging, shadowing
	// production, its move to production requested by rita.
	e.trainingRun(tr, "train-fd-42", start.Add(48*time.Hour), strings.Repeat("b2", 20), trainingSetV2, holdoutSetV2)
	v2 := e.version(tr, fraudModel, map[string]any{
		"description": "Retrained on the September transactions; adds merchant-category features",
		"tags":        map[string]string{"framework": "lightgbm"},
		"params":      map[string]string{"learning_rate": "0.04", "num_trees": "800"},
		"source":      map[string]any{"run_id": "train-fd-42", "git_commit": strings.Repeat("b2", 20)},
		"parent":      map[string]any{"model": fraudModel, "version": v1},
		"datasets": []any{
			map[string]any{"name": trainingSet, "version": trainingSetV2, "role": "training"},
			map[string]any{"name": holdoutSet, "version": holdoutSetV2, "role": "test"},
		},
	}, 0.94, 0.33)
	w.rita.call("POST", versionPath(fraudModel, v2)+"/transitions", map[string]any{"to": "staging", "comment": "shadow it in staging"}, http.StatusCreated, nil)
	w.deployer.call("POST", versionPath(fraudModel, v2)+"/deployments", map[string]any{"environment": stagingEnv, "strategy": "shadow", "traffic_percent": 100}, http.StatusCreated, nil)
	w.rita.call("POST", versionPath(fraudModel, v2)+"/transitions", map[string]any{"to": "production", "comment": "two weeks of shadow traffic, fewer false positives"}, http.StatusCreated, &req)
	w.pendingID = req.ID
	// A deploy pipeline may not approve: a refused call, in the trail.
	w.deployer.call("POST", "/api/v1/transitions/"+w.pendingID+"/approve", map[string]any{"comment": "ship it"}, http.StatusForbidden, nil)

	// The other models.
	e.version(tr, "credit-limits", map[string]any{"description": "Monotone trees over bureau features", "source": map[string]any{"run_id": "train-cl-7"}}, 0.81, 0.52)
	tr.call("POST", "/api/v1/models/churn-predictor/versions", map[string]any{"description": "still uploading"}, http.StatusCreated, nil)

	e.admin.call("POST", "/api/v1/audit/checkpoints", nil, http.StatusCreated, nil)
	return w
}

// trainingRun registers a training run of a commit that read two dataset
// versions.
func (e *env) trainingRun(c *client, id string, start time.Time, commit, training, holdout string) {
	e.t.Helper()
	c.call("POST", "/api/v1/runs", map[string]any{
		"run_id": id, "kind": "training", "started_at": start.Format(time.RFC3339), "ended_at": start.Add(95 * time.Minute).Format(time.RFC3339),
		"code_ref":    map[string]any{"repo": "https://git.bank.example/risk/fraud-detector", "commit": commit},
		"parameters":  map[string]any{"learning_rate": "0.05", "num_leaves": "63"},
		"environment": map[string]any{"framework": "lightgbm", "framework_version": "4.3.0", "hardware": "16 vCPU, 64 GiB"},
		"inputs": []any{
			map[string]any{"name": trainingSet, "version": training, "role": "training"},
			map[string]any{"name": holdoutSet, "version": holdout, "role": "test"},
		},
	}, http.StatusCreated, nil)
}

// version creates a version with two files and its training curves (loss
// and AUC over ten steps, ending at auc and loss), and finalizes it.
func (e *env) version(c *client, model string, body map[string]any, auc, loss float64) int {
	e.t.Helper()
	var v struct{ Version int }
	c.call("POST", "/api/v1/models/"+model+"/versions", body, http.StatusCreated, &v)
	base := versionPath(model, v.Version)
	files := map[string][]byte{
		"weights/model.safetensors": []byte(strings.Repeat(fmt.Sprintf("weights of %s v%d\n", model, v.Version), 2000)),
		"config.json":               []byte(`{"objective":"binary","num_leaves":63}`),
	}
	for path, content := range files {
		c.call("PUT", base+"/files/"+path, content, http.StatusCreated, nil, "X-Checksum-Sha256", sha256Hex(content))
	}
	var points []any
	for step := range 10 {
		f := float64(step) / 9
		points = append(points,
			map[string]any{"key": "loss", "value": round(loss + 0.4*math.Exp(-3*f)), "step": step, "split": "train"},
			map[string]any{"key": "auc", "value": round(auc - 0.12*math.Exp(-3*f)), "step": step, "split": "validation"})
	}
	points = append(points, map[string]any{"key": "auc", "value": auc, "step": 9, "dataset": holdoutSet, "split": "test"})
	c.call("POST", base+"/metrics", map[string]any{"metrics": points}, http.StatusCreated, nil)
	c.call("POST", base+"/finalize", nil, http.StatusOK, nil)
	return v.Version
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// digest is a stand-in SHA-256 for data the tests do not hold.
func digest(name string) string { return sha256Hex([]byte(name)) }
