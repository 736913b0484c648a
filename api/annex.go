package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// Personal data off the log: an event's note and people are kept in an
// annex outside the log (ledger/annex.go). The recording org, regulators of
// the region and auditors open it, each read logged; an admin erases it.

func (s *server) annexRoutes(g *gin.RouterGroup) {
	g.GET("/events/:seq/annex", s.getAnnex)
	g.DELETE("/events/:seq/annex", s.eraseAnnex)
	g.GET("/annex-reads", s.annexReads)
}

func seqParam(c *gin.Context) (int64, bool) {
	seq, err := strconv.ParseInt(c.Param("seq"), 10, 64)
	if err != nil || seq < 0 {
		fail(c, fault.BadField("bad seq", "seq", "must be a whole number"))
		return 0, false
	}
	return seq, true
}

type annexResponse struct {
	Seq    int64           `json:"seq"`
	SHA256 string          `json:"sha256"`
	Salt   string          `json:"salt"`
	Note   string          `json:"note"`
	People []ledger.Person `json:"people"`
}

func (s *server) getAnnex(c *gin.Context) {
	seq, ok := seqParam(c)
	if !ok {
		return
	}
	a, err := s.l.ReadAnnex(c.Request.Context(), principal(c), seq)
	if err != nil {
		fail(c, err)
		return
	}
	people := a.People
	if people == nil {
		people = []ledger.Person{}
	}
	c.Header("Cache-Control", "no-store")
	answer(c, http.StatusOK, annexResponse{Seq: seq, SHA256: a.Commitment(), Salt: a.Salt, Note: a.Note, People: people})
}

func (s *server) eraseAnnex(c *gin.Context) {
	seq, ok := seqParam(c)
	if !ok {
		return
	}
	if !requireRole(c, ledger.RoleAdmin) {
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	r, err := s.l.EraseAnnex(c.Request.Context(), principal(c), seq, req.Reason)
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, gin.H{"seq": seq, "erased": true, "erasure_seq": r.Seq})
}

func (s *server) annexReads(c *gin.Context) {
	seq := int64(-1)
	if v, ok := c.GetQuery("seq"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fail(c, fault.BadField("bad query parameter seq", "seq", "must be a whole number"))
			return
		}
		seq = n
	}
	reads, err := s.l.AnnexReads(c.Request.Context(), principal(c), seq)
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, gin.H{"reads": reads})
}
