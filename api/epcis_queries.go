package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// The EPCIS 2.0 REST binding, named queries and their subscriptions:
// POST/GET /epcis/queries, GET/DELETE /epcis/queries/{name}, GET
// /epcis/queries/{name}/events, and the subscriptions under
// /epcis/queries/{name}/subscriptions (ledger/epcis_named.go,
// ledger/epcis_subscribe.go). Deliveries are made by the Deliverer
// (webhooks.go), signed with GS1-Signature.

func (s *server) epcisQueryRoutes(g *gin.RouterGroup) {
	g.POST("/queries", s.createNamedQuery)
	g.GET("/queries", s.listNamedQueries)
	g.GET("/queries/:name", s.getNamedQuery)
	g.DELETE("/queries/:name", s.deleteNamedQuery)
	g.GET("/queries/:name/events", s.runNamedQuery)
	g.POST("/queries/:name/subscriptions", s.subscribe)
	g.GET("/queries/:name/subscriptions", s.listSubscriptions)
	g.GET("/queries/:name/subscriptions/:id", s.getSubscription)
	g.DELETE("/queries/:name/subscriptions/:id", s.unsubscribe)
}

// createNamedQuery is POST /epcis/queries: {"name", "query"}.
func (s *server) createNamedQuery(c *gin.Context) {
	var req struct {
		Name  string          `json:"name"`
		Query json.RawMessage `json:"query"`
	}
	if err := decodeJSON(c, &req); err != nil {
		epcisFail(c, err, true)
		return
	}
	q, err := s.l.CreateNamedQuery(c.Request.Context(), principal(c), req.Name, req.Query)
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	c.Header("Location", "/epcis/queries/"+url.PathEscape(q.Name))
	answer(c, http.StatusCreated, q)
}

func (s *server) listNamedQueries(c *gin.Context) {
	qs, err := s.l.NamedQueries(c.Request.Context(), principal(c))
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	answer(c, http.StatusOK, qs)
}

func (s *server) getNamedQuery(c *gin.Context) {
	q, _, err := s.l.NamedQueryOf(c.Request.Context(), principal(c), c.Param("name"))
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	answer(c, http.StatusOK, q)
}

func (s *server) deleteNamedQuery(c *gin.Context) {
	if err := s.l.DeleteNamedQuery(c.Request.Context(), principal(c), c.Param("name")); err != nil {
		epcisFail(c, err, true)
		return
	}
	c.Status(http.StatusNoContent)
}

// runNamedQuery is GET /epcis/queries/{name}/events: the query's events
// as GET /epcis/events answers them, paged the same way.
func (s *server) runNamedQuery(c *gin.Context) {
	for k := range c.Request.URL.Query() {
		if k != "perPage" && k != "nextPageToken" {
			epcisFail(c, fault.InvalidField(k, "a named query takes only perPage and nextPageToken; its parameters are stored"), true)
			return
		}
	}
	q, parsed, err := s.l.NamedQueryOf(c.Request.Context(), principal(c), c.Param("name"))
	if err != nil {
		epcisFail(c, err, true)
		return
	}
	s.answerQuery(c, parsed, q.Name)
}

func (s *server) subscribe(c *gin.Context) {
	var req ledger.SubscriptionRequest
	if err := decodeJSON(c, &req); err != nil {
		epcisFail(c, err, false)
		return
	}
	sub, err := s.l.Subscribe(c.Request.Context(), principal(c), c.Param("name"), req)
	if err != nil {
		epcisFail(c, err, false)
		return
	}
	c.Header("Location", "/epcis/queries/"+url.PathEscape(sub.QueryName)+"/subscriptions/"+sub.ID)
	answer(c, http.StatusCreated, sub)
}

func (s *server) listSubscriptions(c *gin.Context) {
	subs, err := s.l.Subscriptions(c.Request.Context(), principal(c), c.Param("name"))
	if err != nil {
		epcisFail(c, err, false)
		return
	}
	answer(c, http.StatusOK, subs)
}

func (s *server) getSubscription(c *gin.Context) {
	sub, err := s.l.SubscriptionOf(c.Request.Context(), principal(c), c.Param("name"), c.Param("id"))
	if err != nil {
		epcisFail(c, err, false)
		return
	}
	answer(c, http.StatusOK, sub)
}

func (s *server) unsubscribe(c *gin.Context) {
	if err := s.l.Unsubscribe(c.Request.Context(), principal(c), c.Param("name"), c.Param("id")); err != nil {
		epcisFail(c, err, false)
		return
	}
	c.Status(http.StatusNoContent)
}

// negotiateVersions refuses (406, the binding's NotAcceptableException) a
// request that asks for an EPCIS or CBV version the server does not speak:
// GS1-EPCIS-Version or GS1-CBV-Version naming another version, or a
// GS1-EPCIS-Min/-Max (GS1-CBV-Min/-Max) range without ours.
func negotiateVersions(c *gin.Context) {
	for _, h := range []struct{ name, ours string }{{"EPCIS", epcisVersion}, {"CBV", cbvVersion}} {
		if v := c.GetHeader("GS1-" + h.name + "-Version"); v != "" && compareVersions(v, h.ours) != 0 {
			epcisFail(c, notAcceptable("GS1-%s-Version %s is not spoken here; this repository speaks %s", h.name, v, h.ours), false)
			c.Abort()
			return
		}
		lo, hi := c.GetHeader("GS1-"+h.name+"-Min"), c.GetHeader("GS1-"+h.name+"-Max")
		if lo != "" && compareVersions(lo, h.ours) > 0 || hi != "" && compareVersions(hi, h.ours) < 0 {
			epcisFail(c, notAcceptable("no %s version from GS1-%s-Min %q to GS1-%s-Max %q is spoken here; this repository speaks %s", h.name, h.name, lo, h.name, hi, h.ours), false)
			c.Abort()
			return
		}
	}
	c.Next()
}

// compareVersions compares two dotted versions ("2.0" equals "2.0.0");
// a part that is not a number sorts after every number.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(strings.TrimSpace(a), "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		x, y := versionPart(pa, i), versionPart(pb, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, err := strconv.Atoi(parts[i])
	if err != nil || n < 0 {
		return 1 << 30
	}
	return n
}
