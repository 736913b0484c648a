package ledger

import (
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
	"slices"
	"strings"
	"time"
)

// Papers: every document is bound to the party that issues it and to the
// point in the flow where it is issued, and a record cites only what its own
// org uploaded. Holding goods grants their papers (索证索票); citing a
// document grants nothing.

// A DocumentRule says who issues a document type and on which records.
type DocumentRule struct {
	// Roles may issue the document; empty means any operator role.
	Roles []string `json:"roles"`
	// Kinds are the records that may carry it; empty means any.
	Kinds []EventKind `json:"kinds"`
}

// DocumentRules is the table of document types (docs/authority.md shows it).
var DocumentRules = map[string]DocumentRule{
	DocCustomsDeclaration:      {Roles: []string{RoleImporter}, Kinds: []EventKind{Declared, DocumentsAdded}},
	DocQuarantineCertificate:   {Roles: []string{RoleImporter}, Kinds: []EventKind{Declared, DocumentsAdded}},
	DocTestReport:              {Roles: []string{RoleLab}, Kinds: []EventKind{Tested, SiteTested}},
	DocDisinfectionCertificate: {Roles: []string{RoleDisinfector}, Kinds: []EventKind{Disinfected, SiteDisinfected}},
	DocReleaseCertificate:      {Roles: []string{RoleSupervisionWarehouse}, Kinds: []EventKind{Released}},
	DocDestructionCertificate:  {Kinds: []EventKind{Destroyed}},
	DocTemperatureLog:          {Kinds: []EventKind{TemperatureRecorded, Shipped, Received}},
	DocEvidence:                {Roles: []string{RoleRegulator}, Kinds: []EventKind{FindingClosed}},
	DocRectificationNotice:     {Roles: []string{RoleRegulator}, Kinds: []EventKind{NoticeIssued}},
	DocOther:                   {},
}

func (r DocumentRule) allows(role string, kind EventKind) bool {
	return (len(r.Roles) == 0 || slices.Contains(r.Roles, role)) && (len(r.Kinds) == 0 || slices.Contains(r.Kinds, kind))
}

func (r DocumentRule) describe() string {
	by := "any operator"
	if len(r.Roles) > 0 {
		rs := make([]string, len(r.Roles))
		for i, role := range r.Roles {
			rs[i] = article(role)
		}
		by = strings.Join(rs, " or ")
	}
	on := "any record"
	if len(r.Kinds) > 0 {
		ks := make([]string, len(r.Kinds))
		for i, k := range r.Kinds {
			ks[i] = string(k)
		}
		on = "its own " + strings.Join(ks, " or ") + " record"
	}
	return "is issued by " + by + ", on " + on
}

// checkDocuments refuses a record that cites an attachment its org did not
// upload, or a document type its role does not issue on its kind.
func checkDocuments(st *state, p Principal, rec *Record) error {
	for i, ref := range rec.Attachments {
		f := indexField("attachments", i)
		a, err := st.attachment(ref.SHA256)
		if fault.KindOf(err) == fault.NotFound {
			return fault.Rejectf(f+".sha256", "no attachment with SHA-256 %s was uploaded; upload it first (POST /v1/attachments)", ref.SHA256)
		} else if err != nil {
			return err
		}
		if !a.uploadedBy(p) {
			return fault.Rejectf(f+".sha256", "attachment %s was not uploaded by this key's org; a record cites only documents its own org uploaded", ref.SHA256)
		}
		if r := DocumentRules[ref.Type]; !r.allows(p.Role, rec.Kind) {
			return fault.Rejectf(f+".type", "a %s %s; not by a %s on %s", ref.Type, r.describe(), p.Role, rec.Kind)
		}
	}
	return nil
}

// A Paper is one document of a lot: its type, who issued it on which record
// and when, and whether the asker may open it.
type Paper struct {
	Type    string    `json:"type"`
	SHA256  string    `json:"sha256"`
	Issuer  string    `json:"issuer"` // org
	Seq     int64     `json:"seq"`
	Kind    EventKind `json:"kind"`
	Lot     string    `json:"lot"` // the lot whose record carries it (an ancestor for inherited papers)
	At      time.Time `json:"at"`
	CanOpen bool      `json:"can_open"`
}

// lotPapers returns the papers of lot l: those its own records carry and,
// for child lots and products, those their ancestors had when they were
// made, oldest first.
func lotPapers(st *state, p Principal, l *Lot) ([]Paper, error) {
	var out []Paper
	seen := map[string]bool{}
	var walk func(id string, before int64) error
	walk = func(id string, before int64) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		lot, err := st.lot(id)
		if err != nil {
			return err
		}
		err = st.liveLotRecords(id, before, func(rec *Record) error {
			for _, a := range rec.Attachments {
				out = append(out, Paper{Type: a.Type, SHA256: a.SHA256, Issuer: rec.Actor.Org, Seq: rec.Seq, Kind: rec.Kind, Lot: id, At: rec.At})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, parent := range lot.Parents {
			if err := walk(parent, lot.CreatedSeq); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(l.ID, 1<<62); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Paper) int { return int(a.Seq - b.Seq) })
	for i := range out {
		ok, err := canReadSHA(st, p, out[i].SHA256)
		if err != nil {
			return nil, err
		}
		out[i].CanOpen = ok
	}
	return out, nil
}

// isVoided reports whether record seq was voided.
func (st *state) isVoided(seq int64) (bool, error) {
	_, err := st.get(tabVoided.seqKey(seq))
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	return err == nil, err
}

// canReadSHA is canReadAttachment by hash; a missing attachment is read by
// nobody.
func canReadSHA(st *state, p Principal, sha string) (bool, error) {
	a, err := st.attachment(sha)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return canReadAttachment(st, p, a)
}

// canReadAttachment is the access rule of an attachment. Its readers are
// admins and auditors; the orgs that uploaded it; and everyone who may see
// a lot whose papers include it — the lot its record is about, and every
// lot descended from that lot after the record, so that the holder of a
// child lot or product reads its ancestors' papers — which for a regulator
// means a lot in its regions.
func canReadAttachment(st *state, p Principal, a *Attachment) (bool, error) {
	if p.readsAll() || a.uploadedBy(p) {
		return true, nil
	}
	if ok, err := evidenceVisible(st, p, a.SHA256); ok || err != nil { // worklist.go
		return ok, err
	}
	prefix := idxAttachmentLot.prefix(a.SHA256)
	var lots []string
	if err := st.tx.Scan(prefix, nil, false, func(k, _ []byte) error {
		lots = append(lots, string(k[len(prefix):]))
		return nil
	}); err != nil {
		return false, err
	}
	for _, id := range lots {
		since, err := citedSince(st, id, a.SHA256)
		if err != nil {
			return false, err
		}
		ok, err := familyVisible(st, p, id, since)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// citedSince returns the seq of the first live record of lot id that
// carries attachment sha, or -1 when none does (all were voided).
func citedSince(st *state, id, sha string) (int64, error) {
	since := int64(-1)
	err := st.liveLotRecords(id, 1<<62, func(rec *Record) error {
		if slices.ContainsFunc(rec.Attachments, func(r AttachmentRef) bool { return r.SHA256 == sha }) {
			since = rec.Seq
			return fault.ErrStop
		}
		return nil
	})
	return since, err
}

// familyVisible reports whether p may see lot id or one of the lots made
// from it after record since.
func familyVisible(st *state, p Principal, id string, since int64) (bool, error) {
	if since < 0 {
		return false, nil
	}
	queue, seen := []string{id}, map[string]bool{id: true}
	for len(queue) > 0 {
		l, err := st.lot(queue[0])
		if fault.KindOf(err) == fault.NotFound {
			queue = queue[1:]
			continue
		} else if err != nil {
			return false, err
		}
		queue = queue[1:]
		if l.ID != id && l.CreatedSeq <= since {
			continue
		}
		if l.visibleTo(p) {
			return true, nil
		}
		for _, c := range l.Children {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	return false, nil
}

// record reads and decodes record seq.
func (st *state) record(seq int64) (*Record, error) {
	data, err := vlog.ReadRecord(st.tx, seq)
	if err != nil {
		return nil, err
	}
	return DecodeRecord(data)
}

// liveLotRecords calls fn with every record that changed lot id before seq
// before, in order, leaving out voided ones.
func (st *state) liveLotRecords(id string, before int64, fn func(rec *Record) error) error {
	return st.scanIndex(idxLotEvents, id, func(sfx []byte) error {
		seq := int64(beUint(sfx))
		if seq >= before {
			return fault.ErrStop
		}
		if voided, err := st.isVoided(seq); err != nil || voided {
			return err
		}
		rec, err := st.record(seq)
		if err != nil {
			return err
		}
		return fn(rec)
	})
}
