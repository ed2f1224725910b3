package modelcard

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// hfMeta is the Hugging Face metadata as the Hub reads it.
type hfMeta struct {
	License     *string  `yaml:"license"`
	Datasets    []string `yaml:"datasets"`
	Metrics     []string `yaml:"metrics"`
	Tags        []string `yaml:"tags"`
	PipelineTag *string  `yaml:"pipeline_tag"`
	ModelIndex  []struct {
		Name    string `yaml:"name"`
		Results []struct {
			Task    struct{ Type, Name string } `yaml:"task"`
			Dataset struct {
				Type     string  `yaml:"type"`
				Name     string  `yaml:"name"`
				Split    *string `yaml:"split"`
				Revision *string `yaml:"revision"`
			} `yaml:"dataset"`
			Metrics []struct {
				Type  string  `yaml:"type"`
				Value float64 `yaml:"value"`
				Name  string  `yaml:"name"`
			} `yaml:"metrics"`
		} `yaml:"results"`
	} `yaml:"model-index"`
}

// splitReadme returns a README's front matter and body.
func splitReadme(t *testing.T, readme []byte) (string, string) {
	t.Helper()
	s := string(readme)
	if !strings.HasPrefix(s, "---\n") {
		t.Fatalf("README does not start with ---: %.40q", s)
	}
	front, body, ok := strings.Cut(s[4:], "\n---\n")
	if !ok {
		t.Fatal("no closing --- line")
	}
	return front + "\n", body
}

func parseFront(t *testing.T, readme []byte) (hfMeta, map[string]any, string) {
	t.Helper()
	front, body := splitReadme(t, readme)
	var m hfMeta
	if err := yaml.Unmarshal([]byte(front), &m); err != nil {
		t.Fatalf("front matter does not parse: %v\n%s", err, front)
	}
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(front), &raw); err != nil {
		t.Fatal(err)
	}
	return m, raw, body
}

func TestHuggingFaceFullCard(t *testing.T) {
	c, f := fullCard(), fullFacts()
	readme := HuggingFace(c, f)
	m, raw, body := parseFront(t, readme)
	if body != "\n"+string(Markdown(c, f)) {
		t.Error("the body is not the card's Markdown")
	}
	if _, ok := raw["license"]; ok {
		t.Errorf("license %v written for %q, which the Hub does not list", raw["license"], c.Version.Licence)
	}
	if got := strings.Join(m.Datasets, " "); got != "card-tx-2024h2-2025h2 card-tx-2026q1-holdout" {
		t.Errorf("datasets %q", got)
	}
	if len(m.Metrics) != len(f.Metrics) || m.Metrics[0] != "auc_pr" {
		t.Errorf("metrics %q", m.Metrics)
	}
	if got := strings.Join(m.Tags, " "); got != "lightgbm risk:high team:fraud-analytics" {
		t.Errorf("tags %q", got)
	}
	if m.PipelineTag == nil || *m.PipelineTag != "tabular-classification" {
		t.Errorf("pipeline_tag %v", m.PipelineTag)
	}
	if len(m.ModelIndex) != 1 || m.ModelIndex[0].Name != "card-fraud-scorer" {
		t.Fatalf("model-index %+v", m.ModelIndex)
	}
	res := m.ModelIndex[0].Results
	if len(res) != 2 {
		t.Fatalf("%d results, want one per dataset version and split with metrics (the metric without a dataset left out)", len(res))
	}
	holdout, val := res[0], res[1]
	if holdout.Task.Type != "tabular-classification" || holdout.Task.Name != "Tabular Classification" ||
		holdout.Dataset.Type != "card-tx-2026q1-holdout" || holdout.Dataset.Name != "card-tx-2026q1-holdout" ||
		*holdout.Dataset.Split != "test" || *holdout.Dataset.Revision != "2026.02" || len(holdout.Metrics) != 5 {
		t.Errorf("holdout result %+v", holdout)
	}
	if val.Dataset.Type != "card-tx-2024h2-2025h2" || *val.Dataset.Split != "validation" || len(val.Metrics) != 1 ||
		val.Metrics[0].Type != "log_loss" || val.Metrics[0].Value != 0.00412 || val.Metrics[0].Name != "log_loss" {
		t.Errorf("validation result %+v", val)
	}
	if holdout.Metrics[0].Type != "auc_pr" || holdout.Metrics[0].Value != 0.912 {
		t.Errorf("first metric %+v", holdout.Metrics[0])
	}
}

func TestHuggingFaceLicenceAndTask(t *testing.T) {
	tests := []struct {
		licence, task        string
		wantLicence          string // "" for none
		wantPipeline, wantTT string
	}{
		{"Apache-2.0", "tabular-classification", "apache-2.0", "tabular-classification", "tabular-classification"},
		{"apache-2.0", "Text-Classification", "apache-2.0", "text-classification", "text-classification"},
		{"MIT", "", "mit", "", "other"},
		{"GPL-3.0-or-later", "fraud scoring", "gpl-3.0", "", "fraud scoring"},
		{"GPL-3.0+", "", "gpl-3.0", "", "other"},
		{"GPL-3.0", "", "gpl-3.0", "", "other"},
		{"CC-BY-4.0", "", "cc-by-4.0", "", "other"},
		{"ODbL-1.0", "", "odbl", "", "other"},
		{"0BSD", "", "", "", "other"},
		{"LicenseRef-Nordhafen-Proprietary", "", "", "", "other"},
		{"Apache-2.0 OR MIT", "", "", "", "other"},
		{"proprietary", "", "", "", "other"},
		{"", "", "", "", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.licence+"/"+tt.task, func(t *testing.T) {
			f := fullFacts()
			readme := HuggingFace(Card{Version: &VersionInfo{Licence: tt.licence, Task: tt.task}}, f)
			m, _, _ := parseFront(t, readme)
			switch {
			case tt.wantLicence == "" && m.License != nil:
				t.Errorf("license %q, want none", *m.License)
			case tt.wantLicence != "" && (m.License == nil || *m.License != tt.wantLicence):
				t.Errorf("license %v, want %q", m.License, tt.wantLicence)
			}
			switch {
			case tt.wantPipeline == "" && m.PipelineTag != nil:
				t.Errorf("pipeline_tag %q, want none", *m.PipelineTag)
			case tt.wantPipeline != "" && (m.PipelineTag == nil || *m.PipelineTag != tt.wantPipeline):
				t.Errorf("pipeline_tag %v, want %q", m.PipelineTag, tt.wantPipeline)
			}
			if got := m.ModelIndex[0].Results[0].Task.Type; got != tt.wantTT {
				t.Errorf("model-index task type %q, want %q", got, tt.wantTT)
			}
		})
	}
}

// tricky strings that a careless YAML writer gets wrong.
var tricky = []string{
	"a: b", "# not a comment", "value # trailing", `"double" and 'single' quotes`, "line1\nline2", "  leading spaces",
	"trailing spaces  ", "yes", "no", "on", "off", "null", "~", "true", "1.0", "1e3", "0x1F", "0o17", "012", ".inf", ".nan",
	"@at", "`tick", "- dash", "? question", "[a, b]", "{a: b}", "*alias", "&anchor", "!tag", "%directive", "|", ">",
	"tab\there", `back\slash`, `\n literal`, "unicode ✓ äöü 日本語 🙂", "ls\u2028ps\u2029nel\u0085", "bom\ufeffinside",
	"nul\x00bell\x07esc\x1bdel\x7f", "---", "...", "crlf\r\nend", "", " ", "é", "\ue000private", "\U0010FFFD",
}

func TestHuggingFaceYAMLRoundTrip(t *testing.T) {
	for _, s := range tricky {
		t.Run(strings.ToValidUTF8(s, "?"), func(t *testing.T) {
			f := Facts{
				Model:    s,
				Version:  1,
				Tags:     map[string]string{s: s},
				Datasets: []DatasetFact{{Name: "d" + s}},
				Metrics:  []MetricFact{{Key: "k" + s, Value: 0.5, Dataset: "d" + s, DatasetVersion: "v" + s, Split: "s" + s}},
			}
			c := Card{Version: &VersionInfo{Task: "t" + s}}
			m, _, _ := parseFront(t, HuggingFace(c, f))
			tag := s
			if s != "" {
				tag = s + ":" + s
			}
			r := m.ModelIndex[0].Results[0]
			got := []string{m.ModelIndex[0].Name, m.Tags[0], m.Datasets[0], m.Metrics[0], r.Task.Type, r.Task.Name,
				r.Dataset.Type, r.Dataset.Name, *r.Dataset.Split, *r.Dataset.Revision, r.Metrics[0].Type, r.Metrics[0].Name}
			task := strings.TrimSpace("t" + s) // the task is read trimmed
			want := []string{s, tag, "d" + s, "k" + s, task, task, "d" + s, "d" + s, "s" + s, "v" + s, "k" + s, "k" + s}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("value %d reads back as %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
	t.Run("invalid UTF-8", func(t *testing.T) {
		m, _, _ := parseFront(t, HuggingFace(Card{}, Facts{Model: "a\xffb", Tags: map[string]string{"x\xfe": ""}}))
		if m.Tags[0] != "x\uFFFD" {
			t.Errorf("tag %q", m.Tags[0])
		}
	})
}

func TestYAMLString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"a\nb\tc\rd", `"a\nb\tc\rd"`},
		{"\x00\x1b\x7f\u0085", `"\x00\x1b\x7f\x85"`},
		{"\u2028\u2029\ufeff", `"\u2028\u2029\ufeff"`},
		{"ä✓🙂", `"ä✓🙂"`},
		{"bad\xff", "\"bad\uFFFD\""},
	}
	for _, tt := range tests {
		if got := yamlString(tt.in); got != tt.want {
			t.Errorf("yamlString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// yaml11Number is what YAML 1.1 (PyYAML) reads as an int or a float.
var yaml11Number = regexp.MustCompile(`^(-?(0|[1-9][0-9]*)|-?[0-9]+\.[0-9]*([eE][-+][0-9]+)?|\.nan|\.inf|-\.inf)$`)

func TestYAMLFloat(t *testing.T) {
	for _, v := range []float64{0, 0.5, 0.912, 1, -2, 5e-324, 1e-7, 1.5e-7, 1e21, 123456789.125, -0.00412, 1e300, math.MaxFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1)} {
		s := yamlFloat(v)
		if !yaml11Number.MatchString(s) {
			t.Errorf("%v is written %s, which YAML 1.1 does not read as a number", v, s)
		}
		var got float64
		if err := yaml.Unmarshal([]byte(s), &got); err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if got != v && !(math.IsNaN(v) && math.IsNaN(got)) {
			t.Errorf("%v is written %s and reads back as %v", v, s, got)
		}
	}
}
