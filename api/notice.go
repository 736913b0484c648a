package api

import (
	"bytes"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/api/report"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// A noticeRequest asks for a rectification notice on a finding.
type noticeRequest struct {
	Deadline *time.Time `json:"deadline"`
}

// issueNotice answers POST /v1/findings/{id}/notice: it renders the
// rectification notice (整改通知书) to the operator the finding is about —
// that finding and the operator's other open findings the key sees, the
// deadline and the legal basis — as a PDF, uploads it as the key's org and
// records a notice_issued citing it, which attaches it to the finding.
// It answers 201 with the receipt and the notice's SHA-256; the PDF is
// GET /v1/attachments/{sha256}.
func (s *server) issueNotice(c *gin.Context) {
	var req noticeRequest
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	if req.Deadline == nil {
		fail(c, fault.InvalidField("deadline", "is required: when the operator must have rectified (RFC 3339)"))
		return
	}
	p := principal(c)
	if p.Role != ledger.RoleRegulator {
		fail(c, fault.Errorf(fault.Forbidden, "only a regulator of the finding's region issues a rectification notice"))
		return
	}
	// Everything the notice needs is read and checked before anything is
	// stored: a regulator that sees the finding acts for it.
	f, err := s.l.Finding(c.Request.Context(), p, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	switch {
	case !f.Open:
		fail(c, &fault.Error{Kind: fault.Conflict, Msg: "finding " + f.ID + " is closed"})
		return
	case f.Org == "":
		fail(c, fault.Rejectf("finding", "finding %s is not about one operator; a rectification notice goes to the operator a finding is about", f.ID))
		return
	case !req.Deadline.After(time.Now()):
		fail(c, fault.Rejectf("deadline", "must be in the future"))
		return
	}
	org, err := s.l.Org(c.Request.Context(), f.Org)
	if err != nil {
		fail(c, err)
		return
	}
	font, err := s.font.Data()
	if err != nil {
		fail(c, fault.Wrap(fault.Unavailable, err.Error(), err))
		return
	}
	open := true
	others, _, err := s.l.Findings(c.Request.Context(), p, ledger.FindingFilter{Open: &open, Limit: 1000})
	if err != nil {
		fail(c, err)
		return
	}
	n := &report.Notice{No: "ZG-" + f.ID, Org: *org, Findings: []ledger.Finding{*f}, Deadline: *req.Deadline, IssuedAt: time.Now().UTC(),
		Issuer: issuerRegion(p, f)}
	for _, o := range others {
		if o.Org == f.Org && o.ID != f.ID && len(n.Findings) < 50 {
			n.Findings = append(n.Findings, o)
		}
	}
	var buf bytes.Buffer
	if err := report.NoticePDF(&buf, n, font); err != nil {
		fail(c, err)
		return
	}
	att, err := s.l.PutAttachment(c.Request.Context(), p, "application/pdf", bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		fail(c, err)
		return
	}
	r, err := s.l.Submit(c.Request.Context(), p, ledger.Event{Kind: ledger.NoticeIssued, At: n.IssuedAt, Finding: f.ID, Deadline: req.Deadline,
		Attachments: []ledger.AttachmentRef{{SHA256: att.SHA256, Type: ledger.DocRectificationNotice}}}, "")
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/v1/attachments/"+att.SHA256)
	answer(c, http.StatusCreated, gin.H{"receipt": r, "sha256": att.SHA256})
}

// issuerRegion is the key's region prefix that covers the finding.
func issuerRegion(p ledger.Principal, f *ledger.Finding) string {
	for _, r := range p.Regions {
		if len(f.Region) >= len(r) && f.Region[:len(r)] == r || len(f.AssignedTo) >= len(r) && f.AssignedTo[:len(r)] == r {
			return r
		}
	}
	return slices.Min(append([]string{f.Region}, p.Regions...))
}
