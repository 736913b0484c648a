package ledger

import (
	"sync/atomic"
	"time"
)

// A pace is what the sequencer and the syncer share to time the commit of
// a growing group (see more).
//
// The store's Sync holds no lock a commit takes, so a group can commit
// while the groups before it sync. One group per sync keeps the work per
// record low (one checkpoint signed, one transaction) and the sync busy:
// the group that takes in the submissions arriving during a sync is
// committed just before that sync is expected to end (its start, plus the
// average sync, less the average time from a group's cut to its commit,
// less a lead), so that the next sync starts at once with it. Syncs vary,
// so the lead grows when a sync ends before its group was cut and shrinks
// when the cut came in time, until about one sync in five ends first. A
// group commits at once when nothing is being synced, and a second group
// for the same sync waits for the next one.
type pace struct {
	unsynced atomic.Int32  // committed groups the syncer has not synced yet
	started  atomic.Int64  // when the running sync started (UnixNano), 0 between syncs
	syncAvg  atomic.Int64  // a moving average of a sync's duration, in ns
	event    chan struct{} // a token when a sync starts or ends

	// The sequencer's own.
	commitAvg int64 // a moving average from a group's cut to its commit, in ns
	cutFor    int64 // the start of the sync the last cut group was for
	predFor   int64 // the start of the sync the growing group waits to be cut for
	lead      int64 // how much earlier than the expected end to cut, in ns
	timer     *time.Timer
}

// leadUp and leadDown move the lead after a sync that ended before its
// cut and after a cut in time: the sync ends first about once in five.
const leadUp, leadDown = int64(200 * time.Microsecond), int64(50 * time.Microsecond)

func newPace() pace { return pace{event: make(chan struct{}, 1)} }

// average moves a moving average of the last eight or so values to x.
func average(avg, x int64) int64 { return avg + (x-avg)/8 }

// signal wakes the sequencer if it waits for a sync.
func (p *pace) signal() {
	select {
	case p.event <- struct{}{}:
	default:
	}
}

// syncing marks a sync started; synced marks it ended after d.
func (p *pace) syncing() {
	p.started.Store(time.Now().UnixNano())
	p.signal()
}

func (p *pace) synced(groups int, d time.Duration) {
	p.syncAvg.Store(average(p.syncAvg.Load(), int64(d)))
	p.started.Store(0)
	p.unsynced.Add(-int32(groups))
	p.signal()
}

// committedIn records the time from a group's cut to its commit.
func (p *pace) committedIn(d time.Duration) { p.commitAvg = average(p.commitAvg, int64(d)) }

// wait returns how long a growing group may still wait for submissions
// before it is cut: 0 to cut it now, -1 to wait for the next sync to
// start (this one has its group).
func (p *pace) wait() time.Duration {
	if p.unsynced.Load() == 0 {
		if p.predFor != 0 && p.predFor != p.cutFor {
			p.lead = min(p.lead+leadUp, p.syncAvg.Load()) // the sync ended before its cut
		}
		p.predFor = 0
		return 0
	}
	started := p.started.Load()
	if started == 0 || started == p.cutFor {
		return -1
	}
	left := time.Duration(started + p.syncAvg.Load() - p.commitAvg - p.lead - time.Now().UnixNano())
	if left <= 0 {
		p.cutFor = started
		p.lead = max(p.lead-leadDown, 0)
		return 0
	}
	p.predFor = started
	return left
}

// more returns the submissions waiting, up to a full group, to add to
// the group being applied. When none is waiting it returns nil to commit
// the group, or waits for one while the pace lets the group grow.
func (l *Ledger) more(have int) []*submission {
	var got []*submission
	for have+len(got) < l.maxBatch {
		select {
		case s := <-l.subs:
			got = append(got, s)
			continue
		default:
		}
		if len(got) > 0 || l.failure() != nil {
			return got
		}
		wait := l.pace.wait()
		if wait == 0 {
			return nil
		}
		var timeout <-chan time.Time
		if wait > 0 {
			if l.pace.timer == nil {
				l.pace.timer = time.NewTimer(wait)
			} else {
				l.pace.timer.Reset(wait)
			}
			timeout = l.pace.timer.C
		}
		select {
		case s := <-l.subs:
			got = append(got, s)
		case <-l.pace.event:
		case <-timeout:
		case <-l.quit:
			return got
		}
		if l.pace.timer != nil {
			l.pace.timer.Stop()
		}
	}
	return got
}
