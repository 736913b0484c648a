package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// An EventKind names what a record states.
type EventKind string

// Registry record kinds. Lot and site event kinds are declared in event.go.
const (
	OrgRegistered  EventKind = "org_registered"
	SiteRegistered EventKind = "site_registered"
	KeyCreated     EventKind = "key_created"
	KeyRevoked     EventKind = "key_revoked"
)

// An Actor is who submitted a record: an org and the id of the key used.
type Actor struct {
	Org string `json:"org"`
	Key string `json:"key"`
}

// A Record is one entry of the log. Its JSON encoding, made once by the ledger
// when the record is appended, is what is stored, hashed and served; it is
// never re-encoded. Replaying the records alone rebuilds all derived state.
type Record struct {
	Seq        int64     `json:"seq"`
	ID         string    `json:"id"`
	RecordedAt time.Time `json:"recorded_at"`
	Actor      Actor     `json:"actor"`
	Event
	CreatedLots []CreatedLot `json:"created_lots,omitempty"`
}

// An Event holds the fields a client submits, as the ledger normalised them.
// Which fields a kind takes is fixed by that kind's validation; every other
// field must be empty.
type Event struct {
	Kind EventKind `json:"kind"`
	At   time.Time `json:"at"`

	// Registry: orgs, sites, keys.
	USCC         string   `json:"uscc,omitempty"`
	USCCOverride string   `json:"uscc_override,omitempty"`
	Name         string   `json:"name,omitempty"`
	Roles        []string `json:"roles,omitempty"`
	Org          string   `json:"org,omitempty"`
	Site         string   `json:"site,omitempty"`
	Type         string   `json:"type,omitempty"`
	Region       string   `json:"region,omitempty"`
	Address      string   `json:"address,omitempty"`
	// GLN is a site's GS1 Global Location Number (site_registered; new
	// records only).
	GLN     string   `json:"gln,omitempty"`
	Key     string   `json:"key,omitempty"`
	Role    string   `json:"role,omitempty"`
	Regions []string `json:"regions,omitempty"`

	// Lot and site events (event.go).
	Lot           string   `json:"lot,omitempty"`
	Product       *Product `json:"product,omitempty"`
	DeclarationNo string   `json:"declaration_no,omitempty"`
	// GTIN and Batch are the GS1 identity of a declared batch (its LGTIN);
	// optional, in new records only.
	GTIN  string `json:"gtin,omitempty"`
	Batch string `json:"batch,omitempty"`
	// LGTIN is the batch's LGTIN as a canonical Digital Link, set by the
	// ledger on new declarations with a GTIN; it indexes the lot for
	// captured EPCIS events (epcis_effects_lgtin.go).
	LGTIN        string      `json:"lgtin,omitempty"`
	Containers   []Container `json:"containers,omitempty"`
	Quantity     *Quantity   `json:"quantity,omitempty"`
	Samples      int64       `json:"samples,omitempty"`
	Scope        []string    `json:"scope,omitempty"`
	Result       string      `json:"result,omitempty"`
	RetestOf     int64       `json:"retest_of,omitempty"`
	Agent        string      `json:"agent,omitempty"`
	ToOrg        string      `json:"to_org,omitempty"`
	ToSite       string      `json:"to_site,omitempty"`
	Vehicle      *Vehicle    `json:"vehicle,omitempty"`
	TemperatureC *float64    `json:"temperature_c,omitempty"`
	Deadline     *time.Time  `json:"deadline,omitempty"`
	Inputs       []LotAmount `json:"inputs,omitempty"`
	Outputs      []Output    `json:"outputs,omitempty"`
	Channel      string      `json:"channel,omitempty"`
	Method       string      `json:"method,omitempty"`
	Order        string      `json:"order,omitempty"`
	Reason       string      `json:"reason,omitempty"`
	MinC         *float64    `json:"min_c,omitempty"`
	MaxC         *float64    `json:"max_c,omitempty"`
	Readings     int64       `json:"readings,omitempty"`
	Positives    *int64      `json:"positives,omitempty"`
	WindowDays   int64       `json:"window_days,omitempty"`
	Voids        int64       `json:"voids,omitempty"`
	Finding      string      `json:"finding,omitempty"`
	Findings     []string    `json:"findings,omitempty"`
	Lots         []string    `json:"lots,omitempty"`
	Buyer        *Buyer      `json:"buyer,omitempty"`
	AddedGrams   int64       `json:"added_grams,omitempty"`
	Policy       *Policy     `json:"policy,omitempty"`
	// EPCIS is the EPCIS 2.0 event an epcis_captured record holds
	// (epcis_capture.go).
	EPCIS *EPCISEvent `json:"epcis,omitempty"`
	// EPCISSeq is, on a domain event a captured EPCIS event took effect
	// as, the seq of its epcis_captured record (epcis_effects.go); set by
	// the ledger only, in new records only.
	EPCISSeq int64 `json:"epcis_seq,omitempty"`

	// Note is free text. New records keep it in their annex (annex.go);
	// records written before annexes carry it here.
	Note string `json:"note,omitempty"`
	// People are who did the work; they go into the annex, never into the
	// record.
	People []Person `json:"people,omitempty"`
	// Annex is the commitment to the record's annex (note and people).
	Annex *AnnexRef `json:"annex,omitempty"`
	// Erases is the record whose annex an annex_erased record erased.
	Erases int64 `json:"erases,omitempty"`
	// Attachments are the uploaded documents the event refers to, by hash.
	Attachments []AttachmentRef `json:"attachments,omitempty"`
}

// A CreatedLot is a lot that a record brought into being.
type CreatedLot struct {
	ID        string   `json:"id"`
	TraceCode string   `json:"trace_code"`
	Quantity  Quantity `json:"quantity"`
}

// A Quantity is an amount of goods: grams always, pieces where counted.
type Quantity struct {
	Grams  int64 `json:"grams"`
	Pieces int64 `json:"pieces,omitempty"`
}

// encodeRecord returns the record's one and only encoding: compact JSON,
// without HTML escaping, without a trailing newline.
func encodeRecord(r *Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// A JSONDecoder fills v from data as encoding/json.Unmarshal does.
type JSONDecoder func(data []byte, v any) error

// decodeCanonical decodes data, stored record bytes, when they are in the
// ledger's canonical encoding: the bytes are decoded by decode
// (encoding/json's Unmarshal when nil; verify may be given a faster one,
// VerifyOptions) and the record re-encoded as encodeRecord does
// (encoding/json, the definition of the encoding); only when that gives
// data back exactly is the record returned, so data is then the encoding of
// the returned record, as DecodeRecord and encodeRecord would find. ok is
// false when the bytes decode to nothing, or to a record whose encoding
// differs: DecodeRecord then says what is wrong.
func decodeCanonical(data []byte, decode JSONDecoder) (rec *Record, ok bool) {
	if decode == nil {
		decode = json.Unmarshal
	}
	var r Record
	if decode(data, &r) != nil {
		return nil, false
	}
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer encodeBuffers.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(&r) != nil || !bytes.Equal(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), data) {
		return nil, false
	}
	return &r, true
}

// encodeBuffers are decodeCanonical's buffers for the encoding it
// compares, as encodeRecord makes it.
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// DecodeRecord parses stored record bytes. Unknown fields are an error: a
// record this version cannot fully read must not be silently misread.
func DecodeRecord(data []byte) (*Record, error) {
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fault.Wrap(fault.Tampered, "record does not decode", err)
	}
	if dec.More() {
		return nil, fault.Errorf(fault.Tampered, "trailing data after record")
	}
	return &r, nil
}

// A Receipt answers a successful submission.
type Receipt struct {
	Seq         int64        `json:"seq"`
	ID          string       `json:"id"`
	Kind        EventKind    `json:"kind"`
	RecordedAt  time.Time    `json:"recorded_at"`
	Lot         string       `json:"lot,omitempty"`
	TraceCode   string       `json:"trace_code,omitempty"`
	CreatedLots []CreatedLot `json:"created_lots"`
	Findings    []Finding    `json:"findings"`
	// EPCISEventID is the eventID (or event hash) an epcis_captured record
	// was captured under.
	EPCISEventID string `json:"epcis_event_id,omitempty"`
	// Effect is the receipt of the domain event an epcis_captured record
	// took effect as (epcis_effects.go), if any.
	Effect     *Receipt `json:"effect,omitempty"`
	Checkpoint TreeHead `json:"checkpoint"`
	// Replayed is true when an Idempotency-Key matched an earlier submission
	// and this is that submission's receipt.
	Replayed bool `json:"replayed,omitempty"`
	// Registered is the *Org, *Site or *APIKey a registry record created,
	// as stored; nil for other kinds and on a replayed receipt.
	Registered any `json:"-"`
}

// A TreeHead is the size and root hash (base64) of the log's Merkle tree.
type TreeHead struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

// A Buyer is who bought goods sold wholesale or for processing.
type Buyer struct {
	USCC string `json:"uscc"`
	Name string `json:"name"`
}

// treeHead returns the size and base64 root of c.
func treeHead(c vlog.Checkpoint) TreeHead {
	return TreeHead{Size: c.Size, Root: base64.StdEncoding.EncodeToString(c.Root[:])}
}
