package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/input"
)

type orgRequest struct {
	USCC         string   `json:"uscc"`
	Name         string   `json:"name"`
	Roles        []string `json:"roles"`
	Region       string   `json:"region"`
	USCCOverride string   `json:"uscc_override"`
	Note         string   `json:"note"`
}

type siteRequest struct {
	ID      string `json:"id"`
	Org     string `json:"org"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Region  string `json:"region"`
	Address string `json:"address"`
	GLN     string `json:"gln"`
	Note    string `json:"note"`
}

type keyRequest struct {
	Org     string   `json:"org"`
	Role    string   `json:"role"`
	Regions []string `json:"regions"`
	Note    string   `json:"note"`
}

type keyResponse struct {
	ledger.APIKey
	// Key is the secret, shown only in the answer that created it.
	Key string `json:"key,omitempty"`
}

// submit hands ev to the ledger with the request's Idempotency-Key.
func (s *server) submit(c *gin.Context, ev ledger.Event) (*ledger.Receipt, bool) {
	r, err := s.l.Submit(c.Request.Context(), principal(c), ev, c.GetHeader("Idempotency-Key"))
	if err != nil {
		fail(c, err)
		return nil, false
	}
	if r.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	return r, true
}

func (s *server) registerOrg(c *gin.Context) {
	var req orgRequest
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	r, ok := s.submit(c, ledger.Event{Kind: ledger.OrgRegistered, USCC: req.USCC, Name: req.Name,
		Roles: req.Roles, Region: req.Region, USCCOverride: req.USCCOverride, Note: req.Note})
	if !ok {
		return
	}
	org, err := registered(r, func() (*ledger.Org, error) { return s.l.Org(c.Request.Context(), req.USCC) })
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/v1/orgs/"+org.USCC)
	created(c, org)
}

func (s *server) getOrg(c *gin.Context) {
	org, err := s.l.Org(c.Request.Context(), c.Param("uscc"))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, org)
}

func (s *server) registerSite(c *gin.Context) {
	var req siteRequest
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	r, ok := s.submit(c, ledger.Event{Kind: ledger.SiteRegistered, Site: req.ID, Org: req.Org, Name: req.Name,
		Type: req.Type, Region: req.Region, Address: req.Address, GLN: req.GLN, Note: req.Note})
	if !ok {
		return
	}
	site, err := registered(r, func() (*ledger.Site, error) { return s.l.Site(c.Request.Context(), req.ID) })
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/v1/sites/"+site.ID)
	created(c, site)
}

func (s *server) getSite(c *gin.Context) {
	site, err := s.l.Site(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, site)
}

func (s *server) createKey(c *gin.Context) {
	var req keyRequest
	if err := decodeJSON(c, &req); err != nil {
		fail(c, err)
		return
	}
	regions, err := input.Dedupe("regions", req.Regions, ledger.MaxRegions)
	if err != nil {
		fail(c, err)
		return
	}
	r, secret, err := s.l.CreateKey(c.Request.Context(), principal(c), ledger.Event{Org: req.Org, Role: req.Role,
		Regions: regions, Note: req.Note}, c.GetHeader("Idempotency-Key"))
	if err != nil {
		fail(c, err)
		return
	}
	if r.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	k, err := registered(r, func() (*ledger.APIKey, error) { return s.l.KeyOfRecord(c.Request.Context(), r.Seq) })
	if err != nil {
		fail(c, err)
		return
	}
	resp := keyResponse{APIKey: *k}
	// A replayed creation has no secret to show: the ledger never kept it.
	resp.Key = secret
	created(c, resp)
}

func (s *server) listKeys(c *gin.Context) {
	keys, err := s.l.Keys(c.Request.Context(), principal(c))
	if err != nil {
		fail(c, err)
		return
	}
	if keys == nil {
		keys = []ledger.APIKey{}
	}
	answer(c, http.StatusOK, gin.H{"keys": keys})
}

func (s *server) revokeKey(c *gin.Context) {
	r, ok := s.submit(c, ledger.Event{Kind: ledger.KeyRevoked, Key: c.Param("id")})
	if !ok {
		return
	}
	answer(c, http.StatusOK, gin.H{"id": c.Param("id"), "revoked": true, "seq": r.Seq})
}

// registered returns what a registry record created: from its receipt, or
// read back when the receipt is a replay.
func registered[T any](r *ledger.Receipt, read func() (T, error)) (T, error) {
	if v, ok := r.Registered.(T); ok {
		return v, nil
	}
	return read()
}

// created answers 201 with v, which carries the seq of its record.
func created(c *gin.Context, v any) { answer(c, http.StatusCreated, v) }

func (s *server) getPolicy(c *gin.Context) {
	p, err := s.l.Policy(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	answer(c, http.StatusOK, policyView(p))
}

// putPolicy records a new policy (admin): the rule values every later
// record is judged under.
func (s *server) putPolicy(c *gin.Context) {
	var p ledger.Policy
	if err := decodeJSON(c, &p); err != nil {
		fail(c, err)
		return
	}
	r, ok := s.submit(c, ledger.Event{Kind: ledger.PolicySet, Policy: &p})
	if !ok {
		return
	}
	answer(c, http.StatusOK, gin.H{"policy": policyView(p), "seq": r.Seq})
}

// policyView is the policy with the parts of cleared explained.
func policyView(p ledger.Policy) gin.H {
	parts := gin.H{}
	for part, t := range ledger.PartText {
		parts[part] = gin.H{"zh": t[0], "en": t[1]}
	}
	return gin.H{"version": p.Version, "samples": p.Samples, "transit_days": p.TransitDays, "late_hours": p.LateHours,
		"skew_minutes": p.SkewMinutes, "cleared_parts": p.ClearedParts, "parts": parts}
}
