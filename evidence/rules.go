package evidence

// The coverage rules: for each row of the catalogue, which evidence in the
// pack answers it. A rule holds when one of its alternatives holds, an
// alternative when all its checks do. A check may carry a qualifier: a
// justification of "<row>:<qualifier>" (A15-5:model_poisoning) waives that
// check alone. The rules are the registry's reading of GUIDE.md §4's
// "Registry evidence" column in the pack's names; docs/evidence.md lists
// them, and TestEveryRowHasARule keeps them complete.

// Rule decides one row.
type Rule struct {
	Any [][]Check
	// Condition names an applicability answer (the card's applicability
	// block): false makes the row not applicable, with who answered and
	// when; unanswered or true leaves the rule to decide.
	Condition string
	// PostMarket rows are evidenced after placing on the market: the
	// production gate does not wait for them.
	PostMarket bool
	// Meta, when set, makes the row present when every applicable row whose
	// id starts with Meta is present or not applicable.
	Meta string
	// Note explains a rule's reading where it is not plain.
	Note string
}

// Check is one selector, waived by a qualified justification when
// Qualifier is set.
type Check struct {
	Selector  string
	Qualifier string
}

// all is a rule of one alternative: every selector holds.
func all(selectors ...string) Rule { return Rule{Any: [][]Check{checks(selectors)}} }

// anyOf is a rule of alternatives.
func anyOf(alternatives ...[]string) Rule {
	r := Rule{}
	for _, a := range alternatives {
		r.Any = append(r.Any, checks(a))
	}
	return r
}

func checks(selectors []string) []Check {
	out := make([]Check, len(selectors))
	for i, s := range selectors {
		out[i] = Check{Selector: s}
	}
	return out
}

func (r Rule) when(condition string) Rule { r.Condition = condition; return r }
func (r Rule) postMarket() Rule           { r.PostMarket = true; return r }
func (r Rule) note(n string) Rule         { r.Note = n; return r }

// testRuns are the kinds of runs whose reports Annex IV 2(g) wants signed.
const testRuns = "evaluation|robustness|fairness|security"

// threats is A15-5: a measure against each of the five classes of Art.
// 15(5), each waivable on its own, and a security test run.
func threats() Rule {
	r := Rule{Any: [][]Check{{}}}
	for _, class := range []string{"data_poisoning", "model_poisoning", "adversarial_examples", "confidentiality", "model_flaws"} {
		r.Any[0] = append(r.Any[0], Check{Selector: "cybersecurity.threats[class=" + class + "].measure", Qualifier: class})
	}
	r.Any[0] = append(r.Any[0], Check{Selector: "runs[kind=security].report.signoffs", Qualifier: "security_run"})
	return r
}

// sameAs is a row whose evidence is another row's.
func sameAs(id string) Rule {
	r := rules[id]
	r.Note = "the same evidence as " + id
	return r
}

var rules = map[string]Rule{
	// Art. 11: technical documentation.
	"A11-1":     {Meta: "AIV-", Note: "present when every applicable Annex IV row is present or not applicable"},
	"A11-1-SME": all("system.documentation_form=sme_simplified").when("sme_simplified_form"),
	"A11-2":     all("system.sectoral_legislation", "system.product_technical_file.sha256").when("annex_i_product"),
	"A11-3":     all("export.requirements_catalogue_version"),

	// Annex IV.
	"AIV-1a": all("system.intended_purpose", "provider.name", "version.version", "version.change_summary"),
	"AIV-1b": all("system.interacting_systems"),
	"AIV-1c": anyOf(
		[]string{"system.software_dependencies", "system.update_requirements"},
		[]string{"runs[kind=training].environment.libraries", "system.update_requirements"}),
	"AIV-1d": all("system.market_forms"),
	"AIV-1e": anyOf([]string{"system.target_hardware"}, []string{"runs[kind=evaluation].compute.hardware"}),
	"AIV-1f": all("system.product_marking_doc.sha256").when("product_component"),
	"AIV-1g": all("system.ui_description"),
	"AIV-1h": all("system.instructions_for_use.sha256"),
	"AIV-2a": all("version.training_run_id", "runs[kind=training].code_ref.commit", "version.approach"),
	"AIV-2b": all("version.architecture", "version.design_choices", "version.optimisation_objective", "version.expected_output",
		"version.tradeoffs", "runs[kind=training].hyperparameters"),
	"AIV-2c": anyOf(
		[]string{"system.architecture.sha256", "runs[kind=training].started_at", "runs[kind=training].ended_at", "runs[kind=training].compute.hardware"},
		[]string{"version.architecture", "runs[kind=training].started_at", "runs[kind=training].ended_at", "runs[kind=training].compute.hardware"}),
	"AIV-2d": all("datasets[role=training].sha256", "datasets[all role=training].provenance", "datasets[all role=training].collection_process",
		"datasets[all role=training].selection_criteria", "datasets[all role=training].labelling_procedure",
		"datasets[all role=training].cleaning_methods"),
	"AIV-2e": anyOf(
		[]string{"human_oversight.measures", "human_oversight.assessment.sha256"},
		[]string{"human_oversight.measures", "version.explainability.methods"}),
	"AIV-2f": all("version.predetermined_changes").when("predetermined_changes"),
	"AIV-2g": all("runs[kind="+testRuns+"]", "runs[all kind="+testRuns+"].inputs", "runs[all kind="+testRuns+"].test_log.sha256",
		"runs[all kind="+testRuns+"].report.signoffs", "metrics.run_id").
		note("every test run names its test data and has a test log and a report signed off by a person"),
	"AIV-2h": all("cybersecurity.measures", "cybersecurity.threats"),
	"AIV-3a": all("declared_metrics[category=accuracy].value", "declared_metrics.slice.attribute", "version.performance_limitations"),
	"AIV-3b": all("risk_management.risks.hazard", "risk_management.risks.affected"),
	"AIV-3c": all("human_oversight.measures", "human_oversight.interpretation_tools"),
	"AIV-3d": anyOf([]string{"version.inputs.spec"}, []string{"version.inputs.format"}),
	"AIV-4":  anyOf([]string{"declared_metrics[all].rationale"}, []string{"version.metric_rationale"}),
	"AIV-5":  all("risk_management.rms_doc.sha256", "risk_management.risks"),
	"AIV-6":  all("version.change_summary", "audit.verification.ok=true"),
	"AIV-7":  anyOf([]string{"standards_applied.ref"}, []string{"other_solutions.sha256"}),
	"AIV-8":  all("declaration_of_conformity.doc.sha256"),
	"AIV-9": anyOf(
		[]string{"post_market_monitoring.plan.sha256", "post_market_monitoring.signals", "post_market_monitoring.review_frequency"},
		[]string{"post_market_monitoring.plan.sha256", "post_market_monitoring.thresholds", "post_market_monitoring.review_frequency"}),

	// Art. 12: record-keeping.
	"A12-1":  all("audit.verification.ok=true", "audit.segments"),
	"A12-2a": all("logging.events_recorded[purpose=risk|substantial_modification]"),
	"A12-2b": all("logging.events_recorded[purpose=pmm]"),
	"A12-2c": all("logging.events_recorded[purpose=operation]", "logging.deployer_access"),
	"A12-3a": all("logging.rbi_fields.use_period=true").when("remote_biometric_identification"),
	"A12-3b": all("logging.rbi_fields.reference_db_id").when("remote_biometric_identification"),
	"A12-3c": all("logging.rbi_fields.match_input=true").when("remote_biometric_identification"),
	"A12-3d": all("logging.rbi_fields.verifier_ids=true").when("remote_biometric_identification"),

	// Art. 13: transparency towards deployers.
	"A13-1":      all("version.outputs.interpretation", "version.explainability.methods"),
	"A13-2":      all("system.instructions_for_use.sha256"),
	"A13-3a":     anyOf([]string{"provider.name", "provider.contact", "provider.established_in_eu=true"}, []string{"provider.name", "provider.contact", "provider.eu_authorised_representative.name"}),
	"A13-3b-i":   all("system.intended_purpose"),
	"A13-3b-ii":  all("declared_metrics[declared_in_ifu=true].value", "declared_metrics[all declared_in_ifu=true].run_id", "declared_metrics[all declared_in_ifu=true].dataset"),
	"A13-3b-iii": all("system.foreseeable_misuse", "risk_management.risks"),
	"A13-3b-iv":  all("version.explainability.methods"),
	"A13-3b-v":   all("declared_metrics.slice.attribute", "declared_metrics[slice].value"),
	"A13-3b-vi":  all("version.inputs", "datasets.provenance", "datasets.known_biases"),
	"A13-3b-vii": all("version.outputs.interpretation"),
	"A13-3c":     all("version.predetermined_changes").when("predetermined_changes"),
	"A13-3d":     all("human_oversight.measures"),
	"A13-3e":     all("system.compute_requirements", "system.expected_lifetime", "system.maintenance.measures"),
	"A13-3f":     all("system.log_access_description", "logging.format", "logging.deployer_access"),

	// Art. 14: human oversight.
	"A14-1":  all("human_oversight.measures", "system.ui_description"),
	"A14-2":  all("human_oversight.measures.mitigates_risk_ids"),
	"A14-3a": all("human_oversight.measures[kind=built_in]"),
	"A14-3b": all("human_oversight.measures[kind=deployer]"),
	"A14-4a": all("human_oversight.measures[capability=understand].description"),
	"A14-4b": all("human_oversight.measures[capability=automation_bias].description"),
	"A14-4c": all("human_oversight.measures[capability=interpret].description", "human_oversight.interpretation_tools"),
	"A14-4d": all("human_oversight.measures[capability=override].description"),
	"A14-4e": all("human_oversight.measures[capability=stop].description"),
	"A14-5":  all("human_oversight.measures[capability=dual_verification].description").when("remote_biometric_identification"),

	// Art. 15: accuracy, robustness, cybersecurity.
	"A15-1": all("declared_metrics[category=accuracy].value", "declared_metrics[category=accuracy].run_id").
		note("the baseline at approval; monitoring metrics over time are A72-2's"),
	"A15-2": all("declared_metrics.method_ref"),
	"A15-3": all("declared_metrics[category=accuracy,declared_in_ifu=true].value", "declared_metrics[all category=accuracy,declared_in_ifu=true].dataset_version"),
	"A15-4": anyOf(
		[]string{"declared_metrics[category=robustness].value", "version.continual_learning"},
		[]string{"runs[kind=robustness].report.signoffs", "version.continual_learning"}),
	"A15-5": threats(),

	// Art. 17: quality management system.
	"A17-1a": all("qms.documents[aspect=a].doc.sha256", "config.transition_policy.required_approvals>=1"),
	"A17-1b": all("qms.documents[aspect=b].doc.sha256"),
	"A17-1c": all("qms.documents[aspect=c].doc.sha256", "config.transition_policy.required_approvals>=1"),
	"A17-1d": all("qms.documents[aspect=d].doc.sha256", "runs[kind=evaluation].started_at"),
	"A17-1e": anyOf([]string{"standards_applied.ref"}, []string{"other_solutions.sha256"}),
	"A17-1f": all("qms.documents[aspect=f].doc.sha256", "datasets.sha256"),
	"A17-1g": all("risk_management.rms_doc.sha256", "risk_management.risks"),
	"A17-1h": all("post_market_monitoring.plan.sha256"),
	"A17-1i": all("qms.documents[aspect=i].doc.sha256"),
	"A17-1j": all("qms.documents[aspect=j].doc.sha256"),
	"A17-1k": all("audit.verification.ok=true", "retention.logs_min_days>=184", "retention.techdoc_min_years>=10"),
	"A17-1l": all("qms.documents[aspect=l].doc.sha256"),
	"A17-1m": all("qms.documents[aspect=m].doc.sha256", "config.four_eyes=true"),
	"A17-2":  all("qms.proportionality_note"),

	// Art. 18 and 19: documentation and logs kept.
	"A18-1a": all("retention.techdoc_min_years>=10", "system.placed_on_market_at", "retention.techdoc_retain_until"),
	"A18-1b": all("qms.documents.doc.sha256", "retention.techdoc_min_years>=10"),
	"A18-1c": all("notified_body.approved_changes.sha256").when("notified_body"),
	"A18-1d": all("notified_body.certificate.sha256").when("notified_body"),
	"A18-1e": all("declaration_of_conformity.doc.sha256"),
	"A18-2":  all("export.verification_tool", "audit.public_key"),
	"A19-1":  all("retention.logs_min_days>=184", "retention.audit_min_days>=184"),
	"A19-2":  all("system.financial_retention_policy").when("financial_institution"),
	"A26-6":  all("retention.logs_min_days>=184", "deployments").when("deployer_managed_by_registry").postMarket(),

	// Art. 72: post-market monitoring.
	"A72-1": all("post_market_monitoring.plan.sha256"),
	"A72-2": all("runs[kind=monitoring].started_at", "runs[kind=monitoring].deployment_id", "metrics[environment].value").postMarket().
		note("a monitoring run of a deployment and production metrics (split production with an environment)"),
	"A72-3": all("post_market_monitoring.plan.sha256", "post_market_monitoring.plan.version"),
	"A72-4": all("post_market_monitoring.integrated_with").when("annex_i_product"),

	// Supporting rows.
	"A9-2": all("risk_management.risks[all].mitigation", "risk_management.risks[all].residual_risk"),
	"A9-6": all("declared_metrics[all threshold].threshold_before_run=true").
		note("every declared threshold was in a card revision made before its run started"),
	"A10-2": all("datasets[all role=training].collection_process", "datasets[all role=training].preprocessing",
		"datasets[all role=training].assumptions", "datasets[all role=training].suitability",
		"datasets[all role=training].known_biases", "datasets[all role=training].bias_mitigation", "datasets[all role=training].data_gaps"),
	"A10-3": all("datasets[all role=training].representativeness"),
	// "all" asks for at least one element, so the datasets that used special
	// categories need safeguards only when there are some: with none, every
	// answer is false.
	"A10-5": anyOf(
		[]string{"datasets[all role=training].special_categories_used", "datasets[all special_categories_used=true].safeguards.sha256"},
		[]string{"datasets[all role=training].special_categories_used", "datasets[all special_categories_used].special_categories_used=false"}).
		note("whether special categories of personal data were used is answered for every training dataset, and safeguards documented where they were"),
	"A43-4": all("version.substantial_modification"),
	"A47-1": all("declaration_of_conformity.doc.sha256"),
	"A49-1": all("system.eu_db_registration_id"),
	"A73-2": all("incidents[all].reported_at").postMarket().
		note("every recorded serious incident has its report time; with none recorded the row stays open after release"),
	"A50-2": all("system.output_marking.method").when("generative_ai"),

	// Art. 53 and Annexes XI, XII: general-purpose AI models.
	"A53-1a":   {Meta: "AXI-", Note: "present when every applicable Annex XI row is present or not applicable"},
	"A53-1b":   {Meta: "AXII-", Note: "present when every applicable Annex XII row is present or not applicable"},
	"A53-1c":   all("gpai.copyright_policy.sha256", "datasets[all].licence"),
	"A53-1d":   all("gpai.training_content_summary.sha256"),
	"A53-2":    all("gpai.open_source_exemption.licence", "gpai.open_source_exemption.weights_public"),
	"AXI-1a":   all("gpai.tasks", "gpai.integration_targets"),
	"AXI-1b":   all("gpai.aup.sha256"),
	"AXI-1c":   all("gpai.distribution"),
	"AXI-1d":   all("version.architecture", "version.parameter_count"),
	"AXI-1e":   all("version.inputs.modality", "version.outputs.modality"),
	"AXI-1f":   all("version.licence"),
	"AXI-2a":   all("gpai.integration_docs.sha256"),
	"AXI-2b":   all("version.design_choices", "version.optimisation_objective", "runs[kind=training].hyperparameters"),
	"AXI-2c":   all("datasets[all].provenance", "datasets[all].curation", "datasets[all].record_count", "datasets[all].unsuitable_source_checks"),
	"AXI-2d":   all("runs[kind=training].compute.flops", "runs[kind=training].started_at", "runs[kind=training].ended_at"),
	"AXI-2e":   all("runs[kind=training].energy_kwh", "runs[kind=training].energy_method"),
	"AXI-S2-1": all("runs[kind=evaluation]", "declared_metrics.value", "gpai.eval_strategy.sha256"),
	"AXI-S2-2": all("runs[kind=security].report.signoffs"),
	"AXI-S2-3": all("system.architecture.sha256"),
	"AXII-1d":  all("gpai.interfaces"),
	"AXII-1e":  all("runs[kind=training].environment.libraries"),
	"AXII-2b":  anyOf([]string{"version.inputs.max_size"}, []string{"version.context_window"}),
	"AXII-2c":  all("datasets[all].provenance", "datasets[all].curation"),
}

func init() {
	// Annex XII repeats points of Annex XI.
	for id, same := range map[string]string{"AXII-1a": "AXI-1a", "AXII-1b": "AXI-1b", "AXII-1c": "AXI-1c", "AXII-1f": "AXI-1d",
		"AXII-1g": "AXI-1e", "AXII-1h": "AXI-1f", "AXII-2a": "AXI-2a"} {
		rules[id] = sameAs(same)
	}
}
