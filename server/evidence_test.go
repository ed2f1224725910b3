package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/evidence"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/modelcard"
	"github.com/modelkeep/modelkeep/server"
)

// The high-risk example: a bank's credit-limit model. Annex III point 5(b)
// covers evaluating the creditworthiness of natural persons (fraud
// detection, which 5(b) excludes, would not be high-risk).
const creditModel = "credit-limit-scorer"

// example is the people and records of the high-risk example.
type example struct {
	admin, pipeline, lead, validator, officer, deployer *env
	version                                             int
	versionPath                                         string
	docs                                                map[string]document
	card                                                modelcard.Card // the version's card as written
}

// bodyOf checks the status and returns the body as it came.
func (e *env) bodyOf(resp *http.Response, status int) []byte {
	e.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	return body
}

// doc uploads a document (once per title) and returns the card's
// reference to it: the digest alone; the server completes the rest.
func (x *example) doc(kind, title string) *modelcard.DocRef {
	d, ok := x.docs[title]
	if !ok {
		d = x.lead.uploadDocument(kind, title, "1.0", []byte("The document "+title+", version 1.0, of Hansa Kreditbank AG."))
		x.docs[title] = d
	}
	return &modelcard.DocRef{SHA256: d.SHA256}
}

func ptr[T any](v T) *T { return &v }

// systemCard is the model-level card: what belongs to the AI system.
func (x *example) systemCard() modelcard.Card {
	var qms []modelcard.QMSDocument
	for _, aspect := range modelcard.QMSAspects {
		qms = append(qms, modelcard.QMSDocument{Aspect: aspect, Doc: *x.doc("qms_procedure", "QMS procedure, Art. 17(1)("+aspect+")")})
	}
	return modelcard.Card{
		ModelDetails: &modelcard.ModelDetails{Developers: "Hansa Kreditbank AG, Credit Risk Modelling", ModelType: "gradient-boosted decision trees",
			Contact: "credit-models@hansa-kredit.example"},
		IntendedUse: &modelcard.IntendedUse{PrimaryUses: "Propose the credit limit of a retail credit card at application and at the quarterly review.",
			PrimaryUsers: "Credit officers of the retail bank", OutOfScopeUses: "Mortgage lending; business customers"},
		Provider: &modelcard.Provider{Name: "Hansa Kreditbank AG", LegalAddress: "Ballindamm 7, 20095 Hamburg, Germany",
			Contact: &modelcard.Contact{Email: "ai-compliance@hansa-kredit.example"}, EstablishedInEU: ptr(true)},
		System: &modelcard.System{
			Name: "Retail credit limit decisioning", RiskClass: modelcard.RiskHighRisk, AnnexIIIPoint: "5(b)",
			IntendedPurpose:          "Evaluate the creditworthiness of retail credit card applicants and holders to propose a credit limit that a credit officer confirms.",
			IntendedUsers:            []string{"credit officers", "card origination platform"},
			AffectedPersons:          []string{"credit card applicants", "credit card holders"},
			RelevantGroups:           []string{"applicants aged 18-24", "applicants aged 65 and over", "applicants with a thin credit file"},
			ForeseeableMisuse:        []string{"using the proposed limit without a credit officer's review", "using the score for marketing"},
			InteractingSystems:       []modelcard.InteractingSystem{{Name: "Card origination platform", Interface: "REST /score", Direction: "inbound"}},
			SoftwareDependencies:     []modelcard.SoftwareDependency{{Name: "LightGBM", Version: "4.3.0"}, {Name: "Python", Version: "3.12.3"}},
			UpdateRequirements:       "A new version is deployed from the registry; the serving image does not change.",
			MarketForms:              []string{"in-house use (put into service)"},
			TargetHardware:           "x86-64, 2 vCPU and 4 GiB per scoring pod",
			UIDescription:            "Credit officers see the proposed limit, its five main reasons and the applicant's file in the origination screen.",
			InstructionsForUse:       x.doc("instructions_for_use", "Instructions for use: retail credit limit decisioning"),
			ComputeRequirements:      "p99 latency under 100 ms at 50 requests per second",
			ExpectedLifetime:         "12 months per version",
			Maintenance:              &modelcard.Maintenance{Measures: "Monthly drift review; yearly retraining", Frequency: "monthly"},
			LogAccessDescription:     "Credit officers and internal audit read the decision log in the credit data warehouse.",
			PlacedOnMarketAt:         "2026-10-01T00:00:00Z",
			Architecture:             x.doc("architecture", "Architecture of retail credit limit decisioning"),
			EUDatabaseRegistrationID: "EUDB-HR-2026-008150",
			DocumentationForm:        "full",
			FinancialRetentionPolicy: "Logs and documentation are kept with the bank's internal governance records under Directive 2013/36/EU for 10 years.",
		},
		Applicability: &modelcard.Applicability{
			SMESimplifiedForm: ptr(false), AnnexIProduct: ptr(false), ProductComponent: ptr(false), PredeterminedChanges: ptr(true),
			RemoteBiometricIdentification: ptr(false), NotifiedBody: ptr(false), FinancialInstitution: ptr(true),
			DeployerManagedByRegistry: ptr(true), GenerativeAI: ptr(false),
		},
		RiskManagement: &modelcard.RiskManagement{
			RMSDoc: x.doc("risk_management", "Risk management file: retail credit limits"),
			Risks: []modelcard.Risk{
				{ID: "R1", Hazard: "Lower limits for young applicants without a credit reason", Affected: []string{"applicants aged 18-24"},
					AffectedRights: []string{"non-discrimination"}, Mitigation: "Approval rate ratio per age band as a release gate",
					ResidualRisk: "Low: ratio 0.93 within 0.8 to 1.25", Status: "mitigated"},
				{ID: "R2", Hazard: "The proposed limit is applied without review", Affected: []string{"credit card holders"},
					AffectedRights: []string{"access to credit"}, Mitigation: "The origination platform requires an officer's confirmation",
					ResidualRisk: "Low", Status: "mitigated"},
			},
		},
		HumanOversight: &modelcard.HumanOversight{
			Assessment: x.doc("human_oversight_assessment", "Human oversight assessment: credit limits"),
			Measures: []modelcard.OversightMeasure{
				{ID: "HO1", Kind: "built_in", Capability: "understand", Description: "Dashboard of limit distributions and drift", MitigatesRiskIDs: []string{"R1"}},
				{ID: "HO2", Kind: "deployer", Capability: "automation_bias", Description: "Yearly training of credit officers on automation bias", MitigatesRiskIDs: []string{"R2"}},
				{ID: "HO3", Kind: "built_in", Capability: "interpret", Description: "Five reason codes per proposal", MitigatesRiskIDs: []string{"R1", "R2"}},
				{ID: "HO4", Kind: "built_in", Capability: "override", Description: "Officers set any limit and record why", MitigatesRiskIDs: []string{"R2"}},
				{ID: "HO5", Kind: "built_in", Capability: "stop", Description: "Switch back to the rule-based limit table"},
			},
			InterpretationTools: []string{"reason codes", "calibration chart"},
		},
		Cybersecurity: &modelcard.Cybersecurity{
			Measures: []string{"Model files checked against the manifest digest at load", "Four-eyes promotion in the registry"},
			Threats: []modelcard.Threat{
				{Class: "data_poisoning", Measure: "Training data only from the bank's own ledger; dataset digests pinned"},
				{Class: "model_poisoning", Measure: "Manifest digest checked at deployment"},
				{Class: "adversarial_examples", Measure: "Input ranges enforced; manipulation tests each release"},
				{Class: "confidentiality", Measure: "Scores only returned to the origination platform"},
				{Class: "model_flaws", Measure: "Independent validation unit reviews each release"},
			},
		},
		Logging: &modelcard.Logging{
			EventsRecorded: []modelcard.LoggedEvent{{Type: "limit.proposed", Purpose: "operation"}, {Type: "limit.overridden", Purpose: "risk"},
				{Type: "drift.alert", Purpose: "pmm"}, {Type: "model.version_change", Purpose: "substantial_modification"}},
			Format: "JSON lines, schema credit-decision-log v2", DeployerAccess: "Read access for credit officers and internal audit",
		},
		StandardsApplied:        []modelcard.Standard{{Ref: "ISO/IEC 23894:2023", Title: "AI: guidance on risk management", Extent: "full"}},
		DeclarationOfConformity: &modelcard.Declaration{Doc: x.doc("declaration_of_conformity", "EU declaration of conformity: credit limits"), Date: "2026-09-20", Signatory: "Chief Risk Officer"},
		QMS:                     &modelcard.QMS{Documents: qms, ProportionalityNote: "Part of the bank's internal governance under Directive 2013/36/EU (Art. 17(4))."},
		PostMarketMonitoring: &modelcard.PostMarketMonitoring{
			Plan:    x.doc("post_market_monitoring_plan", "Post-market monitoring plan: credit limits"),
			Signals: []string{"approval rate per age band", "officer override rate"}, Thresholds: []string{"override rate above 20 %"},
			ReviewFrequency: "monthly",
		},
		Incidents: []modelcard.Incident{{ID: "INC-2026-07", Description: "Limits proposed from a stale bureau feed for two hours",
			Severity: "serious", DetectedAt: "2026-10-12T07:00:00Z", ReportedAt: "2026-10-14T09:00:00Z", Authority: "BaFin"}},
	}
}

// versionCard is what the version adds: how it was built and what it
// declares, each metric with the run and dataset version behind it.
func (x *example) versionCard() modelcard.Card {
	declared := func(key, category string, slice *modelcard.Slice, run string, threshold float64, higher bool) modelcard.DeclaredMetric {
		return modelcard.DeclaredMetric{Key: key, Dataset: "credit-applications-holdout", DatasetVersion: "2026.08", Split: "test", RunID: run,
			Category: category, Slice: slice, DeclaredInIFU: true, Rationale: "What the instructions for use promise for " + key,
			Unit: "ratio", HigherIsBetter: ptr(higher), Threshold: ptr(threshold), MethodRef: "Validation procedure MV-2 section 4"}
	}
	return modelcard.Card{
		Version: &modelcard.VersionInfo{
			Task: "tabular-regression", ChangeSummary: "Retrained on applications up to June 2026; added the income stability features.",
			SubstantialModification: ptr(false),
			PredeterminedChanges: []modelcard.PredeterminedChange{{Description: "Yearly retraining on a rolling 36-month window",
				Bounds: "AUC within 0.02 of this version", RetrainingTrigger: "12 months or PSI above 0.2", ValidationProtocol: "MV-2"}},
			Architecture: "LightGBM, 800 trees of 31 leaves, monotone in income", Approach: "supervised",
			DesignChoices: "Trees with monotone constraints, for explainable and stable limits", OptimisationObjective: "Binary log-loss of default in 12 months",
			ExpectedOutput: "A probability of default and the limit band it maps to", Tradeoffs: "Stricter bands lower defaults and approval rates",
			Inputs:                 []modelcard.IOSpec{{Name: "application", Format: "application/json", Spec: "credit-features v5, 84 features"}},
			Outputs:                []modelcard.IOSpec{{Name: "limit_band", Format: "string", Interpretation: "band A (highest) to E; E means refer"}},
			Explainability:         &modelcard.Explainability{Methods: []string{"TreeSHAP reason codes"}},
			PerformanceLimitations: []string{"Less accurate for applicants with under 6 months of history"},
			ContinualLearning:      ptr(false),
		},
		Datasets: []modelcard.DatasetGovernance{{
			Name: "credit-applications", Version: "2026.07",
			Provenance: "Retail card applications of Hansa Kreditbank, 2023-07 to 2026-06", CollectionProcess: "Exported from the origination platform",
			SelectionCriteria: "Completed applications of natural persons", LabellingProcedure: "Default within 12 months from the ledger",
			CleaningMethods: "Duplicates removed; 0.2 % incomplete records dropped", Preprocessing: "credit-features v5",
			Assumptions: "The next year's applicants resemble the last three years'", Suitability: "Covers every product and channel scored",
			Representativeness: "Age bands and regions within 1 point of the applicant population",
			KnownBiases:        "Fewer young applicants with long histories", BiasMitigation: "Age not used as a feature; reweighting by age band",
			DataGaps: "Few applicants over 80", ContainsPersonalData: ptr(true), SpecialCategoriesUsed: ptr(false),
		}},
		DeclaredMetrics: []modelcard.DeclaredMetric{
			declared("auc", modelcard.CategoryAccuracy, nil, "eval-7", 0.78, true),
			declared("approval_rate_ratio_18_24", modelcard.CategoryFairness, &modelcard.Slice{Attribute: "age_band", Value: "18-24"}, "fair-7", 0.8, true),
			declared("approval_rate_ratio_65_plus", modelcard.CategoryFairness, &modelcard.Slice{Attribute: "age_band", Value: "65+"}, "fair-7", 0.8, true),
			declared("auc_under_noise", modelcard.CategoryRobustness, nil, "rob-7", 0.75, true),
		},
	}
}

// run posts a test run of the version with its signed report.
func (x *example) testRun(id, kind string, report, log document) {
	now := time.Now().UTC()
	x.pipeline.expect(x.pipeline.do("POST", "/api/v1/runs", map[string]any{
		"run_id": id, "kind": kind, "started_at": now.Format(time.RFC3339Nano), "ended_at": now.Add(time.Second).Format(time.RFC3339Nano),
		"subject":  map[string]any{"model": creditModel, "version": x.version},
		"inputs":   []any{map[string]any{"name": "credit-applications-holdout", "version": "2026.08", "role": "test"}},
		"compute":  map[string]any{"hardware": "2 vCPU validation runner"},
		"code_ref": map[string]any{"repo": "https://git.hansa-kredit.example/credit/limits", "commit": strings.Repeat("c", 40)},
		"test_log": log.ID, "report": report.ID,
	}), http.StatusCreated, nil)
	x.validator.expect(x.validator.do("POST", "/api/v1/documents/"+report.ID+"/signoffs", map[string]any{"comment": kind + " results reviewed"}),
		http.StatusCreated, nil)
}

// metric records metric points of the version.
func (x *example) metrics(points ...map[string]any) {
	x.pipeline.expect(x.pipeline.do("POST", x.versionPath+"/metrics", map[string]any{"metrics": points}), http.StatusCreated, nil)
}

func point(key string, value float64, run string) map[string]any {
	return map[string]any{"key": key, "value": value, "dataset": "credit-applications-holdout", "dataset_version": "2026.08", "split": "test", "run_id": run}
}

// buildExample registers the model, its card, a version trained by a
// pipeline, its test runs with signed reports and their metrics; with
// complete false the system card leaves out oversight, cybersecurity,
// logging and the QMS.
func buildExample(t *testing.T, admin *env, complete bool) *example {
	x := &example{admin: admin, docs: map[string]document{},
		pipeline:  admin.as(admin.issue("svc-training", []string{"publisher"})),
		lead:      admin.as(admin.issue("ml-lead", []string{"publisher"})),
		validator: admin.as(admin.issue("head-of-validation", []string{"approver"})),
		officer:   admin.as(admin.issue("compliance-officer", []string{"auditor"})),
		deployer:  admin.as(admin.issue("deploy-pipeline", []string{"deployer"})),
	}
	x.lead.mustCreateModel(creditModel)
	x.validator.expect(x.validator.do("PUT", "/api/v1/models/"+creditModel+"/policy",
		map[string]any{"required_approvals": 1, "require_evidence": true}), http.StatusOK, nil)
	system := x.systemCard()
	if !complete {
		system.HumanOversight, system.Cybersecurity, system.Logging, system.QMS = nil, nil, nil, nil
	}
	x.lead.expect(x.lead.do("PUT", "/api/v1/models/"+creditModel+"/card", system), http.StatusOK, nil)

	// The training pipeline: its run, then the version it produced.
	trainStart := time.Now().UTC().Add(-2 * time.Hour)
	training := map[string]any{
		"run_id": "train-7", "kind": "training", "started_at": trainStart.Format(time.RFC3339), "ended_at": trainStart.Add(time.Hour).Format(time.RFC3339),
		"code_ref":    map[string]any{"repo": "https://git.hansa-kredit.example/credit/limits", "commit": strings.Repeat("a", 40)},
		"parameters":  map[string]any{"num_trees": "800", "num_leaves": "31", "learning_rate": "0.05"},
		"environment": map[string]any{"framework": "lightgbm", "framework_version": "4.3.0", "libraries": map[string]any{"numpy": "2.1.0"}, "hardware": "16 vCPU"},
		"compute":     map[string]any{"hardware": "16 vCPU", "device_hours": 1.0},
		"inputs":      []any{map[string]any{"name": "credit-applications", "version": "2026.07", "role": "training"}},
	}
	x.pipeline.expect(x.pipeline.do("POST", "/api/v1/runs", training), http.StatusCreated, nil)
	x.version = x.pipeline.readyVersion(creditModel, map[string]any{
		"description": "credit limits, retrained 2026-07",
		"source":      map[string]any{"run_id": "train-7", "git_commit": strings.Repeat("a", 40)},
		"datasets": []any{
			map[string]any{"name": "credit-applications", "version": "2026.07", "role": "training", "sha256": sha256Hex([]byte("applications 2026.07"))},
			map[string]any{"name": "credit-applications-holdout", "version": "2026.08", "role": "test", "sha256": sha256Hex([]byte("holdout 2026.08"))},
		},
	})
	x.versionPath = fmt.Sprintf("/api/v1/models/%s/versions/%d", creditModel, x.version)
	var v struct {
		ManifestDigest string `json:"manifest_digest"`
	}
	x.pipeline.expect(x.pipeline.do("GET", x.versionPath, nil), http.StatusOK, &v)
	x.pipeline.expect(x.pipeline.do("POST", "/api/v1/runs", map[string]any{"run_id": "train-7", "output_artifact_sha256": v.ManifestDigest}), http.StatusOK, nil)

	// The version's card declares its metrics and thresholds before the
	// test runs start (Art. 9(6)).
	x.card = x.versionCard()
	x.lead.expect(x.lead.do("PUT", x.versionPath+"/card", x.card), http.StatusOK, nil)
	time.Sleep(5 * time.Millisecond)
	for _, r := range []struct{ id, kind string }{{"eval-7", "evaluation"}, {"rob-7", "robustness"}, {"fair-7", "fairness"}, {"sec-7", "security"}} {
		report := x.lead.uploadDocument("test_report", r.kind+" report of version 7", "1.0", []byte(r.kind+" report: all thresholds met"))
		log := x.lead.uploadDocument("test_log", r.kind+" log of version 7", "1.0", []byte(r.kind+" log: 10,000 cases"))
		x.testRun(r.id, r.kind, report, log)
	}
	x.metrics(point("auc", 0.812, "eval-7"), point("approval_rate_ratio_18_24", 0.93, "fair-7"),
		point("approval_rate_ratio_65_plus", 0.97, "fair-7"), point("auc_under_noise", 0.79, "rob-7"))
	return x
}

// promote asks for production as the lead and approves as the validator.
func (x *example) promote() *http.Response {
	tr := x.lead.requestTransition(creditModel, x.version, "production")
	return x.validator.do("POST", "/api/v1/transitions/"+tr.ID+"/approve", map[string]any{"comment": "validation MV-2 passed"})
}

// deployAndMonitor records the production deployment and a monitoring run
// of it with production metrics.
func (x *example) deployAndMonitor() {
	var d struct{ ID string }
	x.deployer.expect(x.deployer.do("POST", x.versionPath+"/deployments", map[string]any{"environment": "prod-eu", "strategy": "blue_green"}),
		http.StatusCreated, &d)
	now := time.Now().UTC()
	x.pipeline.expect(x.pipeline.do("POST", "/api/v1/runs", map[string]any{
		"run_id": "mon-7-w1", "kind": "monitoring", "started_at": now.Format(time.RFC3339Nano), "ended_at": now.Add(time.Second).Format(time.RFC3339Nano),
		"subject": map[string]any{"model": creditModel, "version": x.version}, "deployment_id": d.ID,
	}), http.StatusCreated, nil)
	x.metrics(map[string]any{"key": "approval_rate_ratio_18_24", "value": 0.91, "split": "production", "environment": "prod-eu", "run_id": "mon-7-w1"})
}

// coverage is the answer of GET .../evidence/coverage.
type coverage struct {
	RiskClass string `json:"risk_class"`
	Summary   struct {
		Applicable, Present, Missing int
		NotApplicable                int      `json:"not_applicable"`
		MissingRows                  []string `json:"missing_rows"`
	}
	Coverage []struct {
		RowID      string `json:"row_id"`
		Status     string
		PostMarket bool `json:"post_market"`
	}
}

func (x *example) coverage(t *testing.T) coverage {
	var c coverage
	x.lead.on(t).expect(x.lead.do("GET", x.versionPath+"/evidence/coverage", nil), http.StatusOK, &c)
	return c
}

func (c coverage) rows(status string) []string {
	var out []string
	for _, it := range c.Coverage {
		if it.Status == status {
			out = append(out, it.RowID)
		}
	}
	sort.Strings(out)
	return out
}

// TestEvidencePackComplete builds the complete high-risk example through
// the API and checks its evidence pack: every applicable row present (the
// rest not applicable by the card's answers), four eyes, the audit
// segments, the published schema, the archive, and the offline check
// passing and failing, naming the cause, after any single changed byte.
func TestEvidencePackComplete(t *testing.T) {
	forEachBackendStores(t, func(t *testing.T, database, blobs string) {
		locked := strings.HasPrefix(blobs, "s3://")
		if locked {
			blobs = testenv.S3LockedBucket(t)
		}
		admin := startEnv(t, database, blobs)
		x := buildExample(t, admin, true)

		// Before release only the rows evidenced after it are missing.
		before := x.coverage(t)
		if got, want := before.rows(evidence.StatusMissing), []string{"A26-6", "A72-2"}; !slices.Equal(got, want) {
			t.Fatalf("missing before release: %v, want %v", got, want)
		}
		x.admin.expect(x.promote(), http.StatusOK, nil)
		x.deployAndMonitor()

		after := x.coverage(t)
		if missing := after.rows(evidence.StatusMissing); len(missing) != 0 {
			t.Fatalf("rows missing from the complete example: %v", missing)
		}
		// Not applicable only where the card answers that the condition
		// does not hold (no remote biometric identification, no notified
		// body, no Annex I product, ...).
		wantNA := []string{"A11-1-SME", "A11-2", "A12-3a", "A12-3b", "A12-3c", "A12-3d", "A14-5", "A18-1c", "A18-1d", "A72-4", "AIV-1f"}
		if got := after.rows(evidence.StatusNotApplicable); !isSubset(got, append(wantNA, "A50-2")) || !isSubset(wantNA, got) {
			t.Errorf("not applicable rows %v, want %v", got, wantNA)
		}
		if after.RiskClass != "high-risk" || after.Summary.Present+after.Summary.NotApplicable != after.Summary.Applicable || after.Summary.Present < 90 {
			t.Errorf("summary %+v", after.Summary)
		}
		t.Logf("coverage after release: %d applicable rows, %d present, %d not applicable by the card's answers", after.Summary.Applicable, after.Summary.Present, after.Summary.NotApplicable)

		resp := x.officer.do("GET", x.versionPath+"/evidence", nil)
		packID := resp.Header.Get("X-Evidence-Pack-Id")
		file := x.officer.bodyOf(resp, http.StatusOK)
		var pack evidence.Pack
		if err := json.Unmarshal(file, &pack); err != nil {
			t.Fatal(err)
		}
		t.Run("every applicable row is present", func(t *testing.T) {
			for _, it := range pack.Coverage {
				switch it.Status {
				case evidence.StatusPresent:
					if len(it.EvidencePaths) == 0 {
						t.Errorf("%s is present with no evidence paths", it.RowID)
					}
				case evidence.StatusNotApplicable:
					if !slices.Contains(wantNA, it.RowID) && it.RowID != "A50-2" {
						t.Errorf("%s is not applicable", it.RowID)
					}
				default:
					t.Errorf("%s is %s", it.RowID, it.Status)
				}
			}
			// The applicability answers are the model card's: each entry
			// names that revision's audit event, which the pack carries.
			events := map[int64]evidence.AuditEvent{}
			for _, s := range pack.Audit.Segments {
				for _, e := range s.Events {
					events[e.Seq] = e
				}
			}
			for _, na := range pack.NotApplicable {
				if na.Justification == "" || na.EnteredBy != "ml-lead" || na.EnteredAt == "" {
					t.Errorf("not applicable without who, when and why: %+v", na)
				}
				if e, ok := events[na.AuditEventID]; !ok || e.Action != "card.update" || e.Resource != "models/"+creditModel+"/card" {
					t.Errorf("%s: audit event %d is %+v, want the model card's update in the pack", na.RowID, na.AuditEventID, e)
				}
			}
			if pack.Summary.Missing != 0 || len(pack.Coverage) != pack.Summary.Applicable {
				t.Errorf("summary %+v for %d items", pack.Summary, len(pack.Coverage))
			}
		})
		t.Run("four eyes", func(t *testing.T) {
			var production []evidence.Transition
			for _, tr := range pack.StageTransitions {
				if tr.To == "production" && tr.Status == "approved" {
					production = append(production, tr)
				}
			}
			if len(production) != 1 || len(production[0].Approvals) != 1 {
				t.Fatalf("production transitions %+v", production)
			}
			tr := production[0]
			approver := tr.Approvals[0].Approver
			if approver != "head-of-validation" || tr.RequestedBy != "ml-lead" || pack.Version.CreatedBy != "svc-training" {
				t.Errorf("approver %s, requester %s, creator %s", approver, tr.RequestedBy, pack.Version.CreatedBy)
			}
			if len(pack.Deployments) != 1 || pack.Deployments[0].ApprovalID != tr.ID || pack.Deployments[0].ArtifactSHA256 != pack.Version.Artifact.SHA256 {
				t.Errorf("deployment %+v does not rest on approval %s of digest %s", pack.Deployments, tr.ID, pack.Version.ManifestDigest)
			}
		})
		key := admin.serverPublicKey()
		t.Run("the audit segments verify", func(t *testing.T) {
			if !pack.Audit.Verification.OK || len(pack.Audit.Segments) == 0 {
				t.Fatalf("audit %+v", pack.Audit.Verification)
			}
			if err := evidence.VerifySegments(pack.Audit, audit.NewKeyring(key)); err != nil {
				t.Fatal(err)
			}
			actions := map[string]bool{}
			for _, s := range pack.Audit.Segments {
				for _, e := range s.Events {
					actions[e.Action] = true
				}
			}
			for _, want := range []string{"version.create", "version.finalize", "card.update", "transition.approve", "deployment.record"} {
				if !actions[want] {
					t.Errorf("no %s event in the pack's audit segments (have %v)", want, actions)
				}
			}
		})
		t.Run("the pack validates against its published schema", func(t *testing.T) {
			schema := compileServedSchema(t, admin.on(t))
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(doc); err != nil {
				t.Fatal(err)
			}
			var broken map[string]any
			_ = json.Unmarshal(file, &broken)
			delete(broken["export"].(map[string]any), "subject")
			if err := schema.Validate(broken); err == nil {
				t.Error("a pack without export.subject validates")
			}
		})
		t.Run("the pack is archived and its export audited", func(t *testing.T) {
			admin, officer := admin.on(t), x.officer.on(t)
			var packs struct {
				Packs []struct {
					ID             string
					SHA256         string
					ObjectLockMode string     `json:"object_lock_mode"`
					RetainUntil    *time.Time `json:"retain_until"`
				}
			}
			officer.expect(officer.do("GET", x.versionPath+"/evidence/packs", nil), http.StatusOK, &packs)
			if len(packs.Packs) != 1 || packs.Packs[0].ID != packID || packs.Packs[0].SHA256 != sha256Hex(file) {
				t.Fatalf("archived packs %+v, want %s", packs, packID)
			}
			archived := officer.bodyOf(officer.do("GET", "/api/v1/evidence/packs/"+packID, nil), http.StatusOK)
			if !bytes.Equal(archived, file) {
				t.Error("the archived pack differs from the exported one")
			}
			if pack.Export.ExportID != packID || pack.Export.Archive.URI != "/api/v1/evidence/packs/"+packID {
				t.Errorf("export %+v", pack.Export.Archive)
			}
			placed := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			if locked {
				rec := packs.Packs[0]
				if rec.ObjectLockMode != "COMPLIANCE" || rec.RetainUntil == nil || rec.RetainUntil.Before(placed.AddDate(10, 0, 0)) ||
					pack.Export.Archive.ObjectLockMode != "COMPLIANCE" {
					t.Errorf("lock %s until %v; the pack says %+v", rec.ObjectLockMode, rec.RetainUntil, pack.Export.Archive)
				}
				checkObjectLock(t, blobs, pack.Export.Subject, packID, placed.AddDate(10, 0, 0))
			} else if pack.Export.Archive.ObjectLockMode != "none" || packs.Packs[0].ObjectLockMode != "none" {
				t.Errorf("a plain directory has no lock, the pack says %+v", pack.Export.Archive)
			}
			if dir, ok := strings.CutPrefix(blobs, "file:"); ok {
				// A pack changed in the blob store is not handed out.
				stored := filepath.Join(dir, "evidence", creditModel, fmt.Sprint(x.version), packID+".json")
				if err := os.WriteFile(stored, bytes.Replace(file, []byte(`"approved"`), []byte(`"rejected"`), 1), 0o600); err != nil {
					t.Fatal(err)
				}
				officer.expectError(officer.do("GET", "/api/v1/evidence/packs/"+packID, nil), http.StatusServiceUnavailable, "unavailable", "SHA-256")
			}
			evs := admin.auditEvents("action=evidence.export")
			if len(evs) != 1 || evs[0].Actor != "compliance-officer" || !strings.Contains(string(evs[0].Details), `"pack_id":"`+packID+`"`) {
				t.Errorf("export events %+v", evs)
			}
		})
		t.Run("modelkeep evidence verify", func(t *testing.T) {
			dir := t.TempDir()
			keyFile := filepath.Join(dir, "server.pem")
			if err := os.WriteFile(keyFile, []byte(audit.PublicKeyPEM(key)), 0o600); err != nil {
				t.Fatal(err)
			}
			verify := func(b []byte) (int, string) {
				f := filepath.Join(dir, "pack.json")
				if err := os.WriteFile(f, b, 0o600); err != nil {
					t.Fatal(err)
				}
				var out, errOut bytes.Buffer
				code := server.Main(t.Context(), []string{"evidence", "verify", f, "--public-key", keyFile}, func(string) string { return "" }, &out, &errOut)
				return code, out.String() + errOut.String()
			}
			if code, out := verify(file); code != 0 || !strings.Contains(out, "OK: every check passed") {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			// Some positions by what they change, then a spread over the
			// whole file; every change must fail a named check.
			positions := map[string]int{}
			for _, s := range []string{`"integrity"`, `"signature"`, `"public_key"`, `"value"`, `"prev_hash"`, `"hash"`,
				`"checkpoints"`, `"bom"`, `"approver"`, `"status":"present"`, `"row_id"`, `"sha256"`, `"signoffs"`} {
				if i := bytes.LastIndex(file, []byte(s)); i >= 0 {
					positions[s] = i + len(s) + 2
				}
			}
			// 400 positions over the two backends: each takes every other
			// one of them (the packs differ only in ids and times; the
			// evidence package flips every byte of a compact pack).
			stride := max(1, len(file)/400)
			first := 0
			if locked {
				first = stride
			}
			for i := first; i < len(file); i += 2 * stride {
				positions[fmt.Sprint("byte ", i)] = i
			}
			keys := audit.NewKeyring(key)
			t.Logf("a pack of %d bytes: %d positions changed one at a time", len(file), len(positions))
			for what, i := range positions {
				changed := bytes.Clone(file)
				changed[i] = otherByte(changed[i])
				report, err := evidence.Verify(changed, keys)
				if err == nil && len(report.Failed()) == 0 {
					t.Errorf("changing byte %d (%s: %q to %q) passes verification", i, what, file[i], changed[i])
				}
			}
			// Content the pack does not hold must not ride along unsigned:
			// a null member the pack omits, another spelling of a name.
			for name, changed := range map[string][]byte{
				"a null member":      bytes.Replace(file, []byte(`"integrity":`), []byte(`"gpai":null,"integrity":`), 1),
				"a name in capitals": append([]byte(`{"Coverage":[],`), file[1:]...),
			} {
				if report, err := evidence.Verify(changed, keys); err == nil && len(report.Failed()) == 0 {
					t.Errorf("adding %s passes verification", name)
				}
			}
			for _, what := range []string{`"public_key"`, `"prev_hash"`, `"approver"`, `"bom"`} {
				i := positions[what]
				changed := bytes.Clone(file)
				changed[i] = otherByte(changed[i])
				if code, out := verify(changed); code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "BROKEN:") {
					t.Errorf("changing %s: exit %d:\n%s", what, code, out)
				}
			}
		})
		t.Run("html, card renderings and the BOM", func(t *testing.T) {
			officer, deployer, lead := x.officer.on(t), x.deployer.on(t), x.lead.on(t)
			// The printable pages run no script and are framed only by the
			// web UI (which shows the card in a frame).
			for _, path := range []string{x.versionPath + "/evidence?format=html", x.versionPath + "/card?format=html"} {
				resp := officer.do("GET", path, nil)
				csp := resp.Header.Get("Content-Security-Policy")
				officer.bodyOf(resp, http.StatusOK)
				if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "script") {
					t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
				}
			}
			page := officer.bodyOf(officer.do("GET", x.versionPath+"/evidence?format=html", nil), http.StatusOK)
			if !bytes.Contains(page, []byte("AIV-2g")) || !bytes.Contains(page, []byte("head-of-validation")) {
				t.Error("the evidence page lacks the coverage or the approver")
			}
			for format, want := range map[string]string{"markdown": "head-of-validation", "html": "<html", "huggingface": "model-index"} {
				body := deployer.bodyOf(deployer.do("GET", x.versionPath+"/card?format="+format, nil), http.StatusOK)
				if !bytes.Contains(body, []byte(want)) || !bytes.Contains(body, []byte("credit-applications")) {
					t.Errorf("card as %s lacks %q or the dataset", format, want)
				}
			}
			bom := deployer.bodyOf(deployer.do("GET", x.versionPath+"/card/cyclonedx", nil), http.StatusOK)
			if err := cycloneDXSchema(t).Validate(mustUnmarshalJSON(t, bom)); err != nil {
				t.Fatalf("the BOM is not valid CycloneDX 1.6: %v", err)
			}
			if err := modelcard.VerifyJSF(bom, key); err != nil {
				t.Errorf("the BOM's signature: %v", err)
			}
			scoped := admin.on(t).as(admin.issue("unit-auditor", []string{"auditor"}, "credit-*"))
			scoped.expectError(scoped.do("GET", x.versionPath+"/evidence", nil), http.StatusForbidden, "forbidden", "not limited to models")
			scoped.expectError(scoped.do("GET", x.versionPath+"/evidence/packs", nil), http.StatusForbidden, "forbidden", "not limited to models")
			scoped.expectError(scoped.do("GET", "/api/v1/evidence/packs/"+packID, nil), http.StatusForbidden, "forbidden", "not limited to models")
			scoped.expect(scoped.do("GET", x.versionPath+"/evidence/coverage", nil), http.StatusOK, nil)
			deployer.expectError(deployer.do("GET", x.versionPath+"/evidence", nil), http.StatusForbidden, "forbidden", "")
			deployer.expectError(deployer.do("GET", x.versionPath+"/evidence/coverage", nil), http.StatusForbidden, "forbidden", "")
			lead.expectError(lead.do("GET", x.versionPath+"/evidence", nil), http.StatusForbidden, "forbidden", "")
			lead.expectError(lead.do("GET", x.versionPath+"/card?format=pdf", nil), http.StatusBadRequest, "invalid_argument", "format")
		})
	})
}

// TestEvidencePackHalfFilled leaves the system card without oversight,
// cybersecurity, logging and QMS: exactly the rows those answer are
// missing, the production gate names them, and a justified "not
// applicable" clears one.
func TestEvidencePackHalfFilled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		x := buildExample(t, admin, false)
		// The rows whose evidence is in the four left-out parts, read from
		// the catalogue by hand (docs/evidence.md lists the rules).
		unanswered := []string{
			"AIV-2e", "AIV-3c", "A13-3d", "A14-1", "A14-2", "A14-3a", "A14-3b", "A14-4a", "A14-4b", "A14-4c", "A14-4d", "A14-4e", // oversight
			"AIV-2h", "A15-5", // cybersecurity
			"A12-2a", "A12-2b", "A12-2c", "A13-3f", // logging
			"A17-1a", "A17-1b", "A17-1c", "A17-1d", "A17-1f", "A17-1i", "A17-1j", "A17-1l", "A17-1m", "A17-2", "A18-1b", // QMS
			"A11-1", // Annex IV is incomplete
		}
		sort.Strings(unanswered)
		c := x.coverage(t)
		if got, want := c.rows(evidence.StatusMissing), sorted(append(slices.Clone(unanswered), "A26-6", "A72-2")); !slices.Equal(got, want) {
			t.Fatalf("missing rows\n got %v\nwant %v", got, want)
		}

		resp := x.promote()
		var refusal struct {
			Error struct {
				Code                string
				MissingRequirements []string `json:"missing_requirements"`
			}
		}
		x.validator.expect(resp, http.StatusPreconditionFailed, &refusal)
		if got := sorted(refusal.Error.MissingRequirements); !slices.Equal(got, unanswered) {
			t.Fatalf("the gate refused with\n %v\nwant %v", got, unanswered)
		}
		if stage := x.lead.stageOf(creditModel, x.version); stage == "production" {
			t.Fatal("a refused approval moved the version")
		}

		// An exported pack keeps the records it rests on, even of a
		// version never released.
		x.officer.expect(x.officer.do("GET", x.versionPath+"/evidence", nil), http.StatusOK, nil)
		admin.expectError(admin.do("DELETE", "/api/v1/models/"+creditModel, nil), http.StatusConflict, "conflict", "evidence pack")

		x.lead.expect(x.lead.do("PUT", x.versionPath+"/evidence/not-applicable/A17-2",
			map[string]any{"justification": "The provider is a large bank: no proportionality reduction of the QMS is claimed."}), http.StatusOK, nil)
		c = x.coverage(t)
		if !slices.Contains(c.rows(evidence.StatusNotApplicable), "A17-2") || slices.Contains(c.rows(evidence.StatusMissing), "A17-2") {
			t.Errorf("A17-2 after its justification: not applicable %v", c.rows(evidence.StatusNotApplicable))
		}
		if evs := admin.auditEvents("action=evidence.not_applicable"); len(evs) != 1 {
			t.Errorf("%d not_applicable events", len(evs))
		}
		// A qualified justification waives one threat class of A15-5 alone.
		x.lead.expect(x.lead.do("PUT", x.versionPath+"/evidence/not-applicable/A15-5:model_poisoning",
			map[string]any{"justification": "No pre-trained components or third-party model files are used."}), http.StatusOK, nil)
		if c = x.coverage(t); !slices.Contains(c.rows(evidence.StatusMissing), "A15-5") {
			t.Error("waiving one threat class cleared all of A15-5")
		}
	})
}

// checkObjectLock reads the archived pack's lock from the S3 server
// itself, and that the locked object cannot be deleted.
func checkObjectLock(t *testing.T, blobs string, subject evidence.Subject, packID string, atLeast time.Time) {
	t.Helper()
	client, _ := testenv.S3Client(t)
	u, err := url.Parse(blobs)
	if err != nil {
		t.Fatal(err)
	}
	bucket, key := u.Host, fmt.Sprintf("evidence/%s/%d/%s.json", subject.Model, subject.Version, packID)
	head, err := client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	if head.ObjectLockMode != types.ObjectLockModeCompliance || head.ObjectLockRetainUntilDate == nil || head.ObjectLockRetainUntilDate.Before(atLeast) {
		t.Errorf("object %s is locked %q until %v, want COMPLIANCE until at least %s", key, head.ObjectLockMode, head.ObjectLockRetainUntilDate, atLeast)
	}
	if _, err := client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &key, VersionId: head.VersionId}); err == nil {
		t.Errorf("the locked version of %s was deleted", key)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }

func isSubset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// otherByte is a different byte of the same kind where there is one (a
// digit for a digit, a letter for a letter), so that most changes keep the
// file valid JSON and must be caught by the checks, not the parser.
func otherByte(b byte) byte {
	switch {
	case b >= '0' && b <= '8', b >= 'a' && b <= 'y', b >= 'A' && b <= 'Y':
		return b + 1
	case b == '9':
		return '0'
	case b == 'z':
		return 'a'
	case b == 'Z':
		return 'A'
	}
	return b ^ 0x01
}

// compileServedSchema fetches the pack's JSON Schema from the server and
// compiles it with formats asserted.
func compileServedSchema(t *testing.T, e *env) *jsonschema.Schema {
	t.Helper()
	resp := e.as("").do("GET", evidence.SchemaURL, nil)
	if ct := resp.Header.Get("Content-Type"); ct != "application/schema+json" {
		t.Errorf("schema served as %q", ct)
	}
	body := e.bodyOf(resp, http.StatusOK)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(evidence.SchemaID, mustUnmarshalJSON(t, body)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(evidence.SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustUnmarshalJSON(t *testing.T, b []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cycloneDXSchema compiles the official CycloneDX 1.6 schema (with the
// SPDX and JSF schemas it refers to; the unmodified copies in
// modelcard/testdata), formats on.
func cycloneDXSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := filepath.Join("..", "modelcard", "testdata", "cyclonedx")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range []string{"spdx.schema.json", "jsf-0.82.schema.json", "bom-1.6.schema.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+name, mustUnmarshalJSON(t, b)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
