package main_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"coldtrace/api"
	"coldtrace/ledger"
)

// BenchmarkReport is the closure report of the benchmark ledger's region
// (100,001 batches) alone, in-process and over HTTP (JSON, XLSX): the
// focused run to profile (-cpuprofile, -memprofile) and to compare builds
// with, which also reports the process's CPU time a report (user and
// system, the collector's included: steadier than the latency on a loaded
// machine); BenchmarkQueries measures it among the other questions.
func BenchmarkReport(b *testing.B) {
	dir, info := benchDataDir(b)
	l, closeLedger := openBenchLedger(b, dir)
	defer closeLedger()
	admin := ledger.Principal{Role: ledger.RoleAdmin, Key: "bench"}
	b.Run("ledger", func(b *testing.B) {
		cpu := cpuTime()
		for b.Loop() {
			if _, err := l.ClosureReport(context.Background(), admin, ledger.ReportFilter{Region: info.Region}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(ms(cpuTime()-cpu)/float64(b.N), "cpu-ms/op")
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))
	defer srv.Close()
	get := benchGet(http.DefaultClient, srv.URL)
	for _, format := range []string{"json", "xlsx"} {
		b.Run("http-"+format, func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				if err := get("/v1/reports/closure?region=" + info.Region + "&format=" + format); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(ms(cpuTime()-cpu)/float64(b.N), "cpu-ms/op")
		})
	}
}
