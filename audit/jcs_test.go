package audit

import (
	"math"
	"testing"
)

// The examples of RFC 8785 (sections 3.2.3 and 3.2.4, appendix B).
func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"rfc 8785 3.2.4", `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`, `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		{"rfc 8785 3.2.3 sorting by utf-16", `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`, "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\"," +
			"\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"דּ\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{"nested and empty", `{ "b": {"y": [], "x": {}}, "a": [ {"d":1, "c":2} ] }`, `{"a":[{"c":2,"d":1}],"b":{"x":{},"y":[]}}`},
		{"html and separators stay literal", `{"s":"<a href=\"x\">&</a>\u2028\u2029\u007f"}`, "{\"s\":\"<a href=\\\"x\\\">&</a>\u2028\u2029\u007f\"}"},
		{"control characters", `"\u0000\u0008\u0009\u000c\u001f"`, `"\u0000\b\t\f\u001f"`},
		{"scalars", `[0, -0, 1.0, -1.5e0, 1e21, 1e20, 123456789012345680000]`, `[0,0,1,-1.5,1e+21,100000000000000000000,123456789012345680000]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			again, err := CanonicalJSON(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("not idempotent: %s (%v)", again, err)
			}
		})
	}
}

func TestCanonicalJSONRejects(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a":1} {}`, `[1e400]`, `{"a":}`} {
		if got, err := CanonicalJSON([]byte(in)); err == nil {
			t.Errorf("CanonicalJSON(%q) = %s, want an error", in, got)
		}
	}
}

// RFC 8785 appendix B: IEEE 754 doubles and their ECMAScript spelling.
func TestJCSNumbers(t *testing.T) {
	tests := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"},
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, tt := range tests {
		if got := string(appendJCSNumber(nil, math.Float64frombits(tt.bits))); got != tt.want {
			t.Errorf("%#016x: got %s, want %s", tt.bits, got, tt.want)
		}
	}
}

func TestJCSStringInvalidUTF8(t *testing.T) {
	if got, want := string(appendJCSString(nil, "a\xffb")), "\"a\uFFFDb\""; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
