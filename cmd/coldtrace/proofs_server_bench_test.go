package main_test

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchBinsEnv names the builds BenchmarkServerProofs compares, as
// name=path pairs separated by commas (COLDTRACE_BENCH_BINS=main=/tmp/a,
// new=/tmp/b); unset, it runs this build alone. BenchmarkQueries runs them
// too, next to this build (serverRuns).
const benchBinsEnv = "COLDTRACE_BENCH_BINS"

// proofRun is one server's proof run.
type proofRun struct {
	trace, noop     [2]time.Duration // p50, p99; the first traces after the start
	inclusion, cons [2]time.Duration
	releases        float64 // during the proofs
	faults          int64   // minor page faults during the proofs
	mem             rssSamples
}

// BenchmarkServerProofs measures inclusion and consistency proofs over
// HTTP against `coldtrace serve` with the release of table pages on (the
// default), as BenchmarkQueries runs them after its traces, next to a
// no-op request (/healthz) through the same client: each server answers
// 100 traces of the big family first (the pages they map bring on the
// releases; their latencies show what runs at the start, such as the
// warm-up of the proofs' hash cache), then 1,000 no-op requests, 1,000 inclusion and 1,000
// consistency proofs at the full tree size. With COLDTRACE_BENCH_BINS it
// runs several builds in turns, COLDTRACE_BENCH_SERVER_ROUNDS rounds
// (default 2), and logs each run and the range of each build.
func BenchmarkServerProofs(b *testing.B) {
	dir, info := benchDataDir(b)
	builds := benchBuilds(b)
	rounds := 2
	if n, err := strconv.Atoi(os.Getenv("COLDTRACE_BENCH_SERVER_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	b.Logf("%d records; %d rounds of %d builds", info.Records, rounds, len(builds))
	runs := map[string][]proofRun{}
	for i := 0; i < rounds; i++ {
		for j := range builds {
			bd := builds[(i+j)%len(builds)]
			r := runServerProofs(b, bd.path, dir, info)
			b.Logf("round %d, %s: first traces p50 %v p99 %v; no-op p50 %v p99 %v; inclusion p50 %v p99 %v; consistency p50 %v p99 %v; %.0f releases, %d minor faults during the proofs; RSS max %.0f MiB (file-mapped %.0f, VmHWM %.0f)",
				i+1, bd.name, r.trace[0], r.trace[1], r.noop[0], r.noop[1], r.inclusion[0], r.inclusion[1], r.cons[0], r.cons[1], r.releases, r.faults,
				float64(r.mem.maxRSS)/1024, float64(r.mem.maxFile)/1024, float64(r.mem.hwm)/1024)
			runs[bd.name] = append(runs[bd.name], r)
		}
	}
	for _, bd := range builds {
		rs := runs[bd.name]
		span := func(f func(proofRun) time.Duration) string {
			lo, hi := f(rs[0]), f(rs[0])
			for _, r := range rs[1:] {
				lo, hi = min(lo, f(r)), max(hi, f(r))
			}
			return fmt.Sprintf("%.2f-%.2f ms", ms(lo), ms(hi))
		}
		b.Logf("%s over %d runs: first traces p99 %s; no-op p99 %s; inclusion p50 %s p99 %s; consistency p50 %s p99 %s", bd.name, len(rs),
			span(func(r proofRun) time.Duration { return r.trace[1] }), span(func(r proofRun) time.Duration { return r.noop[1] }),
			span(func(r proofRun) time.Duration { return r.inclusion[0] }), span(func(r proofRun) time.Duration { return r.inclusion[1] }),
			span(func(r proofRun) time.Duration { return r.cons[0] }), span(func(r proofRun) time.Duration { return r.cons[1] }))
	}
}

// A benchBuild is a coldtrace binary a benchmark runs.
type benchBuild struct{ name, path string }

// benchBuilds returns the builds benchBinsEnv names, or this build alone.
func benchBuilds(b *testing.B) []benchBuild {
	v := os.Getenv(benchBinsEnv)
	if v == "" {
		return []benchBuild{{"this", binPath}}
	}
	var builds []benchBuild
	for _, f := range strings.Split(v, ",") {
		name, path, ok := strings.Cut(f, "=")
		if !ok {
			b.Fatalf("%s: %q is not name=path", benchBinsEnv, f)
		}
		builds = append(builds, benchBuild{name, path})
	}
	return builds
}

// runServerProofs runs bin's server on dir through one proof run.
func runServerProofs(b *testing.B, bin, dir string, info benchInfo) proofRun {
	srv := startServe(b, bin, dir, nil)
	defer srv.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := benchGet(client, srv.base)
	var run proofRun
	stop := make(chan struct{})
	samples := sampleRSS(srv.cmd.Process.Pid, 100*time.Millisecond, stop)
	var once sync.Once
	stopSampling := func() { once.Do(func() { close(stop); run.mem = <-samples }) }
	defer stopSampling()
	trace := "/v1/lots/" + info.BigCode + "/trace?direction=down"
	run.trace[0], run.trace[1] = latencies(b, 100, func(int) error { return get(trace) })
	run.noop[0], run.noop[1] = latencies(b, 1000, func(int) error { return get("/healthz") })
	rel0 := scrapeMetrics(client, srv.base)["coldtrace_memory_mapped_releases_total"]
	f0 := minorFaults(b, srv.cmd.Process.Pid)
	run.inclusion, run.cons = proofLatencies(b, info.Records, get)
	run.faults = minorFaults(b, srv.cmd.Process.Pid) - f0
	run.releases = scrapeMetrics(client, srv.base)["coldtrace_memory_mapped_releases_total"] - rel0
	stopSampling()
	srv.checkAlive()
	return run
}

// minorFaults reads the minor page faults of process pid (/proc/pid/stat).
func minorFaults(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command's name, which ends at the last ')':
	// state is the first, minflt the eighth.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	n, err := strconv.ParseInt(f[7], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
