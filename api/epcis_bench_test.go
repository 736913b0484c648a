package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
)

// BenchmarkEPCISCapture measures the capture rate of a 10,000-event EPCIS
// document (events without eventID, so each is hashed) under rollback (one
// all-or-nothing commit) and proceed, next to POST /v1/events/batch of the
// same 10,000 events as epcis_captured lines, in the same run.
func BenchmarkEPCISCapture(b *testing.B) {
	l, quiet := benchLedger(b)
	admin, err := l.Authenticate(context.Background(), adminSecret)
	if err != nil {
		b.Fatal(err)
	}
	demo, err := fixtures.LoadDemo(context.Background(), l, admin)
	if err != nil {
		b.Fatal(err)
	}
	imp, _ := demo.Actor("sh-importer")
	base := serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))
	const n = 10_000
	round := 0
	events := func() []string {
		round++
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(`{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00.000Z","eventTimeZoneOffset":"+08:00","action":"OBSERVE",`+
				`"epcList":["urn:epc:id:sgtin:0614141.107346.%d"],"bizStep":"shipping","disposition":"in_transit",`+
				`"readPoint":{"id":"urn:epc:id:sgln:0614141.07346.1234"},"ex:temp":{"ex:c":-18.5}}`, round*n+i)
		}
		return out
	}
	post := func(path, ct string, body []byte, header ...string) time.Duration {
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+imp.Secret)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 202 && resp.StatusCode != 200 {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, out)
		}
		if resp.StatusCode == 200 && bytes.Contains(out, []byte(`"status"`)) {
			b.Fatalf("%s: a line failed: %.300s", path, out)
		}
		return d
	}
	var rollback, proceed, batch time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rollback += post("/epcis/capture", "application/ld+json", epcisDoc(events()...))
		proceed += post("/epcis/capture", "application/ld+json", epcisDoc(events()...), "GS1-Capture-Error-Behaviour", "proceed")
		var lines strings.Builder
		for _, e := range events() {
			line, _ := json.Marshal(map[string]any{"kind": "epcis_captured", "epcis": map[string]any{
				"event": json.RawMessage(e), "prefixes": map[string]string{"ex": "https://ns.example.com/epcis/"}}})
			lines.Write(line)
			lines.WriteByte('\n')
		}
		batch += post("/v1/events/batch", "application/x-ndjson", []byte(lines.String()))
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(n*b.N) / d.Seconds() }
	b.ReportMetric(rate(rollback), "rollback-events/s")
	b.ReportMetric(rate(proceed), "proceed-events/s")
	b.ReportMetric(rate(batch), "batch-events/s")
	b.ReportMetric(rate(rollback)/rate(batch), "rollback-ratio-to-batch")
	b.ReportMetric(rate(proceed)/rate(batch), "proceed-ratio-to-batch")
	b.Logf("10,000-event documents: rollback %.0f events/s, proceed %.0f events/s; /v1/events/batch of the same events %.0f events/s (ratios %.2f, %.2f)",
		rate(rollback), rate(proceed), rate(batch), rate(rollback)/rate(batch), rate(proceed)/rate(batch))
}
