package ledger

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// EPCIS 2.0 query and capture jobs: the captured events p may read, in
// record order, and the reports of capture jobs.

// A CapturedEvent is a captured EPCIS event as a query answers it.
type CapturedEvent struct {
	Seq        int64
	RecordedAt time.Time
	Org        string
	EPCIS      *EPCISEvent
}

// Answered returns the event as the repository answers it: with its
// eventID (the event hash when it was sent without one) and its recordTime
// (when the ledger recorded it), which the standard has the repository add.
func (ce *CapturedEvent) Answered() (epcis.Event, error) {
	e, err := ce.EPCIS.Parse()
	if err != nil {
		return epcis.Event{}, fault.Wrap(fault.Tampered, "a captured event does not decode", err)
	}
	if e.ID() == "" {
		e = e.With(epcis.Field("eventID", ce.EPCIS.ID))
	}
	return e.With(epcis.Field("recordTime", ce.RecordedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"))), nil
}

// maxEPCISScan bounds the captured events one page reads; a page that
// reaches it ends early with a cursor to go on from.
const maxEPCISScan = 200_000

// EPCISEvents calls match on the captured events after record seq after
// that p may read, in record order, and returns up to limit of those it
// accepts; next is the seq to go on after, or -1 when there are no more.
func (l *Ledger) EPCISEvents(ctx context.Context, p Principal, after int64, limit int, match func(*CapturedEvent) (bool, error)) (out []*CapturedEvent, next int64, err error) {
	next = -1
	prefix := idxEventKind.prefix(string(EPCISCaptured))
	err = l.view(ctx, func(st *state) error {
		scanned := 0
		return st.tx.Scan(prefix, append(slices.Clone(prefix), be64(after+1)...), false, func(k, _ []byte) error {
			seq := int64(beUint(k[len(prefix):]))
			if scanned++; scanned > maxEPCISScan {
				next = seq - 1
				return fault.ErrStop
			}
			ce, ok, err := capturedEvent(st, p, seq)
			if err != nil || !ok {
				return err
			}
			if ok, err := match(ce); err != nil || !ok {
				return err
			}
			if len(out) == limit {
				next = out[len(out)-1].Seq
				return fault.ErrStop
			}
			out = append(out, ce)
			return nil
		})
	})
	return out, next, err
}

// capturedEvent reads the captured event of record seq, if p may read it.
func capturedEvent(st *state, p Principal, seq int64) (*CapturedEvent, bool, error) {
	rec, err := capturedRecord(st, seq)
	if err != nil {
		return nil, false, err
	}
	if ok, err := st.recordVisible(p, rec); err != nil || !ok {
		return nil, false, err
	}
	return newCapturedEvent(rec), true, nil
}

// capturedRecord reads record seq, an epcis_captured record.
func capturedRecord(st *state, seq int64) (*Record, error) {
	data, err := vlog.ReadRecord(st.tx, seq)
	if err != nil {
		return nil, err
	}
	rec, err := DecodeRecord(data)
	if err != nil {
		return nil, err
	}
	if rec.Kind != EPCISCaptured || rec.EPCIS == nil {
		return nil, fault.Errorf(fault.Tampered, "record %d is indexed as an EPCIS event but is not one", seq)
	}
	return rec, nil
}

func newCapturedEvent(rec *Record) *CapturedEvent {
	return &CapturedEvent{Seq: rec.Seq, RecordedAt: rec.RecordedAt, Org: rec.Actor.Org, EPCIS: rec.EPCIS}
}

// EPCISEvent returns the captured events whose eventID (or event hash) is
// id and that p may read, in record order: the event and, when an error
// was declared about it, the declaration (the standard's correction is the
// event sent again with errorDeclaration), as the query with EQ_eventID
// answers them. NotFound when there is none, so that an unreadable event is
// not told apart from one never captured.
func (l *Ledger) EPCISEvent(ctx context.Context, p Principal, id string) (out []*CapturedEvent, err error) {
	err = l.view(ctx, func(st *state) error {
		for _, k := range [][]byte{epcisIDKey(id), tabEPCISDeclared.key(id)} {
			v, err := st.get(k)
			if fault.KindOf(err) == fault.NotFound {
				continue
			} else if err != nil {
				return err
			}
			ce, ok, err := capturedEvent(st, p, int64(beUint(v)))
			if err != nil {
				return err
			}
			if ok {
				out = append(out, ce)
			}
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fault.Errorf(fault.NotFound, "no event %s that this key may read", id)
	}
	return out, err
}

// Capture jobs: documents are captured before the job is answered (202),
// so a stored job is finished; its report is kept outside the log
// (captureJobKey) and read by the org that sent it.
type storedJob struct {
	Org    string          `json:"org"`
	Key    string          `json:"key"`
	Report json.RawMessage `json:"report"`
}

// PutCaptureJob stores the report of a finished capture job.
func (l *Ledger) PutCaptureJob(ctx context.Context, p Principal, id string, report json.RawMessage) error {
	data, err := json.Marshal(storedJob{Org: p.Org, Key: p.Key, Report: report})
	if err != nil {
		return err
	}
	return l.store.Update(ctx, func(tx Tx) error { return tx.Set(captureJobKey(id), data) })
}

// CaptureJobReport returns the report of capture job id, if p's org sent
// it (or p reads everything).
func (l *Ledger) CaptureJobReport(ctx context.Context, p Principal, id string) (json.RawMessage, error) {
	var j storedJob
	err := l.store.View(ctx, func(tx Tx) error {
		v, err := tx.Get(captureJobKey(id))
		if err != nil {
			return err
		}
		return json.Unmarshal(v, &j)
	})
	if err == nil && !p.readsAll() && (p.Org == "" || j.Org != p.Org) {
		err = fault.Errorf(fault.NotFound, "no such capture job")
	}
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no capture job %s that this key may read", id)
	}
	return j.Report, err
}
