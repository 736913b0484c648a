package ledger

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/kv"
)

// People in contact tracing without exposing them. A person on an event is
// linked across events by a keyed pseudonym: HMAC-SHA256 of the normalised
// resident ID number (or, without one, the mobile number) under a server
// secret kept in the store (a/people-secret), never by the number itself.
// The sequencer writes, beside each annex, the pseudonyms and roles of its
// people (a/people-ev/<seq>); a recall lists the pseudonymous people who
// handled the family's goods, with their roles and events, and a regulator
// with the right opens the annexes to reach them. Erasing an annex erases
// this entry too.

// A peopleEntry is what the pseudonym index keeps of one record's people.
type peopleEntry struct {
	Kind   EventKind    `json:"kind"`
	At     time.Time    `json:"at"`
	Site   string       `json:"site,omitempty"`
	People []pseudoRole `json:"people"`
	// Region is where the work was done (entries written before it was
	// kept have none).
	Region string `json:"region,omitempty"`
}

type pseudoRole struct {
	Pseudonym string `json:"pseudonym"`
	Role      string `json:"role"`
}

// peopleSecret returns the server secret, creating it on first use.
func peopleSecret(tx Tx) ([]byte, error) {
	v, err := tx.Get(peopleSecretKey)
	if err == nil {
		return v, nil
	}
	if fault.KindOf(err) != fault.NotFound {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return secret, tx.Set(peopleSecretKey, secret)
}

// pseudonym returns a person's keyed pseudonym, or "" when nothing links
// the person (a name alone does not).
func pseudonym(secret []byte, p Person) string {
	var id string
	switch {
	case p.IDNumber != "":
		id = "id:" + strings.ToUpper(strings.TrimSpace(p.IDNumber))
	case p.Phone != "":
		id = "tel:" + normalPhone(p.Phone)
	default:
		return ""
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id))
	return "p_" + hex.EncodeToString(m.Sum(nil)[:12])
}

// writePeopleIndex writes the pseudonyms of rec's people.
func writePeopleIndex(tx Tx, rec *Record, a *Annex) error {
	if len(a.People) == 0 {
		return nil
	}
	secret, err := peopleSecret(tx)
	if err != nil {
		return err
	}
	e := peopleEntry{Kind: rec.Kind, At: rec.At, Site: rec.Site}
	if e.Region, err = workRegion(&state{tx: tx}, rec); err != nil {
		return err
	}
	for _, p := range a.People {
		if ps := pseudonym(secret, p); ps != "" {
			e.People = append(e.People, pseudoRole{Pseudonym: ps, Role: p.Role})
		}
	}
	if len(e.People) == 0 {
		return nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return tx.Set(peopleEvKey(rec.Seq), data)
}

// A RecallPerson is a pseudonymous person who handled a recalled family's
// goods or worked at its sites while they were there.
type RecallPerson struct {
	Pseudonym string              `json:"pseudonym"`
	Roles     []string            `json:"roles"`
	Events    []RecallPersonEvent `json:"events"`
}

// A RecallPersonEvent is one event a person was on.
type RecallPersonEvent struct {
	Seq  int64     `json:"seq"`
	Kind EventKind `json:"kind"`
	Role string    `json:"role"`
	At   time.Time `json:"at"`
	Lot  string    `json:"lot,omitempty"`
	Site string    `json:"site,omitempty"`
}

// addPeople adds the people of entry e (record seq, about lot) to byPs.
func addPeople(byPs map[string]*RecallPerson, seq int64, e *peopleEntry, lot string) {
	for _, p := range e.People {
		rp := byPs[p.Pseudonym]
		if rp == nil {
			rp = &RecallPerson{Pseudonym: p.Pseudonym, Roles: []string{}, Events: []RecallPersonEvent{}}
			byPs[p.Pseudonym] = rp
		}
		if !slices.Contains(rp.Roles, p.Role) {
			rp.Roles = append(rp.Roles, p.Role)
		}
		rp.Events = append(rp.Events, RecallPersonEvent{Seq: seq, Kind: e.Kind, Role: p.Role, At: e.At, Lot: lot, Site: e.Site})
	}
}

// sortedPeople returns byPs's people in order of their first event, each
// person's events in record order (nil when there is nobody).
func sortedPeople(byPs map[string]*RecallPerson) []RecallPerson {
	var out []RecallPerson
	for _, rp := range byPs {
		slices.SortFunc(rp.Events, func(a, b RecallPersonEvent) int { return cmp.Compare(a.Seq, b.Seq) })
		out = append(out, *rp)
	}
	slices.SortFunc(out, func(a, b RecallPerson) int {
		return cmp.Or(cmp.Compare(a.Events[0].Seq, b.Events[0].Seq), strings.Compare(a.Pseudonym, b.Pseudonym))
	})
	return out
}

// peopleSpan returns the first and last seq with a people index entry
// (hi < lo: none).
func (st *state) peopleSpan() (lo, hi int64, err error) {
	lo, hi = 1, 0
	for _, reverse := range []bool{false, true} {
		err = st.tx.Scan(prefixPeopleEv, nil, reverse, func(k, _ []byte) error {
			seq := int64(beUint(k[len(prefixPeopleEv):]))
			if reverse {
				hi = seq
			} else {
				lo = seq
			}
			return fault.ErrStop
		})
		if err != nil {
			return 0, 0, err
		}
	}
	return lo, hi, nil
}

// seqsIn returns the seqs from lo to hi of value's entries in x, an index
// of record seqs (lot-ev, ev-site).
func (st *state) seqsIn(x index, value string, lo, hi int64) ([]int64, error) {
	var seqs []int64
	p := x.prefix(value)
	err := st.tx.Scan(p, key(p, be64(lo)), false, func(k, _ []byte) error {
		seq := int64(beUint(k[len(p):]))
		if seq > hi {
			return fault.ErrStop
		}
		seqs = append(seqs, seq)
		return nil
	})
	return seqs, err
}

// peopleEntries returns the people index entries of records seqs (in any
// order, repeats allowed) by seq, read as one merged pass over the index;
// records without one (none, or erased) are left out.
func (st *state) peopleEntries(seqs []int64) (map[int64]*peopleEntry, error) {
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	keys := make([][]byte, len(seqs))
	for i, seq := range seqs {
		keys[i] = peopleEvKey(seq)
	}
	out := map[int64]*peopleEntry{}
	err := kv.GetSorted(st.tx, prefixPeopleEv, keys, 16, func(i int, v []byte) error {
		var e peopleEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fault.Wrap(fault.Tampered, "a people index entry does not decode", err)
		}
		out[seqs[i]] = &e
		return nil
	})
	return out, err
}

// recallPeople lists the people on the events of the recall's (visible)
// lots and on the site events at its sites inside the family's stay, as p
// may see them: auditors and admins all of them, a regulator those on
// events done in its regions, any other key none (the people of a family
// are for the regions that must test them, not for the trade).
func (st *state) recallPeople(p Principal, out *Recall) error {
	out.People = nil // left out of the answer when there is nobody
	if !p.readsAll() && p.Role != RoleRegulator {
		return nil
	}
	byPs := map[string]*RecallPerson{}
	mayAdd := func(seq int64, e *peopleEntry, lotID, lot, lotRegion string) error {
		if !p.readsAll() {
			r, err := st.personEventRegion(lotID, seq, e, lotRegion)
			if err != nil || !covers(p.Regions, r) {
				return err
			}
		}
		addPeople(byPs, seq, e, lot)
		return nil
	}
	// The seqs of the family's lot events, and of the site events (index
	// ev-kind: far fewer than the events at a busy site, index ev-site),
	// whose people entries are then read in one ordered pass. Only records
	// inside the people index's span can have an entry (none at all in a
	// ledger that never recorded people).
	lo, hi, err := st.peopleSpan()
	if err != nil || hi < lo {
		return err
	}
	lotSeqs := make([][]int64, len(out.Lots))
	var seqs []int64
	for i, l := range out.Lots {
		if lotSeqs[i], err = st.seqsIn(idxLotEvents, l.ID, lo, hi); err != nil {
			return err
		}
		seqs = append(seqs, lotSeqs[i]...)
	}
	var siteSeqs []int64
	for _, k := range []EventKind{SiteTested, SiteDisinfected} {
		if len(out.Sites) == 0 {
			break
		}
		at, err := st.seqsIn(idxEventKind, string(k), lo, hi)
		if err != nil {
			return err
		}
		siteSeqs = append(siteSeqs, at...)
	}
	seqs = append(seqs, siteSeqs...)
	entries, err := st.peopleEntries(seqs)
	if err != nil {
		return err
	}
	for i, l := range out.Lots {
		for _, seq := range lotSeqs[i] {
			if e := entries[seq]; e != nil {
				if err := mayAdd(seq, e, l.ID, l.TraceCode, l.Region); err != nil {
					return err
				}
			}
		}
	}
	// Site events (site_tested, site_disinfected) at the family's sites
	// while its goods were there.
	slices.Sort(siteSeqs)
	for _, seq := range siteSeqs {
		e := entries[seq]
		if e == nil || (e.Kind != SiteTested && e.Kind != SiteDisinfected) {
			continue
		}
		for _, s := range out.Sites {
			if s.ID == e.Site && !e.At.Before(s.From) && (s.To == nil || !e.At.After(*s.To)) {
				if err := mayAdd(seq, e, "", "", s.Region); err != nil {
					return err
				}
				break
			}
		}
	}
	out.People = sortedPeople(byPs)
	return nil
}

// workRegion returns the region of the site where the work rec records
// was done, before rec is applied: its own site, else where its lot is (or
// left from).
func workRegion(st *state, rec *Record) (string, error) {
	site := rec.Site
	if site == "" && rec.Lot != "" {
		l, err := st.lot(rec.Lot)
		if err != nil {
			return "", err
		}
		site = l.Site
		if site == "" && l.Transit != nil {
			return l.Transit.FromRegion, nil
		}
		if site == "" {
			return l.Region, nil
		}
	}
	if site == "" {
		return "", nil
	}
	s, err := st.site(site)
	if err != nil {
		return "", err
	}
	return s.Region, nil
}

// personEventRegion returns the region where the work of record seq was
// done: as the people index kept it, else from the record's people mark
// (people_findings.go), else its site, else fallback (the lot's region
// now).
func (st *state) personEventRegion(lotID string, seq int64, e *peopleEntry, fallback string) (string, error) {
	if e.Region != "" {
		return e.Region, nil
	}
	if lotID != "" {
		var m peopleMark
		err := st.getJSON(idxPeopleLot.key(lotID, be64(seq)), &m)
		if err == nil && m.Region != "" {
			return m.Region, nil
		} else if err != nil && fault.KindOf(err) != fault.NotFound {
			return "", err
		}
	}
	if e.Site != "" {
		s, err := st.site(e.Site)
		if err == nil {
			return s.Region, nil
		} else if fault.KindOf(err) != fault.NotFound {
			return "", err
		}
	}
	return fallback, nil
}
