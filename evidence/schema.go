package evidence

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/modelkeep/modelkeep/modelcard"
)

// SchemaURL is where the server publishes the pack's JSON Schema.
const SchemaURL = "/schemas/evidence-pack.json"

var (
	schemaOnce sync.Once
	schemaJSON []byte
)

// Schema is the JSON Schema (draft 2020-12) of a pack, made from the Go
// types: every object closed (additionalProperties false), its members
// without omitempty required, the card's parts with their fixed words.
func Schema() []byte {
	schemaOnce.Do(func() {
		root := schemaFor(reflect.TypeFor[Pack](), "")
		root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
		root["$id"] = SchemaID
		root["title"] = "Modelkeep EU AI Act evidence pack"
		root["description"] = "The evidence of one model version against the EU AI Act requirement catalogue (docs/evidence.md)."
		b, err := json.MarshalIndent(root, "", "  ")
		if err != nil {
			panic("evidence: the schema always encodes: " + err.Error())
		}
		schemaJSON = b
	})
	return schemaJSON
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	cardPackage    = reflect.TypeFor[modelcard.Card]().PkgPath()
)

func schemaFor(t reflect.Type, path string) map[string]any {
	if t == rawMessageType {
		return map[string]any{} // any JSON (event details, the BOM)
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() == cardPackage && t.Kind() == reflect.Struct {
		return modelcard.SchemaFor(t, path).Map()
	}
	switch t.Kind() {
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		addFields(t, path, props, &required)
		m := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			m["required"] = required
		}
		return m
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaFor(t.Elem(), path+"[]")}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaFor(t.Elem(), path)}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	}
	panic("evidence: no schema for " + t.String())
}

// addFields adds a struct's members, those of its embedded structs (which
// encoding/json flattens) included.
func addFields(t reflect.Type, path string, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.PkgPath() == cardPackage {
				n := modelcard.SchemaFor(ft, path)
				for _, p := range n.Properties {
					props[p.Name] = p.Schema.Map()
				}
				*required = append(*required, n.Required...)
				continue
			}
			addFields(ft, path, props, required)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		props[name] = schemaFor(f.Type, p)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}
