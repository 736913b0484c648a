package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// immudbBinary returns the immudb server binary: $COLDTRACE_IMMUDB_BIN, else
// bin/immudb at the module root, where `make bench` builds it. Without one
// the benchmark fails when $CI is "true" and is skipped otherwise.
func immudbBinary(b *testing.B) string {
	for _, p := range []string{os.Getenv("COLDTRACE_IMMUDB_BIN"), filepath.Join("..", "bin", "immudb")} {
		if fi, err := os.Stat(p); p != "" && err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := "no immudb server binary: run `make bench`, which builds it into ./bin, or set COLDTRACE_IMMUDB_BIN"
	if os.Getenv("CI") == "true" {
		b.Fatal(msg)
	}
	b.Skip(msg)
	return ""
}

func freePort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startImmudb runs an immudb server in its default durable (synced) mode
// on a temporary directory and returns the base URL of its REST gateway
// and a token of its default admin user for the default database. The
// server is stopped when the benchmark ends.
func startImmudb(b *testing.B) (base, token string) {
	dir := b.TempDir()
	web := freePort(b)
	cmd := exec.Command(immudbBinary(b), "--dir", filepath.Join(dir, "data"), "--logdir", filepath.Join(dir, "log"),
		"--address", "127.0.0.1", "--port", strconv.Itoa(freePort(b)), "--web-server-port", strconv.Itoa(web),
		"--pgsql-server=false", "--metrics-server=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	base = fmt.Sprintf("http://127.0.0.1:%d/api", web)
	b64 := base64.StdEncoding.EncodeToString
	login, _ := json.Marshal(map[string]string{"user": b64([]byte("immudb")), "password": b64([]byte("immudb"))})
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case <-exited:
			b.Fatalf("immudb exited: %s", out.String())
		default:
		}
		resp, err := http.Post(base+"/login", "application/json", bytes.NewReader(login))
		if err != nil {
			continue
		}
		var r struct{ Token string }
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode == 200 && err == nil && r.Token != "" {
			return base, immudbDatabase(b, base, r.Token)
		}
	}
	b.Fatalf("immudb did not answer its login: %s", out.String())
	return "", ""
}

// immudbDatabase creates the database the benchmark writes to and returns
// a token for it. Its concurrency limit is raised from immudb's default of
// 30 transactions to twice benchClients: with the default, 64 clients got
// "max concurrency limit exceeded" on about one write in twenty.
func immudbDatabase(b *testing.B, base, token string) string {
	do := func(method, path string, body []byte) []byte {
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("immudb %s %s: %d %s", method, path, resp.StatusCode, data)
		}
		return data
	}
	do("POST", "/db/create/v2", fmt.Appendf(nil, `{"name":"bench","settings":{"maxConcurrency":{"value":%d}}}`, 2*benchClients))
	var r struct{ Token string }
	if err := json.Unmarshal(do("GET", "/db/use/bench", nil), &r); err != nil || r.Token == "" {
		b.Fatalf("immudb use database: %v", err)
	}
	return r.Token
}

// immudbLoad returns a load of immudb writes of one key each, value bytes
// long, over its REST gateway: `Set` (POST /db/set), or with verified
// `VerifiedSet` (POST /db/verifiable/set: the server computes the
// inclusion and consistency proofs; this client does not check them, as
// immudb's Go client would, so the figure is the server's side alone).
func immudbLoad(b *testing.B, base, token string, value int, verified bool) phase {
	c := keepAlive(b)
	val := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), value))
	path := "/db/set"
	if verified {
		path = "/db/verifiable/set"
	}
	var i atomic.Int64
	return func(d time.Duration) loadResult {
		return runLoad(b, c, base, d, token, 200, func() (string, []byte) {
			kv := fmt.Sprintf(`{"KVs":[{"key":%q,"value":%q}]}`, base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ev/%012d", i.Add(1))), val)
			if verified {
				return path, []byte(`{"setRequest":` + kv + `,"proveSinceTx":"1"}`)
			}
			return path, []byte(kv)
		})
	}
}

// BenchmarkIngestVsImmudb measures durable ingest of real domain events
// over REST, one lab `tested` event per request from benchClients clients
// on one lab key (every 201 synced and in the signed tree), next to the
// no-op gin ceiling and to immudb v1.11.1 in its default synced mode
// taking a `Set` and a `VerifiedSet` of the same number of bytes per
// request from the same number of clients over its REST gateway, the
// phases interleaved in the same run.
func BenchmarkIngestVsImmudb(b *testing.B) {
	immBase, token := startImmudb(b)
	serveProcs(b)
	l, quiet := benchLedger(b)
	ctx := context.Background()
	admin, _ := l.Authenticate(context.Background(), adminSecret)
	rec := fixtures.LedgerRecorder{L: l, Admin: admin}
	imp, lab := fixtures.USCC("330106", 950), fixtures.USCC("330106", 951)
	if err := rec.Org(ctx, imp, "基准进口商", "330106", []string{ledger.RoleImporter}); err != nil {
		b.Fatal(err)
	}
	if err := rec.Site(ctx, "V-PORT", imp, "港口堆场", "port_yard", "330106", ""); err != nil {
		b.Fatal(err)
	}
	if err := rec.Org(ctx, lab, "基准检测实验室", "330106", []string{ledger.RoleLab}); err != nil {
		b.Fatal(err)
	}
	ip, _, err := rec.Key(ctx, imp, ledger.RoleImporter, nil)
	if err != nil {
		b.Fatal(err)
	}
	_, labKey, err := rec.Key(ctx, lab, ledger.RoleLab, nil)
	if err != nil {
		b.Fatal(err)
	}
	lots := make([]string, benchClients)
	for i := range lots {
		r, err := l.Submit(ctx, ip, ledger.Event{Kind: ledger.Declared, Site: "V-PORT", DeclarationNo: fixtures.DeclarationNo("2248", 2026, 700_000+i),
			Product:    &ledger.Product{Name: "冷冻去骨牛肉", HSCode: "0202300090", Category: ledger.CategoryFrozen, OriginCountry: "BR"},
			Containers: []ledger.Container{{Number: fixtures.Container("VSI", i)}}, Quantity: &ledger.Quantity{Grams: 20_000_000}}, "")
		if err != nil {
			b.Fatal(err)
		}
		lots[i] = r.Lot
	}
	body := func(i int) []byte {
		return fmt.Appendf(nil, `{"kind":"tested","lot":%q,"samples":20,"scope":["goods","packaging"],"result":"negative"}`, lots[i%len(lots)])
	}
	size := len(body(0))
	base := serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))
	c := keepAlive(b)
	var n atomic.Int64
	ingest := func(d time.Duration) loadResult {
		return runLoad(b, c, base, d, labKey, 201, func() (string, []byte) { return "/v1/events", body(int(n.Add(1))) })
	}
	b.ResetTimer()
	r := interleave(noopCeiling(b, body), ingest, immudbLoad(b, immBase, token, size, false), immudbLoad(b, immBase, token, size, true))
	b.StopTimer()
	noop, ev, set, vset := r[0], r[1], r[2], r[3]
	reportWriteStats(b, l)
	b.ReportMetric(ev.perSec(), "events/s")
	b.ReportMetric(float64(ev.pct(99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(noop.perSec(), "noop-req/s")
	b.ReportMetric(set.perSec(), "immudb-set/s")
	b.ReportMetric(float64(set.pct(99).Microseconds())/1000, "immudb-set-p99-ms")
	b.ReportMetric(vset.perSec(), "immudb-vset/s")
	b.ReportMetric(ev.perSec()/noop.perSec(), "ratio-to-noop")
	b.ReportMetric(ev.cpuPer(), "cpu-µs/event")
	b.ReportMetric(noop.cpuPer(), "noop-cpu-µs/req")
	b.ReportMetric(ev.perSec()/set.perSec(), "ratio-to-immudb-set")
	b.ReportMetric(ev.perSec()/vset.perSec(), "ratio-to-immudb-vset")
	b.Logf("durable `tested` events, one a request: %.0f/s (p50 %v, p99 %v) over %d clients; no-op gin %.0f req/s; immudb Set of %d bytes %.0f/s (p99 %v), VerifiedSet %.0f/s (p99 %v); ratio to Set %.2f, to VerifiedSet %.2f, to no-op %.2f; process CPU %.0f µs an event, %.0f µs a no-op request",
		ev.perSec(), ev.pct(50), ev.pct(99), benchClients, noop.perSec(), size, set.perSec(), set.pct(99), vset.perSec(), vset.pct(99),
		ev.perSec()/set.perSec(), ev.perSec()/vset.perSec(), ev.perSec()/noop.perSec(), ev.cpuPer(), noop.cpuPer())
}
