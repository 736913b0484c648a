package api

import (
	"bytes"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"coldtrace/api/report"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// closureReport answers GET /v1/reports/closure in the format asked for.
func (s *server) closureReport(c *gin.Context) {
	format := c.DefaultQuery("format", "json")
	if !slices.Contains(report.Formats, format) {
		fail(c, invalidParam("format", "must be one of "+strings.Join(report.Formats, ", ")))
		return
	}
	f := ledger.ReportFilter{Region: c.Query("region")}
	var err error
	if f.From, err = timeParam(c, "from"); err == nil {
		f.To, err = timeParam(c, "to")
	}
	if err != nil {
		fail(c, err)
		return
	}
	var font []byte
	if format == "pdf" {
		// Check the font before the work, so that a missing font is a
		// clear 503 and not a broken download.
		if font, err = s.font.Data(); err != nil {
			fail(c, fault.Wrap(fault.Unavailable, err.Error(), err))
			return
		}
	}
	rep, err := s.l.ClosureReport(c.Request.Context(), principal(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	if format == "json" {
		c.Status(http.StatusOK)
		c.Header("Content-Type", report.ContentType(format))
		_ = writeJSON(c.Writer, report.JSONView(rep))
		return
	}
	// Render first, so that a failure is still a problem document.
	var buf bytes.Buffer
	switch format {
	case "csv":
		err = report.CSV(&buf, rep)
	case "xlsx":
		err = report.XLSX(&buf, rep)
	case "pdf":
		err = report.PDF(&buf, rep, font)
	}
	if err != nil {
		fail(c, fault.Wrap(fault.Internal, "the report could not be written", err))
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+report.FileName(rep, format)+`"`)
	c.Data(http.StatusOK, report.ContentType(format), buf.Bytes())
}
