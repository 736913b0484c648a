package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// reportIndex is the index the closure report scans first (one entry per
// batch and region): the watched store recognises the report by it.
var reportIndex = []byte("s/x/root-region/")

// watchedStore is real badger with a window onto the closure report's
// scan: it counts the entries the report reads and, when armed, holds the
// report at its first entry until the request's context ends.
type watchedStore struct {
	ledger.Store
	armed   atomic.Bool
	read    atomic.Int64  // root-region entries read by reports
	held    chan struct{} // the armed report is at its first entry
	viewErr chan error    // what the armed report's snapshot returned
}

func (s *watchedStore) View(ctx context.Context, fn func(ledger.Tx) error) error {
	var report bool
	err := s.Store.View(ctx, func(tx ledger.Tx) error { return fn(&watchedTx{Tx: tx, s: s, ctx: ctx, report: &report}) })
	if report && s.armed.Load() {
		s.viewErr <- err
	}
	return err
}

type watchedTx struct {
	ledger.Tx
	s      *watchedStore
	ctx    context.Context
	report *bool
}

func (t *watchedTx) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	if !bytes.HasPrefix(prefix, reportIndex) {
		return t.Tx.Scan(prefix, start, reverse, fn)
	}
	*t.report = true
	return t.Tx.Scan(prefix, start, reverse, func(k, v []byte) error {
		if t.s.read.Add(1) == 1 && t.s.armed.Load() {
			t.s.held <- struct{}{}
			select {
			case <-t.ctx.Done():
			case <-time.After(20 * time.Second):
				return errors.New("the request's context was not cancelled after the client went away")
			}
		}
		return fn(k, v)
	})
}

// TestDisconnectedClientStopsTheReport checks over real HTTP that a closure
// report whose client goes away stops reading: the server-side snapshot
// returns context.Canceled after reading a small part of the index a whole
// report reads, and the request is counted as 499 (client closed), not
// answered with a problem.
func TestDisconnectedClientStopsTheReport(t *testing.T) {
	store := &watchedStore{held: make(chan struct{}, 1), viewErr: make(chan error, 1)}
	tl := fixtures.OpenTestLedgerOn(t, ledger.Options{}, fixtures.TestStore{Wrap: func(s ledger.Store) ledger.Store {
		store.Store = s
		return store
	}})
	l, admin, ctx := tl.L, tl.Admin, context.Background()
	if _, err := fixtures.Generate(ctx, l, admin, fixtures.Options{Lots: 150, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(api.New(l, api.Options{RatePerSecond: -1, Registry: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	get := func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/reports/closure", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+fixtures.TestAdminSecret)
		return http.DefaultClient.Do(req)
	}

	// A whole report reads every entry of the index.
	resp, err := get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("whole report: %s", resp.Status)
	}
	whole := store.read.Swap(0)
	t.Logf("a whole report read %d index entries", whole)
	if whole < 600 {
		t.Fatalf("the report read %d index entries; the test needs a ledger where it reads over 600", whole)
	}

	// The client goes away while the report is at its first entry.
	store.armed.Store(true)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		resp, err := get(cctx)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-store.held:
	case err := <-done:
		t.Fatalf("the report answered before the test could cancel it: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want context.Canceled", err)
	}
	if err := <-store.viewErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("the report's snapshot returned %v, want context.Canceled", err)
	}
	t.Logf("the cancelled report read %d", store.read.Load())
	if n := store.read.Load(); n >= whole/2 {
		t.Fatalf("the cancelled report read %d of the %d index entries a whole one reads", n, whole)
	}
	// The request ends as a 499 in the metrics, once the handler returns.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if clientClosed(t, reg) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled report was not counted as 499 (client closed)")
		}
	}
}

// clientClosed returns how many closure reports ended with status 499.
func clientClosed(t *testing.T, reg *prometheus.Registry) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "coldtrace_http_requests_total" {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			want := map[string]string{"route": "/v1/reports/closure", "code": "499"}
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
