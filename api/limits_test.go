package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
)

// rawExchange sends head (the request line and headers, without the blank
// line) over a fresh TCP connection, then the body's bytes one at a time
// every gap (all at once when gap is 0), and returns the answer's status,
// headers and body, and how long the exchange took. A server that closes
// the connection before the body is sent is fine: the answer still counts.
func rawExchange(t *testing.T, addr, head string, body []byte, gap time.Duration) (*http.Response, string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	go func() {
		if gap == 0 {
			conn.Write(body)
			return
		}
		for _, b := range body {
			if _, err := conn.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(gap)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after %v: %v", time.Since(start), err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(data), time.Since(start)
}

func hostOf(t *testing.T, url string) string {
	t.Helper()
	return strings.TrimPrefix(url, "http://")
}

// TestSlowBodiesAreCut: a JSON body trickled one byte at a time is cut with
// 408 after the body deadline, a body announced and never sent is answered
// 408, and an upload slower than the minimum rate is cut; nothing of them is
// recorded.
func TestSlowBodiesAreCut(t *testing.T) {
	h := newHarness(t, api.Options{Limits: api.Limits{BodyTimeout: 500 * time.Millisecond, UploadMinRate: 1000}})
	addr := hostOf(t, h.srv.URL)
	size := h.l.Size()
	body := []byte(fmt.Sprintf(`{"uscc":%q,"name":"slow org","roles":["importer"],"region":"330100"}`, fixtures.USCC("330106", 7)))
	head := func(method, path, ct string, n int) string {
		return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d",
			method, path, addr, adminSecret, ct, n)
	}

	resp, data, took := rawExchange(t, addr, head("POST", "/v1/orgs", "application/json", len(body)), body, 100*time.Millisecond)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(data, `"code":"request_timeout"`) {
		t.Fatalf("trickled JSON body: %s %s", resp.Status, data)
	}
	if took > 5*time.Second {
		t.Errorf("trickled JSON body held the connection for %v", took)
	}

	resp, data, took = rawExchange(t, addr, head("POST", "/v1/events", "application/json", 200), nil, 0)
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("announced body never sent: %s %s", resp.Status, data)
	}
	if took > 5*time.Second {
		t.Errorf("missing body answered after %v", took)
	}

	// An upload at 10 bytes a second, with a minimum of 1,000.
	csv := []byte("when,temperature\n" + strings.Repeat("2026-11-25T08:00:00+08:00,-18.5\n", 100))
	resp, data, took = rawExchange(t, addr, head("POST", "/v1/attachments", "text/csv", len(csv)), csv, 100*time.Millisecond)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("trickled upload: %s %s", resp.Status, data)
	}
	if took > 5*time.Second {
		t.Errorf("trickled upload held the connection for %v", took)
	}
	// The same upload sent at once is stored: the limits cut only slow bodies.
	resp, data, _ = rawExchange(t, addr, head("POST", "/v1/attachments", "text/csv", len(csv)), csv, 0)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload at full speed: %s %s", resp.Status, data)
	}
	// And a JSON body sent at once.
	resp, data, _ = rawExchange(t, addr, head("POST", "/v1/orgs", "application/json", len(body)), body, 0)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("JSON body at full speed: %s %s", resp.Status, data)
	}
	if got := h.l.Size(); got != size+1 {
		t.Fatalf("the ledger grew from %d to %d; only the fast org should be recorded", size, got)
	}
}

// TestAddressLimits: the public endpoints and failed authentications are
// limited per client address with 429 and Retry-After, and
// X-Forwarded-For from an untrusted peer does not choose the address.
func TestAddressLimits(t *testing.T) {
	h := newHarness(t, api.Options{Limits: api.Limits{AnonPerSecond: 0.01, AnonBurst: 3, AuthFailPerSecond: 0.01, AuthFailBurst: 3}})
	for i := 0; i < 3; i++ {
		r, _ := get(t, h.srv.URL+"/v1/log/checkpoint", "X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i))
		if r.StatusCode != 200 {
			t.Fatalf("checkpoint %d: %s", i, r.Status)
		}
	}
	r, body := get(t, h.srv.URL+"/t/ABCD-EFGH-JKMY.json", "X-Forwarded-For", "10.9.9.9")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(body, "rate_limited") {
		t.Fatalf("4th anonymous request: %s Retry-After %q %s", r.Status, r.Header.Get("Retry-After"), body)
	}

	// Three wrong keys, then even the right key is refused for a while.
	for i := 0; i < 3; i++ {
		h.client(fmt.Sprintf("ct_wrong%d", i)).do("GET", "/v1/me", nil).wantProblem(401, "unauthenticated", "")
	}
	res := h.admin.do("GET", "/v1/me", nil)
	res.wantProblem(429, "rate_limited", "")
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	// With the loopback trusted as a proxy, X-Forwarded-For names the client.
	h2 := newHarness(t, api.Options{Limits: api.Limits{AuthFailPerSecond: 0.01, AuthFailBurst: 1, TrustedProxies: []string{"127.0.0.1"}}})
	h2.client("ct_wrong").do("GET", "/v1/me", nil, "X-Forwarded-For", "203.0.113.5").want(401)
	h2.admin.do("GET", "/v1/me", nil, "X-Forwarded-For", "203.0.113.5").want(429)
	h2.admin.do("GET", "/v1/me", nil, "X-Forwarded-For", "203.0.113.6").want(200)
}

// TestConnectionsPerAddress: Serve closes a client's connections beyond its
// cap, and accepts again once one closes.
func TestConnectionsPerAddress(t *testing.T) {
	h := newHarness(t, api.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- api.Serve(ctx, ln, h.srv.Config.Handler, api.ServeOptions{Grace: time.Second, MaxConnsPerIP: 2})
	}()
	defer func() { cancel(); <-done }()
	addr := ln.Addr().String()
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond) // let the server accept both
	resp, _, _ := rawExchange(t, addr, "GET /healthz HTTP/1.1\r\nHost: x", nil, 0)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %s", resp.Status)
	}
	held[0].Close()
	time.Sleep(100 * time.Millisecond)
	resp, _, _ = rawExchange(t, addr, "GET /healthz HTTP/1.1\r\nHost: x", nil, 0)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after one closed: %s", resp.Status)
	}
	held[1].Close()
}
