package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
	"coldtrace/ledger/input"
	"coldtrace/ledger/vlog"
)

// Personal data off the log. An event's free-text note and its people (the
// samplers, drivers, porters, handlers and workers who did the work) are
// taken out of the event before it is recorded and kept in an annex outside
// the log, under a/annex/<seq>: not part of the derived state that replay
// rebuilds, and erasable. The record carries only a commitment, SHA-256
// over a random salt and the annex's canonical bytes, so that whoever reads
// the annex can check it is the one recorded, and nobody can confirm a
// guessed name from the record alone. Every read of an annex is written to
// an access log (a/annex-read/); an admin erases an annex with a reason
// (an annex_erased record), which deletes the annex and its salt and purges
// them from the store's files.

// AnnexErased records that an admin erased the annex of record Erases.
const AnnexErased EventKind = "annex_erased"

// Roles of people on an event.
var PersonRoles = []string{"sampler", "driver", "porter", "handler", "worker"}

// A Person is someone who did the work an event records.
type Person struct {
	Role     string `json:"role"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

// An AnnexRef is what a record says of its annex.
type AnnexRef struct {
	SHA256 string `json:"sha256"`
	// Roles are the roles of the annex's people, sorted, each once: the
	// fact from which replay knows that a record had people to test
	// (people_findings.go) without reading the erasable annex.
	Roles []string `json:"roles,omitempty"`
}

// An Annex is the personal data of one record, kept off the log.
type Annex struct {
	Salt   string   `json:"salt"` // hex of 32 random bytes
	Note   string   `json:"note,omitempty"`
	People []Person `json:"people,omitempty"`
}

// annexCanonical is the annex's canonical bytes: compact JSON of
// {"note","people"} in that order, empty ones left out, without HTML
// escaping, people's fields in the order role, name, id_number, phone.
func annexCanonical(note string, people []Person) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Note   string   `json:"note,omitempty"`
		People []Person `json:"people,omitempty"`
	}{note, people})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Commitment returns hex SHA-256(salt || canonical bytes), or "" if the
// salt is not hex.
func (a *Annex) Commitment() string {
	salt, err := hex.DecodeString(a.Salt)
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write(salt)
	h.Write(annexCanonical(a.Note, a.People))
	return hex.EncodeToString(h.Sum(nil))
}

// peopleKinds are the kinds that take a people list.
var peopleKinds = []EventKind{Tested, Shipped, Received, SiteTested, Disinfected, WorkerTestsScheduled}

// checkPeople validates an event's people list.
func checkPeople(fe *fault.Fields, people []Person) {
	if !input.List(fe, "people", people, maxPeople, "", func(p Person) string { return p.Role + " " + p.Name + " " + p.IDNumber }) {
		return
	}
	for i, p := range people {
		f := indexField("people", i)
		checkOneOf(fe, f+".role", p.Role, PersonRoles, true)
		checkTextShape(fe, f+".name", p.Name, true, 50)
		if p.IDNumber != "" && !ident.ValidResidentID(p.IDNumber) {
			fe.Add(f+".id_number", "is not a resident ID number (18 characters, GB 11643 check character)")
		}
		if p.Phone != "" && !ident.ValidMobile(normalPhone(p.Phone)) {
			fe.Add(f+".phone", "is not a mainland mobile number (11 digits, 1[3-9]...)")
		}
	}
}

// checkNote validates a note: free text that goes into the annex, where
// personal data is allowed.
func checkNote(fe *fault.Fields, note string) { checkTextShape(fe, "note", note, false, 1000) }

func normalPhone(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+86")
	return strings.NewReplacer(" ", "", "-", "").Replace(s)
}

// takeAnnex moves an events-door submission's note and people into an
// annex and puts the commitment in their place. Registry records keep their
// note in the log, which every key reads: personal data is refused there.
func takeAnnex(ev *Event) (*Annex, error) {
	if ev.Kind.IsRegistry() {
		var fe fault.Fields
		input.NoPersonalData(&fe, "note", ev.Note)
		return nil, fe.Err()
	}
	if ev.Annex != nil {
		return nil, fault.InvalidField("annex", "is set by the ledger: send note and people")
	}
	if ev.Note == "" && len(ev.People) == 0 {
		return nil, nil
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	a := &Annex{Salt: hex.EncodeToString(salt), Note: ev.Note, People: slices.Clone(ev.People)}
	for i := range a.People {
		a.People[i].IDNumber = strings.ToUpper(a.People[i].IDNumber)
		a.People[i].Phone = normalPhone(a.People[i].Phone)
	}
	ev.Note, ev.People = "", nil
	ev.Annex = &AnnexRef{SHA256: a.Commitment()}
	for _, p := range a.People {
		ev.Annex.Roles = append(ev.Annex.Roles, p.Role)
	}
	slices.Sort(ev.Annex.Roles)
	ev.Annex.Roles = slices.Compact(ev.Annex.Roles)
	return a, nil
}

// writeAux writes, in the sequencer's transaction, what a record keeps
// outside the log: the submission's annex, or the deletion of the annex an
// erasure record names.
func (s *submission) writeAux(tx Tx, rec *Record) error {
	if s.annex != nil && rec.Annex != nil {
		data, err := json.Marshal(s.annex)
		if err != nil {
			return err
		}
		if err := tx.Set(annexKey(rec.Seq), data); err != nil {
			return err
		}
		if err := writePeopleIndex(tx, rec, s.annex); err != nil { // people.go
			return err
		}
	}
	if rec.Kind == AnnexErased {
		if err := tx.Delete(peopleEvKey(rec.Erases)); err != nil {
			return err
		}
		return tx.Delete(annexKey(rec.Erases))
	}
	return nil
}

func checkAnnexErased(ev *Event, fe *fault.Fields) {
	if ev.Erases < 0 {
		fe.Add("erases", "must be a record seq")
	}
	checkText(fe, "reason", ev.Reason, true, 500)
}

func prepareAnnexErased(st *state, p Principal, rec *Record) error {
	if p.Role != RoleAdmin {
		return fault.Errorf(fault.Forbidden, "only an admin key erases an annex")
	}
	if rec.Erases >= rec.Seq {
		return fault.Errorf(fault.NotFound, "no record %d", rec.Erases)
	}
	data, err := vlog.ReadRecord(st.tx, rec.Erases)
	if err != nil {
		return err
	}
	target, err := DecodeRecord(data)
	if err != nil {
		return err
	}
	if target.Annex == nil {
		return fault.Errorf(fault.NotFound, "record %d has no annex", rec.Erases)
	}
	if v, err := st.get(tabAnnexErased.seqKey(rec.Erases)); err == nil {
		return &fault.Error{Kind: fault.Conflict, Msg: "the annex of record " + itoa64(rec.Erases) + " was already erased by record " + itoa64(int64(beUint(v)))}
	}
	return nil
}

func applyAnnexErased(st *state, rec *Record, _ *effects) error {
	return st.tx.Set(tabAnnexErased.seqKey(rec.Erases), be64(rec.Seq))
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

// mayReadAnnex reports whether p may open rec's annex: the org that
// recorded it, regulators who may read the record (its region), auditors.
// Admins erase annexes but do not read them.
func mayReadAnnex(st *state, p Principal, rec *Record) (bool, error) {
	switch {
	case p.Role == RoleAuditor:
		return true, nil
	case p.Role == RoleRegulator:
		return st.recordVisible(p, rec)
	case p.Role == RoleAdmin:
		return false, nil
	}
	return p.Org != "" && rec.Actor.Org == p.Org, nil
}

// An AnnexRead is one entry of the annex access log.
type AnnexRead struct {
	At   time.Time `json:"at"`
	Seq  int64     `json:"seq"` // the record whose annex was read
	Key  string    `json:"key"`
	Org  string    `json:"org"`
	Role string    `json:"role"`
}

// ReadAnnex returns record seq's annex if p may open it, after writing the
// read to the access log.
func (l *Ledger) ReadAnnex(ctx context.Context, p Principal, seq int64) (*Annex, error) {
	if seq < 0 || seq >= l.Size() {
		return nil, fault.Errorf(fault.NotFound, "no record %d", seq)
	}
	var a Annex
	err := l.view(ctx, func(st *state) error {
		rec, err := st.record(seq)
		if err != nil {
			return err
		}
		if ok, err := mayReadAnnex(st, p, rec); err != nil {
			return err
		} else if !ok {
			return fault.Errorf(fault.Forbidden, "this key may not open the annex of record %d (the recording org, regulators of its region and auditors may)", seq)
		}
		if rec.Annex == nil {
			return fault.Errorf(fault.NotFound, "record %d has no annex", seq)
		}
		if v, err := st.get(tabAnnexErased.seqKey(seq)); err == nil {
			return fault.Errorf(fault.NotFound, "the annex of record %d was erased by record %d", seq, beUint(v))
		}
		return st.getJSON(annexKey(seq), &a)
	})
	if err != nil {
		return nil, err
	}
	entry, _ := json.Marshal(AnnexRead{At: l.now().UTC(), Seq: seq, Key: p.Key, Org: p.Org, Role: p.Role})
	err = l.store.Update(ctx, func(tx Tx) error {
		next := int64(0)
		if err := tx.Scan(prefixAnnexRead, nil, true, func(k, _ []byte) error {
			next = int64(beUint(k[len(prefixAnnexRead):])) + 1
			return fault.ErrStop
		}); err != nil {
			return err
		}
		return tx.Set(annexReadKey(next), entry)
	})
	if err != nil {
		return nil, err // no read goes unlogged
	}
	return &a, nil
}

// AnnexReads lists the annex access log, oldest first, for an admin:
// every read, or those of record seq's annex when seq >= 0.
func (l *Ledger) AnnexReads(ctx context.Context, p Principal, seq int64) ([]AnnexRead, error) {
	if p.Role != RoleAdmin {
		return nil, fault.Errorf(fault.Forbidden, "only an admin key reads the annex access log")
	}
	out := []AnnexRead{}
	err := l.store.View(ctx, func(tx Tx) error {
		return tx.Scan(prefixAnnexRead, nil, false, func(_, v []byte) error {
			var r AnnexRead
			if err := json.Unmarshal(v, &r); err != nil {
				return fault.Wrap(fault.Tampered, "an annex access log entry does not decode", err)
			}
			if seq < 0 || r.Seq == seq {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// A Purger is a Store that can remove every stored version of a key from
// its files (badger keeps old versions until compaction). The key must be
// deleted already: PurgeKey may leave it present with an empty value.
type Purger interface {
	PurgeKey(key []byte) error
}

// EraseAnnex erases record seq's annex for an admin: an annex_erased record
// is appended, the annex and its salt are deleted in the same commit, and
// then purged from the store's files.
func (l *Ledger) EraseAnnex(ctx context.Context, p Principal, seq int64, reason string) (*Receipt, error) {
	if p.Role != RoleAdmin {
		return nil, fault.Errorf(fault.Forbidden, "only an admin key erases an annex")
	}
	r, err := l.Submit(ctx, p, Event{Kind: AnnexErased, Erases: seq, Reason: reason}, "")
	if err != nil {
		return nil, err
	}
	if pg, ok := l.store.(Purger); ok {
		err := pg.PurgeKey(annexKey(seq))
		if err == nil {
			err = pg.PurgeKey(peopleEvKey(seq))
		}
		if err != nil {
			return r, fault.Wrap(fault.Unavailable, "the annex is erased but not yet purged from the store's files", err)
		}
	}
	return r, nil
}

// An AnnexReport says what VerifyAnnexes found.
type AnnexReport struct {
	Annexes    int64   // records with an annex
	Erased     []int64 // records whose annex an erasure record erased
	Mismatched []int64 // records whose stored annex does not match the commitment
	Missing    []int64 // records whose annex is gone without an erasure record
}

// VerifyAnnexes checks every record's annex against its commitment,
// offline. Erased annexes are reported, not failed; a mismatched or
// missing one is a Tampered error after the whole report.
func VerifyAnnexes(ctx context.Context, store Store) (*AnnexReport, error) {
	rep := &AnnexReport{}
	err := store.View(ctx, func(tx Tx) error {
		size, err := vlog.TreeSize(tx)
		if err != nil {
			return err
		}
		erased := map[int64]bool{}
		var withAnnex []*Record
		if err := vlog.ScanRecords(tx, 0, func(seq int64, v []byte) error {
			if seq >= size {
				return fault.ErrStop
			}
			if !bytes.Contains(v, []byte(`"annex`)) {
				return nil
			}
			rec, err := DecodeRecord(v)
			if err != nil {
				return err
			}
			if rec.Kind == AnnexErased {
				erased[rec.Erases] = true
			}
			if rec.Annex != nil {
				withAnnex = append(withAnnex, rec)
			}
			return ctx.Err()
		}); err != nil {
			return err
		}
		for _, rec := range withAnnex {
			rep.Annexes++
			if erased[rec.Seq] {
				rep.Erased = append(rep.Erased, rec.Seq)
				continue
			}
			v, err := tx.Get(annexKey(rec.Seq))
			if fault.KindOf(err) == fault.NotFound {
				rep.Missing = append(rep.Missing, rec.Seq)
				continue
			} else if err != nil {
				return err
			}
			var a Annex
			if json.Unmarshal(v, &a) != nil || a.Commitment() != rec.Annex.SHA256 {
				rep.Mismatched = append(rep.Mismatched, rec.Seq)
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	if len(rep.Mismatched) > 0 || len(rep.Missing) > 0 {
		return rep, fault.Errorf(fault.Tampered, "annexes: %d do not match their commitment %v, %d are missing without an erasure %v",
			len(rep.Mismatched), rep.Mismatched, len(rep.Missing), rep.Missing)
	}
	return rep, nil
}
