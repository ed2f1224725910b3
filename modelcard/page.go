package modelcard

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// notProvided stands where a section or field has nothing, so that a reader
// sees the gap instead of a section that is not there.
const notProvided = "Not provided."

// page is a rendered card before it is written out: Markdown and HTML write
// the same page, so they say the same things. Every string in it is plain
// text (user text or the registry's facts); the writers escape it.
type page struct {
	Title    string
	Summary  string // one line under the title: what the page is and when it was made
	Sections []section
}

// section is a heading with its content; a section without blocks says
// "Not provided.".
type section struct {
	ID     string // HTML anchor, unique in the page
	Title  string
	Level  int // 2 or 3
	Blocks []block
}

// block is one piece of a section: a titled group of fields, a table, a
// list or a paragraph.
type block struct {
	Heading string
	Fields  []field
	Table   *table
	List    []string
	Text    string
}

// field is a label and its value. A field with neither Value nor List
// says "Not provided.".
type field struct {
	Label string
	Value string
	List  []string // a value that is a list
	Mono  bool     // digests, ids: set in a fixed-width font in HTML
}

func (f field) empty() bool { return f.Value == "" && len(f.List) == 0 }

// table is a table with a header row; RowHeader makes each row's first
// cell its header.
type table struct {
	Caption   string
	Head      []string
	Rows      [][]string
	RowHeader bool
	Mono      []int // columns set in a fixed-width font in HTML
}

func (t *table) mono(col int) bool { return slices.Contains(t.Mono, col) }

// fieldList collects fields: want adds a field that is always shown
// ("Not provided." when empty), opt one shown only when set.
type fieldList []field

func (l *fieldList) want(label, value string) { *l = append(*l, field{Label: label, Value: value}) }

func (l *fieldList) opt(label, value string) {
	if value != "" {
		l.want(label, value)
	}
}

func (l *fieldList) mono(label, value string, always bool) {
	if value != "" || always {
		*l = append(*l, field{Label: label, Value: value, Mono: true})
	}
}

func (l *fieldList) list(label string, items []string, always bool) {
	if len(items) > 0 || always {
		*l = append(*l, field{Label: label, List: items})
	}
}

// block returns the fields as a block, or nothing if no field is set and
// none is wanted.
func (l fieldList) block(heading string) []block {
	if len(l) == 0 {
		return nil
	}
	return []block{{Heading: heading, Fields: l}}
}

// allEmpty reports whether no field has a value.
func (l fieldList) allEmpty() bool {
	for _, f := range l {
		if !f.empty() {
			return false
		}
	}
	return true
}

// Formatting of the registry's values.

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return fmtTime(*t)
}

func fmtBool(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "yes"
	}
	return "no"
}

func fmtInt(n *int64) string {
	if n == nil {
		return ""
	}
	return groupDigits(strconv.FormatInt(*n, 10))
}

// fmtFloat writes a metric value exactly (the shortest form that reads
// back as the same float64).
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// fmtSize writes a size in bytes, with a binary unit for larger ones.
func fmtSize(n int64) string {
	s := groupDigits(strconv.FormatInt(n, 10)) + " bytes"
	const unit = 1024
	if n < unit {
		return s
	}
	v, i := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	for v /= unit; v >= unit && i < len(units)-1; v /= unit {
		i++
	}
	return fmt.Sprintf("%s (%.1f %s)", s, v, units[i])
}

func groupDigits(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtDoc describes a document reference: what it is, then its digest, which
// is what identifies it.
func fmtDoc(d *DocRef) string {
	if d == nil {
		return ""
	}
	var parts []string
	if d.Title != "" {
		parts = append(parts, d.Title)
	}
	if d.Version != "" {
		parts = append(parts, "version "+d.Version)
	}
	if d.MediaType != "" {
		parts = append(parts, d.MediaType)
	}
	if d.URI != "" {
		parts = append(parts, d.URI)
	}
	parts = append(parts, "SHA-256 "+d.SHA256)
	return strings.Join(parts, ", ")
}

func fmtContact(c *Contact) string {
	if c == nil {
		return ""
	}
	return joinSet(", ", c.Email, c.URL)
}

// joinSet joins the strings that are set.
func joinSet(sep string, ss ...string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}

// datasetLabel names a dataset version and split: "tx@2026.1 (test)".
func datasetLabel(name, version, split string) string {
	s := name
	if version != "" {
		s += "@" + version
	}
	if split != "" {
		if s == "" {
			return "split " + split
		}
		s += " (" + split + ")"
	}
	return s
}

func sliceLabel(s *Slice) string {
	if s == nil {
		return ""
	}
	return s.Attribute + " = " + s.Value
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// matchMetric finds the recorded value of a declared metric: the latest
// point among the series with its key on its dataset, dataset version,
// split and run, each compared only where the declaration names it.
func matchMetric(d DeclaredMetric, ms []MetricFact) (MetricFact, bool) {
	var best MetricFact
	found := false
	for _, m := range ms {
		if m.Key != d.Key || (d.Dataset != "" && m.Dataset != d.Dataset) ||
			(d.DatasetVersion != "" && m.DatasetVersion != d.DatasetVersion) ||
			(d.Split != "" && m.Split != d.Split) || (d.RunID != "" && m.RunID != d.RunID) {
			continue
		}
		if !found || m.Timestamp.After(best.Timestamp) {
			best, found = m, true
		}
	}
	return best, found
}

// target writes a declared metric's threshold with its direction.
func target(d DeclaredMetric) string {
	if d.Threshold == nil {
		return ""
	}
	v := fmtFloat(*d.Threshold)
	switch {
	case d.HigherIsBetter == nil:
		return v
	case *d.HigherIsBetter:
		return "≥ " + v
	}
	return "≤ " + v
}

func interval(ci *ConfidenceInterval) string {
	if ci == nil {
		return ""
	}
	return fmt.Sprintf("%s–%s (%s%%)", fmtFloat(ci.Lower), fmtFloat(ci.Upper), fmtFloat(ci.Level*100))
}

// capabilityNames are the Art. 14(4) points and 14(5) of each oversight
// capability.
var capabilityNames = map[string]string{
	"understand":        "(a) understand the system and monitor its operation",
	"automation_bias":   "(b) remain aware of automation bias",
	"interpret":         "(c) interpret the output correctly",
	"override":          "(d) decide not to use, disregard, override or reverse the output",
	"stop":              "(e) intervene or stop the system",
	"dual_verification": "14(5) separate verification by two persons",
}

var threatNames = map[string]string{
	"data_poisoning":       "data poisoning",
	"model_poisoning":      "model poisoning",
	"adversarial_examples": "adversarial examples or model evasion",
	"confidentiality":      "confidentiality attacks",
	"model_flaws":          "model flaws",
}

var qmsAspectNames = map[string]string{
	"a": "strategy for regulatory compliance",
	"b": "design, design control and verification",
	"c": "development, quality control and assurance",
	"d": "examination, test and validation procedures",
	"e": "technical specifications and standards",
	"f": "systems and procedures for data management",
	"g": "risk management system",
	"h": "post-market monitoring system",
	"i": "reporting of serious incidents",
	"j": "communication with authorities and other parties",
	"k": "record-keeping",
	"l": "resource management, including security of supply",
	"m": "accountability framework",
}

// buildPage lays out a card with the registry's facts: Mitchell et al.'s
// nine sections with the facts beside what people wrote, the registry's
// approvals and deployments, then the EU AI Act sections.
func buildPage(c Card, f Facts) page {
	p := page{Title: fmt.Sprintf("%s v%d", f.Model, f.Version)}
	p.Summary = "Model card generated by Modelkeep from the registry's records"
	if t := fmtTime(f.GeneratedAt); t != "" {
		p.Summary += " at " + t
	}
	p.Summary += "."
	add := func(s ...section) { p.Sections = append(p.Sections, s...) }
	add(modelDetails(c, f)...)
	add(intendedUse(c), factors(c))
	add(metricsSections(c, f)...)
	add(dataSection("evaluation-data", "Evaluation data", c.EvaluationData, f, false),
		dataSection("training-data", "Training data", c.TrainingData, f, true))
	add(quantitative(c, f)...)
	add(textSection("ethical-considerations", "Ethical considerations", 2, c.EthicalConsiderations))
	add(caveats(c))
	add(approvals(f), deployments(f))
	add(section{ID: "eu-ai-act", Title: "EU AI Act (Regulation (EU) 2024/1689)", Level: 2, Blocks: []block{{
		Text: "What the provider states for the EU AI Act's technical documentation and instructions for use.",
	}}})
	add(provider(c), system(c), applicability(c), riskManagement(c), dataGovernance(c, f), humanOversight(c),
		cybersecurity(c), logging(c), standards(c), conformity(c), qms(c), postMarket(c), incidents(c))
	if c.GPAI != nil {
		add(gpai(c.GPAI))
	}
	return p
}

func textSection(id, title string, level int, text string) section {
	s := section{ID: id, Title: title, Level: level}
	if text != "" {
		s.Blocks = []block{{Text: text}}
	}
	return s
}

func modelDetails(c Card, f Facts) []section {
	var l fieldList
	l.want("Model", f.Model)
	l.opt("Model description", f.ModelDescription)
	l.want("Version", strconv.Itoa(f.Version))
	l.opt("Version description", f.Description)
	l.want("Status", f.Status)
	l.want("Stage", f.Stage)
	l.mono("Manifest digest", f.ManifestDigest, true)
	l.want("Created by", f.CreatedBy)
	l.want("Created at", fmtTime(f.CreatedAt))
	l.opt("Finalized at", fmtTimePtr(f.FinalizedAt))
	if pa := f.Parent; pa != nil {
		l.want("Parent", joinSet(" ", fmt.Sprintf("%s v%d", pa.Model, pa.Version), parenthesise(pa.Relation)))
	} else {
		l.want("Parent", "none recorded")
	}
	if f.CardRevision > 0 || f.ModelCardRevision > 0 {
		l.want("Card revisions", fmt.Sprintf("version card %s, model card %s", revision(f.CardRevision), revision(f.ModelCardRevision)))
	}
	md := c.ModelDetails
	if md == nil {
		md = &ModelDetails{}
	}
	l.want("Developers", md.Developers)
	l.want("Model type", md.ModelType)
	l.opt("Paper", md.Paper)
	l.opt("Citation", md.Citation)
	l.want("Contact", md.Contact)
	v := c.Version
	if v == nil {
		v = &VersionInfo{}
	}
	l.want("Task", v.Task)
	l.want("Learning approach", v.Approach)
	l.want("Architecture", v.Architecture)
	l.opt("Parameter count", fmtInt(v.ParameterCount))
	l.opt("Context window", fmtInt(v.ContextWindow))
	l.want("Licence", v.Licence)
	l.opt("Design choices", v.DesignChoices)
	l.opt("Optimisation objective", v.OptimisationObjective)
	l.opt("Expected output", v.ExpectedOutput)
	l.opt("Change summary", v.ChangeSummary)
	l.opt("Substantial modification", fmtBool(v.SubstantialModification))
	l.opt("Conformity assessment reference", v.ConformityAssessmentRef)
	l.opt("Continual learning", fmtBool(v.ContinualLearning))
	l.opt("Feedback-loop mitigation", v.FeedbackLoopMitigation)
	out := []section{{ID: "model-details", Title: "Model details", Level: 2, Blocks: l.block("")}}

	files := section{ID: "files", Title: "Files", Level: 3}
	if len(f.Files) > 0 {
		t := &table{Head: []string{"Path", "Size", "SHA-256"}, Mono: []int{2}}
		for _, fl := range f.Files {
			t.Rows = append(t.Rows, []string{fl.Path, fmtSize(fl.Size), fl.SHA256})
		}
		files.Blocks = []block{{Table: t}}
	}
	out = append(out, files)

	io := section{ID: "inputs-outputs", Title: "Inputs and outputs", Level: 3}
	for _, x := range []struct {
		caption string
		specs   []IOSpec
	}{{"Inputs", v.Inputs}, {"Outputs", v.Outputs}} {
		if len(x.specs) == 0 {
			continue
		}
		t := &table{Caption: x.caption, Head: []string{"Name", "Format", "Specification", "Valid ranges", "Interpretation", "Modality", "Maximum size"}}
		for _, s := range x.specs {
			t.Rows = append(t.Rows, []string{s.Name, s.Format, s.Spec, s.ValidRanges, s.Interpretation, s.Modality, s.MaxSize})
		}
		io.Blocks = append(io.Blocks, block{Table: t})
	}
	if e := v.Explainability; e != nil {
		var el fieldList
		el.list("Explanation methods", e.Methods, false)
		el.opt("Explainability document", fmtDoc(e.Doc))
		io.Blocks = append(io.Blocks, el.block("Explainability")...)
	}
	out = append(out, io)

	if len(v.PretrainedComponents) > 0 {
		s := section{ID: "pretrained-components", Title: "Pre-trained components", Level: 3}
		t := &table{Head: []string{"Name", "Version", "Supplier", "How used", "SHA-256"}, Mono: []int{4}}
		for _, pc := range v.PretrainedComponents {
			t.Rows = append(t.Rows, []string{pc.Name, pc.Version, pc.Supplier, pc.HowUsed, pc.SHA256})
		}
		s.Blocks = []block{{Table: t}}
		out = append(out, s)
	}
	if len(v.PredeterminedChanges) > 0 {
		s := section{ID: "predetermined-changes", Title: "Predetermined changes", Level: 3}
		t := &table{Head: []string{"Change", "Bounds", "Retraining trigger", "Validation protocol"}}
		for _, pc := range v.PredeterminedChanges {
			t.Rows = append(t.Rows, []string{pc.Description, pc.Bounds, pc.RetrainingTrigger, pc.ValidationProtocol})
		}
		s.Blocks = []block{{Table: t}}
		out = append(out, s)
	}

	tp := section{ID: "tags-params", Title: "Tags and parameters", Level: 3}
	for _, x := range []struct {
		caption string
		m       map[string]string
	}{{"Tags", f.Tags}, {"Parameters", f.Params}} {
		if len(x.m) == 0 {
			continue
		}
		t := &table{Caption: x.caption, Head: []string{"Name", "Value"}, RowHeader: true}
		for _, k := range sortedKeys(x.m) {
			t.Rows = append(t.Rows, []string{k, x.m[k]})
		}
		tp.Blocks = append(tp.Blocks, block{Table: t})
	}
	out = append(out, tp)
	out = append(out, runs(f))
	return out
}

func parenthesise(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func revision(n int) string {
	if n == 0 {
		return "none"
	}
	return "revision " + strconv.Itoa(n)
}

func runs(f Facts) section {
	s := section{ID: "runs", Title: "Runs", Level: 3}
	if len(f.Runs) == 0 {
		return s
	}
	t := &table{Head: []string{"Run", "Kind", "Started", "Ended", "Triggered by", "Code", "Commit"}, Mono: []int{0, 6}}
	for _, r := range f.Runs {
		t.Rows = append(t.Rows, []string{r.ID, r.Kind, fmtTimePtr(r.StartedAt), fmtTimePtr(r.EndedAt), r.TriggeredBy, r.CodeURI, r.GitCommit})
	}
	s.Blocks = []block{{Table: t}}
	for _, r := range f.Runs {
		var l fieldList
		l.opt("Hardware", r.Hardware)
		var hp []string
		for _, k := range sortedKeys(r.Hyperparameters) {
			hp = append(hp, k+" = "+r.Hyperparameters[k])
		}
		l.list("Hyperparameters", hp, false)
		var in []string
		for _, d := range r.Inputs {
			in = append(in, datasetFactLabel(d))
		}
		l.list("Input datasets", in, false)
		l.mono("Output SHA-256", r.OutputSHA256, false)
		l.opt("Test log", fmtDoc(r.TestLog))
		if r.Report != nil {
			l.want("Report", fmtDoc(r.Report))
			var so []string
			for _, x := range r.ReportSignoffs {
				so = append(so, x.Signer+" at "+fmtTime(x.SignedAt))
			}
			if len(so) == 0 {
				so = []string{"none recorded"}
			}
			l.list("Report sign-offs", so, true)
		}
		s.Blocks = append(s.Blocks, l.block("Run "+r.ID+" ("+r.Kind+")")...)
	}
	return s
}

func datasetFactLabel(d DatasetFact) string {
	return joinSet(", ", joinSet(" ", datasetLabel(d.Name, d.Version, ""), parenthesise(d.Role)), shaLabel(d.SHA256))
}

func shaLabel(sha string) string {
	if sha == "" {
		return ""
	}
	return "SHA-256 " + sha
}

func intendedUse(c Card) section {
	u := c.IntendedUse
	if u == nil {
		return section{ID: "intended-use", Title: "Intended use", Level: 2}
	}
	var l fieldList
	l.want("Primary intended uses", u.PrimaryUses)
	l.want("Primary intended users", u.PrimaryUsers)
	l.want("Out-of-scope uses", u.OutOfScopeUses)
	return section{ID: "intended-use", Title: "Intended use", Level: 2, Blocks: l.block("")}
}

func factors(c Card) section {
	x := c.Factors
	s := section{ID: "factors", Title: "Factors", Level: 2}
	if x == nil {
		return s
	}
	var l fieldList
	l.want("Relevant factors", x.RelevantFactors)
	l.want("Evaluation factors", x.EvaluationFactors)
	s.Blocks = l.block("")
	return s
}

func metricsSections(c Card, f Facts) []section {
	s := section{ID: "metrics", Title: "Metrics", Level: 2}
	var l fieldList
	if m := c.Metrics; m != nil {
		l.want("Model performance measures", m.PerformanceMeasures)
		l.want("Decision thresholds", m.DecisionThresholds)
		l.want("Variation approaches", m.VariationApproaches)
	}
	if c.Version != nil {
		l.opt("Why these metrics", c.Version.MetricRationale)
	}
	s.Blocks = l.block("")

	d := section{ID: "declared-metrics", Title: "Declared metrics", Level: 3}
	if len(c.DeclaredMetrics) > 0 {
		t := &table{Head: []string{"Metric", "Category", "Data", "Slice", "Recorded value", "Target", "Confidence interval", "In instructions for use"}}
		var notes []string
		for _, dm := range c.DeclaredMetrics {
			value := "not recorded"
			if m, ok := matchMetric(dm, f.Metrics); ok {
				value = joinSet(" ", fmtFloat(m.Value), dm.Unit)
				if m.DatasetVersion != "" && dm.DatasetVersion == "" {
					value += " (dataset version " + m.DatasetVersion + ")"
				}
			}
			ifu := "no"
			if dm.DeclaredInIFU {
				ifu = "yes"
			}
			t.Rows = append(t.Rows, []string{dm.Key, dm.Category, datasetLabel(dm.Dataset, dm.DatasetVersion, dm.Split),
				sliceLabel(dm.Slice), value, target(dm), interval(dm.ConfidenceInterval), ifu})
			if note := joinSet("; ", dm.Rationale, prefixed("method: ", dm.MethodRef), prefixed("run: ", dm.RunID)); note != "" {
				notes = append(notes, joinSet(", ", dm.Key, sliceLabel(dm.Slice))+": "+note)
			}
		}
		d.Blocks = []block{{Table: t}}
		if len(notes) > 0 {
			d.Blocks = append(d.Blocks, block{Heading: "Rationale, method and run of each declared metric", List: notes})
		}
	}
	return []section{s, d}
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// dataSection is "Evaluation data" (every dataset role but training) or
// "Training data": what people wrote, then the dataset versions the
// registry recorded in those roles.
func dataSection(id, title string, n *DataNarrative, f Facts, training bool) section {
	s := section{ID: id, Title: title, Level: 2}
	if n != nil {
		var l fieldList
		l.want("Motivation", n.Motivation)
		l.want("Preprocessing", n.Preprocessing)
		l.opt("Notes", n.Notes)
		s.Blocks = l.block("")
	}
	t := &table{Caption: "Dataset versions recorded by the registry", Head: []string{"Dataset", "Version", "Role", "Size", "Licence", "URI", "SHA-256"}, Mono: []int{6}}
	for _, d := range f.Datasets {
		if (d.Role == "training") != training {
			continue
		}
		size := ""
		if d.Size > 0 {
			size = fmtSize(d.Size)
		}
		t.Rows = append(t.Rows, []string{d.Name, d.Version, d.Role, size, d.License, d.URI, d.SHA256})
	}
	if len(t.Rows) > 0 {
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	return s
}

func quantitative(c Card, f Facts) []section {
	s := section{ID: "quantitative-analyses", Title: "Quantitative analyses", Level: 2}
	if q := c.QuantitativeAnalyses; q != nil {
		var l fieldList
		l.want("Unitary results", q.UnitaryResults)
		l.want("Intersectional results", q.IntersectionalResults)
		s.Blocks = l.block("")
	}
	m := section{ID: "latest-metrics", Title: "Latest recorded metric values", Level: 3}
	if len(f.Metrics) > 0 {
		t := &table{Head: []string{"Metric", "Value", "Step", "Data", "Run", "Recorded at"}, Mono: []int{4}}
		for _, x := range f.Metrics {
			t.Rows = append(t.Rows, []string{x.Key, fmtFloat(x.Value), strconv.FormatInt(x.Step, 10),
				datasetLabel(x.Dataset, x.DatasetVersion, x.Split), x.RunID, fmtTime(x.Timestamp)})
		}
		m.Blocks = []block{{Table: t}}
	}
	return []section{s, m}
}

func caveats(c Card) section {
	s := textSection("caveats", "Caveats and recommendations", 2, c.CaveatsAndRecommendations)
	if v := c.Version; v != nil {
		var l fieldList
		l.list("Known performance limitations", v.PerformanceLimitations, false)
		l.opt("Trade-offs", v.Tradeoffs)
		s.Blocks = append(s.Blocks, l.block("")...)
	}
	return s
}

func approvals(f Facts) section {
	s := section{ID: "approvals", Title: "Approvals", Level: 2}
	for _, tr := range f.Transitions {
		var l fieldList
		l.mono("Transition", tr.ID, true)
		l.want("Change of stage", tr.From+" → "+tr.To)
		l.want("Status", tr.Status)
		l.want("Requested by", tr.RequestedBy)
		l.want("Requested at", fmtTime(tr.RequestedAt))
		l.opt("Decided by", tr.DecidedBy)
		l.opt("Decided at", fmtTimePtr(tr.DecidedAt))
		b := block{Heading: fmt.Sprintf("%s → %s (%s)", tr.From, tr.To, tr.Status), Fields: l}
		s.Blocks = append(s.Blocks, b)
		if len(tr.Approvals) == 0 {
			s.Blocks = append(s.Blocks, block{Text: "No approvals recorded for this transition."})
			continue
		}
		t := &table{Head: []string{"Approver", "Approved at", "Comment", "Gate results"}}
		for _, a := range tr.Approvals {
			var gates []string
			for _, g := range a.Gates {
				r := "failed"
				if g.Passed {
					r = "passed"
				}
				gates = append(gates, joinSet(": ", g.Gate+" "+r, g.Detail))
			}
			if len(gates) == 0 {
				gates = []string{"none evaluated"}
			}
			t.Rows = append(t.Rows, []string{a.Approver, fmtTime(a.At), a.Comment, strings.Join(gates, "; ")})
		}
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	return s
}

func deployments(f Facts) section {
	s := section{ID: "deployments", Title: "Deployments", Level: 2}
	if len(f.Deployments) == 0 {
		return s
	}
	t := &table{Head: []string{"Deployment", "Environment", "Strategy", "Traffic", "Deployed by", "Deployed at", "Ended at"}, Mono: []int{0}}
	for _, d := range f.Deployments {
		t.Rows = append(t.Rows, []string{d.ID, d.Environment, d.Strategy, strconv.Itoa(d.TrafficPercent) + " %",
			d.DeployedBy, fmtTime(d.DeployedAt), fmtTimePtr(d.EndedAt)})
	}
	s.Blocks = []block{{Table: t}}
	return s
}

func party(p *Party) string {
	if p == nil {
		return ""
	}
	return joinSet(", ", p.Name, p.Address, fmtContact(p.Contact))
}

func provider(c Card) section {
	s := section{ID: "provider", Title: "Provider", Level: 3}
	p := c.Provider
	if p == nil {
		return s
	}
	var l fieldList
	l.want("Name", p.Name)
	l.want("Legal address", p.LegalAddress)
	l.want("Contact", fmtContact(p.Contact))
	l.want("Established in the EU", fmtBool(p.EstablishedInEU))
	if p.EstablishedInEU == nil || !*p.EstablishedInEU || p.EUAuthorisedRepresentative != nil {
		l.want("EU authorised representative", party(p.EUAuthorisedRepresentative))
	}
	s.Blocks = l.block("")
	return s
}

func system(c Card) section {
	s := section{ID: "system", Title: "AI system", Level: 3}
	x := c.System
	if x == nil {
		return s
	}
	var l fieldList
	l.want("Name", x.Name)
	l.want("Risk class", x.RiskClass)
	if x.RiskClass == RiskHighRisk || x.AnnexIIIPoint != "" {
		l.want("Annex III point", x.AnnexIIIPoint)
	}
	l.opt("Sector", x.Sector)
	l.want("Intended purpose", x.IntendedPurpose)
	l.list("Intended users", x.IntendedUsers, true)
	l.list("Affected persons", x.AffectedPersons, true)
	l.want("Affects natural persons", fmtBool(x.AffectsNaturalPersons))
	l.list("Relevant groups", x.RelevantGroups, false)
	l.list("Reasonably foreseeable misuse", x.ForeseeableMisuse, true)
	l.want("Instructions for use", fmtDoc(x.InstructionsForUse))
	l.want("User interface", x.UIDescription)
	l.list("Forms placed on the market", x.MarketForms, false)
	l.opt("Target hardware", x.TargetHardware)
	l.opt("Compute requirements", x.ComputeRequirements)
	l.opt("Expected lifetime", x.ExpectedLifetime)
	l.opt("Update requirements", x.UpdateRequirements)
	if m := x.Maintenance; m != nil {
		l.want("Maintenance", joinSet("; ", m.Measures, prefixed("frequency: ", m.Frequency), prefixed("updates: ", m.UpdatePolicy)))
	}
	l.opt("Access to logs", x.LogAccessDescription)
	l.opt("Placed on the market at", x.PlacedOnMarketAt)
	l.opt("Substantial modification policy", x.SubstantialModificationPolicy)
	l.opt("Architecture document", fmtDoc(x.Architecture))
	l.opt("EU database registration", x.EUDatabaseRegistrationID)
	l.opt("Documentation form", x.DocumentationForm)
	l.list("Sectoral legislation", x.SectoralLegislation, false)
	l.opt("Product technical file", fmtDoc(x.ProductTechnicalFile))
	l.opt("Product marking", fmtDoc(x.ProductMarkingDoc))
	l.opt("Record retention (financial institution)", x.FinancialRetentionPolicy)
	if o := x.OutputMarking; o != nil {
		l.want("Marking of generated output", joinSet("; ", o.Method, prefixed("standard: ", o.Standard)))
	}
	s.Blocks = l.block("")
	if len(x.InteractingSystems) > 0 {
		t := &table{Caption: "Interacting systems", Head: []string{"System", "Interface", "Direction"}}
		for _, i := range x.InteractingSystems {
			t.Rows = append(t.Rows, []string{i.Name, i.Interface, i.Direction})
		}
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	if len(x.SoftwareDependencies) > 0 {
		t := &table{Caption: "Software dependencies", Head: []string{"Software", "Version"}}
		for _, d := range x.SoftwareDependencies {
			t.Rows = append(t.Rows, []string{d.Name, d.Version})
		}
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	return s
}

func applicability(c Card) section {
	s := section{ID: "applicability", Title: "Applicability statements", Level: 3}
	a := c.Applicability
	if a == nil {
		return s
	}
	var l fieldList
	l.opt("SME using the simplified documentation form", fmtBool(a.SMESimplifiedForm))
	l.opt("Product under Annex I Section A", fmtBool(a.AnnexIProduct))
	l.opt("Component of a product", fmtBool(a.ProductComponent))
	l.opt("Changes determined in advance", fmtBool(a.PredeterminedChanges))
	l.opt("Remote biometric identification (Annex III 1(a))", fmtBool(a.RemoteBiometricIdentification))
	l.opt("Notified body involved", fmtBool(a.NotifiedBody))
	l.opt("Provider is a financial institution", fmtBool(a.FinancialInstitution))
	l.opt("Deployments recorded in this registry", fmtBool(a.DeployerManagedByRegistry))
	l.opt("Generates synthetic content", fmtBool(a.GenerativeAI))
	s.Blocks = l.block("")
	return s
}

func riskManagement(c Card) section {
	s := section{ID: "risk-management", Title: "Risk management (Art. 9)", Level: 3}
	rm := c.RiskManagement
	if rm == nil {
		return s
	}
	var l fieldList
	l.want("Risk management system", fmtDoc(rm.RMSDoc))
	s.Blocks = l.block("")
	if len(rm.Risks) == 0 {
		s.Blocks = append(s.Blocks, block{Heading: "Risk register", Text: notProvided})
	}
	for _, r := range rm.Risks {
		var rl fieldList
		rl.want("Hazard", r.Hazard)
		rl.list("Affected", r.Affected, true)
		rl.list("Affected fundamental rights", r.AffectedRights, false)
		rl.want("Circumstance", strings.ReplaceAll(r.Circumstance, "_", " "))
		rl.want("Likelihood", r.Likelihood)
		rl.want("Severity", r.Severity)
		rl.want("Mitigation", r.Mitigation)
		rl.want("Residual risk", r.ResidualRisk)
		rl.opt("Status", r.Status)
		rl.opt("Owner", r.Owner)
		s.Blocks = append(s.Blocks, rl.block("Risk "+r.ID)...)
	}
	return s
}

func dataGovernance(c Card, f Facts) section {
	s := section{ID: "data-governance", Title: "Data and data governance (Art. 10)", Level: 3}
	for _, d := range c.Datasets {
		var l fieldList
		var recorded []string
		for _, df := range f.Datasets {
			if df.Name == d.Name && (d.Version == "" || df.Version == d.Version) {
				recorded = append(recorded, datasetFactLabel(df))
			}
		}
		if len(recorded) == 0 {
			recorded = []string{"not among this version's datasets"}
		}
		l.list("Recorded in the registry", recorded, true)
		l.want("Provenance", d.Provenance)
		l.want("Collection process", d.CollectionProcess)
		l.opt("Selection criteria", d.SelectionCriteria)
		l.want("Labelling procedure", d.LabellingProcedure)
		l.want("Cleaning methods", d.CleaningMethods)
		l.opt("Preprocessing", d.Preprocessing)
		l.opt("Design choices", d.DesignChoices)
		l.opt("Assumptions", d.Assumptions)
		l.opt("Suitability", d.Suitability)
		l.want("Representativeness", d.Representativeness)
		l.want("Known biases", d.KnownBiases)
		l.opt("Bias examination", fmtDoc(d.BiasExamination))
		l.opt("Bias examination run", d.BiasExaminationRunID)
		l.want("Bias mitigation", d.BiasMitigation)
		l.want("Data gaps", d.DataGaps)
		l.want("Contains personal data", fmtBool(d.ContainsPersonalData))
		l.opt("Purpose of the personal data", d.PersonalDataPurpose)
		l.opt("Special categories of personal data used", fmtBool(d.SpecialCategoriesUsed))
		l.opt("Safeguards", fmtDoc(d.Safeguards))
		l.opt("Record count", fmtInt(d.RecordCount))
		l.opt("Licence", d.Licence)
		l.opt("Datasheet", fmtDoc(d.Datasheet))
		l.opt("Curation", d.Curation)
		l.opt("Checks against unsuitable sources", d.UnsuitableSourceChecks)
		l.opt("Text and data mining opt-outs checked", fmtBool(d.TDMOptOutChecked))
		s.Blocks = append(s.Blocks, l.block("Dataset "+datasetLabel(d.Name, d.Version, ""))...)
	}
	return s
}

func humanOversight(c Card) section {
	s := section{ID: "human-oversight", Title: "Human oversight (Art. 14)", Level: 3}
	h := c.HumanOversight
	if h == nil {
		return s
	}
	var l fieldList
	l.opt("Oversight assessment", fmtDoc(h.Assessment))
	var covered []string
	for _, cp := range OversightCapabilities {
		has := slices.ContainsFunc(h.Measures, func(m OversightMeasure) bool { return m.Capability == cp })
		if cp == "dual_verification" && !has {
			continue // only remote biometric identification needs it
		}
		mark := "no measure"
		if has {
			mark = "covered"
		}
		covered = append(covered, capabilityNames[cp]+": "+mark)
	}
	l.list("Art. 14(4) capabilities", covered, true)
	l.list("Interpretation tools", h.InterpretationTools, false)
	s.Blocks = l.block("")
	if len(h.Measures) > 0 {
		t := &table{Caption: "Oversight measures", Head: []string{"Measure", "Kind", "Capability", "Description", "Mitigates risks"}}
		for _, m := range h.Measures {
			t.Rows = append(t.Rows, []string{m.ID, strings.ReplaceAll(m.Kind, "_", "-"), capabilityLabel(m.Capability), m.Description, strings.Join(m.MitigatesRiskIDs, ", ")})
		}
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	return s
}

func capabilityLabel(c string) string {
	if n, ok := capabilityNames[c]; ok {
		return n
	}
	return c
}

func cybersecurity(c Card) section {
	s := section{ID: "cybersecurity", Title: "Cybersecurity (Art. 15(5))", Level: 3}
	x := c.Cybersecurity
	if x == nil {
		return s
	}
	var l fieldList
	l.list("Security measures", x.Measures, true)
	var missing []string
	for _, tc := range ThreatClasses {
		if !slices.ContainsFunc(x.Threats, func(t Threat) bool { return t.Class == tc }) {
			missing = append(missing, threatNames[tc])
		}
	}
	if len(missing) > 0 {
		l.list("Art. 15(5) attack classes without a measure", missing, true)
	}
	s.Blocks = l.block("")
	if len(x.Threats) > 0 {
		t := &table{Caption: "Measures against the attack classes of Art. 15(5)", Head: []string{"Attack class", "Measure", "Test run"}, Mono: []int{2}}
		for _, th := range x.Threats {
			name := threatNames[th.Class]
			if name == "" {
				name = th.Class
			}
			t.Rows = append(t.Rows, []string{name, th.Measure, th.TestRunID})
		}
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	return s
}

func logging(c Card) section {
	s := section{ID: "logging", Title: "Record-keeping (Art. 12)", Level: 3}
	x := c.Logging
	if x == nil {
		return s
	}
	var l fieldList
	l.want("Log format", x.Format)
	l.want("Deployer access to logs", x.DeployerAccess)
	if r := x.RBIFields; r != nil {
		var fs []string
		for _, p := range []struct {
			name string
			b    *bool
		}{{"period of use", r.UsePeriod}, {"input data that led to a match", r.MatchInput}, {"persons who verified the results", r.VerifierIDs}} {
			if v := fmtBool(p.b); v != "" {
				fs = append(fs, p.name+": "+v)
			}
		}
		if r.ReferenceDBID != "" {
			fs = append(fs, "reference database: "+r.ReferenceDBID)
		}
		l.list("Remote biometric identification log fields", fs, true)
	}
	s.Blocks = l.block("")
	if len(x.EventsRecorded) > 0 {
		t := &table{Caption: "Events recorded", Head: []string{"Event", "Purpose"}}
		for _, e := range x.EventsRecorded {
			t.Rows = append(t.Rows, []string{e.Type, strings.ReplaceAll(e.Purpose, "_", " ")})
		}
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	return s
}

func standards(c Card) section {
	s := section{ID: "standards", Title: "Standards and specifications applied", Level: 3}
	if len(c.StandardsApplied) > 0 {
		t := &table{Head: []string{"Reference", "Title", "Edition", "Extent", "Official Journal reference"}}
		for _, x := range c.StandardsApplied {
			t.Rows = append(t.Rows, []string{x.Ref, x.Title, x.Edition, x.Extent, x.OJReference})
		}
		s.Blocks = []block{{Table: t}}
	}
	if c.OtherSolutions != nil {
		var l fieldList
		l.want("Other solutions adopted", fmtDoc(c.OtherSolutions))
		s.Blocks = append(s.Blocks, l.block("")...)
	}
	return s
}

func conformity(c Card) section {
	s := section{ID: "conformity", Title: "Conformity", Level: 3}
	if d := c.DeclarationOfConformity; d != nil {
		var l fieldList
		l.want("Document", fmtDoc(d.Doc))
		l.want("Date", d.Date)
		l.want("Signatory", d.Signatory)
		s.Blocks = append(s.Blocks, l.block("EU declaration of conformity (Art. 47)")...)
	}
	if nb := c.NotifiedBody; nb != nil {
		var l fieldList
		l.want("Name", nb.Name)
		l.want("Identification number", nb.IDNumber)
		l.want("Certificate", fmtDoc(nb.Certificate))
		var changes, decisions []string
		for i := range nb.ApprovedChanges {
			changes = append(changes, fmtDoc(&nb.ApprovedChanges[i]))
		}
		for i := range nb.Decisions {
			decisions = append(decisions, fmtDoc(&nb.Decisions[i]))
		}
		l.list("Approved changes", changes, false)
		l.list("Decisions", decisions, false)
		s.Blocks = append(s.Blocks, l.block("Notified body")...)
	}
	return s
}

func qms(c Card) section {
	s := section{ID: "qms", Title: "Quality management system (Art. 17)", Level: 3}
	q := c.QMS
	if q == nil {
		return s
	}
	t := &table{Head: []string{"Art. 17(1)", "Aspect", "Document"}}
	var missing []string
	for _, a := range QMSAspects {
		found := false
		for i := range q.Documents {
			if q.Documents[i].Aspect == a {
				t.Rows = append(t.Rows, []string{"(" + a + ")", qmsAspectNames[a], fmtDoc(&q.Documents[i].Doc)})
				found = true
			}
		}
		if !found {
			missing = append(missing, "("+a+") "+qmsAspectNames[a])
		}
	}
	if len(t.Rows) > 0 {
		s.Blocks = append(s.Blocks, block{Table: t})
	}
	var l fieldList
	l.list("Aspects without a document", missing, false)
	l.opt("Proportionality", q.ProportionalityNote)
	s.Blocks = append(s.Blocks, l.block("")...)
	return s
}

func postMarket(c Card) section {
	s := section{ID: "post-market-monitoring", Title: "Post-market monitoring (Art. 72)", Level: 3}
	p := c.PostMarketMonitoring
	if p == nil {
		return s
	}
	var l fieldList
	l.want("Plan", fmtDoc(p.Plan))
	l.list("Signals monitored", p.Signals, true)
	l.list("Thresholds", p.Thresholds, true)
	l.want("Review frequency", p.ReviewFrequency)
	l.opt("Integrated with", p.IntegratedWith)
	l.opt("Template", p.TemplateRef)
	s.Blocks = l.block("")
	return s
}

func incidents(c Card) section {
	s := section{ID: "incidents", Title: "Serious incidents (Art. 73)", Level: 3}
	if len(c.Incidents) == 0 {
		return s
	}
	t := &table{Head: []string{"Incident", "Severity", "Detected at", "Provider aware at", "Reported at", "Authority", "Description"}}
	for _, i := range c.Incidents {
		t.Rows = append(t.Rows, []string{i.ID, i.Severity, i.DetectedAt, i.AwareAt, i.ReportedAt, i.Authority, i.Description})
	}
	s.Blocks = []block{{Table: t}}
	return s
}

func gpai(g *GPAI) section {
	var l fieldList
	l.list("Tasks", g.Tasks, true)
	l.list("Systems it can be integrated into", g.IntegrationTargets, false)
	l.opt("Acceptable use policy", fmtDoc(g.AcceptableUsePolicy))
	l.list("Distribution", g.Distribution, false)
	l.list("Interfaces", g.Interfaces, false)
	l.opt("Integration documentation", fmtDoc(g.IntegrationDocs))
	l.want("Copyright policy", fmtDoc(g.CopyrightPolicy))
	l.want("Summary of training content", fmtDoc(g.TrainingContentSummary))
	l.opt("Published summary", g.TrainingSummaryURL)
	if o := g.OpenSourceExemption; o != nil {
		l.want("Open-source exemption", joinSet("; ", prefixed("licence: ", o.Licence), prefixed("weights public: ", fmtBool(o.WeightsPublic))))
	}
	l.opt("Evaluation strategy", fmtDoc(g.EvalStrategy))
	return section{ID: "gpai", Title: "General-purpose AI model (Art. 53)", Level: 3, Blocks: l.block("")}
}
