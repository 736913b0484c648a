package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/storage/badgerkv"
)

// TestDiskFullStopsWritesAndResumes: with the disk under the free-space
// reserve, writes answer 503 saying why and record nothing, /readyz fails,
// reads go on, uploads that cannot fit are refused before they are read;
// once space returns, writing resumes without a restart.
func TestDiskFullStopsWritesAndResumes(t *testing.T) {
	loadSpec(t)
	var free atomic.Int64
	free.Store(10 << 30)
	const reserve = 1 << 30
	tl := fixtures.OpenTestLedgerOn(t, ledger.Options{SweepEvery: time.Minute}, fixtures.TestStore{Badger: badgerkv.Options{MinFreeBytes: reserve,
		FreeSpace: func() (int64, error) { return free.Load(), nil }}})
	l, store := tl.L, tl.Store
	fits := func(n int64) error {
		if free.Load()-n < reserve {
			return fault.Errorf(fault.Unavailable, "the disk cannot take an upload of %d bytes now", n)
		}
		return nil
	}
	srv := httptest.NewServer(api.New(l, api.Options{RatePerSecond: -1, Ready: store.SpaceError, UploadFits: fits,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	h := &harness{t: t, l: l, srv: srv}
	admin := h.client(adminSecret)

	admin.do("POST", "/v1/orgs", orgBody(1)).want(201)
	admin.do("GET", "/readyz", nil).want(200)
	size := l.Size()

	free.Store(reserve - 1)
	for i := 0; i < 3; i++ {
		r := admin.do("POST", "/v1/orgs", orgBody(2+i))
		r.wantProblem(503, "unavailable", "")
		if !strings.Contains(r.problem().Detail, "disk is nearly full") || r.Header.Get("Retry-After") == "" {
			t.Fatalf("full disk answered %s", r.Body)
		}
	}
	r := admin.do("GET", "/readyz", nil)
	r.wantProblem(503, "unavailable", "")
	admin.do("GET", "/v1/orgs/"+fixtures.USCC("330106", 1), nil).want(200) // reads go on
	admin.do("GET", "/v1/log/checkpoint", nil).want(200)
	// An upload that cannot fit is refused before its body is read.
	req, _ := http.NewRequest("POST", srv.URL+"/v1/attachments", strings.NewReader("%PDF-1.4\n"+strings.Repeat("x", 1000)))
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("upload on a full disk: %s", resp.Status)
	}
	if l.Size() != size {
		t.Fatalf("writes on a full disk were recorded: size %d -> %d", size, l.Size())
	}

	// Space returns: writing resumes by itself.
	free.Store(10 << 30)
	admin.do("GET", "/readyz", nil).want(200)
	for i := 0; i < 3; i++ {
		admin.do("POST", "/v1/orgs", orgBody(10+i)).want(201)
	}
	if l.Size() != size+3 {
		t.Fatalf("size %d after space returned, want %d", l.Size(), size+3)
	}
	if err := l.Healthy(); err != nil {
		t.Fatalf("the ledger stayed stopped: %v", err)
	}
}
