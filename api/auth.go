package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

const principalKey = "coldtrace.principal"

// authenticate requires "Authorization: Bearer <key>" and puts the key's
// principal in the context.
func (s *server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		c.Header("WWW-Authenticate", `Bearer realm="coldtrace"`)
		fail(c, fault.Errorf(fault.Unauthenticated, "send an API key as 'Authorization: Bearer <key>'"))
		return
	}
	p, err := s.l.Authenticate(strings.TrimSpace(secret))
	if err != nil {
		if fault.KindOf(err) == fault.Unauthenticated {
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

// A limiter holds one token bucket per API key.
type limiter struct {
	mu      sync.Mutex
	r       rate.Limit
	burst   int
	buckets map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond < 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Ceil(perSecond))
	}
	return &limiter{r: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

func (l *limiter) reserve(key string) time.Duration {
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.r, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	r := b.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d
	}
	return 0
}

// rateLimit answers 429 with Retry-After when the caller's key has used up
// its budget.
func (s *server) rateLimit(c *gin.Context) {
	if s.lim == nil {
		c.Next()
		return
	}
	if d := s.lim.reserve(principal(c).Key); d > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		writeProblem(c, problem{Status: http.StatusTooManyRequests, Code: codeRateLimited,
			Detail: "this API key sent too many requests; retry after the time in Retry-After"})
		return
	}
	c.Next()
}
