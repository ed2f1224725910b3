package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
)

func TestBoundMessage(t *testing.T) {
	long := strings.Repeat("k", 1<<20)
	tests := []struct {
		name, in, want string
	}{
		{"short", `model "x" not found`, `model "x" not found`},
		{"long quoted value", `tags: invalid key "` + long + `" (1 to 128 bytes)`,
			`tags: invalid key "` + strings.Repeat("k", maxQuoted) + `…" (1 to 128 bytes)`},
		{"escapes kept whole", `key "` + strings.Repeat(`\"`, 100) + `"`, `key "` + strings.Repeat(`\"`, maxQuoted) + `…"`},
		{"invalid utf-8 escaped", `key "` + strings.Repeat(`\xff`, 100) + `"`, `key "` + strings.Repeat(`\xff`, maxQuoted) + `…"`},
		{"two values", `"` + long + `" and "` + long + `"`,
			`"` + strings.Repeat("k", maxQuoted) + `…" and "` + strings.Repeat("k", maxQuoted) + `…"`},
		{"unbalanced quote", `a "b`, `a "b`},
		{"long unquoted", strings.Repeat("é", 1000), strings.Repeat("é", maxMessage/2) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := boundMessage(tc.in); got != tc.want {
				t.Fatalf("boundMessage(%.60q…)\n got %.200q\nwant %.200q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCanonicalInt(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "1": 1, "42": 42, "-3": -3, "9223372036854775807": 1<<63 - 1} {
		if n, ok := CanonicalInt(s); !ok || n != want {
			t.Errorf("CanonicalInt(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
	for _, s := range []string{"", "01", "00", "+1", "-0", "-01", " 1", "1 ", "1.0", "1e0", "0x1", "1_000", "９", "9223372036854775808"} {
		if n, ok := CanonicalInt(s); ok {
			t.Errorf("CanonicalInt(%q) = %d, want refused", s, n)
		}
	}
}

// Without the validator in front (a handler on its own), the binder still
// reads the body with the strict decoder.
func TestBinderAloneIsStrict(t *testing.T) {
	e := echo.New()
	for body, want := range map[string]string{
		`{"name":"a"}xyz`:         "data after the JSON value",
		`{"name":"a","name":"b"}`: "appears twice",
		"{\"name\":\"a\xff\"}":    "UTF-8",
		``:                        "required",
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/models", strings.NewReader(body))
		c := e.NewContext(req, httptest.NewRecorder())
		var into openapi.CreateModelJSONRequestBody
		err := jsonBinder{}.Bind(&into, c)
		if !errors.Is(err, modelkeep.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Bind(%q) = %v, want invalid mentioning %q", body, err, want)
		}
		// An empty body is io.EOF to the generated code (an optional body
		// left out), and only an empty body is.
		if errors.Is(err, io.EOF) != (body == "") {
			t.Errorf("Bind(%q) = %v: io.EOF is %v", body, err, errors.Is(err, io.EOF))
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/models", strings.NewReader(`{"name":"a","NAME":"b"}`))
	var into openapi.CreateModelJSONRequestBody
	if err := (jsonBinder{}).Bind(&into, e.NewContext(req, httptest.NewRecorder())); err != nil || into.Name != "a" {
		t.Errorf("Bind matched a member name case-insensitively: %+v, %v", into, err)
	}
	req = httptest.NewRequest(http.MethodPut, "/x", strings.NewReader(`{"version":1.0}`))
	var alias openapi.SetAliasJSONRequestBody
	err := jsonBinder{}.Bind(&alias, e.NewContext(req, httptest.NewRecorder()))
	if !errors.Is(err, modelkeep.ErrInvalid) || !strings.Contains(err.Error(), `field "version": want an integer`) || strings.Contains(err.Error(), "Unmarshal") {
		t.Errorf("Bind of a version written 1.0 = %v", err)
	}
}

// Errors of Echo's and of the generated code never show the Go error they
// wrap.
func TestPublicHTTPMessage(t *testing.T) {
	tests := []struct {
		err  *echo.HTTPError
		want string
	}{
		{echo.NewHTTPError(http.StatusBadRequest, `Invalid format for parameter version: error binding string parameter: strconv.ParseInt: parsing "x": invalid syntax`), `invalid parameter "version"`},
		{echo.NewHTTPError(http.StatusBadRequest, "Unmarshal type error: expected=int, got=number 1.0, field=version, offset=14").SetInternal(errors.New("json: cannot unmarshal")), "Bad Request"},
		{echo.NewHTTPError(http.StatusNotFound, "Not Found"), "Not Found"},
		{echo.NewHTTPError(http.StatusMethodNotAllowed), "Method Not Allowed"},
	}
	for _, tc := range tests {
		if got := publicHTTPMessage(tc.err); got != tc.want {
			t.Errorf("publicHTTPMessage(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestChecksumHeader(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
		err    string
	}{
		{"absent", nil, "", ""},
		{"given", []string{strings.Repeat("ab", 32)}, strings.Repeat("ab", 32), ""},
		{"empty", []string{""}, "", "empty"},
		{"blank", []string{"  "}, "", "empty"},
		{"twice", []string{"a", "b"}, "", "2 times"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.values {
				h.Add("X-Checksum-Sha256", v)
			}
			got, err := checksumHeader(h)
			if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("checksumHeader(%q) = %q, %v", tc.values, got, err)
			}
		})
	}
}
