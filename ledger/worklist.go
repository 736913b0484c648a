package ledger

import (
	"fmt"
	"strings"

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
		if err := st.tx.Set(indexKey("att-finding", a.SHA256, []byte(f.ID)), nil); err != nil {
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
	prefix := indexPrefix("att-finding", sha)
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
