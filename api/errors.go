package api

import (
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/strictjson"
)

// Bounds of error messages, whatever a client sent: a message quotes at
// most a prefix of an offending value, and is itself bounded.
const (
	maxQuoted  = 48   // bytes of one quoted value
	maxMessage = 1024 // bytes of a whole message
)

// boundMessage shortens each quoted value of a message ("..." as %q
// writes it) to its first maxQuoted bytes and an ellipsis, and the message
// to maxMessage bytes: a 1 MiB key in a request must not come back in a
// 1 MiB error.
func boundMessage(msg string) string {
	if len(msg) <= maxQuoted && !strings.Contains(msg, `"`) {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		if msg[i] != '"' {
			b.WriteByte(msg[i])
			i++
			continue
		}
		end := i + 1
		for end < len(msg) && msg[end] != '"' {
			if msg[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(msg) {
			// An unbalanced quote: no more values to find.
			b.WriteString(msg[i:])
			break
		}
		b.WriteString(shortenQuoted(msg[i : end+1]))
		i = end + 1
	}
	return strictjson.Prefix(b.String(), maxMessage)
}

// shortenQuoted shortens one quoted value, keeping it quoted.
func shortenQuoted(lit string) string {
	if len(lit) <= maxQuoted+2 {
		return lit
	}
	if s, err := strconv.Unquote(lit); err == nil {
		if len(s) <= maxQuoted {
			return lit
		}
		return strconv.Quote(strictjson.Prefix(s, maxQuoted))
	}
	return strictjson.Prefix(lit[:len(lit)-1], maxQuoted) + `"`
}

// generatedParamError is the message of the generated code's parameter
// binding (the validator runs first and names the problem in words; this
// is a fallback that must not show Go's parser errors).
var generatedParamError = regexp.MustCompile(`^Invalid format for parameter ([A-Za-z0-9_]+): `)

// publicHTTPMessage is what an *echo.HTTPError may say: Echo's and the
// generated code's own words, without the Go errors some of them append.
func publicHTTPMessage(he *echo.HTTPError) string {
	msg, ok := he.Message.(string)
	if !ok {
		return http.StatusText(he.Code)
	}
	if m := generatedParamError.FindStringSubmatch(msg); m != nil {
		return "invalid parameter " + strconv.Quote(m[1])
	}
	if he.Internal != nil && he.Code < 500 {
		// Echo's binder and parsers attach the Go error and quote it in
		// the message ("Unmarshal type error: ... offset=63").
		return http.StatusText(he.Code)
	}
	return msg
}

// codeOfStatus names the error code of a status Echo answers itself (an
// unknown route, a method not allowed, a bad range): the code of the
// domain's kind with that status (modelkeep.ErrorKinds, the one table),
// else one of the few statuses only HTTP has.
func codeOfStatus(status int) string {
	for _, k := range modelkeep.ErrorKinds {
		if k.Status == status {
			return k.Code
		}
	}
	switch status {
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusRequestedRangeNotSatisfiable:
		return "range_not_satisfiable"
	}
	return "internal"
}

// ErrorBody is the JSON error every failure answers with.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// FailedGates lists the promotion gates that refused an approval (412).
	FailedGates []GateDetail `json:"failed_gates,omitempty"`
	// MissingRequirements lists the requirement rows whose evidence is
	// missing when a policy requires evidence (412).
	MissingRequirements []string `json:"missing_requirements,omitempty"`
}

// GateDetail is one failed promotion gate.
type GateDetail struct {
	Gate   string `json:"gate"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// errorHandledKey marks a request whose error has been answered.
const errorHandledKey = "modelkeep.error_handled"

// NewErrorHandler returns Echo's HTTPErrorHandler: the one place where
// errors become statuses. Domain errors show their message; Echo's own keep
// their status; anything else is logged and answered as a bare 500.
func NewErrorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		// The request logger calls this handler to learn the status, and
		// Echo calls it again with the same error at the end: answer and
		// log once.
		if handled, _ := c.Get(errorHandledKey).(bool); handled {
			return
		}
		c.Set(errorHandledKey, true)
		status, body := http.StatusInternalServerError, ErrorBody{Error: ErrorDetail{Code: "internal", Message: "internal error"}}
		var he *echo.HTTPError
		var de *modelkeep.Error
		switch {
		case errors.As(err, &he):
			status = he.Code
			body.Error.Code = codeOfStatus(status)
			body.Error.Message = publicHTTPMessage(he)
			if he.Internal != nil && status >= 500 {
				logger.ErrorContext(c.Request().Context(), "request failed", "err", he.Internal)
			}
		case modelkeep.KindOf(err) != nil:
			kind := modelkeep.KindOf(err)
			status, body.Error.Code = kind.Status, kind.Code
			var ge *modelkeep.GateError
			var ee *modelkeep.EvidenceError
			switch {
			case errors.As(err, &ee):
				body.Error.MissingRequirements = ee.Missing
				body.Error.Message = ee.Error()
			case errors.As(err, &ge):
				for _, g := range ge.Failed() {
					body.Error.FailedGates = append(body.Error.FailedGates, GateDetail{Gate: g.Gate, Passed: g.Passed, Detail: g.Detail})
				}
				body.Error.Message = ge.Error()
			case errors.As(err, &de):
				body.Error.Message = de.Message
			case status >= 500:
				// The chain names hosts and drivers: log it, do not show it.
				body.Error.Message = "a backing service is unavailable; try again later"
			default:
				body.Error.Message = err.Error()
			}
			if status >= 500 {
				logger.WarnContext(c.Request().Context(), "backing service unavailable", "err", err)
			}
		default:
			logger.ErrorContext(c.Request().Context(), "request failed", "err", err)
		}
		body.Error.Message = boundMessage(body.Error.Message)
		if c.Response().Committed {
			// The bytes are out already: nothing to add.
			return
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, wwwAuthenticate)
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, body)
		}
		if err != nil {
			logger.WarnContext(c.Request().Context(), "write error response", "err", err)
		}
	}
}
