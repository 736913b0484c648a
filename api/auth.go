package api

import (
	"strings"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

const principalKey = "coldtrace.principal"

// authenticate requires "Authorization: Bearer <key>" and puts the key's
// principal in the context.
//
// Failed authentications spend the client address's budget (authFailLim);
// an address that has spent it is answered 429 before its key is looked at,
// so that keys cannot be guessed at speed.
func (s *server) authenticate(c *gin.Context) {
	if s.authFailLim != nil {
		if d := s.authFailLim.wait(c.ClientIP()); d > 0 {
			tooMany(c, d, "too many failed authentications from this address; retry after the time in Retry-After")
			return
		}
	}
	h := c.GetHeader("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		s.authFailed(c)
		c.Header("WWW-Authenticate", `Bearer realm="coldtrace"`)
		fail(c, fault.Errorf(fault.Unauthenticated, "send an API key as 'Authorization: Bearer <key>'"))
		return
	}
	p, err := s.l.Authenticate(c.Request.Context(), strings.TrimSpace(secret))
	if err != nil {
		if fault.KindOf(err) == fault.Unauthenticated {
			s.authFailed(c)
			c.Header("WWW-Authenticate", `Bearer realm="coldtrace", error="invalid_token"`)
		}
		fail(c, err)
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

func principalOf(c *gin.Context) (ledger.Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return ledger.Principal{}, false
	}
	return v.(ledger.Principal), true
}

func principal(c *gin.Context) ledger.Principal {
	p, _ := principalOf(c)
	return p
}

// requireRole aborts with 403 unless the caller's role is one of roles.
func requireRole(c *gin.Context, roles ...string) bool {
	p := principal(c)
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	fail(c, fault.Errorf(fault.Forbidden, "a %s key may not do this (needs %s)", p.Role, strings.Join(roles, " or ")))
	return false
}

// rateLimit answers 429 with Retry-After when the caller's key has used up
// its budget.
func (s *server) rateLimit(c *gin.Context) {
	if s.lim == nil {
		c.Next()
		return
	}
	if d := s.lim.reserve(principal(c).Key); d > 0 {
		tooMany(c, d, "this API key sent too many requests; retry after the time in Retry-After")
		return
	}
	c.Next()
}

// authFailed spends a token of the client address's authentication budget.
func (s *server) authFailed(c *gin.Context) {
	if s.authFailLim != nil {
		s.authFailLim.spend(c.ClientIP())
	}
}
