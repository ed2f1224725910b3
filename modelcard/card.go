package modelcard

// Card is a structured model card. The registry keeps one for a model (what
// belongs to the AI system: provider, purpose, risks, oversight, QMS, ...)
// and one for each version (its design, data and declared metrics); the
// version's card is merged over its model's (Merge). Every field is
// optional in the format: what a given risk class needs is the evidence
// catalogue's business (package evidence), not the card's.
//
// The JSON names are those of GUIDE.md §3. Times are RFC 3339 UTC strings
// (2026-11-01T12:00:00Z), dates are YYYY-MM-DD.
type Card struct {
	// Mitchell et al.'s sections, as narrative. The renderers fill in what
	// the registry knows (versions, datasets, metrics, approvals) beside
	// them.
	ModelDetails              *ModelDetails         `json:"model_details,omitempty"`
	IntendedUse               *IntendedUse          `json:"intended_use,omitempty"`
	Factors                   *Factors              `json:"factors,omitempty"`
	Metrics                   *MetricsNarrative     `json:"metrics,omitempty"`
	EvaluationData            *DataNarrative        `json:"evaluation_data,omitempty"`
	TrainingData              *DataNarrative        `json:"training_data,omitempty"`
	QuantitativeAnalyses      *QuantitativeAnalyses `json:"quantitative_analyses,omitempty"`
	EthicalConsiderations     string                `json:"ethical_considerations,omitempty"`
	CaveatsAndRecommendations string                `json:"caveats_and_recommendations,omitempty"`

	// What the EU AI Act evidence needs a person to write.
	Provider                *Provider             `json:"provider,omitempty"`
	System                  *System               `json:"system,omitempty"`
	Applicability           *Applicability        `json:"applicability,omitempty"`
	Version                 *VersionInfo          `json:"version,omitempty"`
	Datasets                []DatasetGovernance   `json:"datasets,omitempty"`
	DeclaredMetrics         []DeclaredMetric      `json:"declared_metrics,omitempty"`
	RiskManagement          *RiskManagement       `json:"risk_management,omitempty"`
	HumanOversight          *HumanOversight       `json:"human_oversight,omitempty"`
	Cybersecurity           *Cybersecurity        `json:"cybersecurity,omitempty"`
	Logging                 *Logging              `json:"logging,omitempty"`
	StandardsApplied        []Standard            `json:"standards_applied,omitempty"`
	OtherSolutions          *DocRef               `json:"other_solutions,omitempty"`
	DeclarationOfConformity *Declaration          `json:"declaration_of_conformity,omitempty"`
	NotifiedBody            *NotifiedBody         `json:"notified_body,omitempty"`
	QMS                     *QMS                  `json:"qms,omitempty"`
	PostMarketMonitoring    *PostMarketMonitoring `json:"post_market_monitoring,omitempty"`
	Incidents               []Incident            `json:"incidents,omitempty"`
	GPAI                    *GPAI                 `json:"gpai,omitempty"`
}

// ModelDetails is Mitchell et al.'s "Model details" beyond what the registry
// records itself (version, date, training run).
type ModelDetails struct {
	Developers string `json:"developers,omitempty"`
	ModelType  string `json:"model_type,omitempty"`
	Paper      string `json:"paper,omitempty"`
	Citation   string `json:"citation,omitempty"`
	Contact    string `json:"contact,omitempty"`
}

// IntendedUse is Mitchell et al.'s "Intended use".
type IntendedUse struct {
	PrimaryUses    string `json:"primary_uses,omitempty"`
	PrimaryUsers   string `json:"primary_users,omitempty"`
	OutOfScopeUses string `json:"out_of_scope_uses,omitempty"`
}

// Factors is Mitchell et al.'s "Factors": the groups, instruments and
// environments performance may vary across.
type Factors struct {
	RelevantFactors   string `json:"relevant_factors,omitempty"`
	EvaluationFactors string `json:"evaluation_factors,omitempty"`
}

// MetricsNarrative is Mitchell et al.'s "Metrics".
type MetricsNarrative struct {
	PerformanceMeasures string `json:"performance_measures,omitempty"`
	DecisionThresholds  string `json:"decision_thresholds,omitempty"`
	VariationApproaches string `json:"variation_approaches,omitempty"`
}

// DataNarrative is Mitchell et al.'s "Evaluation data" or "Training data".
type DataNarrative struct {
	Motivation    string `json:"motivation,omitempty"`
	Preprocessing string `json:"preprocessing,omitempty"`
	Notes         string `json:"notes,omitempty"`
}

// QuantitativeAnalyses is Mitchell et al.'s "Quantitative analyses"; the
// values themselves come from the registry's metrics.
type QuantitativeAnalyses struct {
	UnitaryResults        string `json:"unitary_results,omitempty"`
	IntersectionalResults string `json:"intersectional_results,omitempty"`
}

// DocRef references a document registered with the registry by its
// content: the SHA-256 is what counts; the registry fills in the URI,
// version, title and media type from the document's record when a card is
// stored.
type DocRef struct {
	SHA256    string `json:"sha256"`
	URI       string `json:"uri,omitempty"`
	Version   string `json:"version,omitempty"`
	Title     string `json:"title,omitempty"`
	MediaType string `json:"media_type,omitempty"`
}

// Contact is how to reach a party.
type Contact struct {
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Party is an organisation with an address (an authorised representative).
type Party struct {
	Name    string   `json:"name,omitempty"`
	Address string   `json:"address,omitempty"`
	Contact *Contact `json:"contact,omitempty"`
}

// Provider is who places the AI system on the market (Art. 13(3)(a)).
type Provider struct {
	Name                       string   `json:"name,omitempty"`
	LegalAddress               string   `json:"legal_address,omitempty"`
	Contact                    *Contact `json:"contact,omitempty"`
	EstablishedInEU            *bool    `json:"established_in_eu,omitempty"`
	EUAuthorisedRepresentative *Party   `json:"eu_authorised_representative,omitempty"`
}

// Risk classes of an AI system.
const (
	RiskHighRisk         = "high-risk"
	RiskGPAI             = "gpai"
	RiskGPAISystemicRisk = "gpai-systemic-risk"
	RiskArt50            = "art50"
	RiskMinimal          = "minimal"
)

// RiskClasses lists the risk classes.
var RiskClasses = []string{RiskHighRisk, RiskGPAI, RiskGPAISystemicRisk, RiskArt50, RiskMinimal}

// System is the AI system the model is part of (GUIDE §3 "system").
type System struct {
	Name                          string               `json:"name,omitempty"`
	RiskClass                     string               `json:"risk_class,omitempty"`
	AnnexIIIPoint                 string               `json:"annex_iii_point,omitempty"`
	IntendedPurpose               string               `json:"intended_purpose,omitempty"`
	IntendedUsers                 []string             `json:"intended_users,omitempty"`
	AffectedPersons               []string             `json:"affected_persons,omitempty"`
	RelevantGroups                []string             `json:"relevant_groups,omitempty"`
	ForeseeableMisuse             []string             `json:"foreseeable_misuse,omitempty"`
	InteractingSystems            []InteractingSystem  `json:"interacting_systems,omitempty"`
	SoftwareDependencies          []SoftwareDependency `json:"software_dependencies,omitempty"`
	UpdateRequirements            string               `json:"update_requirements,omitempty"`
	MarketForms                   []string             `json:"market_forms,omitempty"`
	TargetHardware                string               `json:"target_hardware,omitempty"`
	ProductMarkingDoc             *DocRef              `json:"product_marking_doc,omitempty"`
	UIDescription                 string               `json:"ui_description,omitempty"`
	InstructionsForUse            *DocRef              `json:"instructions_for_use,omitempty"`
	ComputeRequirements           string               `json:"compute_requirements,omitempty"`
	ExpectedLifetime              string               `json:"expected_lifetime,omitempty"`
	Maintenance                   *Maintenance         `json:"maintenance,omitempty"`
	LogAccessDescription          string               `json:"log_access_description,omitempty"`
	PlacedOnMarketAt              string               `json:"placed_on_market_at,omitempty"`
	AffectsNaturalPersons         *bool                `json:"affects_natural_persons,omitempty"`
	SubstantialModificationPolicy string               `json:"substantial_modification_policy,omitempty"`
	Architecture                  *DocRef              `json:"architecture,omitempty"`
	EUDatabaseRegistrationID      string               `json:"eu_db_registration_id,omitempty"`
	DocumentationForm             string               `json:"documentation_form,omitempty"`
	SectoralLegislation           []string             `json:"sectoral_legislation,omitempty"`
	ProductTechnicalFile          *DocRef              `json:"product_technical_file,omitempty"`
	Sector                        string               `json:"sector,omitempty"`
	FinancialRetentionPolicy      string               `json:"financial_retention_policy,omitempty"`
	OutputMarking                 *OutputMarking       `json:"output_marking,omitempty"`
}

// InteractingSystem is hardware or software outside the system that it
// works with (Annex IV 1(b)).
type InteractingSystem struct {
	Name      string `json:"name,omitempty"`
	Interface string `json:"interface,omitempty"`
	Direction string `json:"direction,omitempty"`
}

// SoftwareDependency is a piece of software the system needs, by version.
type SoftwareDependency struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// Maintenance says how the system is kept working (Art. 13(3)(e)).
type Maintenance struct {
	Measures     string `json:"measures,omitempty"`
	Frequency    string `json:"frequency,omitempty"`
	UpdatePolicy string `json:"update_policy,omitempty"`
}

// OutputMarking is how a generative system marks its output (Art. 50(2)).
type OutputMarking struct {
	Method   string `json:"method,omitempty"`
	Standard string `json:"standard,omitempty"`
}

// Applicability states the facts that decide whether the catalogue's
// conditional rows apply. A false answer makes those rows not applicable
// (recorded with who said so and when); an unanswered one leaves them open.
type Applicability struct {
	// SMESimplifiedForm: an SME or start-up using the simplified
	// documentation form (A11-1-SME).
	SMESimplifiedForm *bool `json:"sme_simplified_form,omitempty"`
	// AnnexIProduct: a product under Annex I Section A (A11-2, A72-4).
	AnnexIProduct *bool `json:"annex_i_product,omitempty"`
	// ProductComponent: the system is a component of a product (AIV-1f).
	ProductComponent *bool `json:"product_component,omitempty"`
	// PredeterminedChanges: changes to the system are determined in
	// advance (AIV-2f, A13-3c).
	PredeterminedChanges *bool `json:"predetermined_changes,omitempty"`
	// RemoteBiometricIdentification: an Annex III point 1(a) system
	// (A12-3*, A14-5).
	RemoteBiometricIdentification *bool `json:"remote_biometric_identification,omitempty"`
	// NotifiedBody: a notified body takes part in the conformity
	// assessment (A18-1c, A18-1d).
	NotifiedBody *bool `json:"notified_body,omitempty"`
	// FinancialInstitution: the provider is a financial institution (A19-2).
	FinancialInstitution *bool `json:"financial_institution,omitempty"`
	// DeployerManagedByRegistry: deployers' deployments are recorded in this
	// registry (A26-6).
	DeployerManagedByRegistry *bool `json:"deployer_managed_by_registry,omitempty"`
	// GenerativeAI: a system that generates synthetic content (A50-2).
	GenerativeAI *bool `json:"generative_ai,omitempty"`
}

// VersionInfo is the version's design as a person describes it (GUIDE §3
// "version"); the registry adds what it records (number, parent, artifact,
// training run).
type VersionInfo struct {
	Task                    string                `json:"task,omitempty"`
	ChangeSummary           string                `json:"change_summary,omitempty"`
	SubstantialModification *bool                 `json:"substantial_modification,omitempty"`
	ConformityAssessmentRef string                `json:"conformity_assessment_ref,omitempty"`
	PredeterminedChanges    []PredeterminedChange `json:"predetermined_changes,omitempty"`
	Architecture            string                `json:"architecture,omitempty"`
	ParameterCount          *int64                `json:"parameter_count,omitempty"`
	Approach                string                `json:"approach,omitempty"`
	DesignChoices           string                `json:"design_choices,omitempty"`
	OptimisationObjective   string                `json:"optimisation_objective,omitempty"`
	ExpectedOutput          string                `json:"expected_output,omitempty"`
	Tradeoffs               string                `json:"tradeoffs,omitempty"`
	PretrainedComponents    []PretrainedComponent `json:"pretrained_components,omitempty"`
	Inputs                  []IOSpec              `json:"inputs,omitempty"`
	Outputs                 []IOSpec              `json:"outputs,omitempty"`
	Explainability          *Explainability       `json:"explainability,omitempty"`
	PerformanceLimitations  []string              `json:"performance_limitations,omitempty"`
	MetricRationale         string                `json:"metric_rationale,omitempty"`
	Licence                 string                `json:"licence,omitempty"`
	ContextWindow           *int64                `json:"context_window,omitempty"`
	ContinualLearning       *bool                 `json:"continual_learning,omitempty"`
	FeedbackLoopMitigation  string                `json:"feedback_loop_mitigation,omitempty"`
}

// PredeterminedChange is a change planned at the conformity assessment
// (Annex IV 2(f)).
type PredeterminedChange struct {
	Description        string `json:"description,omitempty"`
	Bounds             string `json:"bounds,omitempty"`
	RetrainingTrigger  string `json:"retraining_trigger,omitempty"`
	ValidationProtocol string `json:"validation_protocol,omitempty"`
}

// PretrainedComponent is a model or tool the version builds on (Annex IV
// 2(a)).
type PretrainedComponent struct {
	Name     string `json:"name,omitempty"`
	Version  string `json:"version,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Supplier string `json:"supplier,omitempty"`
	HowUsed  string `json:"how_used,omitempty"`
}

// IOSpec describes one input or output of the model.
type IOSpec struct {
	Name           string `json:"name,omitempty"`
	Format         string `json:"format,omitempty"`
	Spec           string `json:"spec,omitempty"`
	ValidRanges    string `json:"valid_ranges,omitempty"`
	Interpretation string `json:"interpretation,omitempty"`
	Modality       string `json:"modality,omitempty"`
	MaxSize        string `json:"max_size,omitempty"`
}

// Explainability is how the model's outputs can be explained (Art.
// 13(3)(b)(iv)).
type Explainability struct {
	Methods []string `json:"methods,omitempty"`
	Doc     *DocRef  `json:"doc,omitempty"`
}

// DatasetGovernance is what a person tells about a dataset the version
// uses (Annex IV 2(d), Art. 10): Name and Version name a dataset of the
// registry (Version "" for every version of it).
type DatasetGovernance struct {
	Name                   string  `json:"name"`
	Version                string  `json:"version,omitempty"`
	Provenance             string  `json:"provenance,omitempty"`
	CollectionProcess      string  `json:"collection_process,omitempty"`
	SelectionCriteria      string  `json:"selection_criteria,omitempty"`
	LabellingProcedure     string  `json:"labelling_procedure,omitempty"`
	CleaningMethods        string  `json:"cleaning_methods,omitempty"`
	Preprocessing          string  `json:"preprocessing,omitempty"`
	DesignChoices          string  `json:"design_choices,omitempty"`
	Assumptions            string  `json:"assumptions,omitempty"`
	Suitability            string  `json:"suitability,omitempty"`
	Representativeness     string  `json:"representativeness,omitempty"`
	KnownBiases            string  `json:"known_biases,omitempty"`
	BiasExamination        *DocRef `json:"bias_examination,omitempty"`
	BiasExaminationRunID   string  `json:"bias_examination_run_id,omitempty"`
	BiasMitigation         string  `json:"bias_mitigation,omitempty"`
	DataGaps               string  `json:"data_gaps,omitempty"`
	ContainsPersonalData   *bool   `json:"contains_personal_data,omitempty"`
	PersonalDataPurpose    string  `json:"personal_data_purpose,omitempty"`
	SpecialCategoriesUsed  *bool   `json:"special_categories_used,omitempty"`
	Safeguards             *DocRef `json:"safeguards,omitempty"`
	RecordCount            *int64  `json:"record_count,omitempty"`
	Licence                string  `json:"licence,omitempty"`
	Datasheet              *DocRef `json:"datasheet,omitempty"`
	Curation               string  `json:"curation,omitempty"`
	UnsuitableSourceChecks string  `json:"unsuitable_source_checks,omitempty"`
	TDMOptOutChecked       *bool   `json:"tdm_optout_checked,omitempty"`
}

// Metric categories of declared metrics.
const (
	CategoryAccuracy      = "accuracy"
	CategoryRobustness    = "robustness"
	CategoryCybersecurity = "cybersecurity"
	CategoryFairness      = "fairness"
	CategoryOther         = "other"
)

// MetricCategories lists the declared metrics' categories.
var MetricCategories = []string{CategoryAccuracy, CategoryRobustness, CategoryCybersecurity, CategoryFairness, CategoryOther}

// DeclaredMetric is a metric the provider stands behind (Art. 13(3)(b)(ii),
// 15(3)): which recorded metric (Key on Dataset at DatasetVersion, from
// RunID), what it measures, for which group (Slice), and why it fits.
type DeclaredMetric struct {
	Key                string              `json:"key"`
	Dataset            string              `json:"dataset,omitempty"`
	DatasetVersion     string              `json:"dataset_version,omitempty"`
	Split              string              `json:"split,omitempty"`
	RunID              string              `json:"run_id,omitempty"`
	Category           string              `json:"category,omitempty"`
	Slice              *Slice              `json:"slice,omitempty"`
	DeclaredInIFU      bool                `json:"declared_in_ifu,omitempty"`
	Rationale          string              `json:"rationale,omitempty"`
	Unit               string              `json:"unit,omitempty"`
	HigherIsBetter     *bool               `json:"higher_is_better,omitempty"`
	Threshold          *float64            `json:"threshold,omitempty"`
	ConfidenceInterval *ConfidenceInterval `json:"confidence_interval,omitempty"`
	MethodRef          string              `json:"method_ref,omitempty"`
}

// Slice is the group a metric is measured on: persons with Attribute =
// Value.
type Slice struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
}

// ConfidenceInterval bounds a metric value.
type ConfidenceInterval struct {
	Level float64 `json:"level"`
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// RiskManagement is the risk management system's file and register (Art. 9,
// Annex IV 5).
type RiskManagement struct {
	RMSDoc *DocRef `json:"rms_doc,omitempty"`
	Risks  []Risk  `json:"risks,omitempty"`
}

// Risk is one entry of the risk register.
type Risk struct {
	ID             string   `json:"id"`
	Hazard         string   `json:"hazard,omitempty"`
	Affected       []string `json:"affected,omitempty"`
	AffectedRights []string `json:"affected_rights,omitempty"`
	Circumstance   string   `json:"circumstance,omitempty"`
	Likelihood     string   `json:"likelihood,omitempty"`
	Severity       string   `json:"severity,omitempty"`
	Mitigation     string   `json:"mitigation,omitempty"`
	ResidualRisk   string   `json:"residual_risk,omitempty"`
	Status         string   `json:"status,omitempty"`
	Owner          string   `json:"owner,omitempty"`
}

// Risk circumstances (Art. 9(2)(b)).
var RiskCircumstances = []string{"intended_use", "foreseeable_misuse"}

// HumanOversight is how people oversee the system (Art. 14).
type HumanOversight struct {
	Assessment          *DocRef            `json:"assessment,omitempty"`
	Measures            []OversightMeasure `json:"measures,omitempty"`
	InterpretationTools []string           `json:"interpretation_tools,omitempty"`
}

// OversightMeasure is one human-oversight measure: built into the system
// or left to the deployer, and which Art. 14(4) capability it gives.
type OversightMeasure struct {
	ID               string   `json:"id,omitempty"`
	Kind             string   `json:"kind,omitempty"`
	Capability       string   `json:"capability,omitempty"`
	Description      string   `json:"description,omitempty"`
	MitigatesRiskIDs []string `json:"mitigates_risk_ids,omitempty"`
}

// Oversight measure kinds and the capabilities of Art. 14(4) (a)-(e), and
// 14(5)'s dual verification.
var (
	OversightKinds        = []string{"built_in", "deployer"}
	OversightCapabilities = []string{"understand", "automation_bias", "interpret", "override", "stop", "dual_verification"}
)

// Cybersecurity is how the system resists attacks (Art. 15(5)).
type Cybersecurity struct {
	Measures []string `json:"measures,omitempty"`
	Threats  []Threat `json:"threats,omitempty"`
}

// Threat is the measure against one class of attack of Art. 15(5), with
// the security run that tested it.
type Threat struct {
	Class     string `json:"class"`
	Measure   string `json:"measure,omitempty"`
	TestRunID string `json:"test_run_id,omitempty"`
}

// ThreatClasses are the five classes of Art. 15(5).
var ThreatClasses = []string{"data_poisoning", "model_poisoning", "adversarial_examples", "confidentiality", "model_flaws"}

// Logging is what the system records automatically (Art. 12).
type Logging struct {
	EventsRecorded []LoggedEvent `json:"events_recorded,omitempty"`
	Format         string        `json:"format,omitempty"`
	DeployerAccess string        `json:"deployer_access,omitempty"`
	RBIFields      *RBIFields    `json:"rbi_fields,omitempty"`
}

// LoggedEvent is one kind of event the system logs, and why.
type LoggedEvent struct {
	Type    string `json:"type"`
	Purpose string `json:"purpose,omitempty"`
}

// LogPurposes are why an event is logged (Art. 12(2)).
var LogPurposes = []string{"risk", "substantial_modification", "pmm", "operation"}

// RBIFields are the log fields of remote biometric identification (Art.
// 12(3)).
type RBIFields struct {
	UsePeriod     *bool  `json:"use_period,omitempty"`
	ReferenceDBID string `json:"reference_db_id,omitempty"`
	MatchInput    *bool  `json:"match_input,omitempty"`
	VerifierIDs   *bool  `json:"verifier_ids,omitempty"`
}

// Standard is a standard or specification applied (Annex IV 7).
type Standard struct {
	Ref         string `json:"ref"`
	Title       string `json:"title,omitempty"`
	Edition     string `json:"edition,omitempty"`
	Extent      string `json:"extent,omitempty"`
	OJReference string `json:"oj_reference,omitempty"`
}

// Declaration is the EU declaration of conformity (Art. 47).
type Declaration struct {
	Doc       *DocRef `json:"doc,omitempty"`
	Date      string  `json:"date,omitempty"`
	Signatory string  `json:"signatory,omitempty"`
}

// NotifiedBody is the notified body of the conformity assessment.
type NotifiedBody struct {
	Name            string   `json:"name,omitempty"`
	IDNumber        string   `json:"id_number,omitempty"`
	Certificate     *DocRef  `json:"certificate,omitempty"`
	ApprovedChanges []DocRef `json:"approved_changes,omitempty"`
	Decisions       []DocRef `json:"decisions,omitempty"`
}

// QMS is the quality management system's documents (Art. 17).
type QMS struct {
	Documents           []QMSDocument `json:"documents,omitempty"`
	ProportionalityNote string        `json:"proportionality_note,omitempty"`
}

// QMSDocument is the document of one aspect of Art. 17(1), "a" to "m".
type QMSDocument struct {
	Aspect string `json:"aspect"`
	Doc    DocRef `json:"doc"`
}

// QMSAspects are the points of Art. 17(1).
var QMSAspects = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"}

// PostMarketMonitoring is the post-market monitoring plan (Art. 72).
type PostMarketMonitoring struct {
	Plan            *DocRef  `json:"plan,omitempty"`
	Signals         []string `json:"signals,omitempty"`
	Thresholds      []string `json:"thresholds,omitempty"`
	ReviewFrequency string   `json:"review_frequency,omitempty"`
	IntegratedWith  string   `json:"integrated_with,omitempty"`
	TemplateRef     string   `json:"template_ref,omitempty"`
}

// Incident is a serious incident and its reporting (Art. 73).
type Incident struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity,omitempty"`
	DetectedAt  string `json:"detected_at,omitempty"`
	AwareAt     string `json:"aware_at,omitempty"`
	ReportedAt  string `json:"reported_at,omitempty"`
	Authority   string `json:"authority,omitempty"`
}

// GPAI is what a general-purpose AI model's provider documents (Art. 53,
// Annexes XI and XII).
type GPAI struct {
	Tasks                  []string             `json:"tasks,omitempty"`
	IntegrationTargets     []string             `json:"integration_targets,omitempty"`
	AcceptableUsePolicy    *DocRef              `json:"aup,omitempty"`
	Distribution           []string             `json:"distribution,omitempty"`
	Interfaces             []string             `json:"interfaces,omitempty"`
	IntegrationDocs        *DocRef              `json:"integration_docs,omitempty"`
	CopyrightPolicy        *DocRef              `json:"copyright_policy,omitempty"`
	TrainingContentSummary *DocRef              `json:"training_content_summary,omitempty"`
	TrainingSummaryURL     string               `json:"training_content_summary_url,omitempty"`
	OpenSourceExemption    *OpenSourceExemption `json:"open_source_exemption,omitempty"`
	EvalStrategy           *DocRef              `json:"eval_strategy,omitempty"`
}

// OpenSourceExemption is Art. 53(2)'s exemption for open models.
type OpenSourceExemption struct {
	Licence       string `json:"licence,omitempty"`
	WeightsPublic *bool  `json:"weights_public,omitempty"`
}
