package main_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"coldtrace/api"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/fsblob"
)

// BenchmarkReport is the closure report of the benchmark ledger's region
// (100,001 batches) alone, in-process and over HTTP (JSON, XLSX): the
// focused run to profile (-cpuprofile, -memprofile) and to compare builds
// with, which also reports the process's CPU time a report (user and
// system, the collector's included: steadier than the latency on a loaded
// machine); BenchmarkQueries measures it among the other questions.
func BenchmarkReport(b *testing.B) {
	dir, info := benchDataDir(b)
	key, err := readBenchKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	l, err := ledger.New(store, key, ledger.Options{Blobs: fsblob.New(filepath.Join(dir, "blobs")), SweepEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
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
