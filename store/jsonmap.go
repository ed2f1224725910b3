package store

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeMap decodes a JSON object of strings (versions' and models' tags
// and params, as json.Marshal wrote them). Most are plain ASCII without
// escapes; those are read here directly, at a fraction of json.Unmarshal's
// cost (a page of 100 versions decodes 200 of them). Anything else (an
// escape, a control character, invalid UTF-8, another type) goes to
// json.Unmarshal, so the result is always what json.Unmarshal gives;
// FuzzDecodeMap checks that.
func decodeMap(s string) (map[string]string, error) {
	if s == "" {
		return map[string]string{}, nil
	}
	if m, ok := decodeSimpleMap(s); ok {
		return m, nil
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if m == nil { // the JSON was null
		m = map[string]string{}
	}
	return m, nil
}

// decodeSimpleMap reads s when it is a compact object of strings without
// escapes: {"k":"v","k2":"v2"}. ok is false for anything else.
func decodeSimpleMap(s string) (m map[string]string, ok bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	m = make(map[string]string, 4)
	i := 1
	if s[i] == '}' {
		return m, i == len(s)-1
	}
	for {
		k, next, ok := simpleString(s, i)
		if !ok || next >= len(s) || s[next] != ':' {
			return nil, false
		}
		v, next, ok := simpleString(s, next+1)
		if !ok || next >= len(s) {
			return nil, false
		}
		m[k] = v
		switch s[next] {
		case ',':
			i = next + 1
		case '}':
			return m, next == len(s)-1
		default:
			return nil, false
		}
	}
}

// simpleString reads the string starting at s[i] (its opening quote) when
// it needs no decoding: no backslash, no control character, valid UTF-8.
// next is the index after its closing quote.
func simpleString(s string, i int) (str string, next int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	ascii := true
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			str = s[i+1 : j]
			if !ascii && !utf8.ValidString(str) {
				return "", 0, false
			}
			return str, j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}
