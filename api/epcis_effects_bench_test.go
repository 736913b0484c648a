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
	"coldtrace/ledger"
)

// BenchmarkEPCISCaptureEffects measures captures that take effect: a
// 10,000-event document of retail_selling events naming a coldtrace lot
// (each records its epcis_captured record and the sale it maps to, checked
// and authorised as /v1/events would) under proceed, the same events in
// ten 1,000-event documents under rollback, next to
// POST /v1/events/batch of the same 10,000 sales as sold lines, in the same
// run. The market holds one cleared 10 t lot; each sale takes 10 g.
func BenchmarkEPCISCaptureEffects(b *testing.B) {
	l, quiet := benchLedger(b)
	ctx := context.Background()
	admin, err := l.Authenticate(ctx, adminSecret)
	if err != nil {
		b.Fatal(err)
	}
	demo, err := fixtures.LoadDemo(ctx, l, admin)
	if err != nil {
		b.Fatal(err)
	}
	code := marketLot(b, l, demo, time.Now().Add(-72*time.Hour).UTC().Truncate(time.Second))
	market, _ := demo.Actor("zj-market")
	base := serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))

	const n, rollbackPart = 10_000, 1_000
	sellAt := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	round := 0
	next := func() []time.Time { // distinct times, so that every event hash differs
		round++
		out := make([]time.Time, n)
		for i := range out {
			out[i] = sellAt.Add(time.Duration(round*n+i) * time.Millisecond)
		}
		return out
	}
	doc := func(times []time.Time) []byte {
		events := make([]string, 0, len(times))
		for _, at := range times {
			events = append(events, fmt.Sprintf(`{"type":"ObjectEvent","eventTime":%q,"eventTimeZoneOffset":"+08:00","action":"OBSERVE",`+
				`"epcList":["https://coldtrace.example/t/%s"],"bizStep":"retail_selling","disposition":"retail_sold","ct:quantity":{"ct:grams":10}}`,
				at.Format(time.RFC3339Nano), code))
		}
		return ctDoc(events...)
	}
	get := func(path string) []byte {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+market.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return out
	}
	post := func(path, ct string, body []byte, header ...string) time.Duration {
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+market.Secret)
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
			b.Fatalf("%s: %d %.300s", path, resp.StatusCode, out)
		}
		if resp.StatusCode == 200 && bytes.Contains(out, []byte(`"status"`)) {
			b.Fatalf("%s: a line failed: %.300s", path, out)
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode == 202 {
			job := get(loc)
			if !bytes.Contains(job, []byte(`"success":true`)) {
				b.Fatalf("%s: the capture failed: %.600s", path, job)
			}
		}
		return d
	}
	var rollback, proceed, batch time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// 10,000 events with effects are too many for one badger
		// transaction (a rollback document of them is a 413 in the job), so
		// rollback sends ten documents of 1,000.
		times := next()
		for k := 0; k < n; k += rollbackPart {
			rollback += post("/epcis/capture", "application/ld+json", doc(times[k:k+rollbackPart]))
		}
		proceed += post("/epcis/capture", "application/ld+json", doc(next()), "GS1-Capture-Error-Behaviour", "proceed")
		var lines strings.Builder
		for _, at := range next() {
			line, _ := json.Marshal(map[string]any{"kind": "sold", "lot": code, "at": at, "quantity": map[string]any{"grams": 10}, "channel": "retail"})
			lines.Write(line)
			lines.WriteByte('\n')
		}
		batch += post("/v1/events/batch", "application/x-ndjson", []byte(lines.String()))
	}
	b.StopTimer()
	if sold := int64(3 * n * b.N * 10); soldGrams(b, l, market.Principal, code) != sold {
		b.Fatalf("the lot sold %d g, want %d", soldGrams(b, l, market.Principal, code), sold)
	}
	rate := func(d time.Duration) float64 { return float64(n*b.N) / d.Seconds() }
	b.ReportMetric(rate(rollback), "rollback-events/s")
	b.ReportMetric(rate(proceed), "proceed-events/s")
	b.ReportMetric(rate(batch), "batch-events/s")
	b.ReportMetric(rate(rollback)/rate(batch), "rollback-ratio-to-batch")
	b.ReportMetric(rate(proceed)/rate(batch), "proceed-ratio-to-batch")
	b.Logf("10,000 sales as EPCIS retail_selling: rollback (10 × 1,000) %.0f events/s, proceed %.0f events/s; /v1/events/batch of the same sales %.0f events/s (ratios %.2f, %.2f)",
		rate(rollback), rate(proceed), rate(batch), rate(rollback)/rate(batch), rate(proceed)/rate(batch))
}

// marketLot clears 10 t of beef in Shanghai by the book and ships it whole
// to the Hangzhou market, which receives it: it returns the lot's trace
// code, held by zj-market.
func marketLot(b *testing.B, l *ledger.Ledger, demo *fixtures.Demo, t0 time.Time) string {
	ctx := context.Background()
	actor := func(name string) fixtures.Actor {
		a, ok := demo.Actor(name)
		if !ok {
			b.Fatalf("no demo actor %s", name)
		}
		return a
	}
	who := func(name string) ledger.Principal { return actor(name).Principal }
	paper := func(name, docType string) []ledger.AttachmentRef {
		data := fixtures.PDF(docType, "benchmark lot")
		a, err := l.PutAttachment(ctx, who(name), ledger.TypePDF, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		return []ledger.AttachmentRef{{SHA256: a.SHA256, Type: docType}}
	}
	submit := func(name string, h int, ev ledger.Event) *ledger.Receipt {
		ev.At = t0.Add(time.Duration(h) * time.Hour)
		r, err := l.Submit(ctx, who(name), ev, "")
		if err != nil {
			b.Fatalf("%s %s: %v", name, ev.Kind, err)
		}
		return r
	}
	tenT := func() *ledger.Quantity { return &ledger.Quantity{Grams: 10_000_000} }
	decl := submit("sh-importer", 0, ledger.Event{Kind: ledger.Declared, Site: "SH-YS-PORT", DeclarationNo: fixtures.DeclarationNo("2248", t0.Year(), 990001),
		Product:    &ledger.Product{Name: "冷冻牛腩", HSCode: "0202300090", Category: ledger.CategoryFrozen, OriginCountry: "AR"},
		Containers: []ledger.Container{{Number: fixtures.Container("MSK", 990001)}}, Quantity: tenT(),
		Attachments: append(paper("sh-importer", ledger.DocQuarantineCertificate), paper("sh-importer", ledger.DocCustomsDeclaration)...)})
	lot := decl.Lot
	submit("sh-disinfector", 1, ledger.Event{Kind: ledger.Disinfected, Lot: lot, Scope: []string{"outer_packaging", "each_piece"}, Agent: "过氧乙酸",
		Attachments: paper("sh-disinfector", ledger.DocDisinfectionCertificate)})
	submit("sh-importer", 2, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: actor("sh-warehouse").Org, ToSite: "SH-JGC-MH", Quantity: tenT()})
	submit("sh-warehouse", 4, ledger.Event{Kind: ledger.Received, Lot: lot, Site: "SH-JGC-MH", Quantity: tenT()})
	submit("sh-lab", 5, ledger.Event{Kind: ledger.Tested, Lot: lot, Samples: 10, Scope: []string{"goods", "packaging"}, Result: "negative",
		Attachments: paper("sh-lab", ledger.DocTestReport)})
	submit("sh-warehouse", 6, ledger.Event{Kind: ledger.Released, Lot: lot, Attachments: paper("sh-warehouse", ledger.DocReleaseCertificate)})
	submit("sh-warehouse", 8, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: actor("zj-market").Org, ToSite: "ZJ-MKT-GS", Quantity: tenT()})
	submit("zj-market", 14, ledger.Event{Kind: ledger.Received, Lot: lot, Site: "ZJ-MKT-GS", Quantity: tenT()})
	return decl.TraceCode
}

// soldGrams is what the lot has sold.
func soldGrams(b *testing.B, l *ledger.Ledger, p ledger.Principal, code string) int64 {
	lot, err := l.Lot(context.Background(), p, code)
	if err != nil {
		b.Fatal(err)
	}
	return lot.Quantity.Sold
}
