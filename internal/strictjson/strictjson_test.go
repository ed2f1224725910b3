package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name, in string
		want     any
	}{
		{"object", ` {"name": "a", "tags": {"k": "v"}} `, map[string]any{"name": "a", "tags": map[string]any{"k": "v"}}},
		{"array", `[1, -0.5e+3, true, false, null, "x"]`, []any{json.Number("1"), json.Number("-0.5e+3"), true, false, nil, "x"}},
		{"escapes", `"a\"\\\/\b\f\n\r\t\u00e9\ud834\udd1e"`, "a\"\\/\b\f\n\r\t\u00e9\U0001D11E"},
		{"utf-8", `"größe 🙂"`, "größe 🙂"},
		{"empty containers", `{"a":[],"b":{}}`, map[string]any{"a": []any{}, "b": map[string]any{}}},
		{"same key in two objects", `[{"a":1},{"a":1}]`, []any{map[string]any{"a": json.Number("1")}, map[string]any{"a": json.Number("1")}}},
		{"escaped nul", `"\u0000"`, "\x00"},
		{"deep enough", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), nest(MaxDepth)},
		{"tiny number", `1e-400`, json.Number("1e-400")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.in))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Decode(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func nest(n int) any {
	if n == 1 {
		return []any{}
	}
	return []any{nest(n - 1)}
}

func TestDecodeRefuses(t *testing.T) {
	long := strings.Repeat("k", 1<<20)
	tests := []struct {
		name, in string
		want     string // the whole message
	}{
		{"empty", ``, `no JSON value: the body is empty (at byte 0)`},
		{"white space only", " \n", `no JSON value: the body is empty (at byte 2)`},
		{"trailing data", `{"name":"a"}xyz`, `data after the JSON value: send exactly one (at byte 12)`},
		{"two values", `{"name":"a"}{"name":"b"}`, `data after the JSON value: send exactly one (at byte 12)`},
		{"two values with space", `1 2`, `data after the JSON value: send exactly one (at byte 2)`},
		{"duplicate key", `{"name":"a","name":"b"}`, `field "name": the key appears twice in its object (at byte 12)`},
		{"duplicate key escaped", `{"tags":{"a":"1","\u0061":"2"}}`, `field "tags.a": the key appears twice in its object (at byte 17)`},
		{"invalid utf-8", "{\"description\":\"x\xffy\"}", `field "description": the string is not valid UTF-8 (at byte 17)`},
		{"invalid utf-8 in a key", "{\"x\xff\":1}", `a key is not valid UTF-8 (at byte 3)`},
		{"utf-8 surrogate", "\"\xed\xa0\x80\"", `the string is not valid UTF-8 (at byte 1)`},
		{"overlong utf-8", "\"\xc0\xaf\"", `the string is not valid UTF-8 (at byte 1)`},
		{"lone high surrogate", `{"d":"x\ud800y"}`, `field "d": the string is not valid UTF-8: \ud800 is half of a UTF-16 surrogate pair (at byte 7)`},
		{"lone low surrogate", `["\udc00"]`, `field "0": the string is not valid UTF-8: \udc00 is half of a UTF-16 surrogate pair (at byte 2)`},
		{"high surrogate then other escape", `"\ud800\u0041"`, `the string is not valid UTF-8: \ud800 is half of a UTF-16 surrogate pair (at byte 1)`},
		{"control character", "\"a\tb\"", `control character 0x09 in the string: escape it (at byte 2)`},
		{"bad escape", `"\x"`, `invalid escape in the string: 'x' after a backslash (at byte 1)`},
		{"bad unicode escape", `"\u12g4"`, `invalid \u escape in the string: want four hex digits (at byte 1)`},
		{"unterminated string", `{"a":"b`, `field "a": the body ends inside a string (at byte 7)`},
		{"missing colon", `{"a" 1}`, `unexpected '1' where ':' after a key was expected (at byte 5)`},
		{"trailing comma", `{"a":1,}`, `unexpected '}' where a key in double quotes was expected (at byte 7)`},
		{"array trailing comma", `[1,]`, `field "1": unexpected ']' where a value was expected (at byte 3)`},
		{"leading zero", `[01]`, `unexpected '1' where ',' or ']' after an array element was expected (at byte 2)`},
		{"plus sign", `+1`, `unexpected '+' where a value was expected (at byte 0)`},
		{"bare dot", `1.`, `the body ends where a digit after the decimal point was expected (at byte 2)`},
		{"number out of range", `{"value":1e400}`, `field "value": the number 1e400 is out of range (at byte 9)`},
		{"long number out of range", `[` + strings.Repeat("9", 400) + `]`, `field "0": the number 999999999999999999999999… is out of range (at byte 1)`},
		{"bad literal", `tru`, `the body ends where "true" was expected (at byte 3)`},
		{"byte order mark", "\xef\xbb\xbf{}", `unexpected byte 0xef where a value was expected (at byte 0)`},
		{"single quotes", `{'a':1}`, `unexpected ''' where a key in double quotes was expected (at byte 1)`},
		{"too deep", strings.Repeat("[", MaxDepth+1), `field "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0…": nested deeper than 100 levels (at byte 100)`},
		{"long duplicate key", `{"` + long + `":1,"` + long + `":2}`, `field "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…": the key appears twice in its object (at byte 1048582)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("Decode(%.40q) = %#v, want an error", tc.in, v)
			}
			if err.Error() != tc.want {
				t.Fatalf("Decode(%.40q):\n got %s\nwant %s", tc.in, err, tc.want)
			}
		})
	}
}

// FuzzDecode checks Decode against encoding/json: what Decode accepts,
// encoding/json accepts and reads as the same value; what Decode refuses as
// malformed, encoding/json refuses too; what Decode refuses although
// encoding/json would take it is one of the strict rules, and really there.
// Errors stay short and point into the body.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","description":"b","tags":{"k":"v"}}`,
		`{"name":"a"}xyz`, `{"name":"a"}{"name":"b"}`, `{"name":"a","name":"b"}`,
		"{\"name\":\"a\xff\"}", `{"name":"a\ud800"}`, `"\ud834\udd1e"`, `"\u00e9\n\t\\\"\/"`,
		`[1,-0,0.5,1e10,-2E-3,1e400,01,-,1.,1e]`, `[true,false,null,tru,nul]`,
		`{"a":{"b":[{"c":[1,2,{"d":null}]}]}}`, `{"a":1,}`, `[1,]`, ``, ` `, `"`, `"\`, `"\u12`,
		"\xef\xbb\xbf{}", "\"\xed\xa0\x80\"", `{"a":"1","\u0061":"2"}`, strings.Repeat("[", 120),
		`{"metrics":[{"key":"acc","value":0.93,"step":100}]}`, `{"version":99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		var stdNumbers any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		stdErr := dec.Decode(&stdNumbers)
		if stdErr == nil {
			if _, rest := dec.Token(); !errors.Is(rest, io.EOF) {
				stdErr = errors.New("data after the value")
			}
		}
		if err == nil {
			if stdErr != nil {
				t.Fatalf("Decode accepted %q, encoding/json refuses it: %v", data, stdErr)
			}
			if !reflect.DeepEqual(got, stdNumbers) {
				t.Fatalf("Decode(%q) = %#v, encoding/json reads %#v", data, got, stdNumbers)
			}
			var floats any
			if err := json.Unmarshal(data, &floats); err != nil {
				t.Fatalf("Decode accepted %q, json.Unmarshal refuses it: %v", data, err)
			}
			if !utf8.Valid(data) {
				t.Fatalf("Decode accepted %q, which is not valid UTF-8", data)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Decode(%q): error %T, want *Error", data, err)
		}
		if e.Offset < 0 || e.Offset > len(data) {
			t.Fatalf("Decode(%q): offset %d outside the body", data, e.Offset)
		}
		if msg := err.Error(); len(msg) > 400 || !utf8.ValidString(msg) {
			t.Fatalf("Decode(%q): message of %d bytes (valid UTF-8: %v): %q", data, len(msg), utf8.ValidString(msg), msg)
		}
		if !e.lenient {
			if json.Valid(data) {
				t.Fatalf("Decode(%q) refused valid JSON as malformed: %v", data, err)
			}
			return
		}
		// A strict rule: check that it holds.
		switch {
		case strings.Contains(e.Reason, "appears twice"):
			if !hasDuplicateKey(data) {
				t.Fatalf("Decode(%q) found a duplicate key encoding/json does not see: %v", data, err)
			}
		case strings.Contains(e.Reason, "UTF-8"):
			if utf8.Valid(data) && !bytes.Contains(bytes.ToLower(data), []byte(`\ud`)) {
				t.Fatalf("Decode(%q) found invalid UTF-8 in valid UTF-8 without surrogate escapes: %v", data, err)
			}
		case strings.Contains(e.Reason, "out of range"), strings.Contains(e.Reason, "nested deeper"):
		default:
			t.Fatalf("Decode(%q): a strict refusal of no known rule: %v", data, err)
		}
	})
}

// hasDuplicateKey walks data with encoding/json's tokenizer and reports
// whether some object holds a key twice before the first syntax error.
func hasDuplicateKey(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.expectKey = false
			continue
		}
		if top != nil && top.keys != nil {
			top.expectKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].keys != nil {
				stack[len(stack)-1].expectKey = true
			}
		}
	}
}
