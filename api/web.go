package api

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// The web console (/ui/) and its static files: plain HTML, CSS and
// JavaScript modules, embedded, with no build step and nothing from another
// origin. The console signs in with an API key kept in the browser's
// session storage and calls the JSON API with it.

//go:embed web
var webFS embed.FS

// uiFS is the folder served at /ui/.
var uiFS = func() fs.FS {
	sub, err := fs.Sub(webFS, "web/ui")
	if err != nil {
		panic(err)
	}
	return sub
}()

// uiETags holds a strong ETag (content hash) per served file, so that
// browsers revalidate cheaply; embedded files have no modification time.
var uiETags = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(uiFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(uiFS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		m[p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return m
})

// webRoutes registers the console, the consumer pages and the API routes
// the console needs beyond the others (on the authenticated group).
func (s *server) webRoutes(r *gin.Engine, authed *gin.RouterGroup) {
	toUI := func(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/") }
	r.GET("/", toUI)
	r.GET("/ui", toUI)
	r.GET("/ui/*file", s.anonLimit, s.uiFile)
	s.publicRoutes(r)
	authed.GET("/me", s.me)
	authed.GET("/lots/:ref/findings", s.lotFindings)
}

var uiServer = http.FileServer(http.FS(uiFS))

// uiFile serves a file of the console. Folders other than /ui/ itself are
// not listed.
func (s *server) uiFile(c *gin.Context) {
	p := strings.TrimPrefix(c.Param("file"), "/")
	if p == "" {
		p = "index.html"
	}
	etag, ok := uiETags()[path.Clean(p)]
	if !ok {
		fail(c, fault.Errorf(fault.NotFound, "no such file in the console"))
		return
	}
	pageHeaders(c)
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	if strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs") {
		c.Header("Content-Type", "text/javascript; charset=utf-8")
	}
	req := c.Request.Clone(c.Request.Context())
	req.URL.Path = "/" + p
	if p == "index.html" {
		req.URL.Path = "/" // FileServer redirects /index.html to ./
	}
	uiServer.ServeHTTP(c.Writer, req)
}

// meResponse tells the console who its key belongs to.
type meResponse struct {
	Key     string   `json:"key"`
	Role    string   `json:"role"`
	Org     string   `json:"org,omitempty"`
	OrgName string   `json:"org_name,omitempty"`
	Regions []string `json:"regions,omitempty"`
}

// me answers GET /v1/me: the key's id, role, org and regions.
func (s *server) me(c *gin.Context) {
	p := principal(c)
	resp := meResponse{Key: p.Key, Role: p.Role, Org: p.Org, Regions: p.Regions}
	if p.Org != "" {
		if o, err := s.l.Org(c.Request.Context(), p.Org); err == nil {
			resp.OrgName = o.Name
		} else if fault.KindOf(err) != fault.NotFound {
			fail(c, err)
			return
		}
	}
	answer(c, http.StatusOK, resp)
}

// lotFindings answers GET /v1/lots/{ref}/findings: the findings opened about
// a lot, newest first, each with its rule explained.
func (s *server) lotFindings(c *gin.Context) {
	list, err := s.l.LotFindings(c.Request.Context(), principal(c), c.Param("ref"))
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]findingView, len(list))
	for i, fd := range list {
		t := ledger.RuleText[fd.Rule]
		out[i] = findingView{Finding: fd, Worklist: fd.Worklist(time.Now()), Explanation: t[0], ExplanationEN: t[1]}
	}
	answer(c, http.StatusOK, gin.H{"findings": out})
}
