package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// Verify without reading: anyone may fetch the tree's hashes as
// golang.org/x/mod/sumdb/tlog tiles (docs/decisions.md says why these and
// not C2SP tlog-tiles) and check with stock code (tlog.TileHashReader,
// tlog.ProveTree/CheckTree) that the log only ever grew. Record bodies and
// inclusion proofs need a key that may read the record.

// visibility tells a reader of /v1/log/records whether the answer holds
// every record of the range ("all") or only those its key may read
// ("readable": the others are skipped, and their seqs are missing).
func visibility(p ledger.Principal) string {
	if p.ReadsAll() {
		return "all"
	}
	return "readable"
}

// tile serves one hash tile, at the path tlog.Tile.Path gives it under
// /v1/log/, e.g. /v1/log/tile/8/0/x001/234 or /v1/log/tile/8/1/000.p/3.
func (s *server) tile(c *gin.Context) {
	path := "tile/" + strings.TrimPrefix(c.Param("path"), "/")
	t, err := tlog.ParseTilePath(path)
	if err != nil {
		fail(c, fault.Errorf(fault.NotFound, "%s is not a tile path", path))
		return
	}
	data, err := s.l.Tile(c.Request.Context(), t)
	if err != nil {
		fail(c, err)
		return
	}
	if t.W == 1<<uint(t.H) {
		c.Header("Cache-Control", "public, max-age=31536000, immutable") // a full tile never changes
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	c.Data(http.StatusOK, "application/octet-stream", data)
}
