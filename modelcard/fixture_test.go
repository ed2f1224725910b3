package modelcard

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The fixture is a bank's card-fraud model. Annex III point 5(b) excludes
// systems used to detect financial fraud, so the system here is high-risk
// because its score is also an input of the bank's creditworthiness
// review of retail cardholders (credit-limit decisions), which 5(b)
// covers; a fraud score used only to block payments would not be.

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time   { return t0.Add(d) }
func atp(d time.Duration) *time.Time { t := at(d); return &t }
func hexOf(s string) string          { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
func slug(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(s, ":", "")), "-"))
}
func fptr(v float64) *float64              { return &v }
func dmsURI(name string) string            { return "https://dms.nordhafen-bank.example/docs/" + slug(name) }
func contactOf(email, url string) *Contact { return &Contact{Email: email, URL: url} }

// doc is a document reference as the registry completes it.
func doc(title, version string) *DocRef {
	return &DocRef{SHA256: hexOf(title + " " + version), URI: dmsURI(title), Version: version, Title: title, MediaType: "application/pdf"}
}

// fullCard is a realistic, complete card of a high-risk credit-card fraud
// model of a bank.
func fullCard() Card {
	qmsTitles := []string{
		"Regulatory compliance strategy for AI systems", "AI design control and verification procedure",
		"Model development and quality assurance standard", "Model validation and testing procedure",
		"Technical standards register", "Data management policy for models",
		"Model risk management policy", "AI post-market monitoring procedure",
		"Serious incident reporting procedure", "Supervisory communication procedure",
		"Records management policy", "Model operations resourcing and supplier plan",
		"AI accountability framework",
	}
	var qmsDocs []QMSDocument
	for i, a := range QMSAspects {
		qmsDocs = append(qmsDocs, QMSDocument{Aspect: a, Doc: *doc(qmsTitles[i], "2026.1")})
	}
	return Card{
		ModelDetails: &ModelDetails{
			Developers: "Nordhafen Bank AG, Fraud Analytics team (Group Risk)",
			ModelType:  "gradient-boosted decision trees",
			Paper:      "Internal validation report FA-2026-07: card fraud scorer v7",
			Citation:   "Nordhafen Bank AG (2026). Card fraud scorer, version 7. Model documentation FA-2026-07.",
			Contact:    "fraud-analytics@nordhafen-bank.example",
		},
		IntendedUse: &IntendedUse{
			PrimaryUses:    "Score each card authorisation request for the probability that it is fraudulent, so that the authorisation system can approve, step up (3-D Secure challenge) or refer it to an analyst.",
			PrimaryUsers:   "Fraud operations analysts; the card authorisation platform; credit risk officers reviewing credit limits.",
			OutOfScopeUses: "Deciding to close accounts or report customers to authorities without human review.\nScoring merchant acquiring traffic.\nAny use outside EU retail cards.",
		},
		Factors: &Factors{
			RelevantFactors:   "Customer age band, country of residence, card product (debit or credit), channel (card present, e-commerce, contactless) and merchant category.",
			EvaluationFactors: "Age band and channel, because false declines fell unevenly on young cardholders and on e-commerce in version 6.",
		},
		Metrics: &MetricsNarrative{
			PerformanceMeasures: "Area under the precision-recall curve (AUC-PR); recall at 1 % false-positive rate; false decline rate per age band.",
			DecisionThresholds:  "Refer to an analyst at score ≥ 0.82; step-up authentication at score ≥ 0.55.",
			VariationApproaches: "95 % bootstrap confidence intervals over 1,000 resamples of the holdout set.",
		},
		EvaluationData: &DataNarrative{
			Motivation:    "Out-of-time holdout of Q1 2026 authorisations, to measure performance on traffic the model has not seen.",
			Preprocessing: "Same feature pipeline as training (feature_spec.json); no resampling.",
			Notes:         "Labels mature after 90 days; the Q1 holdout was labelled on 2026-02-20.",
		},
		TrainingData: &DataNarrative{
			Motivation:    "Eighteen months of EU card authorisations with confirmed fraud labels.",
			Preprocessing: "Deduplication of retried authorisations; fraud class downsampled 1:20 with weights restored; PANs tokenised.",
			Notes:         "Chargeback labels are joined by authorisation id.",
		},
		QuantitativeAnalyses: &QuantitativeAnalyses{
			UnitaryResults:        "AUC-PR 0.912 on the holdout; recall 0.874 at 1 % false-positive rate.",
			IntersectionalResults: "False decline rate for cardholders aged 18–24 on e-commerce is 1.4 times the overall rate (see fairness run fair-0412).",
		},
		EthicalConsiderations:     "Declined payments cause hardship when essential purchases fail; the model must not proxy for nationality or ethnicity through country or merchant features.",
		CaveatsAndRecommendations: "Retrain when the population stability index of the score exceeds 0.2.\nDo not use the score as the only ground for lowering a credit limit.",
		Provider: &Provider{
			Name:            "Nordhafen Bank AG",
			LegalAddress:    "Hafenstraße 12, 20457 Hamburg, Germany",
			Contact:         contactOf("ai-compliance@nordhafen-bank.example", "https://www.nordhafen-bank.example/ai"),
			EstablishedInEU: ptr(true),
		},
		System: &System{
			Name:            "Card risk decisioning",
			RiskClass:       RiskHighRisk,
			AnnexIIIPoint:   "5(b)",
			IntendedPurpose: "Score card payments for fraud in real time; the same score is one input of the quarterly credit-limit review of retail cardholders (evaluation of creditworthiness of natural persons).",
			IntendedUsers:   []string{"fraud operations analysts", "credit risk officers", "card authorisation platform"},
			AffectedPersons: []string{"retail cardholders", "card applicants"},
			RelevantGroups:  []string{"cardholders aged 18–24", "cardholders resident outside Germany", "elderly cardholders (75+)"},
			ForeseeableMisuse: []string{
				"using the score as the sole reason to lower a credit limit",
				"using the score to profile customers for marketing",
			},
			InteractingSystems: []InteractingSystem{
				{Name: "Card authorisation platform", Interface: "gRPC ScoreAuthorisation", Direction: "inbound"},
				{Name: "Case management system", Interface: "Kafka topic fraud.alerts", Direction: "outbound"},
			},
			SoftwareDependencies: []SoftwareDependency{{Name: "LightGBM", Version: "4.3.0"}, {Name: "Python", Version: "3.12.3"}},
			UpdateRequirements:   "Model files are replaced through the registry; the serving image needs no change for a new version.",
			MarketForms:          []string{"in-house use (put into service)"},
			TargetHardware:       "x86-64 servers, 4 vCPU and 8 GiB RAM per scoring pod",
			ProductMarkingDoc:    doc("Digital CE marking placement", "1.0"),
			UIDescription:        "Analysts see the score, its top five reasons (SHAP) and the rule hits in the case management screen.",
			InstructionsForUse:   doc("Card risk decisioning: instructions for use", "7.0"),
			ComputeRequirements:  "p99 latency under 25 ms at 3,000 requests per second",
			ExpectedLifetime:     "12 months per version, reviewed quarterly",
			Maintenance: &Maintenance{
				Measures:     "Monthly drift review; quarterly recalibration",
				Frequency:    "monthly",
				UpdatePolicy: "Retrain at least every 12 months or when drift thresholds are crossed",
			},
			LogAccessDescription:          "Deployers query decision logs in the fraud data warehouse (table fraud.decisions), retained 7 years.",
			PlacedOnMarketAt:              "2026-04-01T00:00:00Z",
			AffectsNaturalPersons:         ptr(true),
			SubstantialModificationPolicy: "A new feature family, a new use, or a drop of AUC-PR by more than 0.02 is a substantial modification and needs a new conformity assessment.",
			Architecture:                  doc("Card risk decisioning architecture", "3.2"),
			EUDatabaseRegistrationID:      "EUDB-HR-2026-004711",
			DocumentationForm:             "full",
			SectoralLegislation:           []string{"Directive 2013/36/EU (CRD)", "Directive (EU) 2015/2366 (PSD2)"},
			Sector:                        "banking: retail card payments and credit",
			FinancialRetentionPolicy:      "Logs and documentation are kept as part of the documentation under Directive 2013/36/EU, for 10 years.",
		},
		Applicability: &Applicability{
			SMESimplifiedForm:             ptr(false),
			AnnexIProduct:                 ptr(false),
			ProductComponent:              ptr(false),
			PredeterminedChanges:          ptr(true),
			RemoteBiometricIdentification: ptr(false),
			NotifiedBody:                  ptr(false),
			FinancialInstitution:          ptr(true),
			DeployerManagedByRegistry:     ptr(true),
			GenerativeAI:                  ptr(false),
		},
		Version: &VersionInfo{
			Task:                    "tabular-classification",
			ChangeSummary:           "Retrained on data up to December 2025; added the merchant velocity features; recalibrated.",
			SubstantialModification: ptr(false),
			ConformityAssessmentRef: "CA-2026-02 (internal control, Annex VI)",
			PredeterminedChanges: []PredeterminedChange{{
				Description:        "Periodic retraining on a rolling 18-month window with the same features and hyperparameter ranges",
				Bounds:             "AUC-PR within 0.02 of version 7; false decline rate ratio between age bands at most 1.25",
				RetrainingTrigger:  "population stability index > 0.2, or 12 months since the last training",
				ValidationProtocol: "Model validation procedure MV-4, sections 3 to 6",
			}},
			Architecture:          "LightGBM binary classifier, 1,200 trees, 63 leaves, isotonic calibration",
			ParameterCount:        ptr(int64(151200)),
			Approach:              "supervised",
			DesignChoices:         "Trees rather than a neural network, for latency and for per-decision explanations.",
			OptimisationObjective: "Weighted binary log-loss",
			ExpectedOutput:        "A calibrated fraud probability between 0 and 1 per authorisation",
			Tradeoffs:             "A lower refer threshold catches more fraud but raises false declines, most for young cardholders.",
			PretrainedComponents: []PretrainedComponent{{
				Name: "merchant-embedding", Version: "2025.4", SHA256: hexOf("merchant-embedding 2025.4"),
				Supplier: "Nordhafen Bank AG, Payments Data", HowUsed: "frozen 16-dimensional merchant embeddings as features",
			}},
			Inputs: []IOSpec{{
				Name: "authorisation", Format: "application/json", Spec: "feature_spec.json, 212 features",
				ValidRanges: "amount 0–50,000 EUR; timestamps within 5 minutes of now", Interpretation: "one card authorisation request",
				Modality: "tabular", MaxSize: "16 KiB",
			}},
			Outputs: []IOSpec{{
				Name: "fraud_score", Format: "float64", Spec: "calibrated probability",
				ValidRanges: "0 to 1", Interpretation: "≥ 0.82 refer; ≥ 0.55 step up; else approve",
				Modality: "tabular", MaxSize: "8 bytes",
			}},
			Explainability: &Explainability{
				Methods: []string{"TreeSHAP reason codes (top five per decision)", "global feature importance report"},
				Doc:     doc("Explainability method statement", "2.0"),
			},
			PerformanceLimitations: []string{
				"Lower recall on first transactions of new cards (no history).",
				"Not validated for corporate cards.",
			},
			MetricRationale:        "AUC-PR suits the 0.1 % fraud rate; recall at 1 % FPR matches the analysts' capacity; false decline rates per age band show unequal burden.",
			Licence:                "LicenseRef-Nordhafen-Proprietary",
			ContextWindow:          ptr(int64(90)),
			ContinualLearning:      ptr(false),
			FeedbackLoopMitigation: "Declined transactions get no fraud label; a 0.5 % random approve-and-monitor sample keeps labels unbiased.",
		},
		Datasets: []DatasetGovernance{
			{
				Name: "card-tx-2024h2-2025h2", Version: "2026.01",
				Provenance:             "Authorisations of Nordhafen Bank's EU retail card portfolio, July 2024 to December 2025",
				CollectionProcess:      "Exported from the authorisation platform's event store with the chargeback and fraud case outcomes",
				SelectionCriteria:      "Retail debit and credit cards; excludes test cards and corporate cards",
				LabellingProcedure:     "Fraud confirmed by a case outcome or a fraud chargeback reason code within 90 days",
				CleaningMethods:        "Retries deduplicated; 0.3 % records with corrupt merchant ids dropped",
				Preprocessing:          "feature pipeline fp-3.4; PAN tokenisation",
				DesignChoices:          "Out-of-time split; fraud downsampled 1:20 with weights",
				Assumptions:            "Fraud patterns of the last 18 months are representative of the next 12",
				Suitability:            "Covers every channel and card product the system scores",
				Representativeness:     "All EU countries of the portfolio; age bands match the customer base within 1 point",
				KnownBiases:            "Cardholders aged 18–24 have more labelled fraud per transaction, partly from more disputes",
				BiasExamination:        doc("Training data bias examination", "1.1"),
				BiasExaminationRunID:   "fair-0412",
				BiasMitigation:         "Dispute-only labels down-weighted; age band not used as a feature",
				DataGaps:               "Few transactions from cards issued after November 2025",
				ContainsPersonalData:   ptr(true),
				PersonalDataPurpose:    "Fraud prevention under Art. 6(1)(c) and (f) GDPR",
				SpecialCategoriesUsed:  ptr(false),
				Safeguards:             doc("Data protection impact assessment: card fraud", "3.0"),
				RecordCount:            ptr(int64(418_000_000)),
				Licence:                "LicenseRef-Nordhafen-Internal",
				Datasheet:              doc("Datasheet card-tx 2026.01", "1.0"),
				Curation:               "Curated by the Payments Data team; schema-checked on ingestion",
				UnsuitableSourceChecks: "No third-party or scraped data",
			},
			{
				Name: "card-tx-2026q1-holdout", Version: "2026.02",
				Provenance:           "Authorisations of January 2026, labelled on 2026-02-20",
				CollectionProcess:    "Same export as the training data",
				LabellingProcedure:   "As for the training data",
				CleaningMethods:      "As for the training data",
				Representativeness:   "One month of the full portfolio",
				KnownBiases:          "Seasonal: January sales traffic",
				BiasMitigation:       "Results are also reported per channel",
				DataGaps:             "Labels may still change for 3 % of the records",
				ContainsPersonalData: ptr(true),
			},
		},
		DeclaredMetrics: []DeclaredMetric{
			{Key: "auc_pr", Dataset: "card-tx-2026q1-holdout", DatasetVersion: "2026.02", Split: "test", RunID: "eval-0411",
				Category: CategoryAccuracy, DeclaredInIFU: true, Rationale: "Threshold-free accuracy under heavy class imbalance",
				Unit: "ratio", HigherIsBetter: ptr(true), Threshold: fptr(0.88),
				ConfidenceInterval: &ConfidenceInterval{Level: 0.95, Lower: 0.904, Upper: 0.919}, MethodRef: "MV-4 §4.2"},
			{Key: "recall_at_1pct_fpr", Dataset: "card-tx-2026q1-holdout", Split: "test", Category: CategoryAccuracy,
				DeclaredInIFU: true, Rationale: "Fraud caught at the analysts' review capacity", Unit: "ratio",
				HigherIsBetter: ptr(true), Threshold: fptr(0.85)},
			{Key: "false_decline_rate_age_18_24", Dataset: "card-tx-2026q1-holdout", Split: "test", Category: CategoryFairness,
				Slice: &Slice{Attribute: "age_band", Value: "18-24"}, DeclaredInIFU: true,
				Rationale: "Young cardholders bore more false declines in version 6", Unit: "ratio", HigherIsBetter: ptr(false), Threshold: fptr(0.004)},
			{Key: "false_decline_rate_age_75_plus", Dataset: "card-tx-2026q1-holdout", Split: "test", Category: CategoryFairness,
				Slice: &Slice{Attribute: "age_band", Value: "75+"}, Rationale: "Elderly cardholders depend on card payments",
				Unit: "ratio", HigherIsBetter: ptr(false), Threshold: fptr(0.004)},
			{Key: "auc_pr_feature_noise_5pct", Dataset: "card-tx-2026q1-holdout", Split: "test", Category: CategoryRobustness,
				Rationale: "Performance with 5 % of features perturbed (upstream outages)", Unit: "ratio", HigherIsBetter: ptr(true), Threshold: fptr(0.85)},
			{Key: "evasion_success_rate", Category: CategoryCybersecurity, Rationale: "Share of crafted fraud that evades the refer threshold",
				Unit: "ratio", HigherIsBetter: ptr(false), Threshold: fptr(0.1), RunID: "sec-0415"},
		},
		RiskManagement: &RiskManagement{
			RMSDoc: doc("Model risk management file: card risk decisioning", "2026.1"),
			Risks: []Risk{
				{ID: "R1", Hazard: "Legitimate payments of young cardholders declined more often", Affected: []string{"cardholders aged 18–24"},
					AffectedRights: []string{"non-discrimination (Art. 21 Charter)"}, Circumstance: "intended_use", Likelihood: "likely",
					Severity: "moderate", Mitigation: "Fairness threshold per age band as a promotion gate; monthly monitoring",
					ResidualRisk: "Acceptable: ratio 1.4 within the 1.5 limit", Status: "mitigated", Owner: "Head of Fraud Analytics"},
				{ID: "R2", Hazard: "Score used alone to lower credit limits", Affected: []string{"retail cardholders"},
					AffectedRights: []string{"access to credit", "right to an effective remedy (Art. 47 Charter)"},
					Circumstance:   "foreseeable_misuse", Likelihood: "possible", Severity: "major",
					Mitigation: "Credit policy requires an officer's review; score shown with reasons", ResidualRisk: "Low", Status: "mitigated", Owner: "Chief Risk Officer"},
				{ID: "R3", Hazard: "Fraudsters adapt and evade the model", Affected: []string{"the bank", "cardholders"},
					Circumstance: "intended_use", Likelihood: "likely", Severity: "major",
					Mitigation: "Adversarial testing each release; rules layer; drift alerts", ResidualRisk: "Medium, monitored weekly", Status: "open", Owner: "Head of Fraud Operations"},
			},
		},
		HumanOversight: &HumanOversight{
			Assessment: doc("Human oversight assessment", "1.0"),
			Measures: []OversightMeasure{
				{ID: "HO1", Kind: "built_in", Capability: "understand", Description: "Monitoring dashboard with score distribution, alert volume and drift", MitigatesRiskIDs: []string{"R3"}},
				{ID: "HO2", Kind: "deployer", Capability: "automation_bias", Description: "Analyst training on automation bias, yearly", MitigatesRiskIDs: []string{"R2"}},
				{ID: "HO3", Kind: "built_in", Capability: "interpret", Description: "Top five reason codes per decision", MitigatesRiskIDs: []string{"R1", "R2"}},
				{ID: "HO4", Kind: "built_in", Capability: "override", Description: "Analysts can release a referred payment; officers can set aside the score in credit reviews", MitigatesRiskIDs: []string{"R1", "R2"}},
				{ID: "HO5", Kind: "built_in", Capability: "stop", Description: "Kill switch falls back to the rules engine; deployment suspend in the registry"},
			},
			InterpretationTools: []string{"reason codes", "score calibration chart"},
		},
		Cybersecurity: &Cybersecurity{
			Measures: []string{"Signed model files verified at load", "Registry access by role with four-eyes promotion", "Feature store write access limited to the pipeline"},
			Threats: []Threat{
				{Class: "data_poisoning", Measure: "Label sources restricted to case outcomes; dataset hashes pinned", TestRunID: "sec-0415"},
				{Class: "model_poisoning", Measure: "Model files signed; manifest digest checked at deployment", TestRunID: "sec-0415"},
				{Class: "adversarial_examples", Measure: "Evasion testing with crafted transactions each release", TestRunID: "sec-0415"},
				{Class: "confidentiality", Measure: "Score API rate-limited; no scores returned to merchants", TestRunID: "sec-0415"},
				{Class: "model_flaws", Measure: "Validation by the independent model validation unit", TestRunID: "rob-0413"},
			},
		},
		Logging: &Logging{
			EventsRecorded: []LoggedEvent{
				{Type: "score.decision", Purpose: "operation"},
				{Type: "override.analyst", Purpose: "risk"},
				{Type: "drift.alert", Purpose: "pmm"},
				{Type: "model.version_change", Purpose: "substantial_modification"},
			},
			Format:         "JSON lines, schema decision-log v3",
			DeployerAccess: "Read access for fraud operations and internal audit",
		},
		StandardsApplied: []Standard{
			{Ref: "ISO/IEC 42001:2023", Title: "AI management system", Edition: "2023", Extent: "partial"},
			{Ref: "ISO/IEC 23894:2023", Title: "AI: guidance on risk management", Edition: "2023", Extent: "full", OJReference: "not harmonised yet"},
		},
		OtherSolutions: doc("Common specifications gap analysis", "1.0"),
		DeclarationOfConformity: &Declaration{
			Doc: doc("EU declaration of conformity: card risk decisioning v7", "1.0"), Date: "2026-03-20", Signatory: "Dr. Jana Weber, Chief Risk Officer",
		},
		QMS: &QMS{Documents: qmsDocs, ProportionalityNote: "Part of the bank's internal governance under Directive 2013/36/EU (Art. 17(4))."},
		PostMarketMonitoring: &PostMarketMonitoring{
			Plan:            doc("Post-market monitoring plan: card risk decisioning", "1.0"),
			Signals:         []string{"score population stability index", "false decline rate per age band", "analyst override rate", "customer complaints about declines"},
			Thresholds:      []string{"PSI > 0.2", "false decline ratio between age bands > 1.5", "override rate > 15 %"},
			ReviewFrequency: "monthly",
			IntegratedWith:  "model risk management cycle (MRM-2)",
			TemplateRef:     "Commission implementing act on the PMM plan template, once adopted",
		},
		Incidents: []Incident{{
			ID: "INC-2026-031", Description: "Misconfigured threshold declined 2,300 legitimate payments for 40 minutes",
			Severity: "serious", DetectedAt: "2026-02-11T07:20:00Z", AwareAt: "2026-02-11T08:05:00Z",
			ReportedAt: "2026-02-12T10:00:00Z", Authority: "BaFin",
		}},
	}
}

// everyFieldCard is fullCard with what a bank's fraud model does not have
// (a provider outside the EU, a notified body, remote biometric
// identification, generated content, an Annex I product, a general-purpose
// AI model) added, so that every field of Card is set.
func everyFieldCard() Card {
	c := fullCard()
	c.Provider.EstablishedInEU = ptr(false)
	c.Provider.EUAuthorisedRepresentative = &Party{
		Name: "EU AI Representative GmbH", Address: "Friedrichstraße 50, 10117 Berlin, Germany",
		Contact: contactOf("mandates@eu-ai-rep.example", "https://eu-ai-rep.example"),
	}
	c.NotifiedBody = &NotifiedBody{
		Name: "Prüfstelle KI Nord GmbH", IDNumber: "NB 2841",
		Certificate:     doc("EU technical documentation assessment certificate", "1.0"),
		ApprovedChanges: []DocRef{*doc("Approval of the predetermined change plan", "1.0")},
		Decisions:       []DocRef{*doc("Notified body decision 2026-17", "1.0")},
	}
	c.Logging.RBIFields = &RBIFields{UsePeriod: ptr(true), ReferenceDBID: "watchlist-db-3", MatchInput: ptr(true), VerifierIDs: ptr(true)}
	c.System.OutputMarking = &OutputMarking{Method: "C2PA manifests on generated images", Standard: "C2PA 2.1"}
	c.System.ProductTechnicalFile = doc("Machinery technical file", "4.0")
	c.Datasets[0].TDMOptOutChecked = ptr(true)
	c.GPAI = &GPAI{
		Tasks:                  []string{"merchant description embedding"},
		IntegrationTargets:     []string{"fraud and AML models of the group"},
		AcceptableUsePolicy:    doc("Merchant embedding acceptable use policy", "1.0"),
		Distribution:           []string{"internal model registry"},
		Interfaces:             []string{"Python package mk-embed", "gRPC Embed"},
		IntegrationDocs:        doc("Merchant embedding integration guide", "1.0"),
		CopyrightPolicy:        doc("Copyright policy for model training", "1.0"),
		TrainingContentSummary: doc("Training content summary: merchant embedding", "1.0"),
		TrainingSummaryURL:     "https://www.nordhafen-bank.example/ai/training-summary",
		OpenSourceExemption:    &OpenSourceExemption{Licence: "LicenseRef-Nordhafen-Internal", WeightsPublic: ptr(false)},
		EvalStrategy:           doc("Merchant embedding evaluation strategy", "1.0"),
	}
	return c
}

// fullFacts are the registry's records of version 7 of the fraud model.
func fullFacts() Facts {
	trainIn := DatasetFact{Name: "card-tx-2024h2-2025h2", Version: "2026.01", Role: "training", URI: "s3://nordhafen-ml/datasets/card-tx/2026.01/",
		SHA256: hexOf("card-tx 2026.01"), Size: 96_400_000_000, License: "LicenseRef-Nordhafen-Internal"}
	valIn := DatasetFact{Name: "card-tx-2024h2-2025h2", Version: "2026.01", Role: "validation", URI: trainIn.URI, SHA256: trainIn.SHA256, Size: trainIn.Size}
	holdout := DatasetFact{Name: "card-tx-2026q1-holdout", Version: "2026.02", Role: "test", URI: "s3://nordhafen-ml/datasets/card-tx-holdout/2026.02/",
		SHA256: hexOf("holdout 2026.02"), Size: 5_100_000_000, License: "LicenseRef-Nordhafen-Internal"}
	files := []FileFact{
		{Path: "model/model.txt", Size: 48_213_004, SHA256: hexOf("model.txt")},
		{Path: "model/calibration.json", Size: 18_342, SHA256: hexOf("calibration.json")},
		{Path: "feature_spec.json", Size: 61_207, SHA256: hexOf("feature_spec.json")},
		{Path: "README.md", Size: 4_096, SHA256: hexOf("README.md")},
	}
	gates := []GateFact{
		{Gate: "metric auc_pr >= 0.88", Passed: true, Detail: "0.912"},
		{Gate: "fairness false decline ratio <= 1.5", Passed: true, Detail: "1.4"},
		{Gate: "security run signed off", Passed: true},
	}
	report := func(name string) *DocRef { return doc(name, "1.0") }
	return Facts{
		Model:            "card-fraud-scorer",
		ModelDescription: "Real-time fraud score for card authorisations (EU retail cards)",
		Version:          7,
		Description:      "Retrained on data up to 2025-12; merchant velocity features",
		Status:           "ready",
		Stage:            "production",
		ManifestDigest:   "sha256:" + hexOf("manifest v7"),
		CreatedBy:        "svc-training-pipeline",
		CreatedAt:        at(0),
		FinalizedAt:      atp(2 * time.Hour),
		Parent:           &ParentFact{Model: "card-fraud-scorer", Version: 6, Relation: "derived_from"},
		Tags:             map[string]string{"team": "fraud-analytics", "risk": "high", "lightgbm": ""},
		Params:           map[string]string{"num_trees": "1200", "num_leaves": "63", "learning_rate": "0.03"},
		Files:            files,
		Datasets:         []DatasetFact{trainIn, valIn, holdout},
		Runs: []RunFact{
			{ID: "train-0410", Kind: "training", StartedAt: atp(-30 * time.Hour), EndedAt: atp(-26 * time.Hour), TriggeredBy: "svc-training-pipeline",
				CodeURI: "https://git.nordhafen-bank.example/fraud/card-scorer", GitCommit: "4f1c2a9e0b7d3c5a8e6f1d2b3c4a5e6f7a8b9c0d",
				Hardware: "8 vCPU, 64 GiB", Hyperparameters: map[string]string{"num_trees": "1200", "num_leaves": "63", "learning_rate": "0.03"},
				Inputs: []DatasetFact{trainIn}, OutputSHA256: hexOf("manifest v7")},
			{ID: "eval-0411", Kind: "evaluation", StartedAt: atp(-25 * time.Hour), EndedAt: atp(-24 * time.Hour), TriggeredBy: "svc-training-pipeline",
				CodeURI: "https://git.nordhafen-bank.example/fraud/card-scorer", GitCommit: "4f1c2a9e0b7d3c5a8e6f1d2b3c4a5e6f7a8b9c0d",
				Inputs: []DatasetFact{holdout}, TestLog: doc("eval-0411 log", "1"), Report: report("Evaluation report eval-0411"),
				ReportSignoffs: []SignoffFact{{Signer: "m.schulz", SignedAt: at(-20 * time.Hour)}, {Signer: "j.weber", SignedAt: at(-19 * time.Hour)}}},
			{ID: "fair-0412", Kind: "fairness", StartedAt: atp(-24 * time.Hour), EndedAt: atp(-23 * time.Hour), Inputs: []DatasetFact{holdout},
				Report: report("Fairness report fair-0412"), ReportSignoffs: []SignoffFact{{Signer: "a.nowak", SignedAt: at(-18 * time.Hour)}}},
			{ID: "rob-0413", Kind: "robustness", StartedAt: atp(-23 * time.Hour), EndedAt: atp(-22 * time.Hour), Inputs: []DatasetFact{holdout},
				Report: report("Robustness report rob-0413")},
			{ID: "sec-0415", Kind: "security", StartedAt: atp(-22 * time.Hour), EndedAt: atp(-21 * time.Hour), TriggeredBy: "red-team",
				TestLog: doc("sec-0415 log", "1"), Report: report("Security test report sec-0415"),
				ReportSignoffs: []SignoffFact{{Signer: "k.yilmaz", SignedAt: at(-17 * time.Hour)}}},
		},
		Metrics: []MetricFact{
			{Key: "auc_pr", Value: 0.912, Step: 1200, Dataset: "card-tx-2026q1-holdout", DatasetVersion: "2026.02", Split: "test", RunID: "eval-0411", Timestamp: at(-24 * time.Hour)},
			{Key: "auc_pr_feature_noise_5pct", Value: 0.887, Dataset: "card-tx-2026q1-holdout", DatasetVersion: "2026.02", Split: "test", RunID: "rob-0413", Timestamp: at(-22 * time.Hour)},
			{Key: "evasion_success_rate", Value: 0.062, RunID: "sec-0415", Timestamp: at(-21 * time.Hour)},
			{Key: "false_decline_rate_age_18_24", Value: 0.0031, Dataset: "card-tx-2026q1-holdout", DatasetVersion: "2026.02", Split: "test", RunID: "fair-0412", Timestamp: at(-23 * time.Hour)},
			{Key: "false_decline_rate_age_75_plus", Value: 0.0019, Dataset: "card-tx-2026q1-holdout", DatasetVersion: "2026.02", Split: "test", RunID: "fair-0412", Timestamp: at(-23 * time.Hour)},
			{Key: "log_loss", Value: 0.00412, Step: 1200, Dataset: "card-tx-2024h2-2025h2", DatasetVersion: "2026.01", Split: "validation", RunID: "train-0410", Timestamp: at(-26 * time.Hour)},
			{Key: "recall_at_1pct_fpr", Value: 0.874, Dataset: "card-tx-2026q1-holdout", DatasetVersion: "2026.02", Split: "test", RunID: "eval-0411", Timestamp: at(-24 * time.Hour)},
		},
		Transitions: []TransitionFact{
			{ID: "tr-7-1", From: "none", To: "staging", Status: "approved", RequestedBy: "m.schulz", RequestedAt: at(3 * time.Hour),
				DecidedBy: "j.weber", DecidedAt: atp(4 * time.Hour),
				Approvals: []ApprovalFact{{Approver: "j.weber", At: at(4 * time.Hour), Comment: "Staging for shadow traffic", Gates: gates[:1]}}},
			{ID: "tr-7-2", From: "staging", To: "production", Status: "approved", RequestedBy: "m.schulz", RequestedAt: at(50 * time.Hour),
				DecidedBy: "j.weber", DecidedAt: atp(54 * time.Hour),
				Approvals: []ApprovalFact{
					{Approver: "a.nowak", At: at(52 * time.Hour), Comment: "Fairness gate reviewed", Gates: gates},
					{Approver: "j.weber", At: at(54 * time.Hour), Comment: "Approved per MRM committee 2026-03-04", Gates: gates},
				}},
		},
		Deployments: []DeploymentFact{
			{ID: "dep-31", Environment: "prod-eu-central", Strategy: "canary", TrafficPercent: 10, DeployedBy: "svc-deployer", DeployedAt: at(55 * time.Hour), EndedAt: atp(79 * time.Hour)},
			{ID: "dep-32", Environment: "prod-eu-central", Strategy: "rolling", TrafficPercent: 100, DeployedBy: "svc-deployer", DeployedAt: at(79 * time.Hour)},
		},
		CardRevision:      3,
		ModelCardRevision: 5,
		GeneratedAt:       at(100 * time.Hour),
	}
}

// minimalFacts are a version just created: no files, digest or card.
func minimalFacts() Facts {
	return Facts{Model: "m", Version: 1, Status: "pending", Stage: "none", CreatedBy: "alice", CreatedAt: t0}
}

func TestFixtures(t *testing.T) {
	for name, c := range map[string]Card{"fullCard": fullCard(), "everyFieldCard": everyFieldCard()} {
		if err := Validate(c); err != nil {
			t.Errorf("Validate(%s()): %v", name, err)
		}
	}
	// everyFieldCard sets every field of Card (in at least one entry of a
	// list), so that every renderer is tested with each of them.
	set, all := map[string]bool{}, map[string]bool{}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		all[path] = true
		if v.IsZero() && !(v.Kind() == reflect.Bool && strings.HasSuffix(path, "*")) {
			return
		}
		set[path] = true
		switch v.Kind() {
		case reflect.Pointer:
			walk(v.Elem(), path+"*")
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i), joinPath(strings.TrimSuffix(path, "*"), v.Type().Field(i).Name))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), strings.TrimSuffix(path, "*")+"[]")
			}
		}
	}
	walk(reflect.ValueOf(everyFieldCard()), "")
	for p := range all {
		if !set[p] {
			t.Errorf("everyFieldCard() leaves %s unset", p)
		}
	}
}
