package modelcard

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaDir is the official CycloneDX 1.6 schemas, copied unmodified
// from ../shared/schemas/cyclonedx (Apache 2.0, with their LICENSE and
// NOTICE) into testdata, so that every checkout validates against them.
func schemaDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("testdata", "cyclonedx")
	if _, err := os.Stat(filepath.Join(dir, "bom-1.6.schema.json")); err != nil {
		t.Fatalf("the CycloneDX 1.6 schemas: %v", err)
	}
	return dir
}

// bomSchema compiles bom-1.6.schema.json, with the SPDX and JSF schemas it
// refers to, from disk, asserting formats (date-time, iri-reference, ...).
func bomSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := schemaDir(t)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, name := range []string{"spdx.schema.json", "jsf-0.82.schema.json", "bom-1.6.schema.json"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource("http://cyclonedx.org/schema/"+name, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateBOM(t *testing.T, s *jsonschema.Schema, bom []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(bom))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

// testKey is a fixed Ed25519 key, so that test BOMs are reproducible.
func testKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func signed(seed byte) BOMOptions {
	pub, priv := testKey(seed)
	return BOMOptions{GeneratedAt: at(100 * time.Hour), Sign: func(m []byte) []byte { return ed25519.Sign(priv, m) }, PublicKey: pub, ToolVersion: "1.4.0"}
}

func mustBOM(t *testing.T, c Card, f Facts, o BOMOptions) []byte {
	t.Helper()
	b, err := CycloneDX(c, f, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCycloneDXSchema(t *testing.T) {
	s := bomSchema(t)
	unsigned := BOMOptions{GeneratedAt: t0}
	tests := []struct {
		name string
		card Card
		f    Facts
		opts BOMOptions
	}{
		{"minimal", Card{}, minimalFacts(), unsigned},
		{"minimal signed", Card{}, minimalFacts(), signed(1)},
		{"full", fullCard(), fullFacts(), unsigned},
		{"full signed", fullCard(), fullFacts(), signed(1)},
		{"every field signed", everyFieldCard(), fullFacts(), signed(1)},
		{"hostile text signed", hostileCard(), hostileFacts(), signed(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bom := mustBOM(t, tt.card, tt.f, tt.opts)
			if err := validateBOM(t, s, bom); err != nil {
				t.Fatalf("not valid CycloneDX 1.6: %v", err)
			}
			if tt.opts.Sign != nil {
				if err := VerifyJSF(bom, tt.opts.PublicKey); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	// The validator does refuse what the schema forbids, formats included.
	valid := mustBOM(t, fullCard(), fullFacts(), unsigned)
	for _, bad := range []struct{ name, old, new string }{
		{"hash with prefix", `"content": "` + hexOf("manifest v7"), `"content": "sha256:` + hexOf("manifest v7")},
		{"timestamp not a date-time (format assertion)", `"timestamp": "2026-03-02T09:00:00Z"`, `"timestamp": "2026-03-02 09:00"`},
		{"unknown component type", `"type": "machine-learning-model"`, `"type": "model"`},
		{"URL not an IRI reference (format assertion)", `"url": "https://dms.nordhafen-bank.example/docs/human-oversight-assessment"`, `"url": "https://dms.nordhafen-bank.example/docs/%zz"`},
	} {
		t.Run("refuses "+bad.name, func(t *testing.T) {
			b := bytes.Replace(valid, []byte(bad.old), []byte(bad.new), 1)
			if bytes.Equal(b, valid) {
				t.Fatalf("%q is not in the BOM", bad.old)
			}
			if err := validateBOM(t, s, b); err == nil {
				t.Error("the validator accepts it")
			}
		})
	}
}

// components returns every component of a BOM: metadata.component,
// components and their nested components.
func components(bom map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(c map[string]any)
	walk = func(c map[string]any) {
		out = append(out, c)
		subs, _ := c["components"].([]any)
		for _, s := range subs {
			walk(s.(map[string]any))
		}
	}
	if md, ok := bom["metadata"].(map[string]any); ok {
		if c, ok := md["component"].(map[string]any); ok {
			walk(c)
		}
	}
	top, _ := bom["components"].([]any)
	for _, c := range top {
		walk(c.(map[string]any))
	}
	return out
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func props(c map[string]any) map[string][]string {
	out := map[string][]string{}
	ps, _ := c["properties"].([]any)
	for _, p := range ps {
		p := p.(map[string]any)
		out[p["name"].(string)] = append(out[p["name"].(string)], p["value"].(string))
	}
	return out
}

func TestCycloneDXModelComponent(t *testing.T) {
	tests := []struct {
		name     string
		card     Card
		f        Facts
		hash     string // the model's SHA-256, "" for none
		files    int
		datasets []string // bom-refs of the data components
	}{
		{"minimal", Card{}, minimalFacts(), "", 0, nil},
		{"full", fullCard(), fullFacts(), hexOf("manifest v7"), 4, []string{"dataset:card-tx-2024h2-2025h2@2026.01", "dataset:card-tx-2026q1-holdout@2026.02"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bom := decode(t, mustBOM(t, tt.card, tt.f, signed(2)))
			if bom["bomFormat"] != "CycloneDX" || bom["specVersion"] != "1.6" || bom["version"] != 1.0 {
				t.Errorf("header %v %v %v", bom["bomFormat"], bom["specVersion"], bom["version"])
			}
			var models []map[string]any
			for _, c := range components(bom) {
				if c["type"] == "machine-learning-model" {
					models = append(models, c)
				}
			}
			if len(models) != 1 {
				t.Fatalf("%d machine-learning-model components, want 1", len(models))
			}
			m := models[0]
			if m["bom-ref"] != bom["metadata"].(map[string]any)["component"].(map[string]any)["bom-ref"] {
				t.Error("the model is not metadata.component")
			}
			if m["name"] != tt.f.Model || m["version"] != fmt.Sprint(tt.f.Version) || m["bom-ref"] != fmt.Sprintf("model:%s/versions/%d", tt.f.Model, tt.f.Version) {
				t.Errorf("model %v %v %v", m["name"], m["version"], m["bom-ref"])
			}
			hashes, _ := m["hashes"].([]any)
			switch {
			case tt.hash == "" && len(hashes) != 0:
				t.Errorf("hashes %v without a manifest digest", hashes)
			case tt.hash != "":
				want := []any{map[string]any{"alg": "SHA-256", "content": strings.TrimPrefix(tt.f.ManifestDigest, "sha256:")}}
				if fmt.Sprint(hashes) != fmt.Sprint(want) || tt.hash != strings.TrimPrefix(tt.f.ManifestDigest, "sha256:") {
					t.Errorf("hashes %v, want %v: the manifest digest's bare hex", hashes, want)
				}
			}
			p := props(m)
			if p["modelkeep:status"][0] != tt.f.Status || p["modelkeep:stage"][0] != tt.f.Stage {
				t.Errorf("status %v, stage %v", p["modelkeep:status"], p["modelkeep:stage"])
			}
			files, _ := m["components"].([]any)
			if len(files) != tt.files {
				t.Fatalf("%d file components, want %d", len(files), tt.files)
			}
			for i, fc := range files {
				fc := fc.(map[string]any)
				ff := tt.f.Files[i]
				h := fc["hashes"].([]any)[0].(map[string]any)
				if fc["type"] != "file" || fc["name"] != ff.Path || h["alg"] != "SHA-256" || h["content"] != ff.SHA256 {
					t.Errorf("file component %v for %+v", fc, ff)
				}
			}
			var dataRefs []string
			for _, c := range components(bom) {
				if c["type"] == "data" {
					dataRefs = append(dataRefs, c["bom-ref"].(string))
				}
			}
			if !slices.Equal(dataRefs, tt.datasets) {
				t.Errorf("data components %v, want %v", dataRefs, tt.datasets)
			}
			mc, _ := m["modelCard"].(map[string]any)
			if mc == nil {
				t.Fatal("no modelCard")
			}
			if len(tt.datasets) > 0 {
				var refs []string
				for _, d := range mc["modelParameters"].(map[string]any)["datasets"].([]any) {
					refs = append(refs, d.(map[string]any)["ref"].(string))
				}
				if !slices.Equal(refs, tt.datasets) {
					t.Errorf("modelParameters.datasets %v, want %v", refs, tt.datasets)
				}
			}
		})
	}
}

func TestCycloneDXModelCard(t *testing.T) {
	c, f := fullCard(), fullFacts()
	bom := decode(t, mustBOM(t, c, f, BOMOptions{GeneratedAt: t0}))
	m := bom["metadata"].(map[string]any)["component"].(map[string]any)
	mc := m["modelCard"].(map[string]any)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	checks := []struct{ what, got, want string }{
		{"approach", js(mc["modelParameters"].(map[string]any)["approach"]), `{"type":"supervised"}`},
		{"task", js(mc["modelParameters"].(map[string]any)["task"]), `"tabular-classification"`},
		{"architecture family", js(mc["modelParameters"].(map[string]any)["architectureFamily"]), `"gradient-boosted decision trees"`},
		{"inputs", js(mc["modelParameters"].(map[string]any)["inputs"]), `[{"format":"authorisation: application/json"}]`},
		{"declared metric with slice and value", js(mc["quantitativeAnalysis"].(map[string]any)["performanceMetrics"].([]any)[2]),
			`{"type":"false_decline_rate_age_18_24","value":"0.0031","slice":"dataset=card-tx-2026q1-holdout; split=test; age_band=18-24"}`},
		{"declared metric with interval", js(mc["quantitativeAnalysis"].(map[string]any)["performanceMetrics"].([]any)[0]),
			`{"type":"auc_pr","value":"0.912","slice":"dataset=card-tx-2026q1-holdout@2026.02; split=test","confidenceInterval":{"lowerBound":"0.904","upperBound":"0.919"}}`},
		{"undeclared metric", js(mc["quantitativeAnalysis"].(map[string]any)["performanceMetrics"].([]any)[6]),
			`{"type":"log_loss","value":"0.00412","slice":"dataset=card-tx-2024h2-2025h2@2026.01; split=validation"}`},
		{"users", js(mc["considerations"].(map[string]any)["users"]), js(append(append([]string{}, c.System.IntendedUsers...), c.IntendedUse.PrimaryUsers))},
		{"fairness", js(mc["considerations"].(map[string]any)["fairnessAssessments"].([]any)[0].(map[string]any)["groupAtRisk"]), `"cardholders aged 18–24"`},
		{"licence by name", js(m["licenses"]), `[{"license":{"name":"LicenseRef-Nordhafen-Proprietary"}}]`},
		{"supplier", js(m["supplier"]), `{"name":"Nordhafen Bank AG","url":["https://www.nordhafen-bank.example/ai"],"contact":[{"email":"ai-compliance@nordhafen-bank.example"}]}`},
	}
	for _, ch := range checks {
		var want any
		if err := json.Unmarshal([]byte(ch.want), &want); err != nil {
			t.Fatal(err)
		}
		if ch.want = js(want); ch.got != ch.want {
			t.Errorf("%s: %s, want %s", ch.what, ch.got, ch.want)
		}
	}
	if n := len(mc["quantitativeAnalysis"].(map[string]any)["performanceMetrics"].([]any)); n != len(c.DeclaredMetrics)+1 {
		t.Errorf("%d performance metrics, want the %d declared ones and the one undeclared recorded metric", n, len(c.DeclaredMetrics))
	}
	// Every field of the card is in modelCard.properties.
	p := props(mc)
	for name, want := range map[string]string{
		"modelkeep:card:system.annex_iii_point":                            "5(b)",
		"modelkeep:card:human_oversight.measures[4].capability":            "stop",
		"modelkeep:card:cybersecurity.threats[2].class":                    "adversarial_examples",
		"modelkeep:card:qms.documents[12].aspect":                          "m",
		"modelkeep:card:applicability.generative_ai":                       "false",
		"modelkeep:card:declared_metrics[0].declared_in_ifu":               "true",
		"modelkeep:card:declared_metrics[0].confidence_interval.level":     "0.95",
		"modelkeep:card:version.parameter_count":                           "151200",
		"modelkeep:card:risk_management.risks[1].affected_rights[1]":       c.RiskManagement.Risks[1].AffectedRights[1],
		"modelkeep:card:intended_use.out_of_scope_uses":                    c.IntendedUse.OutOfScopeUses,
		"modelkeep:card:post_market_monitoring.plan.sha256":                c.PostMarketMonitoring.Plan.SHA256,
		"modelkeep:card:datasets[1].contains_personal_data":                "true",
		"modelkeep:card:version.predetermined_changes[0].bounds":           c.Version.PredeterminedChanges[0].Bounds,
		"modelkeep:card:provider.established_in_eu":                        "true",
		"modelkeep:card:declaration_of_conformity.signatory":               c.DeclarationOfConformity.Signatory,
		"modelkeep:card:version.pretrained_components[0].sha256":           c.Version.PretrainedComponents[0].SHA256,
		"modelkeep:card:incidents[0].reported_at":                          "2026-02-12T10:00:00Z",
		"modelkeep:card:standards_applied[1].oj_reference":                 "not harmonised yet",
		"modelkeep:card:logging.events_recorded[3].purpose":                "substantial_modification",
		"modelkeep:card:system.software_dependencies[0].version":           "4.3.0",
		"modelkeep:card:quantitative_analyses.intersectional_results":      c.QuantitativeAnalyses.IntersectionalResults,
		"modelkeep:card:model_details.citation":                            c.ModelDetails.Citation,
		"modelkeep:card:datasets[0].bias_examination.title":                "Training data bias examination",
		"modelkeep:card:system.maintenance.update_policy":                  c.System.Maintenance.UpdatePolicy,
		"modelkeep:card:version.explainability.methods[1]":                 c.Version.Explainability.Methods[1],
		"modelkeep:card:human_oversight.measures[2].mitigates_risk_ids[1]": "R2",
	} {
		if got := p[name]; len(got) != 1 || got[0] != want {
			t.Errorf("property %s = %q, want %q", name, got, want)
		}
	}
	// Runs are workflows with their inputs, outputs and sign-offs.
	wfs := bom["formulation"].([]any)[0].(map[string]any)["workflows"].([]any)
	train, eval := wfs[0].(map[string]any), wfs[1].(map[string]any)
	if js(train["taskTypes"]) != `["build"]` || js(train["inputs"].([]any)[0]) != `{"resource":{"ref":"dataset:card-tx-2024h2-2025h2@2026.01"}}` ||
		js(train["outputs"]) != `[{"resource":{"ref":"model:card-fraud-scorer/versions/7"},"type":"artifact"}]` || train["timeStart"] != "2026-03-01T03:00:00Z" {
		t.Errorf("training run %s", js(train))
	}
	if js(eval["taskTypes"]) != `["test"]` || !strings.Contains(js(eval["outputs"]), `"type":"evidence"`) ||
		!slices.Equal(props(eval)["modelkeep:report_signoff"], []string{"m.schulz at 2026-03-01T13:00:00Z", "j.weber at 2026-03-01T14:00:00Z"}) {
		t.Errorf("evaluation run %s", js(eval))
	}
}

var uuidV5 = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCycloneDXSerialNumber(t *testing.T) {
	serial := func(f Facts, o BOMOptions) string {
		return decode(t, mustBOM(t, fullCard(), f, o))["serialNumber"].(string)
	}
	f := fullFacts()
	a := serial(f, BOMOptions{GeneratedAt: t0})
	if !uuidV5.MatchString(a) {
		t.Fatalf("serial number %q is not a version 5 UUID URN", a)
	}
	if b := serial(f, BOMOptions{GeneratedAt: t0}); b != a {
		t.Errorf("same inputs, serial numbers %s and %s", a, b)
	}
	if b := serial(f, BOMOptions{GeneratedAt: t0.Add(time.Second)}); b == a {
		t.Error("another time, same serial number")
	}
	g := fullFacts()
	g.ManifestDigest = "sha256:" + hexOf("manifest v8")
	if b := serial(g, BOMOptions{GeneratedAt: t0}); b == a {
		t.Error("another manifest digest, same serial number")
	}
	// Without GeneratedAt, the facts' time is used.
	if got := decode(t, mustBOM(t, Card{}, f, BOMOptions{}))["metadata"].(map[string]any)["timestamp"]; got != fmtTime(f.GeneratedAt) {
		t.Errorf("timestamp %v, want the facts' GeneratedAt", got)
	}
}

// leaves calls fn with a copy of doc in which one leaf value is changed,
// for every leaf.
func leaves(doc any, change func(v any) any, fn func(path string, changed any)) {
	var walk func(v any, path string, set func(any))
	walk = func(v any, path string, set func(any)) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(e, path+"."+k, func(n any) { x[k] = n })
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", path, i), func(n any) { x[i] = n })
			}
		default:
			set(change(v))
			fn(path, doc)
			set(v)
		}
	}
	walk(doc, "", nil)
}

func TestVerifyJSF(t *testing.T) {
	pub, _ := testKey(3)
	otherPub, _ := testKey(4)
	bom := mustBOM(t, everyFieldCard(), fullFacts(), signed(3))
	if err := VerifyJSF(bom, pub); err != nil {
		t.Fatalf("the signed BOM does not verify: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, bom); err != nil {
		t.Fatal(err)
	}
	if err := VerifyJSF(compact.Bytes(), pub); err != nil {
		t.Errorf("a re-formatted BOM does not verify: %v", err)
	}

	// Any change of one value breaks the signature: every value of a BOM
	// with all of the registry's facts, and every fifth one of the BOM
	// with every field of the card (all of them take seconds).
	for _, sweep := range []struct {
		name   string
		bom    []byte
		stride int
	}{{"facts", mustBOM(t, Card{}, fullFacts(), signed(3)), 1}, {"every field", bom, 5}} {
		t.Run("any change of one value/"+sweep.name, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal(sweep.bom, &doc); err != nil {
				t.Fatal(err)
			}
			n, tried := 0, 0
			leaves(doc, func(v any) any {
				switch x := v.(type) {
				case string:
					if x == "" {
						return "x"
					}
					return x[:len(x)-1] + string(rune(x[len(x)-1])^1)
				case float64:
					return x + 1
				case bool:
					return !x
				}
				return "null"
			}, func(path string, changed any) {
				if n++; n%sweep.stride != 0 && !strings.HasPrefix(path, ".signature") {
					return
				}
				tried++
				b, err := json.Marshal(changed)
				if err != nil {
					t.Fatal(err)
				}
				if VerifyJSF(b, pub) == nil {
					t.Errorf("verifies after %s changed", path)
				}
			})
			if tried < 200 {
				t.Errorf("only %d of %d values changed", tried, n)
			}
			t.Logf("%d of %d values changed, each refused", tried, n)
		})
	}

	tests := []struct {
		name string
		bom  func() []byte
		key  ed25519.PublicKey
		msg  string
	}{
		{"another key", func() []byte { return bom }, otherPub, "another key"},
		{"signed by another key", func() []byte {
			_, priv := testKey(4)
			o := signed(3)
			o.Sign = func(m []byte) []byte { return ed25519.Sign(priv, m) }
			o.PublicKey = otherPub
			return mustBOM(t, everyFieldCard(), fullFacts(), o)
		}, pub, "another key"},
		{"key left out of the signature", func() []byte { return edit(t, bom, func(s map[string]any) { delete(s, "publicKey") }) }, pub, "does not match"},
		{"key left out, verified with another key", func() []byte { return edit(t, bom, func(s map[string]any) { delete(s, "publicKey") }) }, otherPub, "does not match"},
		{"unsigned", func() []byte { return mustBOM(t, Card{}, minimalFacts(), BOMOptions{GeneratedAt: t0}) }, pub, "no signature"},
		{"another algorithm", func() []byte { return edit(t, bom, func(s map[string]any) { s["algorithm"] = "ES256" }) }, pub, "algorithm"},
		{"excludes", func() []byte { return edit(t, bom, func(s map[string]any) { s["excludes"] = []any{"metadata"} }) }, pub, "excludes"},
		{"signers", func() []byte {
			return edit(t, bom, func(s map[string]any) { s["signers"] = []any{map[string]any{}} })
		}, pub, "single signer"},
		{"padded value", func() []byte { return edit(t, bom, func(s map[string]any) { s["value"] = s["value"].(string) + "==" }) }, pub, "base64url"},
		{"short value", func() []byte { return edit(t, bom, func(s map[string]any) { s["value"] = s["value"].(string)[:40] }) }, pub, "bytes"},
		{"no value", func() []byte { return edit(t, bom, func(s map[string]any) { delete(s, "value") }) }, pub, "no value"},
		{"member added", func() []byte {
			return bytes.Replace(bom, []byte(`"bomFormat"`), []byte(`"x": 1, "bomFormat"`), 1)
		}, pub, "does not match"},
		{"member twice", func() []byte {
			return bytes.Replace(bom, []byte(`"version": 1,`), []byte(`"version": 1, "version": 1,`), 1)
		}, pub, "twice"},
		{"not JSON", func() []byte { return bom[:len(bom)/2] }, pub, "JSON"},
		{"short public key", func() []byte { return bom }, pub[:31], "31 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyJSF(tt.bom(), tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want one saying %q", err, tt.msg)
			}
		})
	}
}

// edit changes the signature object of a BOM.
func edit(t *testing.T, bom []byte, fn func(sig map[string]any)) []byte {
	t.Helper()
	m := decode(t, bom)
	fn(m["signature"].(map[string]any))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCycloneDXErrors(t *testing.T) {
	pub, priv := testKey(5)
	otherPub, _ := testKey(6)
	sign := func(m []byte) []byte { return ed25519.Sign(priv, m) }
	badDigest := fullFacts()
	badDigest.ManifestDigest = "md5:" + strings.Repeat("a", 32)
	badFile := fullFacts()
	badFile.Files[1].SHA256 = "not-a-digest"
	upper := fullFacts()
	upper.ManifestDigest = strings.ToUpper(upper.ManifestDigest[7:])
	tests := []struct {
		name string
		f    Facts
		opts BOMOptions
		msg  string
	}{
		{"sign without key", fullFacts(), BOMOptions{Sign: sign}, "PublicKey"},
		{"signature of the wrong size", fullFacts(), BOMOptions{Sign: func([]byte) []byte { return []byte{1} }, PublicKey: pub}, "returned 1 bytes"},
		{"key that does not match", fullFacts(), BOMOptions{Sign: sign, PublicKey: otherPub}, "does not verify"},
		{"manifest digest of another algorithm", badDigest, BOMOptions{}, "manifest digest"},
		{"manifest digest without prefix", upper, BOMOptions{}, "does not start with"},
		{"file digest", badFile, BOMOptions{}, "files[1].sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CycloneDX(fullCard(), tt.f, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want one saying %q", err, tt.msg)
			}
		})
	}
}

func TestLicencesAreSPDX(t *testing.T) {
	f, err := os.ReadFile(filepath.Join(schemaDir(t), "spdx.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spdx struct{ Enum []string }
	if err := json.Unmarshal(f, &spdx); err != nil {
		t.Fatal(err)
	}
	for _, l := range licences {
		if !slices.Contains(spdx.Enum, l.spdx) {
			t.Errorf("%s is not an SPDX licence id", l.spdx)
		}
		if l.hf != strings.ToLower(l.hf) {
			t.Errorf("Hugging Face keyword %s is not lowercase", l.hf)
		}
	}
}
