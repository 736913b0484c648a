package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
)

// Scheduled worker tests at high-risk posts (人物并防; seed 002: workers who
// end closed-loop work at a high-risk post are tested on days 1, 3 and 5
// of their health monitoring). The site's org, or a regulator of the
// site's region, records a worker_tests_scheduled event at a site: its
// time is when the closed-loop work ended, its people (in the annex) are
// the workers. Day N of the schedule is the 24 hours starting N-1 days
// after that time; a site_tested record with the scope "workers" made in
// that day (its people, pseudonymous, in its annex) is that day's test.
// When a day passes without one, the sweep writes a worker_test_overdue
// record that opens a finding in the site's region. The schedule is per
// site, not per person: who was tested is in the annexes, which replay
// does not read.

// The kinds of scheduled worker tests.
const (
	WorkerTestsScheduled EventKind = "worker_tests_scheduled"
	// WorkerTestOverdue is written by the ledger itself (the sweep) when a
	// scheduled day passes without a worker test at the site.
	WorkerTestOverdue EventKind = "worker_test_overdue"
)

// WorkerTestDays are the days after closed-loop work on which the workers
// are tested (seed 002: 第1、3、5天).
var WorkerTestDays = []int{1, 3, 5}

// RuleWorkerTestOverdue is the finding a site's region gets when a
// scheduled worker test was not made.
const RuleWorkerTestOverdue = "worker_test_overdue"

func init() {
	RuleText[RuleWorkerTestOverdue] = [2]string{"高风险岗位从业人员结束闭环作业后第1、3、5天的核酸检测未按期开展", "a scheduled test of the workers of a high-risk post (days 1, 3 and 5 after closed-loop work) was not made"}
	FindingPolicies[RuleWorkerTestOverdue] = RulePolicy{"high", 12 * time.Hour, 72 * time.Hour}
}

// A WorkerTestSchedule is one site's schedule of worker tests.
type WorkerTestSchedule struct {
	Seq         int64           `json:"seq"` // the worker_tests_scheduled record
	Site        string          `json:"site"`
	Region      string          `json:"region"`
	Org         string          `json:"org"` // the site's org
	ScheduledBy string          `json:"scheduled_by"`
	WorkEnded   time.Time       `json:"work_ended"`
	Roles       []string        `json:"roles"` // of the workers, from the annex reference
	Days        []WorkerTestDay `json:"days"`
}

// A WorkerTestDay is one scheduled test: the day's window, and the record
// that made it or the one that found it overdue.
type WorkerTestDay struct {
	Day        int       `json:"day"`
	From       time.Time `json:"from"`
	Due        time.Time `json:"due"`
	TestSeq    int64     `json:"test_seq,omitempty"`
	OverdueSeq int64     `json:"overdue_seq,omitempty"`
	Finding    string    `json:"finding,omitempty"`
	// Status is computed when read: done, overdue, due (the day has begun)
	// or upcoming.
	Status string `json:"status,omitempty"`
}

func scheduleKey(seq int64) []byte { return tabWorkerTests.seqKey(seq) }

// workerDueKey is the sweep's entry for a day still to be tested.
func workerDueKey(due time.Time, site string, seq int64, day int) []byte {
	return idxWorkerDue.key("", key(be64(due.UnixMicro()), be64(seq), []byte{byte(day)}, []byte(site)))
}

func checkWorkerTestsScheduled(ev *Event, fe *fault.Fields) {
	checkSiteRef(fe, "site", ev.Site)
	if len(ev.People) == 0 {
		fe.Add("people", "is required: the workers who ended closed-loop work (kept in the annex)")
	}
}

func prepareWorkerTestsScheduled(st *state, p Principal, rec *Record, _ *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	if err := authorizeSite(p, rec.Kind, site); err != nil {
		return err
	}
	rec.Region = site.Region
	return nil
}

func applyWorkerTestsScheduled(lt *lotTx, _ *Lot, _ *effects) error {
	rec := lt.rec
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	s := &WorkerTestSchedule{Seq: rec.Seq, Site: site.ID, Region: site.Region, Org: site.Org, ScheduledBy: rec.Actor.Org, WorkEnded: rec.At}
	if rec.Annex != nil {
		s.Roles = rec.Annex.Roles
	}
	for _, d := range WorkerTestDays {
		from := rec.At.Add(time.Duration(d-1) * 24 * time.Hour)
		wd := WorkerTestDay{Day: d, From: from, Due: from.Add(24 * time.Hour)}
		if err := lt.st.tx.Set(workerDueKey(wd.Due, site.ID, rec.Seq, d), nil); err != nil {
			return err
		}
		s.Days = append(s.Days, wd)
	}
	if err := lt.st.tx.Set(idxWorkerSite.key(site.ID, be64(rec.Seq)), nil); err != nil {
		return err
	}
	return lt.st.put(scheduleKey(rec.Seq), s)
}

// schedulesAt calls fn with each schedule at site; fn returns whether it
// changed the schedule, which is then written.
func (st *state) schedulesAt(site string, fn func(s *WorkerTestSchedule) (bool, error)) error {
	var seqs []int64
	if err := st.scanIndex("worker-site", site, func(sfx []byte) error { seqs = append(seqs, int64(beUint(sfx))); return nil }); err != nil {
		return err
	}
	for _, seq := range seqs {
		var s WorkerTestSchedule
		if err := st.getJSON(scheduleKey(seq), &s); err != nil {
			return err
		}
		changed, err := fn(&s)
		if err != nil {
			return err
		}
		if changed {
			if err := st.put(scheduleKey(seq), &s); err != nil {
				return err
			}
		}
	}
	return nil
}

// markWorkerTest makes a site_tested record of the workers the test of
// the schedule day it falls in.
func (lt *lotTx) markWorkerTest() error {
	rec := lt.rec
	if !slices.Contains(rec.Scope, "workers") {
		return nil
	}
	return lt.st.schedulesAt(rec.Site, func(s *WorkerTestSchedule) (bool, error) {
		for i := range s.Days {
			d := &s.Days[i]
			if d.TestSeq == 0 && !rec.At.Before(d.From) && rec.At.Before(d.Due) {
				d.TestSeq = rec.Seq
				return true, lt.st.tx.Delete(workerDueKey(d.Due, s.Site, s.Seq, d.Day))
			}
		}
		return false, nil
	})
}

func checkWorkerTestOverdue(ev *Event, fe *fault.Fields) {
	checkSiteRef(fe, "site", ev.Site)
	if ev.Deadline == nil {
		fe.Add("deadline", "is required: the end of the day whose test is missing")
	}
}

// applyWorkerTestOverdue opens a finding, in the site's region, for each
// day of the site's schedules that ended at the record's deadline without
// a test.
func applyWorkerTestOverdue(lt *lotTx, _ *Lot, fx *effects) error {
	rec := lt.rec
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	return lt.st.schedulesAt(rec.Site, func(s *WorkerTestSchedule) (bool, error) {
		changed := false
		for i := range s.Days {
			d := &s.Days[i]
			if d.TestSeq != 0 || d.OverdueSeq != 0 || !d.Due.Equal(*rec.Deadline) {
				continue
			}
			d.OverdueSeq, d.Finding, changed = rec.Seq, findingID(rec.Seq, lt.finding), true
			if err := lt.st.tx.Delete(workerDueKey(d.Due, s.Site, s.Seq, d.Day)); err != nil {
				return false, err
			}
			if err := lt.openAtSite(RuleWorkerTestOverdue, site, fmt.Sprintf("no test of the workers at %s on day %d (%s to %s) after the closed-loop work that ended %s (schedule, record %d; roles: %s)",
				site.ID, d.Day, d.From.UTC().Format(time.RFC3339), d.Due.UTC().Format(time.RFC3339), s.WorkEnded.UTC().Format(time.RFC3339), s.Seq, strings.Join(s.Roles, ", ")), fx); err != nil {
				return false, err
			}
		}
		return changed, nil
	})
}

// SweepWorkerTests writes one worker_test_overdue record for each site and
// day end that passed without the scheduled worker test (at most 100 per
// call), and returns their receipts.
func (l *Ledger) SweepWorkerTests(ctx context.Context) ([]*Receipt, error) {
	now := l.now()
	type overdue struct {
		site string
		due  time.Time
	}
	var due []overdue
	err := l.view(ctx, func(st *state) error {
		p := idxWorkerDue.prefix("")
		return st.tx.Scan(p, nil, false, func(k, _ []byte) error {
			sfx := k[len(p):]
			at := time.UnixMicro(int64(beUint(sfx[:8]))).UTC()
			if !at.Before(now) || len(due) >= 100 {
				return fault.ErrStop
			}
			o := overdue{string(sfx[17:]), at}
			if !slices.Contains(due, o) {
				due = append(due, o)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []*Receipt
	for _, o := range due {
		deadline := o.due
		r, err := l.enqueue(ctx, &submission{ev: Event{Kind: WorkerTestOverdue, At: now.UTC(), Site: o.site, Deadline: &deadline}, system: true})
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// WorkerTests returns the worker test schedules of a site, with each day's
// status at now, if p may see them: the site's org, regulators of the
// site's region, auditors and admins.
func (l *Ledger) WorkerTests(ctx context.Context, p Principal, siteID string) (out []WorkerTestSchedule, err error) {
	if !siteIDPattern.MatchString(siteID) {
		return nil, fault.InvalidField("id", "is not a site id")
	}
	now := l.now()
	err = l.view(ctx, func(st *state) error {
		site, err := st.site(siteID)
		if err != nil {
			return err
		}
		if !p.readsAll() && !(p.Org != "" && p.Org == site.Org && p.Role != RoleRegulator) && !(p.Role == RoleRegulator && covers(p.Regions, site.Region)) {
			return fault.Errorf(fault.Forbidden, "the worker tests of site %s are read by the site's org, regulators of region %s and auditors", site.ID, site.Region)
		}
		out = []WorkerTestSchedule{}
		return st.schedulesAt(site.ID, func(s *WorkerTestSchedule) (bool, error) {
			for i := range s.Days {
				d := &s.Days[i]
				switch {
				case d.TestSeq != 0:
					d.Status = "done"
				case !now.Before(d.Due):
					d.Status = "overdue"
				case !now.Before(d.From):
					d.Status = "due"
				default:
					d.Status = "upcoming"
				}
			}
			out = append(out, *s)
			return false, nil
		})
	})
	return out, err
}
