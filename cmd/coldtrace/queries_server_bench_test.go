package main_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverRun is the query run against a `coldtrace serve` subprocess, over
// HTTP as users run it, with its resident memory sampled all along.
type serverRun struct {
	args                                    []string // serve's extra flags
	cold                                    time.Duration
	trace, recall, closure, inclusion, cons [2]time.Duration // p50, p99
	report                                  [2]time.Duration // p50, max of 5
	xlsx                                    time.Duration
	mem                                     rssSamples
	releases, releasedMiB                   float64 // from /metrics
	cgroupMax, cgroupFails, cgroupOOMKills  int64   // COLDTRACE_BENCH_CGROUP
	cgroupLimit                             string
}

// rssSamples are the server's resident memory samples (KiB): the count and
// the maximum of each kind over the run.
type rssSamples struct {
	n                        int
	maxRSS, maxAnon, maxFile int64
	hwm                      int64 // the kernel's peak (VmHWM) at the end
}

// sampleRSS reads /proc/pid/status every interval until stop is closed.
func sampleRSS(pid int, every time.Duration, stop <-chan struct{}) <-chan rssSamples {
	out := make(chan rssSamples, 1)
	go func() {
		var s rssSamples
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			f, err := procStatus(pid)
			if err == nil {
				s.n++
				s.maxRSS, s.maxAnon, s.maxFile = max(s.maxRSS, f["VmRSS"]), max(s.maxAnon, f["RssAnon"]), max(s.maxFile, f["RssFile"])
				s.hwm = f["VmHWM"]
			}
			select {
			case <-stop:
				out <- s
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// procStatus reads the kB fields of /proc/pid/status.
func procStatus(pid int) (map[string]int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(data), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if f := strings.Fields(v); ok && len(f) == 2 && f[1] == "kB" {
			m[name], _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return m, nil
}

// runServerQueries starts `coldtrace serve` on dir with extra flags,
// measures the time from exec to its first trace answer, then the queries
// over HTTP with RSS sampled every 100 ms: the trace, recall and closure of
// the big family (300 each), inclusion and consistency proofs (1,000 each),
// the closure report of the region (5) and its XLSX export.
func runServerQueries(b *testing.B, bin, dir string, info benchInfo, extra ...string) serverRun {
	b.Helper()
	run := serverRun{args: extra}
	cg := newBenchCgroup(b)
	t0 := time.Now()
	srv := startServe(b, bin, dir, cg, extra...)
	defer func() {
		srv.stop()
		if cg != nil {
			cg.remove()
		}
	}()
	cmd, base := srv.cmd, srv.base
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := benchGet(client, base)
	trace := "/v1/lots/" + info.BigCode + "/trace?direction=down"
	if err := get(trace); err != nil {
		b.Fatal(err)
	}
	run.cold = time.Since(t0)

	stop := make(chan struct{})
	samples := sampleRSS(cmd.Process.Pid, 100*time.Millisecond, stop)
	var once sync.Once
	stopSampling := func() { once.Do(func() { close(stop); run.mem = <-samples }) }
	defer stopSampling()
	run.trace[0], run.trace[1] = latencies(b, 300, func(int) error { return get(trace) })
	run.recall[0], run.recall[1] = latencies(b, 300, func(int) error { return get("/v1/lots/" + info.BigCode + "/recall") })
	run.closure[0], run.closure[1] = latencies(b, 300, func(int) error { return get("/v1/lots/" + info.BigCode + "/closure") })
	run.inclusion, run.cons = proofLatencies(b, info.Records, get)
	run.report[0], run.report[1] = latencies(b, 5, func(int) error { return get("/v1/reports/closure?region=" + info.Region) })
	t0 = time.Now()
	if err := get("/v1/reports/closure?region=" + info.Region + "&format=xlsx"); err != nil {
		b.Fatal(err)
	}
	run.xlsx = time.Since(t0)
	stopSampling()
	m := scrapeMetrics(client, base)
	run.releases, run.releasedMiB = m["coldtrace_memory_mapped_releases_total"], m["coldtrace_memory_mapped_released_bytes_total"]/(1<<20)
	if cg != nil {
		run.cgroupLimit, run.cgroupMax, run.cgroupFails, run.cgroupOOMKills = cg.limit, cg.maxUsage(), cg.failures(), cg.oomKills()
	}
	srv.checkAlive()
	return run
}

// A serveProc is a `coldtrace serve` subprocess on the benchmark ledger.
type serveProc struct {
	b      *testing.B
	cmd    *exec.Cmd
	base   string
	args   []string
	exited chan error
}

// startServe starts bin's `coldtrace serve` on dir with extra flags (in
// cgroup cg unless nil) and waits for its listening line.
func startServe(b *testing.B, bin, dir string, cg *benchCgroup, extra ...string) *serveProc {
	b.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--rate-limit=-1", "--anon-rate=-1", "--sweep-every=-1s", "--log-level=ERROR"}, extra...)
	if m := os.Getenv("COLDTRACE_BENCH_MEMORY"); m != "" {
		args = append(args, "--memory", m) // a smaller budget than the default 1GiB
	}
	cmd := exec.Command(bin, args...)
	if cg != nil {
		cmd = cg.command(bin, args...)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &serveProc{b: b, cmd: cmd, args: extra, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	urls := listenURLs(stdout)
	select {
	case p.base = <-urls:
	case err := <-p.exited:
		b.Fatalf("coldtrace serve %v exited: %v", extra, err)
	case <-time.After(2 * time.Minute):
		p.stop()
		b.Fatal("coldtrace serve did not start")
	}
	return p
}

// stop ends the server and waits for it.
func (p *serveProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	p.exited <- nil // a second stop returns at once
}

// checkAlive fails the benchmark if the server died during the run.
func (p *serveProc) checkAlive() {
	select {
	case err := <-p.exited:
		p.b.Fatalf("coldtrace serve %v died during the run: %v", p.args, err)
	default:
	}
}

// log prints the run's figures.
func (r serverRun) log(b *testing.B, name string) {
	mib := func(kib int64) float64 { return float64(kib) / 1024 }
	b.Logf("server %s: cold start %v; RSS max %.0f MiB over %d samples every 100 ms (anonymous max %.0f, file-mapped max %.0f; VmHWM %.0f); %.0f releases of %.0f MiB of table pages",
		name, r.cold.Round(time.Millisecond), mib(r.mem.maxRSS), r.mem.n, mib(r.mem.maxAnon), mib(r.mem.maxFile), mib(r.mem.hwm), r.releases, r.releasedMiB)
	b.Logf("server %s over HTTP: trace p50 %v p99 %v; recall p50 %v p99 %v; closure p50 %v p99 %v; inclusion p50 %v p99 %v; consistency p50 %v p99 %v; report p50 %v max %v; XLSX %v",
		name, r.trace[0], r.trace[1], r.recall[0], r.recall[1], r.closure[0], r.closure[1], r.inclusion[0], r.inclusion[1],
		r.cons[0], r.cons[1], r.report[0], r.report[1], r.xlsx.Round(time.Millisecond))
	if r.cgroupLimit != "" {
		b.Logf("server %s in a memory cgroup of %s: max usage %.0f MiB (page cache included), failcnt %d, OOM kills %d",
			name, r.cgroupLimit, float64(r.cgroupMax)/(1<<20), r.cgroupFails, r.cgroupOOMKills)
	}
}

// serverRuns runs the server's query run without the release of the
// tables' mapped pages and with it, in COLDTRACE_BENCH_SERVER_ROUNDS
// rounds (default 2: off, on, on, off), logs every run and returns the
// worst of each (the highest RSS and latencies, the longest cold start).
// With COLDTRACE_BENCH_BINS (name=path,...) each round also runs those
// builds with the release on, after this build's release-on run, and
// logs the worst of each.
func serverRuns(b *testing.B, dir string, info benchInfo) (on, off serverRun) {
	rounds := 2
	if n, err := strconv.Atoi(os.Getenv("COLDTRACE_BENCH_SERVER_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	others := benchBuilds(b)
	if len(others) == 1 && others[0].path == binPath {
		others = nil
	}
	worstOf := make([]serverRun, len(others))
	for i := 0; i < rounds; i++ {
		order := []bool{false, true}
		if i%2 == 1 {
			order = []bool{true, false}
		}
		for _, release := range order {
			if release {
				r := runServerQueries(b, binPath, dir, info)
				r.log(b, fmt.Sprintf("round %d, release on", i+1))
				on = worst(on, r)
				for j, bd := range others {
					r := runServerQueries(b, bd.path, dir, info)
					r.log(b, fmt.Sprintf("round %d, release on, build %s", i+1, bd.name))
					worstOf[j] = worst(worstOf[j], r)
				}
			} else {
				r := runServerQueries(b, binPath, dir, info, "--no-mapped-release")
				r.log(b, fmt.Sprintf("round %d, release off", i+1))
				off = worst(off, r)
			}
		}
	}
	on.log(b, "worst of the runs, release on")
	off.log(b, "worst of the runs, release off")
	for j, bd := range others {
		worstOf[j].log(b, "worst of the runs, release on, build "+bd.name)
	}
	return on, off
}

// worst keeps the higher of each figure of two runs.
func worst(a, b serverRun) serverRun {
	w := b
	w.cold = max(a.cold, b.cold)
	for i := range 2 {
		w.trace[i], w.recall[i], w.closure[i] = max(a.trace[i], b.trace[i]), max(a.recall[i], b.recall[i]), max(a.closure[i], b.closure[i])
		w.inclusion[i], w.cons[i], w.report[i] = max(a.inclusion[i], b.inclusion[i]), max(a.cons[i], b.cons[i]), max(a.report[i], b.report[i])
	}
	w.xlsx = max(a.xlsx, b.xlsx)
	w.mem = rssSamples{n: a.mem.n + b.mem.n, maxRSS: max(a.mem.maxRSS, b.mem.maxRSS), maxAnon: max(a.mem.maxAnon, b.mem.maxAnon),
		maxFile: max(a.mem.maxFile, b.mem.maxFile), hwm: max(a.mem.hwm, b.mem.hwm)}
	w.releases, w.releasedMiB = a.releases+b.releases, a.releasedMiB+b.releasedMiB
	w.cgroupMax, w.cgroupFails, w.cgroupOOMKills = max(a.cgroupMax, b.cgroupMax), a.cgroupFails+b.cgroupFails, a.cgroupOOMKills+b.cgroupOOMKills
	if w.cgroupLimit == "" {
		w.cgroupLimit = a.cgroupLimit
	}
	return w
}

// proofLatencies asks the server behind get for 1,000 inclusion proofs of
// random records in the tree of size records, then 1,000 consistency
// proofs from random sizes to it (the same sequence in every run), and
// returns the p50 and p99 of each.
func proofLatencies(b *testing.B, size int64, get func(path string) error) (inclusion, consistency [2]time.Duration) {
	r := rand.New(rand.NewPCG(1, 2))
	inclusion[0], inclusion[1] = latencies(b, 1000, func(int) error {
		return get(fmt.Sprintf("/v1/log/proof/inclusion?seq=%d&size=%d", r.Int64N(size), size))
	})
	consistency[0], consistency[1] = latencies(b, 1000, func(int) error {
		return get(fmt.Sprintf("/v1/log/proof/consistency?from=%d&to=%d", 1+r.Int64N(size-1), size))
	})
	return inclusion, consistency
}
