package api

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// Limits protect the server from slow and hostile clients. Zero values take
// the defaults noted; the flags of `coldtrace serve` set them.
type Limits struct {
	// BodyTimeout is how long a JSON request body may take to arrive, from
	// the end of the headers; 30 s when 0. A body that has not arrived by
	// then is answered 408.
	BodyTimeout time.Duration
	// UploadMinRate is the slowest an upload or a batch body may arrive, in
	// bytes per second after a first BodyTimeout; 16 KiB/s when 0. A body
	// that falls behind is cut with 408.
	UploadMinRate int64
	// AnonPerSecond and AnonBurst limit the requests of one client address
	// to the endpoints that need no key (the consumer pages, the public log,
	// the web console's files); 20/s with a burst of 100 when 0. A negative
	// rate disables the limit.
	AnonPerSecond float64
	AnonBurst     int
	// AuthFailPerSecond and AuthFailBurst limit the failed authentications
	// of one client address: once its budget is spent, every request with a
	// key is answered 429 until it refills; 1/s with a burst of 20 when 0.
	// A negative rate disables the limit.
	AuthFailPerSecond float64
	AuthFailBurst     int
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies
	// whose X-Forwarded-For and X-Real-IP headers name the client; none
	// when empty (the client is the TCP peer).
	TrustedProxies []string
}

func (lim *Limits) defaults() {
	if lim.BodyTimeout <= 0 {
		lim.BodyTimeout = 30 * time.Second
	}
	if lim.UploadMinRate <= 0 {
		lim.UploadMinRate = 16 << 10
	}
	if lim.AnonPerSecond == 0 {
		lim.AnonPerSecond, lim.AnonBurst = 20, 100
	}
	if lim.AuthFailPerSecond == 0 {
		lim.AuthFailPerSecond, lim.AuthFailBurst = 1, 20
	}
}

// ---- body deadlines ----

// errBodyTimeout is the problem of a request body that did not arrive in
// time: 408.
var errBodyTimeout = &httpError{Status: http.StatusRequestTimeout, Code: "request_timeout",
	Msg: "the request body did not arrive in time; send it at once (uploads: faster than the minimum rate)"}

// bodyDeadline gives a request with a body a read deadline of BodyTimeout;
// handlers of large bodies (uploads, batches) switch to a minimum rate with
// rateBody. Requests without a body get no deadline, so that a long answer
// (a report, an event stream) is never cut by it.
func (s *server) bodyDeadline(c *gin.Context) {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		c.Next()
		return
	}
	rc := http.NewResponseController(c.Writer)
	if err := rc.SetReadDeadline(time.Now().Add(s.limits.BodyTimeout)); err == nil {
		r.Body = &deadlineBody{rc: rc, r: r.Body}
	}
	c.Next()
}

// A deadlineBody reads a request body under a read deadline: a fixed one
// (set by bodyDeadline) or, with minRate set, one that moves with the bytes
// read: start + grace + read/minRate. At the end of the body it clears the
// deadline, so that the server's wait for the client going away is not cut.
// A timeout reads as errBodyTimeout.
type deadlineBody struct {
	rc      *http.ResponseController
	r       io.ReadCloser
	minRate int64
	start   time.Time
	grace   time.Duration
	n       int64
	done    bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.minRate > 0 && !b.done {
		d := b.grace + time.Duration(float64(b.n)/float64(b.minRate)*float64(time.Second))
		_ = b.rc.SetReadDeadline(b.start.Add(d))
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline stays: the server must not wait for the rest of
		// the body before it answers.
		b.done = true
		err = errBodyTimeout
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.r.Close() }

// rateBody switches body (the request's, or the one under it) to the
// minimum upload rate and returns it.
func (s *server) rateBody(c *gin.Context, body io.ReadCloser) io.ReadCloser {
	db, ok := body.(*deadlineBody)
	if !ok {
		if body == nil || body == http.NoBody {
			return body
		}
		db = &deadlineBody{rc: http.NewResponseController(c.Writer), r: body}
	}
	db.minRate, db.start, db.grace = s.limits.UploadMinRate, time.Now(), s.limits.BodyTimeout
	return db
}

// ---- per-address limits ----

// A limiter holds one token bucket per key (an API key or a client
// address). Buckets that are full again are dropped when the map grows.
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

// maxBuckets is how many buckets a limiter holds before it drops the full
// ones: a flood of addresses cannot grow it without bound.
const maxBuckets = 100_000

func (l *limiter) bucket(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			now := time.Now()
			for k, v := range l.buckets {
				if v.TokensAt(now) >= float64(l.burst) {
					delete(l.buckets, k)
				}
			}
		}
		b = rate.NewLimiter(l.r, l.burst)
		l.buckets[key] = b
	}
	return b
}

// reserve takes a token for key, or returns how long to wait for one
// (taking nothing).
func (l *limiter) reserve(key string) time.Duration {
	r := l.bucket(key).Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d
	}
	return 0
}

// wait returns how long until key has a token again, taking nothing.
func (l *limiter) wait(key string) time.Duration {
	b := l.bucket(key)
	t := b.Tokens()
	if t >= 1 {
		return 0
	}
	return time.Duration((1 - t) / float64(l.r) * float64(time.Second))
}

// spend takes a token from key's bucket, if it has one.
func (l *limiter) spend(key string) { l.bucket(key).Allow() }

// tooMany answers 429 with Retry-After.
func tooMany(c *gin.Context, d time.Duration, detail string) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
	writeProblem(c, problem{Status: http.StatusTooManyRequests, Code: codeRateLimited, Detail: detail})
}

// anonLimit limits the requests of one client address to the endpoints
// that need no key.
func (s *server) anonLimit(c *gin.Context) {
	if s.anonLim != nil {
		if d := s.anonLim.reserve(c.ClientIP()); d > 0 {
			tooMany(c, d, "this address sent too many requests; retry after the time in Retry-After")
			return
		}
	}
	c.Next()
}

// ---- connections per address ----

// limitListener closes connections beyond max open ones from one address.
type limitListener struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
}

// LimitConnsPerIP returns ln refusing (closing at once) a connection from
// an address that already has max open; ln itself when max <= 0. Behind a
// reverse proxy every connection comes from the proxy: set max above the
// proxy's pool or 0.
func LimitConnsPerIP(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: max, open: map[string]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, herr := net.SplitHostPort(c.RemoteAddr().String())
		if herr != nil {
			host = c.RemoteAddr().String()
		}
		l.mu.Lock()
		if l.open[host] >= l.max {
			l.mu.Unlock()
			// A plain answer the client can read, then close.
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			const msg = "too many connections from this address\n"
			_, _ = fmt.Fprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
			_ = c.Close()
			continue
		}
		l.open[host]++
		l.mu.Unlock()
		return &countedConn{Conn: c, l: l, host: host}, nil
	}
}

type countedConn struct {
	net.Conn
	l    *limitListener
	host string
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.open[c.host]--; c.l.open[c.host] <= 0 {
			delete(c.l.open, c.host)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
