package ledger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSequencer measures the ledger's write path alone (no HTTP): 64
// goroutines submit org registrations for two seconds; each submission
// returns once its group is durable.
func BenchmarkSequencer(b *testing.B) {
	e := newEnv(b)
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	start := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(n.Add(1))
				if _, err := e.l.Submit(context.Background(), e.admin, orgEvent(i), ""); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "records/s")
	ws := e.l.WriteStats()
	b.ReportMetric(float64(ws.Records)/float64(ws.Groups), "records/group")
	b.ReportMetric(float64(ws.Groups)/float64(ws.Syncs), "groups/sync")
	b.ReportMetric(float64(ws.CommitTime.Microseconds())/float64(ws.Groups), "commit-µs/group")
	b.ReportMetric(float64(ws.SyncTime.Microseconds())/float64(ws.Syncs), "sync-µs")
}
