// Package modelcard is the format of Modelkeep's structured model cards:
// the sections of Mitchell et al., "Model Cards for Model Reporting" (FAT*
// 2019), and every field the EU AI Act evidence needs a person to write, in
// the names of ../shared/euaiact/GUIDE.md §3 (provider, system, version,
// datasets, declared metrics, risk management, human oversight,
// cybersecurity, logging, standards, conformity, QMS, post-market
// monitoring, GPAI). It validates a card (errors name the field;
// placeholders such as "TBD" are not answers), merges a version's card over
// its model's, and renders a card with the registry's facts as Markdown,
// printable HTML, a Hugging Face README and a CycloneDX 1.6 ML-BOM.
//
// It imports only the standard library and package audit (for RFC 8785,
// which the BOM's JSF signature covers): the registry (package compliance)
// stores cards and gathers the facts.
package modelcard
