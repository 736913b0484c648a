package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// maxBatchLines bounds the events of one POST /v1/events/batch.
const maxBatchLines = 10_000

// decodeEvent decodes one event body, rejecting unknown fields and kinds that
// are not lot or site events.
func decodeEvent(dec *json.Decoder) (ledger.Event, error) {
	var ev ledger.Event
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, decodeError(err)
	}
	return ev, ledger.CheckEventKind(ev.Kind)
}

func (s *server) postEvent(c *gin.Context) {
	if err := checkJSONContentType(c); err != nil {
		fail(c, err)
		return
	}
	data, err := readBody(c)
	if err == nil {
		err = checkDuplicateKeys(data)
	}
	var ev ledger.Event
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		ev, err = decodeEvent(dec)
		if err == nil {
			err = expectEOF(dec)
		}
		err = nameTimeField(err, data)
	}
	if err != nil {
		fail(c, err)
		return
	}
	r, ok := s.submit(c, ev)
	if !ok {
		return
	}
	c.Header("Location", "/v1/events/"+strconv.FormatInt(r.Seq, 10))
	answer(c, http.StatusCreated, r)
}

// A batchLine is one line of POST /v1/events/batch: an event and,
// optionally, its own Idempotency-Key.
type batchLine struct {
	ledger.Event
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// maxBatchKey bounds a batch's Idempotency-Key, which is extended by each
// line's place to key the line.
const maxBatchKey = 200

// decodeBatchLine decodes one line of a batch.
func decodeBatchLine(line []byte) (batchLine, error) {
	var bl batchLine
	if err := checkDuplicateKeys(line); err != nil {
		return bl, err
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bl); err != nil {
		return bl, nameTimeField(decodeError(err), line)
	}
	if err := ledger.CheckEventKind(bl.Event.Kind); err != nil {
		return bl, err
	}
	return bl, expectEOF(dec)
}

func (s *server) getEvent(c *gin.Context) {
	seq, err := strconv.ParseInt(c.Param("seq"), 10, 64)
	if err != nil || seq < 0 {
		fail(c, fault.BadField("bad seq", "seq", "must be a whole number"))
		return
	}
	data, voidedBy, err := s.l.Event(c.Request.Context(), principal(c), seq)
	if err != nil {
		fail(c, err)
		return
	}
	if voidedBy > 0 {
		c.Header("X-Voided-By", strconv.FormatInt(voidedBy, 10))
	}
	c.Data(http.StatusOK, "application/json", data)
}

func (s *server) getLot(c *gin.Context) {
	lot, err := s.l.Lot(c.Request.Context(), principal(c), c.Param("ref"))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, lot)
}

type lotEventsResponse struct {
	Lot       string            `json:"lot"`
	TraceCode string            `json:"trace_code"`
	Events    []json.RawMessage `json:"events"`
	// VoidedBy maps the seq of each voided record to the record that voided it.
	VoidedBy map[string]int64 `json:"voided_by"`
}

func (s *server) getLotEvents(c *gin.Context) {
	h, err := s.l.LotEvents(c.Request.Context(), principal(c), c.Param("ref"))
	if err != nil {
		fail(c, err)
		return
	}
	resp := lotEventsResponse{Lot: h.Lot.ID, TraceCode: h.Lot.TraceCode, Events: h.Records, VoidedBy: map[string]int64{}}
	for k, v := range h.VoidedBy {
		resp.VoidedBy[strconv.FormatInt(k, 10)] = v
	}
	if resp.Events == nil {
		resp.Events = []json.RawMessage{}
	}
	answer(c, http.StatusOK, resp)
}

// findingCursor is the shape of a findings page's next_cursor: a finding
// id, "<seq>-<n>".
var findingCursor = regexp.MustCompile(`^[0-9]{1,19}-[0-9]{1,9}$`)

type findingView struct {
	ledger.Finding
	ledger.Worklist
	Explanation   string `json:"explanation"`
	ExplanationEN string `json:"explanation_en"`
}

func (s *server) listFindings(c *gin.Context) {
	f := ledger.FindingFilter{Region: c.Query("region"), Rule: c.Query("rule"), After: c.Query("cursor")}
	if f.After != "" && !findingCursor.MatchString(f.After) {
		fail(c, &fault.Error{Kind: fault.Invalid, Msg: "bad cursor", Fields: []fault.FieldError{{Field: "cursor", Message: "is not a cursor this server gave"}}})
		return
	}
	if v := c.Query("open"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fail(c, fault.BadField("bad open", "open", "must be true or false"))
			return
		}
		f.Open = &b
	}
	if f.Rule != "" {
		if _, ok := ledger.RuleText[f.Rule]; !ok {
			fail(c, fault.BadField("unknown rule", "rule", "unknown rule "+strconv.Quote(f.Rule)))
			return
		}
	}
	limit, err := int64Param(c, "limit", 100)
	if err != nil {
		fail(c, err)
		return
	}
	f.Limit = int(limit)
	list, next, err := s.l.Findings(c.Request.Context(), principal(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]findingView, len(list))
	for i, fd := range list {
		t := ledger.RuleText[fd.Rule]
		out[i] = findingView{Finding: fd, Worklist: fd.Worklist(time.Now()), Explanation: t[0], ExplanationEN: t[1]}
	}
	resp := gin.H{"findings": out}
	if next != "" {
		resp["next_cursor"] = next
	}
	answer(c, http.StatusOK, resp)
}
