package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger/fault"
)

// A problem is an RFC 9457 problem document.
type problem struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail,omitempty"`
	Code   string             `json:"code"`
	Errors []fault.FieldError `json:"errors,omitempty"`
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
// shown to the client without it.
func fail(c *gin.Context, err error) {
	p := problemOf(err)
	if p.Status >= 500 {
		slog.Default().ErrorContext(c.Request.Context(), "request failed",
			"method", c.Request.Method, "path", c.Request.URL.Path, "kind", p.Code, "err", err)
	}
	if fault.KindOf(err) == fault.Unavailable {
		c.Header("Retry-After", "5")
	}
	writeProblem(c, p)
}

// problemOf translates err into its problem document.
func problemOf(err error) problem {
	kind := fault.KindOf(err)
	status := statusOf[kind]
	p := problem{Status: status, Code: kind.String(), Title: http.StatusText(status), Type: "urn:coldtrace:problem:" + kind.String()}
	var le *fault.Error
	if errors.As(err, &le) {
		p.Detail, p.Errors = le.Msg, le.Fields
	}
	if kind == fault.Internal {
		p.Detail = "Internal error."
	}
	return p
}

func writeProblem(c *gin.Context, p problem) {
	p.Type = "urn:coldtrace:problem:" + p.Code
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
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
