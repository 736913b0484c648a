package ledger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// The inspections family: tested, disinfected, released and
// temperature_recorded about a lot, site_tested and site_disinfected about
// a site; check, prepare and apply of each.

func checkTested(ev *Event, fe *fault.Fields) {
	if ev.Samples <= 0 || ev.Samples > 100000 {
		fe.Add("samples", "must be the number of samples taken, at least 1")
	}
	checkSet(fe, "scope", ev.Scope, TestScopes, true)
	checkOneOf(fe, "result", ev.Result, TestResults, true)
	if ev.RetestOf < 0 {
		fe.Add("retest_of", "must be the seq of an earlier tested record")
	}
}

func prepareTested(st *state, p Principal, rec *Record, l *Lot) error {
	if rec.Result == "positive" {
		// The record names the region where the positive was found: it
		// answers for the family's seals (authority.go).
		rec.Region = l.Region
		if rec.Region == "" && l.Transit != nil {
			rec.Region = l.Transit.ToRegion
		}
	}
	if rec.RetestOf != 0 {
		data, err := vlog.ReadRecord(st.tx, rec.RetestOf)
		if err != nil || rec.RetestOf >= rec.Seq {
			return fault.Rejectf("retest_of", "record %d does not exist", rec.RetestOf)
		}
		var r struct {
			Kind EventKind `json:"kind"`
		}
		if json.Unmarshal(data, &r) != nil || r.Kind != Tested {
			return fault.Rejectf("retest_of", "record %d is not a test", rec.RetestOf)
		}
	}
	return nil
}

func applyTested(lt *lotTx, l *Lot, fx *effects) error {
	rec := lt.rec
	l.LastTest = &Mark{Seq: rec.Seq, At: rec.At, Result: rec.Result}
	l.TestedSinceArrival = true
	if rec.Result == "negative" {
		l.Status.Positive = false
		return nil
	}
	l.Status.Positive = true
	if err := lt.judgeLate(l, nil, fx); err != nil {
		return err
	}
	if err := lt.open(RulePositiveTest, l, fmt.Sprintf("lot %s tested positive (%d samples, %s); its batch is sealed where it is", l.TraceCode, rec.Samples, strings.Join(rec.Scope, ", ")), fx); err != nil {
		return err
	}
	// Seal the lot, its root batch and every lot descended from it, wherever
	// they are.
	reason := fmt.Sprintf("核酸检测阳性：%s（记录 %d）", l.TraceCode, rec.Seq)
	for _, root := range l.roots() {
		var ids []string
		if err := lt.st.scanIndex(idxRoot, root, func(id []byte) error { ids = append(ids, string(id)); return nil }); err != nil {
			return err
		}
		for _, id := range ids {
			m, err := lt.get(id)
			if err != nil {
				return err
			}
			if m.terminal() {
				continue // nothing left to seal
			}
			m.Status.Sealed, m.Status.SealReason, m.Status.SealSeq, m.Status.PositiveSeq = true, reason, rec.Seq, rec.Seq
		}
	}
	l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq, l.Status.PositiveSeq = true, reason, rec.Seq, rec.Seq
	if err := lt.openPositiveBatch(l, fx); err != nil {
		return err
	}
	return lt.openPeopleToTest(l, fx) // people_findings.go
}

func checkDisinfected(ev *Event, fe *fault.Fields) {
	checkSet(fe, "scope", ev.Scope, DisinfectionScopes, true)
	checkText(fe, "agent", ev.Agent, true, 100)
}

func applyDisinfected(lt *lotTx, l *Lot, fx *effects) error {
	l.LastDisinfection = &Mark{Seq: lt.rec.Seq, At: lt.rec.At}
	return nil
}

func checkReleased(ev *Event, fe *fault.Fields) {
	if !slices.ContainsFunc(ev.Attachments, func(a AttachmentRef) bool { return a.Type == DocReleaseCertificate }) {
		fe.Add("attachments", "a release needs its release certificate: an attachment of type %s", DocReleaseCertificate)
	}
}

func prepareReleased(st *state, p Principal, rec *Record, l *Lot) error {
	if l.Site == "" {
		return fault.Rejectf("lot", "lot %s is in transit; it is released where it is stored", l.TraceCode)
	}
	site, err := st.site(l.Site)
	if err != nil {
		return err
	}
	if err := releasable(st, p, l); err != nil {
		return err
	}
	if site.Org != p.Org && site.Type != "port_yard" {
		return forbid("lot %s is at %s, which is neither this warehouse's site nor a port yard", l.TraceCode, l.Site)
	}
	if l.Release != nil {
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("lot %s was already released by record %d", l.TraceCode, l.Release.Seq)}
	}
	return nil
}

func applyReleased(lt *lotTx, l *Lot, fx *effects) error {
	l.Release = &Mark{Seq: lt.rec.Seq, At: lt.rec.At}
	return nil
}

func checkTemperatureRecorded(ev *Event, fe *fault.Fields) {
	if ev.MinC == nil {
		fe.Add("min_c", "is required")
	}
	if ev.MaxC == nil {
		fe.Add("max_c", "is required")
	}
	checkTemp(fe, "min_c", ev.MinC)
	checkTemp(fe, "max_c", ev.MaxC)
	if ev.MinC != nil && ev.MaxC != nil && *ev.MinC > *ev.MaxC {
		fe.Add("min_c", "is above max_c")
	}
	if ev.Readings <= 0 {
		fe.Add("readings", "must be the number of readings, at least 1")
	}
	if !slices.ContainsFunc(ev.Attachments, func(a AttachmentRef) bool { return a.Type == DocTemperatureLog }) {
		fe.Add("attachments", "a temperature record needs its raw log: an attachment of type %s", DocTemperatureLog)
	}
}

func applyTemperatureRecorded(lt *lotTx, l *Lot, fx *effects) error {
	return lt.judgeTemperature(l, lt.rec.MaxC, fx)
}

func checkSiteTested(ev *Event, fe *fault.Fields) {
	checkSiteRef(fe, "site", ev.Site)
	checkSet(fe, "scope", ev.Scope, SiteTestScopes, true)
	if ev.Samples <= 0 || ev.Samples > 100000 {
		fe.Add("samples", "must be the number of samples taken, at least 1")
	}
	switch {
	case ev.Positives == nil:
		fe.Add("positives", "is required (0 when every sample was negative)")
	case *ev.Positives < 0 || *ev.Positives > ev.Samples:
		fe.Add("positives", "must be between 0 and samples")
	}
	if ev.WindowDays < 0 || ev.WindowDays > 90 {
		fe.Add("window_days", "must be between 1 and 90")
	}
}

func prepareSiteTested(st *state, p Principal, rec *Record, _ *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	if rec.Positives != nil && *rec.Positives > 0 {
		rec.Region = site.Region // the region answerable for the site's seals (alerts.go)
	}
	if rec.WindowDays == 0 {
		rec.WindowDays = DefaultSiteWindowDays
	}
	return nil
}

func applySiteTested(lt *lotTx, _ *Lot, fx *effects) error {
	rec := lt.rec
	if err := lt.markWorkerTest(); err != nil { // worker_tests.go
		return err
	}
	if *rec.Positives == 0 {
		return nil
	}
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	if err := lt.judgeLate(nil, site, fx); err != nil {
		return err
	}
	start := rec.At.Add(-time.Duration(rec.WindowDays) * 24 * time.Hour)
	ids, err := lt.st.staysEndedSince(site.ID, start)
	if err != nil {
		return err
	}
	var held []string
	for _, id := range ids {
		l, err := lt.peek(id)
		if err != nil {
			return err
		}
		present := slices.ContainsFunc(l.Custody, func(s Stay) bool {
			return s.Site == site.ID && !s.From.After(rec.At) && (s.To == nil || !s.To.Before(start))
		})
		if !present {
			continue
		}
		if l, err = lt.get(id); err != nil {
			return err
		}
		held = append(held, id)
		if err := lt.open(RuleSitePositive, l, fmt.Sprintf("lot %s was at %s within %d days of a positive %s test there (%d of %d samples, record %d)", l.TraceCode, site.ID, rec.WindowDays, strings.Join(rec.Scope, "/"), *rec.Positives, rec.Samples, rec.Seq), fx); err != nil {
			return err
		}
	}
	if rec.Region != "" {
		err = lt.siteReach(site, start, ids, fx) // alerts.go
	} else if len(held) == 0 {
		err = lt.openAtSite(RuleSitePositive, site, fmt.Sprintf("site %s tested positive (%s, %d of %d samples); no lot was there in the %d days before", site.ID, strings.Join(rec.Scope, "/"), *rec.Positives, rec.Samples, rec.WindowDays), fx)
	}
	if err != nil {
		return err
	}
	// Only records whose annex carried roles left marks, so an old log
	// opens none here.
	return lt.openSitePeopleToTest(site, start, held, fx) // people_findings.go
}

func checkSiteDisinfected(ev *Event, fe *fault.Fields) {
	checkSiteRef(fe, "site", ev.Site)
	checkSet(fe, "scope", ev.Scope, DisinfectionScopes, false)
	checkText(fe, "agent", ev.Agent, true, 100)
}

func prepareSiteDisinfected(st *state, p Principal, rec *Record, _ *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	return authorizeSite(p, rec.Kind, site)
}

func applySiteDisinfected(lt *lotTx, _ *Lot, fx *effects) error { return nil }
