package main_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A memSample is the server's memory at one moment of BenchmarkSoak, in
// MiB: resident by kind (/proc) and the budget's parts that tell their use
// (/metrics).
type memSample struct {
	anon, file                             int64
	goMem, goLimit, blocks, level0, caches float64
	l0Tables                               float64
}

func takeMemSample(c *http.Client, base string, pid int) memSample {
	m := scrapeMetrics(c, base)
	const mib = 1 << 20
	return memSample{
		anon: procKiB(pid, "RssAnon") >> 10, file: procKiB(pid, "RssFile") >> 10,
		goMem: m["coldtrace_go_memory_bytes"] / mib, goLimit: m["coldtrace_go_memory_limit_bytes"] / mib,
		blocks:   m[`coldtrace_memory_used_bytes{part="block_cache"}`] / mib,
		level0:   m[`coldtrace_memory_used_bytes{part="level0"}`] / mib,
		caches:   (m[`coldtrace_memory_used_bytes{part="lot_cache"}`] + m[`coldtrace_memory_used_bytes{part="node_cache"}`]) / mib,
		l0Tables: m["coldtrace_badger_level0_tables"],
	}
}

// logMemSamples logs each series of the samples and reports the largest
// anonymous and file-mapped resident memory.
func logMemSamples(b *testing.B, ss []memSample) {
	series := func(f func(memSample) string) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = f(s)
		}
		return strings.Join(out, " ")
	}
	var maxAnon, maxFile int64
	for _, s := range ss {
		maxAnon, maxFile = max(maxAnon, s.anon), max(maxFile, s.file)
	}
	if len(ss) > 0 {
		b.Logf("Go memory limit %.0f MiB", ss[0].goLimit)
	}
	b.Logf("RSS anonymous, MiB: %s", series(func(s memSample) string { return fmt.Sprint(s.anon) }))
	b.Logf("RSS file-mapped, MiB: %s", series(func(s memSample) string { return fmt.Sprint(s.file) }))
	b.Logf("Go runtime memory, MiB: %s", series(func(s memSample) string { return fmt.Sprintf("%.0f", s.goMem) }))
	b.Logf("block cache, MiB: %s", series(func(s memSample) string { return fmt.Sprintf("%.0f", s.blocks) }))
	b.Logf("level-0 tables (count/MiB): %s", series(func(s memSample) string { return fmt.Sprintf("%.0f/%.0f", s.l0Tables, s.level0) }))
	b.Logf("ledger caches, MiB: %s", series(func(s memSample) string { return fmt.Sprintf("%.0f", s.caches) }))
	b.ReportMetric(float64(maxAnon), "rss_anon_max_MiB")
	b.ReportMetric(float64(maxFile), "rss_file_max_MiB")
}
