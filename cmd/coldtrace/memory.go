package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"coldtrace/cmd/coldtrace/memory"
	"coldtrace/cmd/coldtrace/memory/mapped"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// applyBudget hands the budget's parts to their owners: badger's to bo,
// the ledger's caches to opts, and the runtime's soft memory limit
// (Budget.GoLimit: the Go heap, memtable arenas and caches), unless
// GOMEMLIMIT set one. It returns the Go limit in force.
func applyBudget(b memory.Budget, bo *badgerkv.Options, opts *ledger.Options) int64 {
	bo.Memory = badgerkv.Memory{MemTableSize: b.MemTableSize, NumMemtables: memory.NumMemtables,
		NumLevelZeroTables: memory.Level0Tables, BlockCacheSize: b.BlockCache, IndexCacheSize: b.IndexCache}
	opts.LotCacheBytes, opts.StateCacheBytes = int(b.LotCache), int(b.StateCache)
	opts.NodeCacheBytes, opts.HashCacheBytes = int(b.NodeCache-b.HashCache()), int(b.HashCache())
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(b.GoLimit())
	}
	return debug.SetMemoryLimit(-1)
}

// serveReleaseEvery is how often serve compares the file-mapped resident
// memory with half the budget's mapped part, at the cost of reading
// /proc/self/status (tens of microseconds) forty times a second.
//
// Half, and every 25 ms: a query may map table pages faster than a check
// comes round. On the 10 M-record ledger the region report mapped about
// 300 MB between two checks 100 ms apart, so a release at the part itself
// let the mapped pages reach 573-672 MiB against a part of 384 MiB; at
// half the part every 50 ms RSS's peak (VmHWM) reached 1,023 MiB, at half
// every 25 ms 881-896 MiB, at a quarter every 25 ms 788-823 MiB. Each
// release costs the next queries the faults of the pages they need back:
// at a quarter, twice as many releases put the proofs' p99 over HTTP at
// 1.5-2.9 ms against 0.70-0.75 at half (docs/decisions.md, issue 17).
const serveReleaseEvery = 25 * time.Millisecond

// releaseShare is the budget's mapped part over serve's release limit
// (half the part; serveReleaseEvery says why).
const releaseShare = 2

// startRelease starts the release of badger's table pages past half the
// budget's mapped part (package mapped), unless turned off or not on
// Linux (nil then), and returns the function that stops it.
func startRelease(ctx context.Context, on bool, b memory.Budget, store *badgerkv.Store, logger *slog.Logger) (*mapped.Releaser, func()) {
	if _, err := mapped.RSSFile(); !on || err != nil {
		return nil, func() {}
	}
	r := mapped.New(b.Mapped()/releaseShare, store)
	return r, runRelease(ctx, r, serveReleaseEvery, func(err error) { logger.Warn("releasing the tables' mapped pages", "err", err) })
}

// runRelease runs r's checks every interval until ctx is done or the
// returned function is called, which waits for the last check to end. Where
// the process cannot read its file-mapped memory (not Linux) it starts
// nothing and returns a function that does nothing.
func runRelease(ctx context.Context, r *mapped.Releaser, every time.Duration, onErr func(error)) (stop func()) {
	if _, err := mapped.RSSFile(); err != nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, every, onErr)
	}()
	return func() { cancel(); <-done }
}

// releaseDesc tells at start-up what keeps the mapped files in the budget.
func releaseDesc(r *mapped.Releaser) string {
	if r == nil {
		return "mapped files not bounded (--no-mapped-release or no /proc)"
	}
	return fmt.Sprintf("mapped files kept within %s (badger's table pages released past %s)", memory.Size(releaseShare*r.Limit), memory.Size(r.Limit))
}

// memoryCollector exports the budget's parts and, where badger, the ledger
// and the runtime tell, what each holds, with the process's resident memory
// split into anonymous and file-mapped pages (badger maps its write-ahead
// logs and tables), and the releases of the tables' pages.
type memoryCollector struct {
	budget memory.Budget
	store  *badgerkv.Store
	l      *ledger.Ledger
	rel    *mapped.Releaser // nil when the release is off

	mappedDesc, releasesDesc, releasedDesc                                           *prometheus.Desc
	budgetDesc, usedDesc, goDesc, goLimitDesc, rssDesc, l0Desc, diskDesc, badgerDesc *prometheus.Desc
}

func newMemoryCollector(b memory.Budget, store *badgerkv.Store, l *ledger.Ledger, rel *mapped.Releaser) *memoryCollector {
	return &memoryCollector{budget: b, store: store, l: l, rel: rel,
		mappedDesc:   prometheus.NewDesc("coldtrace_memory_mapped_limit_bytes", "The file-mapped resident memory kept under by releasing badger's table pages past half of it: the budget's wal and level0 parts (absent when the release is off).", nil, nil),
		releasesDesc: prometheus.NewDesc("coldtrace_memory_mapped_releases_total", "Releases of badger's table pages (file-mapped resident memory past its limit).", nil, nil),
		releasedDesc: prometheus.NewDesc("coldtrace_memory_mapped_released_bytes_total", "File-mapped resident memory the releases of badger's table pages released (the drops of RssFile).", nil, nil),
		budgetDesc:   prometheus.NewDesc("coldtrace_memory_budget_bytes", "The memory budget (--memory) by part; hash_cache (the proofs' stored hashes) is a share of node_cache, the other parts add up to the budget.", []string{"part"}, nil),
		usedDesc:     prometheus.NewDesc("coldtrace_memory_used_bytes", "What a part of the budget holds now, for the parts that tell (block_cache, index_cache, level0, lot_cache, node_cache without hash_cache, hash_cache, state_cache).", []string{"part"}, nil),
		goDesc:       prometheus.NewDesc("coldtrace_go_memory_bytes", "Memory the Go runtime holds from the system (what its memory limit bounds): memtable arenas, caches and the rest of the heap.", nil, nil),
		goLimitDesc:  prometheus.NewDesc("coldtrace_go_memory_limit_bytes", "The Go runtime's soft memory limit (the budget less the mapped files, or GOMEMLIMIT).", nil, nil),
		rssDesc:      prometheus.NewDesc("coldtrace_process_rss_bytes", "Resident memory by kind (/proc/self/status): anon (the Go heap), file (badger's mapped logs and tables, which the kernel may reclaim), shmem.", []string{"kind"}, nil),
		l0Desc:       prometheus.NewDesc("coldtrace_badger_level0_tables", "Level-0 tables waiting for compaction.", nil, nil),
		badgerDesc:   prometheus.NewDesc("coldtrace_badger_setting", "Badger's memory settings as the open database has them: memtable_bytes, memtables, level0_tables, block_cache_bytes (its cache's capacity), index_cache_bytes.", []string{"setting"}, nil),
		diskDesc:     prometheus.NewDesc("coldtrace_badger_disk_bytes", "Badger's tables (lsm) and value log (vlog) on disk, as badger last measured them.", []string{"kind"}, nil),
	}
}

func (c *memoryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.budgetDesc, c.usedDesc, c.goDesc, c.goLimitDesc, c.rssDesc, c.l0Desc, c.diskDesc, c.badgerDesc, c.mappedDesc, c.releasesDesc, c.releasedDesc} {
		ch <- d
	}
}

func (c *memoryCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, p := range c.budget.Parts() {
		gauge(c.budgetDesc, p.Bytes, p.Name)
	}
	gauge(c.budgetDesc, c.budget.HashCache(), "hash_cache")
	u := c.store.MemoryUse()
	lots, nodes, state := c.l.CacheBytes()
	gauge(c.usedDesc, u.BlockCache, "block_cache")
	gauge(c.usedDesc, u.IndexCache, "index_cache")
	gauge(c.usedDesc, u.Level0, "level0")
	gauge(c.usedDesc, lots, "lot_cache")
	gauge(c.usedDesc, nodes, "node_cache")
	gauge(c.usedDesc, state, "state_cache")
	gauge(c.usedDesc, c.l.HashCacheBytes(), "hash_cache")
	gauge(c.badgerDesc, u.Config.MemTableSize, "memtable_bytes")
	gauge(c.badgerDesc, int64(u.Config.NumMemtables), "memtables")
	gauge(c.badgerDesc, int64(u.Config.NumLevelZeroTables), "level0_tables")
	gauge(c.badgerDesc, u.BlockCacheMax, "block_cache_bytes")
	gauge(c.badgerDesc, u.Config.IndexCacheSize, "index_cache_bytes")
	gauge(c.l0Desc, int64(u.Level0Tables))
	gauge(c.diskDesc, u.LSM, "lsm")
	gauge(c.diskDesc, u.ValueLog, "vlog")
	gauge(c.goDesc, goMemory())
	gauge(c.goLimitDesc, debug.SetMemoryLimit(-1))
	for kind, v := range rss() {
		gauge(c.rssDesc, v, kind)
	}
	if c.rel != nil {
		runs, released := c.rel.Stats()
		gauge(c.mappedDesc, c.budget.Mapped())
		ch <- prometheus.MustNewConstMetric(c.releasesDesc, prometheus.CounterValue, float64(runs))
		ch <- prometheus.MustNewConstMetric(c.releasedDesc, prometheus.CounterValue, float64(released))
	}
}

// goMemory is the memory the Go runtime holds from the system, as its
// memory limit counts it: all it mapped less what it released.
func goMemory() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

// rss reads the process's resident memory by kind from /proc/self/status
// (nothing where there is no /proc).
func rss() map[string]int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 2 {
			continue
		}
		kind, ok := map[string]string{"RssAnon:": "anon", "RssFile:": "file", "RssShmem:": "shmem"}[string(f[0])]
		if n, err := strconv.ParseInt(string(f[1]), 10, 64); ok && err == nil {
			out[kind] = n << 10 // kB
		}
	}
	return out
}
