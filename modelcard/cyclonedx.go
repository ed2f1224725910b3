package modelcard

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// CycloneDXMediaType is the media type of CycloneDX's output.
const CycloneDXMediaType = "application/vnd.cyclonedx+json"

// BOMOptions are the choices of CycloneDX.
type BOMOptions struct {
	// GeneratedAt is the BOM's metadata.timestamp and goes into its serial
	// number; zero means Facts.GeneratedAt, and if that is zero too, now.
	GeneratedAt time.Time
	// Sign, when set, signs the BOM: it gets the JCS form of the BOM (RFC
	// 8785) and returns an Ed25519 signature of it (64 bytes).
	Sign func(msg []byte) []byte
	// PublicKey is the key that verifies Sign's signatures; it is written
	// into the signature. Required with Sign.
	PublicKey ed25519.PublicKey
	// ToolVersion is Modelkeep's version, written in metadata.tools.
	ToolVersion string
}

// CycloneDX renders the card with the registry's facts as a CycloneDX 1.6
// BOM in JSON (CycloneDXMediaType), valid against the official schema:
//
//   - metadata.component is the version, the BOM's one component of type
//     machine-learning-model: name the model, version its number, hashes
//     the manifest digest's SHA-256 (bare hex), properties its status,
//     stage and the registry's other records (modelkeep:*), its files as
//     nested components of type file with their SHA-256, and the card in
//     modelCard. modelCard.properties holds every field of the card that
//     is set, as modelkeep:card:<JSON path>, so nothing the card says is
//     lost; the CycloneDX fields carry what the format models.
//   - components are the datasets, one component of type data for each
//     dataset version (with its SHA-256 when known), referenced from
//     modelCard.modelParameters.datasets.
//   - formulation holds the runs as workflows, with their input datasets,
//     hyperparameters, outputs, test logs and reports.
//
// The serial number is a name-based UUID (version 5, SHA-1) of the model,
// version number, manifest digest and timestamp, so the same version
// rendered at the same time gets the same serial number, and any other
// rendering another one. With opts.Sign the BOM carries a JSF signature
// (see VerifyJSF).
func CycloneDX(c Card, f Facts, opts BOMOptions) ([]byte, error) {
	at := opts.GeneratedAt
	if at.IsZero() {
		at = f.GeneratedAt
	}
	if at.IsZero() {
		at = time.Now()
	}
	stamp := at.UTC().Format(time.RFC3339)
	b, err := buildBOM(c, f, stamp, opts.ToolVersion)
	if err != nil {
		return nil, err
	}
	if opts.Sign != nil {
		if err := signBOM(b, opts); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return nil, fmt.Errorf("cyclonedx: encode: %w", err)
	}
	return out.Bytes(), nil
}

// The BOM's JSON, as far as this package writes it.
type (
	cdxBOM struct {
		BOMFormat    string        `json:"bomFormat"`
		SpecVersion  string        `json:"specVersion"`
		SerialNumber string        `json:"serialNumber"`
		Version      int           `json:"version"`
		Metadata     cdxMetadata   `json:"metadata"`
		Components   []*cdxComp    `json:"components,omitempty"`
		Formulation  []cdxFormula  `json:"formulation,omitempty"`
		Signature    *jsfSignature `json:"signature,omitempty"`
	}
	cdxMetadata struct {
		Timestamp string   `json:"timestamp"`
		Tools     cdxTools `json:"tools"`
		Component *cdxComp `json:"component"`
	}
	cdxTools struct {
		Components []*cdxComp `json:"components"`
	}
	cdxComp struct {
		Type               string             `json:"type"`
		BOMRef             string             `json:"bom-ref,omitempty"`
		Supplier           *cdxOrg            `json:"supplier,omitempty"`
		Authors            []cdxContact       `json:"authors,omitempty"`
		Publisher          string             `json:"publisher,omitempty"`
		Name               string             `json:"name"`
		Version            string             `json:"version,omitempty"`
		Description        string             `json:"description,omitempty"`
		Hashes             []cdxHash          `json:"hashes,omitempty"`
		Licenses           []cdxLicence       `json:"licenses,omitempty"`
		ExternalReferences []cdxExtRef        `json:"externalReferences,omitempty"`
		Components         []*cdxComp         `json:"components,omitempty"`
		ModelCard          *cdxModelCard      `json:"modelCard,omitempty"`
		Data               []cdxComponentData `json:"data,omitempty"`
		Properties         []cdxProperty      `json:"properties,omitempty"`
		Tags               []string           `json:"tags,omitempty"`
	}
	cdxOrg struct {
		Name    string       `json:"name,omitempty"`
		URL     []string     `json:"url,omitempty"`
		Contact []cdxContact `json:"contact,omitempty"`
	}
	cdxContact struct {
		Name  string `json:"name,omitempty"`
		Email string `json:"email,omitempty"`
	}
	cdxHash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	cdxLicence struct {
		License cdxLicenceID `json:"license"`
	}
	cdxLicenceID struct {
		ID   string `json:"id,omitempty"`
		Name string `json:"name,omitempty"`
	}
	cdxExtRef struct {
		URL     string    `json:"url"`
		Comment string    `json:"comment,omitempty"`
		Type    string    `json:"type"`
		Hashes  []cdxHash `json:"hashes,omitempty"`
	}
	cdxProperty struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	cdxComponentData struct {
		Type          string       `json:"type"`
		Name          string       `json:"name,omitempty"`
		Contents      *cdxContents `json:"contents,omitempty"`
		SensitiveData []string     `json:"sensitiveData,omitempty"`
	}
	cdxContents struct {
		URL string `json:"url,omitempty"`
	}
	cdxModelCard struct {
		BOMRef               string                   `json:"bom-ref,omitempty"`
		ModelParameters      *cdxModelParameters      `json:"modelParameters,omitempty"`
		QuantitativeAnalysis *cdxQuantitativeAnalysis `json:"quantitativeAnalysis,omitempty"`
		Considerations       *cdxConsiderations       `json:"considerations,omitempty"`
		Properties           []cdxProperty            `json:"properties,omitempty"`
	}
	cdxModelParameters struct {
		Approach           *cdxApproach `json:"approach,omitempty"`
		Task               string       `json:"task,omitempty"`
		ArchitectureFamily string       `json:"architectureFamily,omitempty"`
		ModelArchitecture  string       `json:"modelArchitecture,omitempty"`
		Datasets           []cdxRef     `json:"datasets,omitempty"`
		Inputs             []cdxFormat  `json:"inputs,omitempty"`
		Outputs            []cdxFormat  `json:"outputs,omitempty"`
	}
	cdxApproach struct {
		Type string `json:"type"`
	}
	cdxRef struct {
		Ref string `json:"ref"`
	}
	cdxFormat struct {
		Format string `json:"format"`
	}
	cdxQuantitativeAnalysis struct {
		PerformanceMetrics []cdxMetric `json:"performanceMetrics,omitempty"`
	}
	cdxMetric struct {
		Type               string         `json:"type"`
		Value              string         `json:"value,omitempty"`
		Slice              string         `json:"slice,omitempty"`
		ConfidenceInterval *cdxConfidence `json:"confidenceInterval,omitempty"`
	}
	cdxConfidence struct {
		LowerBound string `json:"lowerBound"`
		UpperBound string `json:"upperBound"`
	}
	cdxConsiderations struct {
		Users                 []string      `json:"users,omitempty"`
		UseCases              []string      `json:"useCases,omitempty"`
		TechnicalLimitations  []string      `json:"technicalLimitations,omitempty"`
		PerformanceTradeoffs  []string      `json:"performanceTradeoffs,omitempty"`
		EthicalConsiderations []cdxRisk     `json:"ethicalConsiderations,omitempty"`
		FairnessAssessments   []cdxFairness `json:"fairnessAssessments,omitempty"`
	}
	cdxRisk struct {
		Name               string `json:"name"`
		MitigationStrategy string `json:"mitigationStrategy,omitempty"`
	}
	cdxFairness struct {
		GroupAtRisk        string `json:"groupAtRisk,omitempty"`
		Harms              string `json:"harms,omitempty"`
		MitigationStrategy string `json:"mitigationStrategy,omitempty"`
	}
	cdxFormula struct {
		BOMRef    string        `json:"bom-ref"`
		Workflows []cdxWorkflow `json:"workflows"`
	}
	cdxWorkflow struct {
		BOMRef     string        `json:"bom-ref"`
		UID        string        `json:"uid"`
		Name       string        `json:"name,omitempty"`
		TaskTypes  []string      `json:"taskTypes"`
		Inputs     []cdxIO       `json:"inputs,omitempty"`
		Outputs    []cdxIO       `json:"outputs,omitempty"`
		TimeStart  string        `json:"timeStart,omitempty"`
		TimeEnd    string        `json:"timeEnd,omitempty"`
		Properties []cdxProperty `json:"properties,omitempty"`
	}
	// cdxIO is a workflow's input (resource or parameters) or output
	// (resource, with a type).
	cdxIO struct {
		Type       string         `json:"type,omitempty"`
		Resource   *cdxResource   `json:"resource,omitempty"`
		Parameters []cdxParameter `json:"parameters,omitempty"`
	}
	cdxResource struct {
		Ref               string     `json:"ref,omitempty"`
		ExternalReference *cdxExtRef `json:"externalReference,omitempty"`
	}
	cdxParameter struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	jsfSignature struct {
		Algorithm string     `json:"algorithm"`
		PublicKey *jsfPubKey `json:"publicKey,omitempty"`
		Value     string     `json:"value,omitempty"`
	}
	jsfPubKey struct {
		KTY string `json:"kty"`
		CRV string `json:"crv"`
		X   string `json:"x"`
	}
)

var hexDigest = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// bareSHA256 returns a SHA-256 as CycloneDX wants it: lowercase hex
// without the "sha256:" prefix ("" for ""). field names it in an error.
func bareSHA256(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	h := strings.TrimPrefix(s, "sha256:")
	if !hexDigest.MatchString(h) {
		return "", fmt.Errorf("cyclonedx: %s %q is not a SHA-256 (64 hex digits, optionally after \"sha256:\")", field, s)
	}
	return strings.ToLower(h), nil
}

func sha256Hashes(hex string) []cdxHash {
	if hex == "" {
		return nil
	}
	return []cdxHash{{Alg: "SHA-256", Content: hex}}
}

// serialNumber is a version 5 UUID (RFC 9562 §5.5) in the URL namespace of
// a name made of the model, version, manifest digest and timestamp.
func serialNumber(model string, version int, digest, stamp string) string {
	ns := [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.New()
	h.Write(ns[:])
	fmt.Fprintf(h, "modelkeep:cyclonedx:%s/versions/%d:%s:%s", model, version, digest, stamp)
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// iriRef returns s if it is a URL (an IRI reference the schema accepts),
// else "".
func iriRef(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "\\ \t\n\r") {
		return ""
	}
	if _, err := url.Parse(s); err != nil {
		return ""
	}
	return s
}

// email returns s if it is a plain e-mail address, else "".
func email(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return ""
	}
	return s
}

// docURL is where a document reference points: its URI, or else the
// document's content address as a named-information URI (RFC 6920).
func docURL(d *DocRef) string {
	if u := iriRef(d.URI); u != "" {
		return u
	}
	raw := make([]byte, 32)
	for i := range raw {
		v, _ := strconv.ParseUint(d.SHA256[2*i:2*i+2], 16, 8)
		raw[i] = byte(v)
	}
	return "ni:///sha-256;" + base64.RawURLEncoding.EncodeToString(raw)
}

// extRef makes an external reference of a document reference.
func extRef(d *DocRef, typ, what string) (cdxExtRef, error) {
	hex, err := bareSHA256(what+".sha256", d.SHA256)
	if err != nil {
		return cdxExtRef{}, err
	}
	d2 := *d
	d2.SHA256 = hex
	return cdxExtRef{URL: docURL(&d2), Type: typ, Comment: joinSet(": ", what, joinSet(", ", d.Title, prefixed("version ", d.Version), d.MediaType)),
		Hashes: sha256Hashes(hex)}, nil
}

// extRefType chooses the external reference type of a card's document by
// the field it is in.
func extRefType(field string) string {
	switch {
	case strings.HasPrefix(field, "risk_management."):
		return "risk-assessment"
	case strings.HasPrefix(field, "declaration_of_conformity."):
		return "attestation"
	case strings.HasPrefix(field, "notified_body."):
		return "certification-report"
	case strings.HasPrefix(field, "datasets[") && strings.HasSuffix(field, ".bias_examination"):
		return "evidence"
	case strings.HasPrefix(field, "human_oversight."):
		return "evidence"
	}
	return "documentation"
}

func cdxLicences(s string) []cdxLicence {
	s = strings.TrimSpace(s)
	switch id, _, ok := spdxLicence(s); {
	case s == "":
		return nil
	case ok:
		return []cdxLicence{{License: cdxLicenceID{ID: id}}}
	default:
		return []cdxLicence{{License: cdxLicenceID{Name: s}}}
	}
}

func prop(ps *[]cdxProperty, name, value string) {
	if value != "" {
		*ps = append(*ps, cdxProperty{Name: name, Value: value})
	}
}

// flatten writes every set field of v as a property named prefix + its
// JSON path, with strings as they are, booleans as true/false and numbers
// in their shortest form.
func flatten(ps *[]cdxProperty, prefix string, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		switch {
		case v.IsNil():
		case v.Elem().Kind() == reflect.Bool: // a *bool says false too
			prop(ps, prefix+path, strconv.FormatBool(v.Elem().Bool()))
		default:
			flatten(ps, prefix, v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			flatten(ps, prefix, v.Field(i), joinPath(path, name))
		}
	case reflect.Slice:
		for i := range v.Len() {
			flatten(ps, prefix, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		prop(ps, prefix+path, v.String())
	case reflect.Bool: // a bool without pointer is set when true
		if v.Bool() {
			prop(ps, prefix+path, "true")
		}
	case reflect.Int, reflect.Int64:
		prop(ps, prefix+path, strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		prop(ps, prefix+path, fmtFloat(v.Float()))
	}
}

func modelRef(f Facts) string { return fmt.Sprintf("model:%s/versions/%d", f.Model, f.Version) }

func datasetRef(name, version string) string {
	if version == "" {
		return "dataset:" + name
	}
	return "dataset:" + name + "@" + version
}

func buildBOM(c Card, f Facts, stamp, toolVersion string) (*cdxBOM, error) {
	digest, err := bareSHA256("manifest digest", f.ManifestDigest)
	if err != nil {
		return nil, err
	}
	if f.ManifestDigest != "" && !strings.HasPrefix(f.ManifestDigest, "sha256:") {
		return nil, fmt.Errorf("cyclonedx: manifest digest %q does not start with \"sha256:\"", f.ManifestDigest)
	}
	b := &cdxBOM{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.6",
		SerialNumber: serialNumber(f.Model, f.Version, f.ManifestDigest, stamp),
		Version:      1,
		Metadata: cdxMetadata{
			Timestamp: stamp,
			Tools: cdxTools{Components: []*cdxComp{{Type: "application", Name: "Modelkeep", Publisher: "Modelkeep",
				Version: toolVersion}}},
		},
	}
	m := &cdxComp{
		Type:        "machine-learning-model",
		BOMRef:      modelRef(f),
		Name:        f.Model,
		Version:     strconv.Itoa(f.Version),
		Description: joinSet("\n\n", f.ModelDescription, f.Description),
		Hashes:      sha256Hashes(digest),
	}
	b.Metadata.Component = m
	if c.Version != nil {
		m.Licenses = cdxLicences(c.Version.Licence)
	}
	if p := c.Provider; p != nil && p.Name != "" {
		org := &cdxOrg{Name: p.Name}
		if p.Contact != nil {
			if u := iriRef(p.Contact.URL); u != "" {
				org.URL = []string{u}
			}
			if e := email(p.Contact.Email); e != "" {
				org.Contact = []cdxContact{{Email: e}}
			}
		}
		m.Supplier = org
	}
	if md := c.ModelDetails; md != nil && md.Developers != "" {
		m.Authors = []cdxContact{{Name: md.Developers}}
	}
	for _, k := range sortedKeys(f.Tags) {
		m.Tags = append(m.Tags, strings.TrimSuffix(k+":"+f.Tags[k], ":"))
	}
	m.Properties = registryProperties(f)

	// Files, as components nested in the model.
	for i, fl := range f.Files {
		hex, err := bareSHA256(fmt.Sprintf("files[%d].sha256", i), fl.SHA256)
		if err != nil {
			return nil, err
		}
		fc := &cdxComp{Type: "file", BOMRef: m.BOMRef + "/files/" + fl.Path, Name: fl.Path, Hashes: sha256Hashes(hex)}
		prop(&fc.Properties, "modelkeep:size_bytes", strconv.FormatInt(fl.Size, 10))
		m.Components = append(m.Components, fc)
	}

	// Documents the card references.
	dataDocs := map[int][]cdxExtRef{}
	for _, d := range DocRefs(&c) {
		ref, err := extRef(d.Ref, extRefType(d.Field), d.Field)
		if err != nil {
			return nil, err
		}
		var i int
		if n, _ := fmt.Sscanf(d.Field, "datasets[%d]", &i); n == 1 {
			dataDocs[i] = append(dataDocs[i], ref)
			continue
		}
		m.ExternalReferences = append(m.ExternalReferences, ref)
	}

	datasets, err := dataComponents(c, f, dataDocs)
	if err != nil {
		return nil, err
	}
	b.Components = datasets

	m.ModelCard = modelCard(c, f, m.BOMRef, datasets)

	runs, err := formulation(f, m, datasets)
	if err != nil {
		return nil, err
	}
	if len(runs) > 0 {
		b.Formulation = []cdxFormula{{BOMRef: "formulation:" + m.BOMRef, Workflows: runs}}
	}
	return b, nil
}

// registryProperties are the registry's records of the version that
// CycloneDX has no field for.
func registryProperties(f Facts) []cdxProperty {
	var ps []cdxProperty
	prop(&ps, "modelkeep:status", f.Status)
	prop(&ps, "modelkeep:stage", f.Stage)
	prop(&ps, "modelkeep:manifest_digest", f.ManifestDigest)
	prop(&ps, "modelkeep:created_by", f.CreatedBy)
	prop(&ps, "modelkeep:created_at", fmtTime(f.CreatedAt))
	prop(&ps, "modelkeep:finalized_at", fmtTimePtr(f.FinalizedAt))
	if p := f.Parent; p != nil {
		prop(&ps, "modelkeep:parent", fmt.Sprintf("%s/versions/%d", p.Model, p.Version))
		prop(&ps, "modelkeep:parent_relation", p.Relation)
	}
	if f.CardRevision > 0 {
		prop(&ps, "modelkeep:card_revision", strconv.Itoa(f.CardRevision))
	}
	if f.ModelCardRevision > 0 {
		prop(&ps, "modelkeep:model_card_revision", strconv.Itoa(f.ModelCardRevision))
	}
	for _, k := range sortedKeys(f.Params) {
		prop(&ps, "modelkeep:param:"+k, f.Params[k])
	}
	for _, t := range f.Transitions {
		var approvals []string
		for _, a := range t.Approvals {
			var gates []string
			for _, g := range a.Gates {
				gates = append(gates, fmt.Sprintf("%s=%t", g.Gate, g.Passed))
			}
			approvals = append(approvals, joinSet(" ", "approved by "+a.Approver+" at "+fmtTime(a.At), parenthesise(strings.Join(gates, ", "))))
		}
		prop(&ps, "modelkeep:transition", joinSet("; ", fmt.Sprintf("%s %s→%s %s", t.ID, t.From, t.To, t.Status),
			"requested by "+t.RequestedBy+" at "+fmtTime(t.RequestedAt), prefixed("decided by ", t.DecidedBy),
			prefixed("decided at ", fmtTimePtr(t.DecidedAt)), strings.Join(approvals, "; ")))
	}
	for _, d := range f.Deployments {
		prop(&ps, "modelkeep:deployment", joinSet("; ", d.ID+" "+d.Environment, prefixed("strategy ", d.Strategy),
			fmt.Sprintf("traffic %d%%", d.TrafficPercent), "deployed by "+d.DeployedBy+" at "+fmtTime(d.DeployedAt),
			prefixed("ended at ", fmtTimePtr(d.EndedAt))))
	}
	return ps
}

// dataComponents makes one data component for each dataset version of the
// facts (a version used in several roles has one component with each
// role), each run input and each dataset the card describes.
func dataComponents(c Card, f Facts, docs map[int][]cdxExtRef) ([]*cdxComp, error) {
	var out []*cdxComp
	byRef := map[string]*cdxComp{}
	add := func(d DatasetFact, field string) error {
		ref := datasetRef(d.Name, d.Version)
		dc := byRef[ref]
		if dc == nil {
			dc = &cdxComp{Type: "data", BOMRef: ref, Name: d.Name, Version: d.Version,
				Data: []cdxComponentData{{Type: "dataset", Name: d.Name}}}
			byRef[ref] = dc
			out = append(out, dc)
		}
		hex, err := bareSHA256(field+".sha256", d.SHA256)
		if err != nil {
			return err
		}
		if dc.Hashes == nil {
			dc.Hashes = sha256Hashes(hex)
		}
		if dc.Licenses == nil {
			dc.Licenses = cdxLicences(d.License)
		}
		if u := iriRef(d.URI); u != "" && dc.Data[0].Contents == nil {
			dc.Data[0].Contents = &cdxContents{URL: u}
		}
		if d.Role != "" && !slices.Contains(dc.Properties, cdxProperty{Name: "modelkeep:role", Value: d.Role}) {
			prop(&dc.Properties, "modelkeep:role", d.Role)
		}
		if d.Size > 0 && !slices.ContainsFunc(dc.Properties, func(p cdxProperty) bool { return p.Name == "modelkeep:size_bytes" }) {
			prop(&dc.Properties, "modelkeep:size_bytes", strconv.FormatInt(d.Size, 10))
		}
		return nil
	}
	for i, d := range f.Datasets {
		if err := add(d, fmt.Sprintf("datasets[%d]", i)); err != nil {
			return nil, err
		}
	}
	for i, r := range f.Runs {
		for j, d := range r.Inputs {
			d.Role = ""
			if err := add(d, fmt.Sprintf("runs[%d].inputs[%d]", i, j)); err != nil {
				return nil, err
			}
		}
	}
	for i, g := range c.Datasets {
		var targets []*cdxComp
		for _, dc := range out {
			if dc.Name == g.Name && (g.Version == "" || dc.Version == g.Version) {
				targets = append(targets, dc)
			}
		}
		if len(targets) == 0 {
			if err := add(DatasetFact{Name: g.Name, Version: g.Version}, fmt.Sprintf("card datasets[%d]", i)); err != nil {
				return nil, err
			}
			targets = []*cdxComp{byRef[datasetRef(g.Name, g.Version)]}
		}
		for _, dc := range targets {
			if dc.Licenses == nil {
				dc.Licenses = cdxLicences(g.Licence)
			}
			if g.ContainsPersonalData != nil && *g.ContainsPersonalData {
				dc.Data[0].SensitiveData = append(dc.Data[0].SensitiveData, "personal data")
			}
			if g.SpecialCategoriesUsed != nil && *g.SpecialCategoriesUsed {
				dc.Data[0].SensitiveData = append(dc.Data[0].SensitiveData, "special categories of personal data (GDPR Art. 9)")
			}
			dc.ExternalReferences = append(dc.ExternalReferences, docs[i]...)
			flatten(&dc.Properties, "modelkeep:governance:", reflect.ValueOf(g), "")
		}
	}
	return out, nil
}

// approaches are CycloneDX's learning approaches.
var approaches = []string{"supervised", "unsupervised", "reinforcement-learning", "semi-supervised", "self-supervised"}

func modelCard(c Card, f Facts, ref string, datasets []*cdxComp) *cdxModelCard {
	mc := &cdxModelCard{BOMRef: ref + "/card"}
	mp := &cdxModelParameters{}
	if v := c.Version; v != nil {
		a := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v.Approach)), " ", "-")
		if slices.Contains(approaches, a) {
			mp.Approach = &cdxApproach{Type: a}
		}
		mp.Task = v.Task
		mp.ModelArchitecture = v.Architecture
		for _, io := range v.Inputs {
			if fm := joinSet(": ", io.Name, firstSet(io.Format, io.Modality, io.Spec)); fm != "" {
				mp.Inputs = append(mp.Inputs, cdxFormat{Format: fm})
			}
		}
		for _, io := range v.Outputs {
			if fm := joinSet(": ", io.Name, firstSet(io.Format, io.Modality, io.Spec)); fm != "" {
				mp.Outputs = append(mp.Outputs, cdxFormat{Format: fm})
			}
		}
	}
	if md := c.ModelDetails; md != nil {
		mp.ArchitectureFamily = md.ModelType
	}
	for _, d := range datasets {
		mp.Datasets = append(mp.Datasets, cdxRef{Ref: d.BOMRef})
	}
	if !reflect.ValueOf(*mp).IsZero() {
		mc.ModelParameters = mp
	}

	var pm []cdxMetric
	matched := map[int]bool{}
	for _, d := range c.DeclaredMetrics {
		x := cdxMetric{Type: d.Key, Slice: metricSlice(d.Dataset, d.DatasetVersion, d.Split, d.Slice)}
		if v, ok := matchMetric(d, f.Metrics); ok {
			x.Value = fmtFloat(v.Value)
			for i := range f.Metrics {
				if f.Metrics[i] == v {
					matched[i] = true
				}
			}
		}
		if ci := d.ConfidenceInterval; ci != nil {
			x.ConfidenceInterval = &cdxConfidence{LowerBound: fmtFloat(ci.Lower), UpperBound: fmtFloat(ci.Upper)}
		}
		pm = append(pm, x)
	}
	for i, v := range f.Metrics {
		if !matched[i] {
			pm = append(pm, cdxMetric{Type: v.Key, Value: fmtFloat(v.Value), Slice: metricSlice(v.Dataset, v.DatasetVersion, v.Split, nil)})
		}
	}
	if len(pm) > 0 {
		mc.QuantitativeAnalysis = &cdxQuantitativeAnalysis{PerformanceMetrics: pm}
	}

	cons := &cdxConsiderations{}
	if s := c.System; s != nil {
		cons.Users = append(cons.Users, s.IntendedUsers...)
		cons.UseCases = appendSet(cons.UseCases, s.IntendedPurpose)
	}
	if u := c.IntendedUse; u != nil {
		cons.Users = appendSet(cons.Users, u.PrimaryUsers)
		cons.UseCases = appendSet(cons.UseCases, u.PrimaryUses)
		cons.TechnicalLimitations = appendSet(cons.TechnicalLimitations, prefixed("Out of scope: ", u.OutOfScopeUses))
	}
	if v := c.Version; v != nil {
		cons.TechnicalLimitations = append(cons.TechnicalLimitations, v.PerformanceLimitations...)
		cons.PerformanceTradeoffs = appendSet(cons.PerformanceTradeoffs, v.Tradeoffs)
	}
	cons.TechnicalLimitations = appendSet(cons.TechnicalLimitations, c.CaveatsAndRecommendations)
	if c.EthicalConsiderations != "" {
		cons.EthicalConsiderations = append(cons.EthicalConsiderations, cdxRisk{Name: c.EthicalConsiderations})
	}
	if rm := c.RiskManagement; rm != nil {
		for _, r := range rm.Risks {
			mitigation := joinSet("; ", r.Mitigation, prefixed("residual risk: ", r.ResidualRisk))
			cons.EthicalConsiderations = append(cons.EthicalConsiderations, cdxRisk{Name: joinSet(": ", r.ID, r.Hazard), MitigationStrategy: mitigation})
			if len(r.AffectedRights) > 0 {
				cons.FairnessAssessments = append(cons.FairnessAssessments, cdxFairness{
					GroupAtRisk:        strings.Join(r.Affected, "; "),
					Harms:              joinSet(" ", r.Hazard, "(fundamental rights affected: "+strings.Join(r.AffectedRights, "; ")+")"),
					MitigationStrategy: mitigation,
				})
			}
		}
	}
	if !reflect.ValueOf(*cons).IsZero() {
		mc.Considerations = cons
	}
	flatten(&mc.Properties, "modelkeep:card:", reflect.ValueOf(c), "")
	return mc
}

func firstSet(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func appendSet(list []string, s string) []string {
	if s == "" {
		return list
	}
	return append(list, s)
}

// metricSlice names the data a metric is computed on, as
// "dataset=tx@3; split=test; age_band=18-25".
func metricSlice(dataset, version, split string, s *Slice) string {
	var parts []string
	if dataset != "" {
		parts = append(parts, "dataset="+datasetLabel(dataset, version, ""))
	}
	if split != "" {
		parts = append(parts, "split="+split)
	}
	if s != nil {
		parts = append(parts, s.Attribute+"="+s.Value)
	}
	return strings.Join(parts, "; ")
}

// taskTypes are CycloneDX's task types of each kind of run.
var taskTypes = map[string]string{
	"training": "build", "evaluation": "test", "robustness": "test", "fairness": "test", "security": "scan", "monitoring": "other",
}

// formulation writes the runs as workflows.
func formulation(f Facts, m *cdxComp, datasets []*cdxComp) ([]cdxWorkflow, error) {
	var out []cdxWorkflow
	for i, r := range f.Runs {
		tt := taskTypes[r.Kind]
		if tt == "" {
			tt = "other"
		}
		w := cdxWorkflow{BOMRef: "run:" + r.ID, UID: r.ID, Name: joinSet(" ", r.Kind, "run "+r.ID), TaskTypes: []string{tt},
			TimeStart: fmtTimePtr(r.StartedAt), TimeEnd: fmtTimePtr(r.EndedAt)}
		for _, d := range r.Inputs {
			ref := datasetRef(d.Name, d.Version)
			if slices.ContainsFunc(datasets, func(c *cdxComp) bool { return c.BOMRef == ref }) &&
				!slices.ContainsFunc(w.Inputs, func(x cdxIO) bool { return x.Resource != nil && x.Resource.Ref == ref }) {
				w.Inputs = append(w.Inputs, cdxIO{Resource: &cdxResource{Ref: ref}})
			}
		}
		if len(r.Hyperparameters) > 0 {
			in := cdxIO{}
			for _, k := range sortedKeys(r.Hyperparameters) {
				in.Parameters = append(in.Parameters, cdxParameter{Name: k, Value: r.Hyperparameters[k]})
			}
			w.Inputs = append(w.Inputs, in)
		}
		out256, err := bareSHA256(fmt.Sprintf("runs[%d].output_sha256", i), r.OutputSHA256)
		if err != nil {
			return nil, err
		}
		if out256 != "" {
			target := ""
			if len(m.Hashes) > 0 && m.Hashes[0].Content == out256 {
				target = m.BOMRef
			}
			for _, fc := range m.Components {
				if len(fc.Hashes) > 0 && fc.Hashes[0].Content == out256 {
					target = fc.BOMRef
				}
			}
			if target != "" {
				w.Outputs = append(w.Outputs, cdxIO{Type: "artifact", Resource: &cdxResource{Ref: target}})
			}
		}
		for _, x := range []struct {
			d       *DocRef
			typ, io string
		}{{r.TestLog, "log", "log"}, {r.Report, "evidence", "evidence"}} {
			if x.d == nil {
				continue
			}
			ref, err := extRef(x.d, x.typ, fmt.Sprintf("runs[%d].%s", i, x.io))
			if err != nil {
				return nil, err
			}
			w.Outputs = append(w.Outputs, cdxIO{Type: x.io, Resource: &cdxResource{ExternalReference: &ref}})
		}
		prop(&w.Properties, "modelkeep:kind", r.Kind)
		prop(&w.Properties, "modelkeep:triggered_by", r.TriggeredBy)
		prop(&w.Properties, "modelkeep:code_uri", r.CodeURI)
		prop(&w.Properties, "modelkeep:git_commit", r.GitCommit)
		prop(&w.Properties, "modelkeep:hardware", r.Hardware)
		prop(&w.Properties, "modelkeep:output_sha256", out256)
		for _, s := range r.ReportSignoffs {
			prop(&w.Properties, "modelkeep:report_signoff", s.Signer+" at "+fmtTime(s.SignedAt))
		}
		out = append(out, w)
	}
	return out, nil
}

// signBOM adds a JSF signature: the signed data is the RFC 8785 form of
// the whole BOM with the signature object but without its value.
func signBOM(b *cdxBOM, opts BOMOptions) error {
	if len(opts.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("cyclonedx: signing needs the %d-byte Ed25519 public key in BOMOptions.PublicKey (got %d bytes)", ed25519.PublicKeySize, len(opts.PublicKey))
	}
	b.Signature = &jsfSignature{Algorithm: "Ed25519",
		PublicKey: &jsfPubKey{KTY: "OKP", CRV: "Ed25519", X: base64.RawURLEncoding.EncodeToString(opts.PublicKey)}}
	raw, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("cyclonedx: encode: %w", err)
	}
	msg, err := audit.CanonicalJSON(raw)
	if err != nil {
		return fmt.Errorf("cyclonedx: %w", err)
	}
	sig := opts.Sign(msg)
	if len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("cyclonedx: BOMOptions.Sign returned %d bytes, want a %d-byte Ed25519 signature", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(opts.PublicKey, msg, sig) {
		return errors.New("cyclonedx: the signature from BOMOptions.Sign does not verify with BOMOptions.PublicKey")
	}
	b.Signature.Value = base64.RawURLEncoding.EncodeToString(sig)
	return nil
}

// VerifyJSF checks the JSF signature of a BOM made by CycloneDX: one
// Ed25519 signer at the top level, without excludes, whose public key (if
// written) is pub, and whose value is an Ed25519 signature by pub of the
// RFC 8785 form of the whole BOM without the signature's value. A BOM with
// a member name twice in one object is refused, since readers could
// disagree on which one counts.
func VerifyJSF(bom []byte, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("verify jsf: the public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if err := noDuplicateNames(bom); err != nil {
		return fmt.Errorf("verify jsf: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(bom))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("verify jsf: the BOM is not a JSON object: %w", err)
	}
	raw, ok := doc["signature"]
	if !ok {
		return errors.New("verify jsf: the BOM has no signature")
	}
	sig, ok := raw.(map[string]any)
	if !ok {
		return errors.New("verify jsf: signature is not a JSON object")
	}
	for _, k := range []string{"signers", "chain"} {
		if _, ok := sig[k]; ok {
			return fmt.Errorf("verify jsf: signature has %q: only a single signer is supported", k)
		}
	}
	if _, ok := sig["excludes"]; ok {
		return errors.New("verify jsf: signature has \"excludes\": every member of the BOM must be signed")
	}
	if alg, _ := sig["algorithm"].(string); alg != "Ed25519" {
		return fmt.Errorf("verify jsf: signature algorithm is %v, want \"Ed25519\"", sig["algorithm"])
	}
	if pk, ok := sig["publicKey"]; ok {
		k, _ := pk.(map[string]any)
		x, _ := k["x"].(string)
		kb, err := base64.RawURLEncoding.Strict().DecodeString(x)
		switch {
		case k == nil || k["kty"] != "OKP" || k["crv"] != "Ed25519":
			return errors.New("verify jsf: signature.publicKey is not an Ed25519 key (kty \"OKP\", crv \"Ed25519\")")
		case err != nil || len(kb) != ed25519.PublicKeySize:
			return errors.New("verify jsf: signature.publicKey.x is not a base64url Ed25519 public key")
		case !bytes.Equal(kb, pub):
			return errors.New("verify jsf: the BOM is signed with another key than the one given")
		}
	}
	value, ok := sig["value"].(string)
	if !ok {
		return errors.New("verify jsf: signature has no value")
	}
	sigBytes, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil {
		return fmt.Errorf("verify jsf: signature value is not base64url without padding: %w", err)
	}
	if len(sigBytes) != ed25519.SignatureSize {
		return fmt.Errorf("verify jsf: signature value is %d bytes, want %d", len(sigBytes), ed25519.SignatureSize)
	}
	delete(sig, "value")
	unsigned, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("verify jsf: %w", err)
	}
	msg, err := audit.CanonicalJSON(unsigned)
	if err != nil {
		return fmt.Errorf("verify jsf: %w", err)
	}
	if !ed25519.Verify(pub, msg, sigBytes) {
		return errors.New("verify jsf: the signature does not match: the BOM was changed after signing, or signed with another key")
	}
	return nil
}

// noDuplicateNames refuses JSON with a member name twice in one object.
func noDuplicateNames(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		names  map[string]bool
		key    bool // the next string token of an object is a name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the BOM is not valid JSON: %w", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			name, _ := tok.(string)
			if tok != json.Delim('}') {
				if top.names[name] {
					return fmt.Errorf("member %q appears twice in one object", name)
				}
				top.names[name] = true
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, names: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, a name comes next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}
