package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// The EPCIS 2.0 REST binding, capture side: POST /epcis/capture takes an
// EPCISDocument and answers 202 with the Location of its capture job;
// GET /epcis/capture/{captureID} reports the job; POST /epcis/events
// captures one event synchronously (201). Every captured event is a record
// of the log (ledger/epcis_capture.go). A document is captured before the
// 202 is sent, so the job only reports: a 202 means the document's events
// are committed (or, for a failed job, that none is, under rollback).

const (
	epcisVersion = "2.0.0"
	cbvVersion   = "2.0.0"
	// maxCaptureEvents bounds the events of one captured document, as
	// GS1-EPCIS-Capture-Limit advertises.
	maxCaptureEvents = maxBatchLines
	// captureBodyFactor times Options.MaxBodyBytes bounds a document.
	captureBodyFactor = 32
)

// epcisHeaders advertises the versions, formats and limits of the binding
// on every answer of /epcis.
func (s *server) epcisHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("GS1-EPCIS-Version", epcisVersion)
	h.Set("GS1-EPCIS-Min", epcisVersion)
	h.Set("GS1-EPCIS-Max", epcisVersion)
	h.Set("GS1-CBV-Version", cbvVersion)
	h.Set("GS1-CBV-Min", cbvVersion)
	h.Set("GS1-CBV-Max", cbvVersion)
	h.Set("GS1-EPC-Format", "No_Preference")
	h.Set("GS1-Extensions", "ct="+VocabNS)
	h.Set("GS1-EPCIS-Capture-Limit", strconv.Itoa(maxCaptureEvents))
	h.Set("GS1-EPCIS-Capture-File-Size-Limit", strconv.FormatInt(captureBodyFactor*s.opts.MaxBodyBytes, 10))
	c.Next()
}

// epcisOptions answers OPTIONS on the binding's resources: the methods and
// (from epcisHeaders) the versions and limits.
func epcisOptions(allow string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Allow", allow+", OPTIONS")
		c.Status(http.StatusNoContent)
	}
}

// readEPCISBody checks the content type (application/json or
// application/ld+json) and reads a body of at most max bytes.
func (s *server) readEPCISBody(c *gin.Context, max int64) ([]byte, error) {
	if ct := c.ContentType(); ct != "application/json" && ct != "application/ld+json" {
		return nil, unsupportedMediaType("application/json or application/ld+json", ct)
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Writer, s.rateBody(c, rawBody(c)), max))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, fault.Errorf(fault.TooLarge, "the document is larger than %d bytes (GS1-EPCIS-Capture-File-Size-Limit)", max)
	}
	if err != nil {
		return nil, decodeError(err)
	}
	return data, nil
}

// decodeEPCIS decodes a document and turns its problems into field errors
// naming the event and the member ("epcisBody.eventList[2].bizStep").
func decodeEPCIS(data []byte) (*epcis.Document, error) {
	if err := checkDuplicateKeys(data); err != nil {
		return nil, err
	}
	doc, err := epcis.Decode(data)
	if err != nil {
		return nil, ledger.EPCISProblems(err, "epcisBody.eventList")
	}
	return doc, nil
}

// A captureJob is the report of one capture job, as the binding shapes it.
type captureJob struct {
	CaptureID             string           `json:"captureID"`
	CreatedAt             time.Time        `json:"createdAt"`
	FinishedAt            time.Time        `json:"finishedAt"`
	Running               bool             `json:"running"`
	Success               bool             `json:"success"`
	CaptureErrorBehaviour string           `json:"captureErrorBehaviour"`
	Errors                []problem        `json:"errors"`
	Events                []capturedRecord `json:"ct:events"`
}

// A capturedRecord names the record an event of the job became and, when
// it took effect in the domain, the record of that effect.
type capturedRecord struct {
	EventID string          `json:"eventID"`
	Seq     int64           `json:"seq"`
	Effect  *capturedEffect `json:"ct:effect,omitempty"`
}

// A capturedEffect is the domain record a captured event took effect as.
type capturedEffect struct {
	Seq  int64            `json:"seq"`
	Kind ledger.EventKind `json:"kind"`
}

// captureDocument is POST /epcis/capture.
func (s *server) captureDocument(c *gin.Context) {
	created := time.Now().UTC()
	behaviour := c.GetHeader("GS1-Capture-Error-Behaviour")
	if behaviour == "" {
		behaviour = "rollback"
	}
	p := principal(c)
	var doc *epcis.Document
	data, err := s.readEPCISBody(c, captureBodyFactor*s.opts.MaxBodyBytes)
	if err == nil && behaviour != "rollback" && behaviour != "proceed" {
		err = fault.InvalidField("GS1-Capture-Error-Behaviour", "must be rollback or proceed")
	}
	if err == nil {
		err = ledger.MayCapture(p)
	}
	if err == nil {
		doc, err = decodeEPCIS(data)
	}
	if err == nil && doc.Type != epcis.TypeDocument {
		err = fault.InvalidField("type", "a capture takes an EPCISDocument")
	}
	if err == nil && len(doc.Events) > maxCaptureEvents {
		err = fault.Errorf(fault.TooLarge, "a document holds at most %d events (GS1-EPCIS-Capture-Limit)", maxCaptureEvents)
	}
	if err != nil {
		epcisFail(c, err, false)
		return
	}
	evs := make([]ledger.Event, len(doc.Events))
	for i, e := range doc.Events {
		evs[i] = ledger.NewEPCISEvent(e, doc.Prefixes)
	}
	job := captureJob{CaptureID: uuid.NewString(), CreatedAt: created, CaptureErrorBehaviour: behaviour, Errors: []problem{}, Events: []capturedRecord{}}
	var receipts []*ledger.Receipt
	if behaviour == "rollback" {
		receipts, err = s.l.CaptureAll(c.Request.Context(), p, evs)
		if err != nil {
			job.Errors = append(job.Errors, epcisProblem(err, false))
		}
	} else {
		batch := make([]ledger.Submission, len(evs))
		for i, ev := range evs {
			batch[i] = ledger.Submission{Principal: p, Event: ev}
		}
		for i, r := range s.l.SubmitBatch(c.Request.Context(), batch) {
			if r.Err != nil {
				job.Errors = append(job.Errors, epcisProblem(ledger.AtEPCISEvent(i, r.Err), false))
				continue
			}
			receipts = append(receipts, r.Receipt)
		}
	}
	if err != nil && fault.KindOf(err) == fault.Unavailable {
		epcisFail(c, err, false) // nothing was captured; the client should retry
		return
	}
	for _, r := range receipts {
		cr := capturedRecord{EventID: r.EPCISEventID, Seq: r.Seq}
		if r.Effect != nil {
			cr.Effect = &capturedEffect{Seq: r.Effect.Seq, Kind: r.Effect.Kind}
		}
		job.Events = append(job.Events, cr)
	}
	job.Success = len(job.Errors) == 0
	job.FinishedAt = time.Now().UTC()
	report, err := json.Marshal(job)
	if err == nil {
		err = s.l.PutCaptureJob(context.WithoutCancel(c.Request.Context()), p, job.CaptureID, report)
	}
	if err != nil {
		epcisFail(c, err, false)
		return
	}
	c.Header("Location", "/epcis/capture/"+job.CaptureID)
	c.Header("GS1-Capture-Error-Behaviour", behaviour)
	c.Status(http.StatusAccepted)
}

// getCaptureJob is GET /epcis/capture/{captureID}.
func (s *server) getCaptureJob(c *gin.Context) {
	report, err := s.l.CaptureJobReport(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		epcisFail(c, err, false)
		return
	}
	c.Data(http.StatusOK, "application/json", report)
}

// captureEvent is POST /epcis/events: one event (it may carry its own
// @context), captured synchronously.
func (s *server) captureEvent(c *gin.Context) {
	p := principal(c)
	data, err := s.readEPCISBody(c, s.opts.MaxBodyBytes)
	if err == nil {
		err = ledger.MayCapture(p)
	}
	var doc *epcis.Document
	if err == nil {
		doc, err = decodeEPCIS(epcisWrap(data))
	}
	if err != nil {
		epcisFail(c, err, false)
		return
	}
	r, err := s.l.Submit(c.Request.Context(), p, ledger.NewEPCISEvent(doc.Events[0], doc.Prefixes), "")
	if err != nil {
		epcisFail(c, ledger.AtEPCISEvent(0, err), false)
		return
	}
	c.Header("Location", "/epcis/events/"+escapeEventID(r.EPCISEventID))
	c.Status(http.StatusCreated)
}

// epcisWrap puts one event into a document, with the event's @context (or
// the standard's) as the document's, so that it decodes like a capture.
func epcisWrap(event []byte) []byte {
	var ctx struct {
		Context json.RawMessage `json:"@context"`
	}
	_ = json.Unmarshal(event, &ctx)
	if len(ctx.Context) == 0 {
		ctx.Context, _ = json.Marshal(epcis.Context)
	}
	out := []byte(`{"@context":`)
	out = append(out, ctx.Context...)
	out = append(out, `,"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"`...)
	out = append(out, time.Now().UTC().Format(time.RFC3339)...)
	out = append(out, `","epcisBody":{"eventList":[`...)
	out = append(out, event...)
	return append(out, "]}}"...)
}
