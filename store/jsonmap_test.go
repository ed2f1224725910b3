package store

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestDecodeMap(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   map[string]string
		simple bool // read without json.Unmarshal
	}{
		{``, map[string]string{}, false},
		{`{}`, map[string]string{}, true},
		{`{"team":"risk"}`, map[string]string{"team": "risk"}, true},
		{`{"a":"1","b":"","c":"ü 😀"}`, map[string]string{"a": "1", "b": "", "c": "ü 😀"}, true},
		{`{"a":"1","a":"2"}`, map[string]string{"a": "2"}, true},
		{`{"we\"ird":"x\\y"}`, map[string]string{`we"ird`: `x\y`}, false},
		{`{"a": "1"}`, map[string]string{"a": "1"}, false},
		{`{"a":"\u00fc"}`, map[string]string{"a": "ü"}, false},
		{`null`, map[string]string{}, false},
	} {
		got, err := decodeMap(tc.in)
		if err != nil || !maps.Equal(got, tc.want) || got == nil {
			t.Errorf("decodeMap(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if _, simple := decodeSimpleMap(tc.in); simple != tc.simple {
			t.Errorf("decodeSimpleMap(%q) took it: %v, want %v", tc.in, simple, tc.simple)
		}
	}
	for _, bad := range []string{`{`, `{"a":1}`, `{"a":"1",}`, `{"a":"1"}x`, `["a"]`, `{"a":"1" "b":"2"}`} {
		if _, err := decodeMap(bad); err == nil {
			t.Errorf("decodeMap(%q) accepted it", bad)
		}
	}
}

// FuzzDecodeMap checks that decodeMap gives what json.Unmarshal gives
// (null and empty input aside, which decode to an empty map).
//
//	go test -run '^$' -fuzz FuzzDecodeMap -fuzztime 60s ./store
func FuzzDecodeMap(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"a":"b","c":"d"}`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}", `{"a":"b"`, `{"":""}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := decodeMap(in)
		var want map[string]string
		wantErr := json.Unmarshal([]byte(in), &want)
		if in == "" {
			wantErr = nil
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decodeMap(%q): error %v, json.Unmarshal %v", in, err, wantErr)
		}
		if err == nil && (got == nil || !maps.Equal(got, want)) {
			t.Fatalf("decodeMap(%q) = %#v, json.Unmarshal %#v", in, got, want)
		}
	})
}
