package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// The worklist's later steps (issue 14): assigning a finding to a
// sub-region, whose regulators then see and act on it, and closing it with
// evidence. Acknowledging is in alerts.go, overdue in sweep.go.

// FindingAssigned: a regulator of a finding hands it to a region inside its
// own (a province to a city, a city to a county).
const FindingAssigned EventKind = "finding_assigned"

// DocEvidence is a regulator's evidence of how a finding was dealt with
// (整改、处置证据), cited by the finding_closed record that closes it.
const DocEvidence = "evidence"

func checkFindingAssigned(ev *Event, fe *fault.Fields) {
	if ev.Finding == "" {
		fe.Add("finding", "is required: the id of the finding to assign")
	}
	if !ident.ValidRegionPrefix(ev.Region) {
		fe.Add("region", "is required: the region prefix (2, 4 or 6 digits) to assign the finding to")
	}
	checkText(fe, "reason", ev.Reason, false, 500)
}

// prepareFindingAssigned lets a regulator of the finding (of its region or
// of the region it was assigned to) hand it to a region strictly inside the
// key's own region that acts for it.
func prepareFindingAssigned(st *state, p Principal, rec *Record, _ *Lot) error {
	f, regions, err := authorizeFinding(st, p, rec)
	if err != nil {
		return err
	}
	by := coveringPrefix(p, regions)
	switch {
	case !f.Open:
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("finding %s is closed", f.ID)}
	case f.AssignedTo == rec.Region:
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("finding %s is already assigned to %s (record %d)", f.ID, rec.Region, f.AssignedSeq)}
	case len(rec.Region) <= len(by) || !strings.HasPrefix(rec.Region, by):
		return forbid("finding %s is assigned to a region inside %s, the region in whose name this key acts for it; %s is not", f.ID, by, rec.Region)
	}
	return nil
}

func applyFindingAssigned(lt *lotTx, _ *Lot, _ *effects) error {
	f, err := lt.st.finding(lt.rec.Finding)
	if err != nil {
		return err
	}
	old := *f
	at := lt.rec.At
	f.AssignedTo, f.AssignedSeq, f.AssignedAt = lt.rec.Region, lt.rec.Seq, &at
	return lt.st.putFinding(&old, f)
}

// evidenceOf returns the evidence a closing record cites: its attachments
// of type evidence (a type no record carried before it existed, so older
// logs derive no evidence).
func evidenceOf(rec *Record) []AttachmentRef {
	var out []AttachmentRef
	for _, a := range rec.Attachments {
		if a.Type == DocEvidence {
			out = append(out, a)
		}
	}
	return out
}

// putEvidence files a closing record's evidence with finding f, so that
// whoever may see f may read it.
func (st *state) putEvidence(f *Finding, evidence []AttachmentRef) error {
	f.Evidence = evidence
	for _, a := range evidence {
		if err := st.tx.Set(idxAttFinding.key(a.SHA256, []byte(f.ID)), nil); err != nil {
			return err
		}
	}
	return nil
}

// findingVisible reports whether p may see finding f: auditors and admins
// all, regulators those of their regions or assigned to them, operators
// those about their org.
func findingVisible(p Principal, f *Finding) bool {
	switch {
	case p.readsAll():
		return true
	case p.Role == RoleRegulator:
		return covers(p.Regions, f.Region) || covers(p.Regions, f.AssignedTo)
	}
	return p.Org != "" && f.Org == p.Org
}

// evidenceVisible reports whether p may see a finding whose closing cites
// attachment sha as evidence.
func evidenceVisible(st *state, p Principal, sha string) (bool, error) {
	prefix := idxAttFinding.prefix(sha)
	var ids []string
	if err := st.tx.Scan(prefix, nil, false, func(k, _ []byte) error {
		ids = append(ids, string(k[len(prefix):]))
		return nil
	}); err != nil {
		return false, err
	}
	for _, id := range ids {
		f, err := st.finding(id)
		if err != nil {
			return false, err
		}
		if findingVisible(p, f) {
			return true, nil
		}
	}
	return false, nil
}

// NoticeIssued: a regulator issues a rectification notice (整改通知书) to the
// operator a finding is about; the record cites the notice's PDF (type
// rectification_notice, rendered by the API) and states the deadline.
const NoticeIssued EventKind = "notice_issued"

// DocRectificationNotice is a regulator's rectification notice.
const DocRectificationNotice = "rectification_notice"

// A FindingNotice is a rectification notice attached to a finding.
type FindingNotice struct {
	Seq      int64     `json:"seq"`
	SHA256   string    `json:"sha256"`
	Deadline time.Time `json:"deadline"`
	At       time.Time `json:"at"`
}

func checkNoticeIssued(ev *Event, fe *fault.Fields) {
	if ev.Finding == "" {
		fe.Add("finding", "is required: the id of the finding the notice is about")
	}
	if ev.Deadline == nil {
		fe.Add("deadline", "is required: when the operator must have rectified")
	}
	n := 0
	for _, a := range ev.Attachments {
		if a.Type == DocRectificationNotice {
			n++
		}
	}
	if n != 1 {
		fe.Add("attachments", "must cite the notice's PDF once, as type rectification_notice")
	}
}

func prepareNoticeIssued(st *state, p Principal, rec *Record, _ *Lot) error {
	f, _, err := authorizeFinding(st, p, rec)
	if err != nil {
		return err
	}
	switch {
	case !f.Open:
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("finding %s is closed", f.ID)}
	case f.Org == "":
		return fault.Rejectf("finding", "finding %s is not about one operator; a rectification notice goes to the operator a finding is about", f.ID)
	case !rec.Deadline.After(rec.At):
		return fault.Rejectf("deadline", "must be after the notice is issued (%s)", rec.At.Format(time.RFC3339))
	}
	return nil
}

func applyNoticeIssued(lt *lotTx, _ *Lot, _ *effects) error {
	f, err := lt.st.finding(lt.rec.Finding)
	if err != nil {
		return err
	}
	for _, a := range lt.rec.Attachments {
		if a.Type != DocRectificationNotice {
			continue
		}
		f.Notices = append(f.Notices, FindingNotice{Seq: lt.rec.Seq, SHA256: a.SHA256, Deadline: *lt.rec.Deadline, At: lt.rec.At})
		if err := lt.st.tx.Set(idxAttFinding.key(a.SHA256, []byte(f.ID)), nil); err != nil {
			return err
		}
	}
	return lt.st.put(tabFinding.key(f.ID), f)
}

// Finding returns finding id if p may see it.
func (l *Ledger) Finding(ctx context.Context, p Principal, id string) (f *Finding, err error) {
	err = l.view(ctx, func(st *state) error {
		if f, err = st.finding(id); err != nil {
			return err
		}
		if !findingVisible(p, f) {
			return fault.Errorf(fault.NotFound, "no finding %s", id)
		}
		return nil
	})
	return f, err
}
