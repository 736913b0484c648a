package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// The EPCIS 2.0 REST binding, query side: GET /epcis/events answers the
// captured events the key may read that the standard query parameters
// select (ledger/epcis.ParseQuery), as an EPCISQueryDocument, a page at a
// time (perPage, nextPageToken, Link rel="next"); GET
// /epcis/events/{eventID} answers the events captured under one eventID
// (the event and its error declaration).

const (
	defaultPerPage = 100
	maxPerPage     = 1000
	// simpleEventQuery is the query name of the events resource's answers.
	simpleEventQuery = "SimpleEventQuery"
)

// answeredEvent is a captured event as the repository answers it
// (ledger.CapturedEvent.Answered).
func answeredEvent(ce *ledger.CapturedEvent) (epcis.Event, error) { return ce.Answered() }

// pageToken encodes the record seq a page ends at; parsePageToken reads it.
func pageToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s" + strconv.FormatInt(seq, 10)))
}

func parsePageToken(tok string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil && len(b) > 1 && b[0] == 's' {
		if n, ok := ledger.ParseSeq(string(b[1:])); ok {
			return n, nil
		}
	}
	return 0, fault.InvalidField("nextPageToken", "is not a token this repository gave")
}

// queryEvents is GET /epcis/events.
func (s *server) queryEvents(c *gin.Context) {
	v := c.Request.URL.Query()
	q, err := epcis.ParseQuery(v, "perPage", "nextPageToken")
	if pe := (*epcis.ParamError)(nil); err != nil && errors.As(err, &pe) {
		err = fault.InvalidField(pe.Param, "%s", pe.Msg)
	}
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	s.answerQuery(c, q, simpleEventQuery)
}

// answerQuery answers a page of the captured events the key may read that
// q selects, as an EPCISQueryDocument of queryName (paging by the
// request's perPage and nextPageToken).
func (s *server) answerQuery(c *gin.Context, q *epcis.Query, queryName string) {
	v := c.Request.URL.Query()
	var err error
	perPage, after := defaultPerPage, int64(-1)
	if err == nil && v.Get("perPage") != "" {
		n, perr := strconv.Atoi(v.Get("perPage"))
		if perr != nil || n < 1 || n > maxPerPage {
			err = fault.InvalidField("perPage", "must be a whole number from 1 to %d", maxPerPage)
		}
		perPage = n
	}
	if err == nil && v.Get("nextPageToken") != "" {
		after, err = parsePageToken(v.Get("nextPageToken"))
	}
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	var events []epcis.Event
	prefixes := map[string]string{}
	_, next, err := s.l.EPCISEvents(c.Request.Context(), principal(c), after, perPage, func(ce *ledger.CapturedEvent) (bool, error) {
		e, err := answeredEvent(ce)
		if err != nil || !q.Match(e) {
			return false, err
		}
		if len(events) < perPage {
			events = append(events, e)
			mergePrefixes(prefixes, ce.EPCIS.Prefixes)
		}
		return true, nil
	})
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	if next >= 0 {
		v.Set("nextPageToken", pageToken(next))
		c.Header("Link", "<"+c.Request.URL.Path+"?"+v.Encode()+`>; rel="next"`)
	}
	s.writeQueryDocument(c, events, prefixes, queryName)
}

// getEPCISEvent is GET /epcis/events/{eventID}: the eventID is a URI,
// percent-encoded as one path segment.
func (s *server) getEPCISEvent(c *gin.Context) {
	raw := strings.TrimPrefix(c.Request.URL.EscapedPath(), "/epcis/events/")
	id, err := url.PathUnescape(raw)
	if err != nil || id == "" {
		epcisFail(c, fault.InvalidField("eventID", "is not a percent-encoded URI"), true)
		return
	}
	ces, err := s.l.EPCISEvent(c.Request.Context(), principal(c), id)
	events, prefixes := []epcis.Event{}, map[string]string{}
	for _, ce := range ces {
		e, aerr := answeredEvent(ce)
		if aerr != nil {
			err = aerr
			break
		}
		events = append(events, e)
		mergePrefixes(prefixes, ce.EPCIS.Prefixes)
	}
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	s.writeQueryDocument(c, events, prefixes, simpleEventQuery)
}

func (s *server) writeQueryDocument(c *gin.Context, events []epcis.Event, prefixes map[string]string, queryName string) {
	doc, err := epcis.Encode(time.Now(), epcis.Header{Prefixes: prefixes, QueryName: queryName}, events)
	if err != nil {
		epcisFail(c, fault.Wrap(fault.Internal, "the query document could not be written", err), true)
		return
	}
	c.Data(http.StatusOK, "application/ld+json", doc)
}

// mergePrefixes adds to dst the namespace prefixes of src it lacks: the
// first event to declare a prefix names it in the answer.
func mergePrefixes(dst, src map[string]string) {
	for k, iri := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = iri
		}
	}
}

// escapeEventID percent-encodes an eventID as one path segment.
func escapeEventID(id string) string { return url.PathEscape(id) }
