package api

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// maxRecordsPerCall bounds one /v1/log/records answer.
const maxRecordsPerCall = 100_000

// int64Param reads an optional integer query parameter.
func int64Param(c *gin.Context, name string, def int64) (int64, error) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fault.BadField("bad query parameter "+name, name, "must be a whole number of at least 0")
	}
	return n, nil
}

func (s *server) checkpoint(c *gin.Context) {
	var msg []byte
	var err error
	if _, ok := c.GetQuery("size"); ok {
		var size int64
		if size, err = int64Param(c, "size", 0); err == nil {
			msg, err = s.l.SignedCheckpointAt(c.Request.Context(), size)
		}
	} else {
		msg, _, err = s.l.SignedCheckpoint()
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", msg)
}

func (s *server) verifierKey(c *gin.Context) {
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(s.l.VerifierKey()+"\n"))
}

// records streams the exact stored bytes of records start..end-1, one per line.
func (s *server) records(c *gin.Context) {
	size := s.l.Size()
	start, err := int64Param(c, "start", 0)
	if err != nil {
		fail(c, err)
		return
	}
	end, err := int64Param(c, "end", min(size, start+1000))
	if err != nil {
		fail(c, err)
		return
	}
	switch {
	case start > size:
		fail(c, fault.BadField("start is beyond the log", "start", "must be at most the tree size "+strconv.FormatInt(size, 10)))
		return
	case end < start || end > size:
		fail(c, fault.BadField("bad end", "end", "must be between start and the tree size "+strconv.FormatInt(size, 10)))
		return
	case end-start > maxRecordsPerCall:
		fail(c, fault.BadField("range too large", "end", "at most "+strconv.Itoa(maxRecordsPerCall)+" records per call"))
		return
	}
	c.Header("Content-Type", "application/x-ndjson")
	c.Header("X-Tree-Size", strconv.FormatInt(size, 10))
	c.Header("X-Records-Visibility", visibility(principal(c)))
	c.Status(http.StatusOK)
	w := c.Writer
	_, err = s.l.ReadableRecords(c.Request.Context(), principal(c), start, end, func(_ int64, data []byte) error {
		if _, err := w.Write(data); err != nil {
			return err
		}
		_, err := w.Write([]byte{'\n'})
		return err
	})
	if err != nil {
		s.log.Warn("records stream ended early", "err", err)
	}
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = b64(h)
	}
	return out
}

type inclusionResponse struct {
	Seq        int64    `json:"seq"`
	Size       int64    `json:"size"`
	RecordHash string   `json:"record_hash"`
	Root       string   `json:"root"`
	Proof      []string `json:"proof"`
}

func (s *server) inclusionProof(c *gin.Context) {
	seq, err := int64Param(c, "seq", -1)
	if err == nil && seq < 0 {
		err = fault.BadField("seq is required", "seq", "is required")
	}
	var size int64
	if err == nil {
		size, err = int64Param(c, "size", s.l.Size())
	}
	var p *vlog.InclusionProof
	if err == nil {
		p, err = s.l.ProveInclusionTo(c.Request.Context(), principal(c), seq, size)
	}
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, inclusionResponse{Seq: p.Seq, Size: p.Size, RecordHash: b64(p.RecordHash),
		Root: b64(p.Root), Proof: b64s(p.Proof)})
}

type consistencyResponse struct {
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	FromRoot string   `json:"from_root"`
	ToRoot   string   `json:"to_root"`
	Proof    []string `json:"proof"`
}

func (s *server) consistencyProof(c *gin.Context) {
	from, err := int64Param(c, "from", 0)
	var to int64
	if err == nil {
		to, err = int64Param(c, "to", s.l.Size())
	}
	var p *vlog.ConsistencyProof
	if err == nil {
		p, err = s.l.ProveConsistency(c.Request.Context(), from, to)
	}
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, consistencyResponse{From: p.From, To: p.To, FromRoot: b64(p.FromRoot),
		ToRoot: b64(p.ToRoot), Proof: b64s(p.Proof)})
}
