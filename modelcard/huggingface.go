package modelcard

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HuggingFace renders the card as a Hugging Face model repository's
// README.md: YAML metadata between "---" lines, then the Markdown of
// Markdown. The metadata has
//
//   - license: the Hub's keyword for the SPDX identifier in
//     version.licence, left out when the licence is not one the Hub lists;
//   - datasets: the names of the version's datasets;
//   - metrics: the keys of its metrics;
//   - tags: the version's tags ("key" or "key:value");
//   - pipeline_tag: version.task when it is one of the Hub's pipeline tags;
//   - model-index: one entry named after the model whose results are the
//     latest metric values grouped by dataset, dataset version and split
//     (task type from version.task, else "other"; dataset type and name
//     are the dataset's name, revision its version). Values without a
//     dataset are left out, since the Hub requires one.
//
// The YAML is written by hand: every string is a double-quoted scalar
// with escapes, so no text can end the metadata, start a comment or change
// a type; numbers are plain YAML floats that YAML 1.1 and 1.2 read alike.
func HuggingFace(c Card, f Facts) []byte {
	var b bytes.Buffer
	b.WriteString("---\n")
	writeHFMetadata(&b, c, f)
	b.WriteString("---\n\n")
	b.Write(Markdown(c, f))
	return b.Bytes()
}

func writeHFMetadata(b *bytes.Buffer, c Card, f Facts) {
	task := ""
	if c.Version != nil {
		task = strings.TrimSpace(c.Version.Task)
		if _, hf, ok := spdxLicence(c.Version.Licence); ok && hf != "" {
			b.WriteString("license: " + yamlString(hf) + "\n")
		}
	}
	var datasets, metrics, tags []string
	for _, d := range f.Datasets {
		datasets = appendNew(datasets, d.Name)
	}
	for _, m := range f.Metrics {
		metrics = appendNew(metrics, m.Key)
	}
	for _, k := range sortedKeys(f.Tags) {
		if v := f.Tags[k]; v != "" {
			tags = append(tags, k+":"+v)
		} else {
			tags = append(tags, k)
		}
	}
	writeYAMLList(b, "datasets", datasets)
	writeYAMLList(b, "metrics", metrics)
	writeYAMLList(b, "tags", tags)
	pipeline, taskName := "", task
	if name, ok := pipelineTags[strings.ToLower(task)]; ok {
		pipeline, taskName = strings.ToLower(task), name
		b.WriteString("pipeline_tag: " + yamlString(pipeline) + "\n")
	}
	taskType := task
	if pipeline != "" {
		taskType = pipeline
	}
	if taskType == "" {
		taskType, taskName = "other", "Other"
	}

	type group struct {
		dataset, version, split string
		metrics                 []MetricFact
	}
	var groups []*group
	for _, m := range f.Metrics {
		if m.Dataset == "" {
			continue
		}
		i := slices.IndexFunc(groups, func(g *group) bool {
			return g.dataset == m.Dataset && g.version == m.DatasetVersion && g.split == m.Split
		})
		if i < 0 {
			groups = append(groups, &group{dataset: m.Dataset, version: m.DatasetVersion, split: m.Split})
			i = len(groups) - 1
		}
		groups[i].metrics = append(groups[i].metrics, m)
	}
	if len(groups) == 0 {
		return
	}
	b.WriteString("model-index:\n")
	b.WriteString("- name: " + yamlString(f.Model) + "\n")
	b.WriteString("  results:\n")
	for _, g := range groups {
		b.WriteString("  - task:\n")
		b.WriteString("      type: " + yamlString(taskType) + "\n")
		b.WriteString("      name: " + yamlString(taskName) + "\n")
		b.WriteString("    dataset:\n")
		b.WriteString("      type: " + yamlString(g.dataset) + "\n")
		b.WriteString("      name: " + yamlString(g.dataset) + "\n")
		if g.split != "" {
			b.WriteString("      split: " + yamlString(g.split) + "\n")
		}
		if g.version != "" {
			b.WriteString("      revision: " + yamlString(g.version) + "\n")
		}
		b.WriteString("    metrics:\n")
		for _, m := range g.metrics {
			b.WriteString("    - type: " + yamlString(m.Key) + "\n")
			b.WriteString("      value: " + yamlFloat(m.Value) + "\n")
			b.WriteString("      name: " + yamlString(m.Key) + "\n")
		}
	}
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func writeYAMLList(b *bytes.Buffer, key string, items []string) {
	if len(items) == 0 {
		return
	}
	b.WriteString(key + ":\n")
	for _, it := range items {
		b.WriteString("- " + yamlString(it) + "\n")
	}
}

// yamlString writes s as a YAML double-quoted scalar. Quotes and
// backslashes are escaped, and so is every character that is not
// printable in YAML or that YAML 1.1 reads as a line break (NEL, LS, PS),
// as are tabs, line ends and a byte order mark; invalid UTF-8 becomes
// U+FFFD. What is left is printable text that reads back unchanged.
func yamlString(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if yamlPrintable(r) {
				b.WriteRune(r)
			} else if r <= 0xFF {
				b.WriteString(`\x` + hex2(uint32(r)))
			} else {
				b.WriteString(`\u` + hex4(uint32(r)))
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yamlPrintable reports whether YAML's c-printable allows r unescaped and
// no YAML version takes it for a line break or a byte order mark.
func yamlPrintable(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0x7E:
		return true
	case r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF:
		return false
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= utf8.MaxRune:
		return true
	}
	return false
}

func hex2(v uint32) string { return leftPad(strconv.FormatUint(uint64(v), 16), 2) }
func hex4(v uint32) string { return leftPad(strconv.FormatUint(uint64(v), 16), 4) }

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// yamlFloat writes a float so that YAML 1.2 and YAML 1.1 (PyYAML, which
// wants a dot in the mantissa and a sign in the exponent) both read the
// same number: the shortest exact form, with ".0" added to an exponent
// form's mantissa.
func yamlFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return ".nan"
	case math.IsInf(v, 1):
		return ".inf"
	case math.IsInf(v, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	return mant + "e" + exp // FormatFloat always signs the exponent
}

// pipelineTags are the Hugging Face Hub's pipeline tags with their
// display names (the Hub's task taxonomy, huggingface.js packages/tasks).
var pipelineTags = map[string]string{
	"any-to-any":                     "Any-to-Any",
	"audio-classification":           "Audio Classification",
	"audio-text-to-text":             "Audio-Text-to-Text",
	"audio-to-audio":                 "Audio-to-Audio",
	"automatic-speech-recognition":   "Automatic Speech Recognition",
	"biology":                        "Biology",
	"depth-estimation":               "Depth Estimation",
	"document-question-answering":    "Document Question Answering",
	"feature-extraction":             "Feature Extraction",
	"fill-mask":                      "Fill-Mask",
	"graph-ml":                       "Graph Machine Learning",
	"image-classification":           "Image Classification",
	"image-feature-extraction":       "Image Feature Extraction",
	"image-segmentation":             "Image Segmentation",
	"image-text-to-text":             "Image-Text-to-Text",
	"image-to-3d":                    "Image-to-3D",
	"image-to-image":                 "Image-to-Image",
	"image-to-text":                  "Image-to-Text",
	"image-to-video":                 "Image-to-Video",
	"keypoint-detection":             "Keypoint Detection",
	"mask-generation":                "Mask Generation",
	"multiple-choice":                "Multiple Choice",
	"object-detection":               "Object Detection",
	"other":                          "Other",
	"question-answering":             "Question Answering",
	"reinforcement-learning":         "Reinforcement Learning",
	"robotics":                       "Robotics",
	"sentence-similarity":            "Sentence Similarity",
	"summarization":                  "Summarization",
	"table-question-answering":       "Table Question Answering",
	"table-to-text":                  "Table to Text",
	"tabular-classification":         "Tabular Classification",
	"tabular-regression":             "Tabular Regression",
	"tabular-to-text":                "Tabular to Text",
	"text-classification":            "Text Classification",
	"text-generation":                "Text Generation",
	"text-ranking":                   "Text Ranking",
	"text-retrieval":                 "Text Retrieval",
	"text-to-3d":                     "Text-to-3D",
	"text-to-audio":                  "Text-to-Audio",
	"text-to-image":                  "Text-to-Image",
	"text-to-speech":                 "Text-to-Speech",
	"text-to-video":                  "Text-to-Video",
	"text2text-generation":           "Text2Text Generation",
	"time-series-forecasting":        "Time Series Forecasting",
	"token-classification":           "Token Classification",
	"translation":                    "Translation",
	"unconditional-image-generation": "Unconditional Image Generation",
	"video-classification":           "Video Classification",
	"video-text-to-text":             "Video-Text-to-Text",
	"visual-document-retrieval":      "Visual Document Retrieval",
	"visual-question-answering":      "Visual Question Answering",
	"voice-activity-detection":       "Voice Activity Detection",
	"zero-shot-classification":       "Zero-Shot Classification",
	"zero-shot-image-classification": "Zero-Shot Image Classification",
	"zero-shot-object-detection":     "Zero-Shot Object Detection",
}
