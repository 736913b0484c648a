package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// queryRoutes adds the regulator's questions: lists, trace, recall, closure
// and the closure report.
func (s *server) queryRoutes(g *gin.RouterGroup) {
	g.GET("/lots", s.listLots)
	g.GET("/lots/:ref/trace", s.trace)
	g.GET("/lots/:ref/recall", s.recall)
	g.GET("/lots/:ref/closure", s.closure)
	g.GET("/events", s.listEvents)
	g.GET("/reports/closure", s.closureReport)
}

func invalidParam(name, msg string) error {
	return fault.BadField("bad query parameter "+name, name, msg)
}

// chinaTime is UTC+8: a bare date in a query is a day in China.
var chinaTime = time.FixedZone("CST", 8*3600)

// timeParam reads an optional time: RFC 3339, or a date (YYYY-MM-DD) taken
// as midnight China time.
func timeParam(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, chinaTime); err == nil {
		return t, nil
	}
	return time.Time{}, invalidParam(name, "must be an RFC 3339 time (2026-11-25T08:00:00+08:00) or a date (2026-11-25, China time)")
}

type lotPage struct {
	Lots       []ledger.LotItem `json:"lots"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func (s *server) listLots(c *gin.Context) {
	limit, err := int64Param(c, "limit", 100)
	if err != nil {
		fail(c, err)
		return
	}
	if limit < 1 || limit > 1000 {
		fail(c, invalidParam("limit", "must be between 1 and 1000"))
		return
	}
	f := ledger.LotFilter{Code: c.Query("code"), Container: c.Query("container"), Declaration: c.Query("declaration"),
		Holder: c.Query("holder"), Site: c.Query("site"), Region: c.Query("region"), Status: c.Query("status"),
		Cursor: c.Query("cursor"), Limit: int(limit)}
	lots, next, err := s.l.ListLots(c.Request.Context(), principal(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, lotPage{Lots: lots, NextCursor: next})
}

type eventPage struct {
	Events     []json.RawMessage `json:"events"`
	NextCursor string            `json:"next_cursor,omitempty"` // pass as after
}

func (s *server) listEvents(c *gin.Context) {
	limit, err := int64Param(c, "limit", 100)
	if err == nil && (limit < 1 || limit > 1000) {
		err = invalidParam("limit", "must be between 1 and 1000")
	}
	if err != nil {
		fail(c, err)
		return
	}
	f := ledger.EventFilter{Kind: ledger.EventKind(c.Query("kind")), Org: c.Query("org"), Site: c.Query("site"), Lot: c.Query("lot"),
		After: -1, Limit: int(limit)}
	if v := c.Query("after"); v != "" {
		seq, ok := ledger.ParseSeq(v)
		if !ok {
			fail(c, invalidParam("after", "must be the seq of a record (a whole number)"))
			return
		}
		f.After = seq
	}
	if f.From, err = timeParam(c, "from"); err == nil {
		f.To, err = timeParam(c, "to")
	}
	if err != nil {
		fail(c, err)
		return
	}
	events, next, err := s.l.ListEvents(c.Request.Context(), principal(c), f)
	if err != nil {
		fail(c, err)
		return
	}
	page := eventPage{Events: events}
	if next >= 0 {
		page.NextCursor = strconv.FormatInt(next, 10)
	}
	answer(c, http.StatusOK, page)
}

func (s *server) trace(c *gin.Context) {
	limit, err := int64Param(c, "limit", ledger.MaxAnswerLots)
	if err == nil && (limit < 1 || limit > ledger.MaxAnswerLots) {
		err = invalidParam("limit", "must be between 1 and "+strconv.Itoa(ledger.MaxAnswerLots))
	}
	if err != nil {
		fail(c, err)
		return
	}
	t, err := s.l.Trace(c.Request.Context(), principal(c), c.Param("ref"), c.Query("direction"), int(limit))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, t)
}

func (s *server) recall(c *gin.Context) {
	r, err := s.l.Recall(c.Request.Context(), principal(c), c.Param("ref"))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, r)
}

func (s *server) closure(c *gin.Context) {
	r, err := s.l.Closure(c.Request.Context(), principal(c), c.Param("ref"))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, r)
}
