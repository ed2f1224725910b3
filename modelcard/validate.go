package modelcard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelkeep/modelkeep/internal/strictjson"
)

// Limits on a card, so that one card cannot hold megabytes in one field.
const (
	MaxTextLen   = 16 << 10 // bytes of one text field
	MaxListLen   = 256      // entries of one list
	MaxCardBytes = 1 << 20  // the whole card, as JSON
)

// FieldError is a card that cannot be stored, naming the field (its JSON
// path, as in system.intended_purpose or risk_management.risks[2].id).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Decode reads a card from JSON strictly: one JSON object read by the
// request bodies' decoder (internal/strictjson: no data after it, no key
// twice, valid UTF-8), member names matching the card's fields exactly
// (no unknown fields, no other spelling of a known one). Errors name the
// field where they can.
func Decode(r io.Reader) (Card, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCardBytes+1))
	if err != nil {
		return Card{}, fieldErr("card", "cannot be read")
	}
	if len(data) > MaxCardBytes {
		return Card{}, fieldErr("card", "longer than %d bytes", MaxCardBytes)
	}
	v, err := strictjson.Decode(data)
	if err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) {
			return Card{}, fieldErr(cmp.Or(se.Field, "card"), "%s (at byte %d)", se.Reason, se.Offset)
		}
		return Card{}, fieldErr("card", "not valid JSON")
	}
	if _, ok := v.(map[string]any); !ok {
		return Card{}, fieldErr("card", "expected a JSON object")
	}
	if err := checkNames(v, reflect.TypeFor[Card](), ""); err != nil {
		return Card{}, err
	}
	var c Card
	if err := json.Unmarshal(data, &c); err != nil {
		return Card{}, decodeError(err)
	}
	return c, nil
}

// checkNames refuses object members that are not a field of t by its exact
// JSON name (encoding/json would match "System" to "system").
func checkNames(v any, t reflect.Type, field string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type mismatch: encoding/json names it
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			ft, ok := fields[k]
			if !ok {
				return fieldErr(join(field, k), "unknown field")
			}
			if err := checkNames(obj[k], ft, join(field, k)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, _ := v.([]any)
		for i, item := range arr {
			if err := checkNames(item, t.Elem(), fmt.Sprintf("%s[%d]", field, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := checkNames(obj[k], t.Elem(), join(field, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// decodeError turns encoding/json's errors into ones naming the field,
// without Go's type names.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "card"
		}
		return fieldErr(field, "expected %s, found a JSON %s", jsonKind(te.Type), te.Value)
	case errors.As(err, &se):
		return fieldErr("card", "not valid JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fieldErr("card", "the JSON object is incomplete (or longer than %d bytes)", MaxCardBytes)
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return fieldErr(strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`), "unknown field")
	}
	return fieldErr("card", "cannot be read: %v", err)
}

// jsonKind names a Go type as the JSON value it reads.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// placeholders are texts that fill a field without answering it. They are
// compared after trimming spaces and final punctuation, ignoring case.
var placeholders = []string{
	"tbd", "tba", "todo", "to do", "n/a", "na", "tbc", "to be determined", "to be decided", "to be defined",
	"to be confirmed", "placeholder", "more information needed", "[more information needed]",
	"xxx", "...", "…", "-", "--", "?", "??", "lorem ipsum", "fixme", "unknown yet", "later",
}

// IsPlaceholder reports whether s is a placeholder, or blank, rather than
// an answer.
func IsPlaceholder(s string) bool {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return true
	}
	if slices.Contains(placeholders, t) {
		return true
	}
	t = strings.TrimRight(t, ".!:; ")
	return t == "" || slices.Contains(placeholders, t)
}

// Validate checks a card: every text is an answer (not blank, not a
// placeholder) within MaxTextLen, lists are bounded, words from fixed sets
// are among them, times and dates parse, document references carry a
// SHA-256, and ids are unique where others refer to them. The error is a
// *FieldError naming the first field at fault.
func Validate(c Card) error {
	if err := walkStrings(reflect.ValueOf(c), ""); err != nil {
		return err
	}
	for _, check := range []func(Card) error{
		checkSystem, checkVersion, checkDatasets, checkDeclaredMetrics, checkRisks, checkOversight,
		checkCybersecurity, checkLogging, checkStandards, checkConformity, checkQMS, checkIncidents,
	} {
		if err := check(c); err != nil {
			return err
		}
	}
	return nil
}

// walkStrings checks every string and list of the card, naming each by its
// JSON path.
func walkStrings(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return walkStrings(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if err := walkStrings(v.Field(i), joinPath(path, name)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.Len() > MaxListLen {
			return fieldErr(path, "at most %d entries", MaxListLen)
		}
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		return checkText(path, v.String())
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkText checks one text field that is set. The zero value is "not
// told" (JSON leaves it out), so only a text that is there is judged.
func checkText(field, s string) error {
	switch {
	case s == "":
		return nil
	case !utf8.ValidString(s):
		return fieldErr(field, "not valid UTF-8")
	case len(s) > MaxTextLen:
		return fieldErr(field, "longer than %d bytes", MaxTextLen)
	case IsPlaceholder(s):
		return fieldErr(field, "%q is a placeholder, not an answer: leave the field out until it can be answered", clip(s))
	}
	return nil
}

// clip shortens a quoted value in a message.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

// oneOf checks that a set word is one of words.
func oneOf(field, s string, words []string) error {
	if s == "" || slices.Contains(words, s) {
		return nil
	}
	return fieldErr(field, "%q is not one of %s", clip(s), strings.Join(words, ", "))
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkDocRef checks a document reference that is set.
func checkDocRef(field string, d *DocRef) error {
	if d == nil {
		return nil
	}
	if !sha256RE.MatchString(d.SHA256) {
		return fieldErr(field+".sha256", "a document is referenced by the lowercase hex SHA-256 of its content (64 digits)")
	}
	return nil
}

// checkTime checks an RFC 3339 time that is set.
func checkTime(field, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return fieldErr(field, "%q is not an RFC 3339 time, e.g. 2026-11-01T12:00:00Z", clip(s))
	}
	return nil
}

// checkDate checks a YYYY-MM-DD date that is set.
func checkDate(field, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return fieldErr(field, "%q is not a date, e.g. 2026-11-01", clip(s))
	}
	return nil
}

// required checks that a key field of a list entry is set.
func required(field, s string) error {
	if s == "" {
		return fieldErr(field, "is required")
	}
	return nil
}

func checkSystem(c Card) error {
	s := c.System
	if s == nil {
		return nil
	}
	return errors.Join(
		oneOf("system.risk_class", s.RiskClass, RiskClasses),
		oneOf("system.documentation_form", s.DocumentationForm, []string{"full", "sme_simplified"}),
		checkTime("system.placed_on_market_at", s.PlacedOnMarketAt),
		checkDocRef("system.product_marking_doc", s.ProductMarkingDoc),
		checkDocRef("system.instructions_for_use", s.InstructionsForUse),
		checkDocRef("system.architecture", s.Architecture),
		checkDocRef("system.product_technical_file", s.ProductTechnicalFile),
	)
}

func checkVersion(c Card) error {
	v := c.Version
	if v == nil {
		return nil
	}
	if v.ParameterCount != nil && *v.ParameterCount < 0 {
		return fieldErr("version.parameter_count", "must not be negative")
	}
	if v.ContextWindow != nil && *v.ContextWindow < 0 {
		return fieldErr("version.context_window", "must not be negative")
	}
	for i, p := range v.PretrainedComponents {
		if p.SHA256 != "" && !sha256RE.MatchString(p.SHA256) {
			return fieldErr(fmt.Sprintf("version.pretrained_components[%d].sha256", i), "want 64 lowercase hex digits")
		}
	}
	if v.Explainability != nil {
		return checkDocRef("version.explainability.doc", v.Explainability.Doc)
	}
	return nil
}

func checkDatasets(c Card) error {
	seen := map[string]bool{}
	for i, d := range c.Datasets {
		f := fmt.Sprintf("datasets[%d]", i)
		if err := required(f+".name", d.Name); err != nil {
			return err
		}
		if seen[d.Name+"@"+d.Version] {
			return fieldErr(f, "dataset %s version %q is described twice", d.Name, d.Version)
		}
		seen[d.Name+"@"+d.Version] = true
		if d.RecordCount != nil && *d.RecordCount < 0 {
			return fieldErr(f+".record_count", "must not be negative")
		}
		if err := errors.Join(checkDocRef(f+".bias_examination", d.BiasExamination), checkDocRef(f+".safeguards", d.Safeguards),
			checkDocRef(f+".datasheet", d.Datasheet)); err != nil {
			return err
		}
	}
	return nil
}

func checkDeclaredMetrics(c Card) error {
	for i, m := range c.DeclaredMetrics {
		f := fmt.Sprintf("declared_metrics[%d]", i)
		if err := required(f+".key", m.Key); err != nil {
			return err
		}
		if err := oneOf(f+".category", m.Category, MetricCategories); err != nil {
			return err
		}
		if s := m.Slice; s != nil {
			if err := errors.Join(required(f+".slice.attribute", s.Attribute), required(f+".slice.value", s.Value)); err != nil {
				return err
			}
		}
		if ci := m.ConfidenceInterval; ci != nil && (ci.Level <= 0 || ci.Level >= 1 || ci.Lower > ci.Upper) {
			return fieldErr(f+".confidence_interval", "want 0 < level < 1 and lower <= upper")
		}
	}
	return nil
}

func checkRisks(c Card) error {
	rm := c.RiskManagement
	if rm == nil {
		return nil
	}
	if err := checkDocRef("risk_management.rms_doc", rm.RMSDoc); err != nil {
		return err
	}
	ids := map[string]bool{}
	for i, r := range rm.Risks {
		f := fmt.Sprintf("risk_management.risks[%d]", i)
		if err := required(f+".id", r.ID); err != nil {
			return err
		}
		if ids[r.ID] {
			return fieldErr(f+".id", "risk id %q is used twice", clip(r.ID))
		}
		ids[r.ID] = true
		if err := oneOf(f+".circumstance", r.Circumstance, RiskCircumstances); err != nil {
			return err
		}
	}
	return nil
}

func checkOversight(c Card) error {
	h := c.HumanOversight
	if h == nil {
		return nil
	}
	if err := checkDocRef("human_oversight.assessment", h.Assessment); err != nil {
		return err
	}
	risks := map[string]bool{}
	if c.RiskManagement != nil {
		for _, r := range c.RiskManagement.Risks {
			risks[r.ID] = true
		}
	}
	for i, m := range h.Measures {
		f := fmt.Sprintf("human_oversight.measures[%d]", i)
		if err := errors.Join(oneOf(f+".kind", m.Kind, OversightKinds), oneOf(f+".capability", m.Capability, OversightCapabilities)); err != nil {
			return err
		}
		for j, id := range m.MitigatesRiskIDs {
			if !risks[id] {
				return fieldErr(fmt.Sprintf("%s.mitigates_risk_ids[%d]", f, j), "no risk %q in risk_management.risks", clip(id))
			}
		}
	}
	return nil
}

func checkCybersecurity(c Card) error {
	if c.Cybersecurity == nil {
		return nil
	}
	seen := map[string]bool{}
	for i, t := range c.Cybersecurity.Threats {
		f := fmt.Sprintf("cybersecurity.threats[%d].class", i)
		if err := required(f, t.Class); err != nil {
			return err
		}
		if err := oneOf(f, t.Class, ThreatClasses); err != nil {
			return err
		}
		if seen[t.Class] {
			return fieldErr(f, "%s is described twice", t.Class)
		}
		seen[t.Class] = true
	}
	return nil
}

func checkLogging(c Card) error {
	if c.Logging == nil {
		return nil
	}
	for i, e := range c.Logging.EventsRecorded {
		f := fmt.Sprintf("logging.events_recorded[%d]", i)
		if err := errors.Join(required(f+".type", e.Type), oneOf(f+".purpose", e.Purpose, LogPurposes)); err != nil {
			return err
		}
	}
	return nil
}

func checkStandards(c Card) error {
	for i, s := range c.StandardsApplied {
		f := fmt.Sprintf("standards_applied[%d]", i)
		if err := errors.Join(required(f+".ref", s.Ref), oneOf(f+".extent", s.Extent, []string{"full", "partial"})); err != nil {
			return err
		}
	}
	return checkDocRef("other_solutions", c.OtherSolutions)
}

func checkConformity(c Card) error {
	if d := c.DeclarationOfConformity; d != nil {
		if err := errors.Join(checkDocRef("declaration_of_conformity.doc", d.Doc), checkDate("declaration_of_conformity.date", d.Date)); err != nil {
			return err
		}
	}
	if nb := c.NotifiedBody; nb != nil {
		if err := checkDocRef("notified_body.certificate", nb.Certificate); err != nil {
			return err
		}
		for i := range nb.ApprovedChanges {
			if err := checkDocRef(fmt.Sprintf("notified_body.approved_changes[%d]", i), &nb.ApprovedChanges[i]); err != nil {
				return err
			}
		}
		for i := range nb.Decisions {
			if err := checkDocRef(fmt.Sprintf("notified_body.decisions[%d]", i), &nb.Decisions[i]); err != nil {
				return err
			}
		}
	}
	if p := c.PostMarketMonitoring; p != nil {
		return checkDocRef("post_market_monitoring.plan", p.Plan)
	}
	return nil
}

func checkQMS(c Card) error {
	if c.QMS == nil {
		return nil
	}
	for i := range c.QMS.Documents {
		d := &c.QMS.Documents[i]
		f := fmt.Sprintf("qms.documents[%d]", i)
		if err := errors.Join(required(f+".aspect", d.Aspect), oneOf(f+".aspect", d.Aspect, QMSAspects), checkDocRef(f+".doc", &d.Doc)); err != nil {
			return err
		}
	}
	return nil
}

func checkIncidents(c Card) error {
	for i, in := range c.Incidents {
		f := fmt.Sprintf("incidents[%d]", i)
		if err := errors.Join(required(f+".id", in.ID), checkTime(f+".detected_at", in.DetectedAt),
			checkTime(f+".aware_at", in.AwareAt), checkTime(f+".reported_at", in.ReportedAt)); err != nil {
			return err
		}
	}
	if g := c.GPAI; g != nil {
		for name, d := range map[string]*DocRef{"gpai.aup": g.AcceptableUsePolicy, "gpai.integration_docs": g.IntegrationDocs,
			"gpai.copyright_policy": g.CopyrightPolicy, "gpai.training_content_summary": g.TrainingContentSummary, "gpai.eval_strategy": g.EvalStrategy} {
			if err := checkDocRef(name, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// DocRefs returns every document reference of the card with its field,
// in a stable order, so that the registry can check and complete them.
func DocRefs(c *Card) []FieldDocRef {
	var out []FieldDocRef
	collectDocRefs(reflect.ValueOf(c), "", &out)
	return out
}

// FieldDocRef is one document reference of a card and where it is.
type FieldDocRef struct {
	Field string
	Ref   *DocRef
}

var docRefType = reflect.TypeFor[DocRef]()

func collectDocRefs(v reflect.Value, path string, out *[]FieldDocRef) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Elem().Type() == docRefType {
			*out = append(*out, FieldDocRef{Field: path, Ref: v.Interface().(*DocRef)})
			return
		}
		collectDocRefs(v.Elem(), path, out)
	case reflect.Struct:
		if v.Type() == docRefType {
			*out = append(*out, FieldDocRef{Field: path, Ref: v.Addr().Interface().(*DocRef)})
			return
		}
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			collectDocRefs(v.Field(i), joinPath(path, name), out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			collectDocRefs(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// Merge returns the card in force for a version: the model's card with the
// version's over it, field by field. A field the version sets replaces the
// model's (a list as a whole); an object is merged member by member.
func Merge(model, version Card) (Card, error) {
	var m, v map[string]any
	if err := roundTrip(model, &m); err != nil {
		return Card{}, err
	}
	if err := roundTrip(version, &v); err != nil {
		return Card{}, err
	}
	merged := mergeObjects(m, v)
	b, err := json.Marshal(merged)
	if err != nil {
		return Card{}, err
	}
	var out Card
	if err := json.Unmarshal(b, &out); err != nil {
		return Card{}, fmt.Errorf("merge cards: %w", err)
	}
	return out, nil
}

func roundTrip(c Card, into *map[string]any) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode card: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(into)
}

func mergeObjects(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bo, baseIsObject := out[k].(map[string]any)
		oo, overIsObject := v.(map[string]any)
		if baseIsObject && overIsObject {
			out[k] = mergeObjects(bo, oo)
			continue
		}
		out[k] = v
	}
	return out
}

// IsEmpty reports whether the card tells nothing.
func (c Card) IsEmpty() bool {
	b, err := json.Marshal(c)
	return err == nil && string(b) == "{}"
}
