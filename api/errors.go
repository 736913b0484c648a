package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"coldtrace/ledger/fault"
)

// A problem is an RFC 9457 problem document.
type problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Code   string         `json:"code"`
	Errors []fieldProblem `json:"errors,omitempty"`
	// RequestID names the request in the server's log (X-Request-Id).
	RequestID string `json:"request_id,omitempty"`
}

// A fieldProblem is a field error in English and Chinese.
type fieldProblem struct {
	Field     string `json:"field"`
	Message   string `json:"message"`
	MessageZH string `json:"message_zh"`
}

func fieldProblems(fes []fault.FieldError) []fieldProblem {
	if len(fes) == 0 {
		return nil
	}
	out := make([]fieldProblem, len(fes))
	for i, fe := range fes {
		out[i] = fieldProblem{Field: fe.Field, Message: fe.Message, MessageZH: messageZH(fe.Message)}
	}
	return out
}

// statusOf is the one table from ledger error kinds to HTTP statuses.
var statusOf = map[fault.Kind]int{
	fault.Internal:        http.StatusInternalServerError,
	fault.NotFound:        http.StatusNotFound,
	fault.Invalid:         http.StatusBadRequest,
	fault.Conflict:        http.StatusConflict,
	fault.Forbidden:       http.StatusForbidden,
	fault.Rejected:        http.StatusUnprocessableEntity,
	fault.Unavailable:     http.StatusServiceUnavailable,
	fault.Tampered:        http.StatusInternalServerError,
	fault.Unauthenticated: http.StatusUnauthorized,
	fault.TooLarge:        http.StatusRequestEntityTooLarge,
}

// codeRateLimited is the problem code of a 429, which no ledger kind maps to.
const codeRateLimited = "rate_limited"

// fail answers the request with the problem document of err and aborts the
// handler chain. Internal and Tampered errors are logged with their cause and
// shown to the client without it. A query stopped because its client went
// away is logged, and nobody is answered: there is no one to read a body.
func fail(c *gin.Context, err error) {
	if clientGone(c, err) {
		slog.Default().InfoContext(c.Request.Context(), "client went away; request stopped", "request_id", c.GetString(requestIDKey),
			"method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		c.Status(statusClientClosed)
		c.Abort()
		return
	}
	p := problemOf(err)
	if p.Status >= 500 {
		slog.Default().ErrorContext(c.Request.Context(), "request failed", "request_id", c.GetString(requestIDKey),
			"method", c.Request.Method, "path", c.Request.URL.Path, "kind", p.Code, "err", err)
	}
	if fault.KindOf(err) == fault.Unavailable {
		c.Header("Retry-After", "5")
	}
	if p.Status == http.StatusRequestTimeout {
		// The rest of the body is not worth waiting for.
		c.Header("Connection", "close")
	}
	writeProblem(c, p)
}

// statusClientClosed is the status recorded (in logs and metrics only) for
// a request whose client went away: nginx's 499.
const statusClientClosed = 499

// clientGone reports whether err is the cancellation of the request's own
// context: the client disconnected (or the server is shutting down).
func clientGone(c *gin.Context, err error) bool {
	return errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil
}

// An httpError is a problem of the HTTP exchange itself, which no ledger
// kind describes (a body that did not arrive in time).
type httpError struct {
	Status int
	Code   string
	Msg    string
}

func (e *httpError) Error() string { return e.Msg }

// problemOf translates err into its problem document.
func problemOf(err error) problem {
	if he := (*httpError)(nil); errors.As(err, &he) {
		return problem{Status: he.Status, Code: he.Code, Title: http.StatusText(he.Status), Detail: he.Msg, Type: "urn:coldtrace:problem:" + he.Code}
	}
	kind := fault.KindOf(err)
	status := statusOf[kind]
	p := problem{Status: status, Code: kind.String(), Title: http.StatusText(status), Type: "urn:coldtrace:problem:" + kind.String()}
	var le *fault.Error
	if errors.As(err, &le) {
		p.Detail, p.Errors = le.Msg, fieldProblems(le.Fields)
	}
	switch kind {
	case fault.Internal:
		p.Detail = "Internal error; the server's log has the details under the request_id."
	case fault.Tampered:
		// Sizes, hashes and keys of the stored data are for the operators.
		p.Detail, p.Errors = "Stored data failed an integrity check; the server's log has the details under the request_id.", nil
	}
	return p
}

func writeProblem(c *gin.Context, p problem) {
	if !strings.HasPrefix(p.Type, epcisExceptionPrefix) {
		p.Type = "urn:coldtrace:problem:" + p.Code
	}
	p.RequestID = c.GetString(requestIDKey)
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if chinese(c) {
		inChinese(&p)
	}
	c.Abort()
	c.Render(p.Status, problemRender{p})
}

// problemRender writes a problem as application/problem+json.
type problemRender struct{ p problem }

func (r problemRender) Render(w http.ResponseWriter) error {
	r.WriteContentType(w)
	return writeJSON(w, r.p)
}

func (problemRender) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/problem+json")
}

const requestIDKey = "coldtrace.request_id"

// requestID names each request: the client's X-Request-Id when it is a
// short token, else a new one. It is answered in X-Request-Id, logged, and
// carried by every problem document.
func requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) {
		id = uuid.NewString()
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// unsupportedMediaType is the 415 of a body in a content type the endpoint
// does not take.
func unsupportedMediaType(want, got string) error {
	return &httpError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Msg: "the body must be " + want + ", is " + strconv.Quote(got)}
}

// notAcceptable is the 406 of a request asking for a version of EPCIS or
// CBV that the server does not speak.
func notAcceptable(format string, args ...any) error {
	return &httpError{Status: http.StatusNotAcceptable, Code: "not_acceptable", Msg: fmt.Sprintf(format, args...)}
}

// epcisExceptionPrefix starts the problem types of the EPCIS 2.0 REST
// binding's exceptions.
const epcisExceptionPrefix = "epcisException:"

// epcisProblem is the problem document of err on the EPCIS binding: the
// same status, code and fields as elsewhere, typed with the binding's
// exception (query: a query's parameters rather than a captured document).
func epcisProblem(err error, query bool) problem {
	p := problemOf(err)
	var exc string
	switch p.Status {
	case http.StatusBadRequest:
		exc = "ValidationException"
		if query {
			exc = "QueryParameterException"
		}
	case http.StatusUnauthorized, http.StatusForbidden:
		exc = "SecurityException"
	case http.StatusNotFound:
		exc = "NoSuchResourceException"
	case http.StatusConflict:
		exc = "ValidationException"
		if query {
			exc = "ResourceAlreadyExistsException"
		}
	case http.StatusUnprocessableEntity:
		exc = "ValidationException"
	case http.StatusNotAcceptable:
		exc = "NotAcceptableException"
	case http.StatusRequestEntityTooLarge:
		exc = "CaptureLimitExceededException"
		if query {
			exc = "QueryTooLargeException"
		}
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
		exc = "ImplementationException"
	}
	if exc != "" {
		p.Type = epcisExceptionPrefix + exc
	}
	return p
}

// epcisFail answers the request with err as the binding's exception.
func epcisFail(c *gin.Context, err error, query bool) {
	p := epcisProblem(err, query)
	if p.Status >= 500 {
		slog.Default().ErrorContext(c.Request.Context(), "request failed", "request_id", c.GetString(requestIDKey),
			"method", c.Request.Method, "path", c.Request.URL.Path, "kind", p.Code, "err", err)
	}
	if fault.KindOf(err) == fault.Unavailable {
		c.Header("Retry-After", "5")
	}
	writeProblem(c, p)
}
