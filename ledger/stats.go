package ledger

import (
	"sync/atomic"
	"time"
)

// WriteStats counts the write path's work since the ledger opened: how many
// groups the sequencer committed and how many records they held, how many
// Syncs made them durable, and the time both took (a group's time runs from
// its first record to its commit, and includes growing while the previous
// group was being synced). Records per group and groups per Sync show how
// well group commit amortises the disk.
type WriteStats struct {
	Groups, Records, Syncs int64
	CommitTime, SyncTime   time.Duration
}

type writeStats struct {
	groups, records, syncs atomic.Int64
	commitNanos, syncNanos atomic.Int64
}

// WriteStats returns the write path's counters.
func (l *Ledger) WriteStats() WriteStats {
	s := &l.stats
	return WriteStats{
		Groups: s.groups.Load(), Records: s.records.Load(), Syncs: s.syncs.Load(),
		CommitTime: time.Duration(s.commitNanos.Load()), SyncTime: time.Duration(s.syncNanos.Load()),
	}
}

// CacheBytes returns the estimated bytes the ledger's caches hold: the
// write path's decoded lots, the queries' nodes and the latest committed
// state entries.
func (l *Ledger) CacheBytes() (lots, nodes, state int64) {
	if cs, ok := l.store.(*cachingStore); ok {
		state = cs.c.used()
	}
	return l.lots.used.Load(), l.nodes.used(), state
}
