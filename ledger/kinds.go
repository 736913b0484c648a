package ledger

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
)

// The kind table and what every kind shares. Each kind's rules live with
// its family (registry.go, goods.go, inspections.go, moves.go,
// regulator.go): check* functions validate fields without state; prepare*
// functions enforce the physical and authority invariants (a breach
// rejects the event and nothing is recorded); apply* functions change state
// as the record says and judge the policy rules (a breach is recorded and
// opens a finding).

// effects collects what applying a record did, for the receipt.
type effects struct {
	lot         *Lot // the lot the record is about
	findings    []Finding
	registered  any  // the org, site or key a registry record created
	keysChanged bool // an API key was written
}

// A Door is the way records of a kind come into the ledger.
type Door int

const (
	// DoorEvents: lot and site events, submitted to /v1/events (one or a
	// batch) by operators, labs and regulators.
	DoorEvents Door = iota + 1
	// DoorRegistry: orgs, sites and keys, submitted through the registry
	// endpoints by the admin.
	DoorRegistry
	// DoorSystem: written by the ledger itself, never by a client.
	DoorSystem
)

// A kindSpec is everything the ledger knows about one event kind: the door
// it comes through, its fields, its stateless field checks, its stateful
// preparation (authority and physical invariants, normalisation, ids) and
// how it changes derived state.
type kindSpec struct {
	door Door
	// fields are the JSON fields a kind of the events door takes besides
	// kind, at, note and attachments.
	fields []string
	// check validates fields that need no state. It must not change ev.
	check func(ev *Event, fe *fault.Fields)
	// prepare validates rec's event against current state for principal p
	// and normalises it (resolving references, assigning ids, filling
	// created_lots). Nothing is written: an error rejects only this
	// submission. rec.Seq, ID, RecordedAt, Actor and At are set.
	prepare func(st *state, p Principal, rec *Record) error
	// apply changes derived state as rec says. It sees only the record and
	// the state, so that replaying the log rebuilds the same state.
	apply func(st *state, rec *Record, fx *effects) error
}

// kinds is the kind table: every kind of record, the door it comes through
// and where its rules are (registry.go, goods.go, inspections.go, moves.go,
// regulator.go).
var kinds = map[EventKind]kindSpec{
	OrgRegistered:  {door: DoorRegistry, check: checkOrgRegistered, prepare: prepareOrgRegistered, apply: applyOrgRegistered},
	SiteRegistered: {door: DoorRegistry, check: checkSiteRegistered, prepare: prepareSiteRegistered, apply: applySiteRegistered},
	KeyCreated:     {door: DoorRegistry, check: checkKeyCreated, prepare: prepareKeyCreated, apply: applyKeyCreated},
	KeyRevoked:     {door: DoorRegistry, check: checkKeyRevoked, prepare: prepareKeyRevoked, apply: applyKeyRevoked},
	PolicySet:      {door: DoorRegistry, check: checkPolicySet, prepare: preparePolicySet, apply: applyPolicySet},
	AnnexErased:    {door: DoorRegistry, check: checkAnnexErased, prepare: prepareAnnexErased, apply: applyAnnexErased}, // annex.go

	Declared:            lotKind(checkDeclared, prepareDeclared, applyDeclared, "site", "product", "declaration_no", "containers", "quantity", "gtin", "batch"),
	DocumentsAdded:      lotKind(checkDocumentsAdded, prepareNothing, applyNothing, "lot"),
	Transformed:         lotKind(checkTransformed, prepareTransformed, applyTransformed, "site", "inputs", "outputs", "added_grams"),
	Tested:              lotKind(checkTested, prepareTested, applyTested, "lot", "samples", "scope", "result", "retest_of", "people"),
	Disinfected:         lotKind(checkDisinfected, prepareNothing, applyDisinfected, "lot", "scope", "agent", "people"),
	Released:            lotKind(checkReleased, prepareReleased, applyReleased, "lot"),
	TemperatureRecorded: lotKind(checkTemperatureRecorded, prepareNothing, applyTemperatureRecorded, "lot", "min_c", "max_c", "readings"),
	SiteTested:          lotKind(checkSiteTested, prepareSiteTested, applySiteTested, "site", "scope", "samples", "positives", "window_days", "people"),
	SiteDisinfected:     lotKind(checkSiteDisinfected, prepareSiteDisinfected, applySiteDisinfected, "site", "scope", "agent"),
	Shipped:             lotKind(checkShipped, prepareShipped, applyShipped, "lot", "to_org", "to_site", "quantity", "vehicle", "temperature_c", "deadline", "people"),
	Received:            lotKind(checkReceived, prepareReceived, applyReceived, "lot", "site", "quantity", "temperature_c", "people"),
	Sold:                lotKind(checkSold, prepareTakeOut, applyTakeOut(func(q *LotQuantity) *int64 { return &q.Sold }, true), "lot", "quantity", "channel", "buyer"),
	Consumed:            lotKind(checkConsumed, prepareTakeOut, applyTakeOut(func(q *LotQuantity) *int64 { return &q.Consumed }, true), "lot", "quantity"),
	Destroyed:           lotKind(checkDestroyed, prepareTakeOut, applyDestroyed, "lot", "quantity", "method", "order"),
	Sealed:              lotKind(checkReason, prepareSealed, applySealed, "lot", "reason"),
	Unsealed:            lotKind(checkReason, prepareUnsealed, applyUnsealed, "lot", "reason"),
	FindingClosed:       lotKind(checkFindingClosed, prepareFindingClosed, applyFindingClosed, "finding", "reason"),
	FindingAcknowledged: lotKind(checkFindingAcknowledged, prepareFindingAcknowledged, applyFindingAcknowledged, "finding", "reason"),
	FindingAssigned:     lotKind(checkFindingAssigned, prepareFindingAssigned, applyFindingAssigned, "finding", "region", "reason"), // worklist.go
	NoticeIssued:        lotKind(checkNoticeIssued, prepareNoticeIssued, applyNoticeIssued, "finding", "deadline"),                  // worklist.go
	Voided:              {door: DoorEvents, fields: []string{"voids", "reason"}, check: lotCheck(checkVoided, "voids", "reason"), prepare: prepareLot(prepareVoided), apply: applyVoided},
	EPCISCaptured:       {door: DoorEvents, fields: []string{"epcis"}, check: checkEPCISCaptured, prepare: prepareEPCISCaptured, apply: applyEPCISCaptured}, // epcis_capture.go
	TransitOverdue:      {door: DoorSystem, check: func(*Event, *fault.Fields) {}, prepare: prepareSystemOnly, apply: applyLot(applyTransitOverdue)},
	// Scheduled worker tests (worker_tests.go).
	WorkerTestsScheduled: lotKind(checkWorkerTestsScheduled, prepareWorkerTestsScheduled, applyWorkerTestsScheduled, "site", "people"),
	WorkerTestOverdue:    {door: DoorSystem, check: checkWorkerTestOverdue, prepare: prepareSystemOnly, apply: applyLot(applyWorkerTestOverdue)},
	FindingsOverdue:      {door: DoorSystem, check: func(*Event, *fault.Fields) {}, prepare: prepareSystemOnly, apply: applyLot(applyFindingsOverdue)}, // sweep.go
}

// lotKind assembles the spec of a lot or site event kind.
func lotKind(check func(*Event, *fault.Fields), prepare func(*state, Principal, *Record, *Lot) error, apply func(*lotTx, *Lot, *effects) error, fields ...string) kindSpec {
	return kindSpec{door: DoorEvents, fields: fields, check: lotCheck(check, fields...), prepare: prepareLot(prepare), apply: applyLot(apply)}
}

// Door returns the door records of kind k come through; 0 for an unknown
// kind.
func (k EventKind) Door() Door { return kinds[k].door }

// IsSystem reports whether k is written only by the ledger itself.
func (k EventKind) IsSystem() bool { return k.Door() == DoorSystem }

// IsRegistry reports whether k is a registry kind (orgs, sites, keys).
func (k EventKind) IsRegistry() bool { return k.Door() == DoorRegistry }

// An entrance is a place where a kind is checked against its door.
type entrance int

const (
	atEventsEndpoint entrance = iota // /v1/events and its batch (api)
	atSubmit                         // Ledger.Submit, CreateKey, Bootstrap
	atBatch                          // Ledger.SubmitBatch
	atEventFilter                    // the kind filter of ListEvents
)

// checkDoor is the one place where the kind table's doors are enforced: it
// returns an Invalid error when kind k may not come in at e.
func checkDoor(k EventKind, e entrance) error {
	d := k.Door()
	switch e {
	case atEventsEndpoint:
		if d == DoorRegistry || d == DoorSystem {
			return &fault.Error{Kind: fault.Invalid, Msg: "not an event kind",
				Fields: []fault.FieldError{{Field: "kind", Message: string(k) + " is not recorded through /v1/events"}}}
		}
	case atSubmit:
		if d == 0 || d == DoorSystem {
			return fault.InvalidField("kind", "unknown kind %q", k)
		}
	case atBatch:
		if d == DoorRegistry {
			return fault.InvalidField("kind", "%s is not recorded through a batch", k)
		}
	case atEventFilter:
		if d == 0 || d == DoorRegistry {
			return fault.InvalidField("kind", "unknown event kind %q", k)
		}
	}
	return nil
}

// CheckEventKind returns an Invalid error when kind k is a registry or
// system kind, which /v1/events does not take. Unknown kinds pass: the
// ledger rejects them when the event is submitted.
func CheckEventKind(k EventKind) error { return checkDoor(k, atEventsEndpoint) }

// applyRecord changes derived state as rec says; lots is the sequencer's
// lot cache (nil elsewhere).
func applyRecord(tx Tx, lots *lotCache, rec *Record) (*effects, error) {
	spec, ok := kinds[rec.Kind]
	if !ok {
		return nil, fault.Errorf(fault.Tampered, "record %d has unknown kind %q", rec.Seq, rec.Kind)
	}
	fx := &effects{}
	st := &state{tx: tx, lots: lots}
	if err := spec.apply(st, rec, fx); err != nil {
		return nil, err
	}
	fx.keysChanged = st.keysChanged
	return fx, nil
}

// LotEventKinds lists the kinds a client may submit to /v1/events.
func LotEventKinds() []EventKind {
	var out []EventKind
	for k, spec := range kinds {
		if spec.door == DoorEvents {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// checkOnlyFields adds an error for every field ev sets that is not one of
// fields (its kind's).
func checkOnlyFields(ev *Event, fields []string, fe *fault.Fields) {
	v := reflect.ValueOf(ev).Elem()
	for i, name := range eventFieldNames {
		switch name {
		case "kind", "at", "note", "attachments":
			continue
		}
		if !v.Field(i).IsZero() && !slices.Contains(fields, name) {
			fe.Add(name, "is not a field of a %s event", ev.Kind)
		}
	}
}

// eventFieldNames are the JSON names of Event's fields, by field index.
var eventFieldNames = func() []string {
	t := reflect.TypeFor[Event]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return names
}()

// lotCheck wraps a kind's own field checks with the checks every lot event
// shares; fields are the kind's fields.
func lotCheck(own func(ev *Event, fe *fault.Fields), fields ...string) func(ev *Event, fe *fault.Fields) {
	return func(ev *Event, fe *fault.Fields) {
		checkOnlyFields(ev, fields, fe)
		checkNote(fe, ev.Note) // annex.go: the note goes into the annex
		checkPeople(fe, ev.People)
		checkAttachmentRefs(fe, ev.Attachments)
		if slices.Contains(fields, "lot") && ev.Lot == "" {
			fe.Add("lot", "is required (a trace code or lot id)")
		}
		if own != nil {
			own(ev, fe)
		}
	}
}

// prepareLot wraps a kind's prepare with what every lot and site event
// shares, in the order that reveals nothing to a key that may not act: the
// role gate, the lot reference resolved to its id, the key's authority over
// that lot (authority.go), then the lot's state (not finished, not older
// than the event) and the documents the record cites (papers.go).
func prepareLot(own func(st *state, p Principal, rec *Record, l *Lot) error) func(st *state, p Principal, rec *Record) error {
	return func(st *state, p Principal, rec *Record) error {
		if err := gate(rec.Kind, p); err != nil {
			return err
		}
		if err := notTooOld(st, rec); err != nil {
			return err
		}
		var l *Lot
		if rec.Lot != "" {
			var err error
			if l, err = st.resolveLot(rec.Lot); err != nil {
				if fault.KindOf(err) == fault.NotFound {
					return &fault.Error{Kind: fault.Rejected, Msg: err.(*fault.Error).Msg, Fields: []fault.FieldError{{Field: "lot", Message: "no such lot"}}}
				}
				return err
			}
			rec.Lot = l.ID
			s, regions, err := lotStanding(st, p, l)
			if err != nil {
				return err
			}
			if err := authorize(rec.Kind, p, s, lotWhat(l), regions); err != nil {
				return err
			}
			if l.terminal() {
				return fault.Rejectf("lot", "lot %s is finished: every gram was sold, consumed, destroyed, returned, split off or lost", l.TraceCode)
			}
			if rec.At.Before(l.CreatedAt) {
				return fault.Rejectf("at", "is before lot %s was created (%s)", l.TraceCode, l.CreatedAt.Format(time.RFC3339))
			}
			if err := inTime(rec, l); err != nil {
				return err
			}
		}
		if err := own(st, p, rec, l); err != nil {
			return err
		}
		return checkDocuments(st, p, rec)
	}
}

// prepareNothing is the prepare of kinds whose authority (authority.go)
// and shared checks (prepareLot) are all they need.
func prepareNothing(*state, Principal, *Record, *Lot) error { return nil }

// applyNothing is the apply of kinds whose shared effects (applyLot: the
// record's documents and indexes) are all they do.
func applyNothing(*lotTx, *Lot, *effects) error { return nil }

// applyLot wraps a kind's apply with what every lot and site event shares:
// the record indexes, the attachments' lot index, the documents and the
// orgs of the lot, the closed flags, and writing the changed lots.
func applyLot(own func(lt *lotTx, l *Lot, fx *effects) error) func(st *state, rec *Record, fx *effects) error {
	return func(st *state, rec *Record, fx *effects) error {
		lt := newLotTx(st, rec)
		var l *Lot
		if rec.Lot != "" {
			var err error
			if l, err = lt.get(rec.Lot); err != nil {
				return err
			}
			l.addOrg(rec.Actor.Org)
			l.addDocuments(rec.Attachments)
			for _, a := range rec.Attachments {
				if err := st.tx.Set(idxAttachmentLot.key(a.SHA256, []byte(l.ID)), nil); err != nil {
					return err
				}
			}
			fx.lot = l
		}
		if err := lt.markPeople(l); err != nil { // people_findings.go
			return err
		}
		if err := own(lt, l, fx); err != nil {
			return err
		}
		if err := lt.judgeClearance(fx.lot); err != nil {
			return err
		}
		return lt.finish()
	}
}

// indexRecord adds the record-level index entries of a lot or site event.
func indexRecord(st *state, rec *Record) error {
	seq := be64(rec.Seq)
	ks := [][]byte{
		idxEventKind.key(string(rec.Kind), seq),
		idxEventAt.key("", append(be64(rec.At.UnixMicro()), seq...)),
	}
	if rec.Actor.Org != "" {
		ks = append(ks, idxEventOrg.key(rec.Actor.Org, seq))
	}
	for _, s := range []string{rec.Site, rec.ToSite} {
		if s != "" {
			ks = append(ks, idxEventSite.key(s, seq))
		}
	}
	for _, k := range ks {
		if err := st.tx.Set(k, nil); err != nil {
			return err
		}
	}
	return nil
}

func forbid(format string, args ...any) error { return fault.Errorf(fault.Forbidden, format, args...) }

// requireSite returns the site id names, rejecting an unknown one.
func requireSite(st *state, field, id string) (*Site, error) {
	s, err := st.site(id)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Rejectf(field, "site %s is not registered", id)
	}
	return s, err
}

func requireOrg(st *state, field, uscc string) (*Org, error) {
	o, err := st.org(uscc)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Rejectf(field, "org %s is not registered", uscc)
	}
	return o, err
}

func requireOnHand(l *Lot, field string, grams int64) error {
	if grams > l.Quantity.OnHand {
		return fault.Rejectf(field, "lot %s has %d g on hand, not %d g", l.TraceCode, l.Quantity.OnHand, grams)
	}
	return nil
}

// marketSiteTypes are the places from which goods reach consumers.
var marketSiteTypes = []string{"market", "store", "restaurant", "canteen"}

// arrivalTestSiteTypes are the sites where cold-chain goods must be tested
// after they arrive, before they leave again.
var arrivalTestSiteTypes = []string{"cold_store", "supervision_warehouse", "plant"}
