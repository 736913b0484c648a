package ledger

import (
	"encoding/binary"

	"coldtrace/ledger/delivery"
)

// The key layout of the Store, named here once: no other file of the
// package spells a key. Three namespaces:
//
//	l/  the log: records, stored Merkle hashes, signed checkpoints (package vlog)
//	s/  state derived from the records alone (replay rebuilds it exactly)
//	a/  auxiliary data that is not in the log (idempotency receipts, uploads,
//	    annexes, the webhook outbox)
//
// Integers in keys are 8-byte big-endian so that keys sort numerically.
var prefixState = []byte("s/")

// A table of the derived state holds one value per id: s/<table>/<id>.
type table string

// The tables of the derived state.
const (
	tabOrg           table = "org"            // <uscc>: Org
	tabSite          table = "site"           // <site id>: Site
	tabKey           table = "key"            // <key id>: APIKey
	tabPolicy        table = "policy"         // (one entry): the Policy in force
	tabLot           table = "lot"            // <lot id>: Lot, as the rules see it
	tabLotPrev       table = "lotprev"        // <lot id>: the lot before its latest record (corrections)
	tabNode          table = "node"           // <lot id>: the lot's query node (nodecodec.go)
	tabFamily        table = "fam"            // <root>\x00<created seq><lot id>: a copy of each node, by family
	tabSummary       table = "rsum"           // <declared ns><root>: a batch's summary, as the write path reads it
	tabCode          table = "code"           // <trace code>: lot id
	tabRecordLots    table = "rec"            // <seq>: the lots a record touched
	tabVoided        table = "voided"         // <seq>: the seq of the correction that voided it
	tabFinding       table = "finding"        // <finding id>: Finding
	tabAnnexErased   table = "annex-erased"   // <seq>: the seq of the record that erased its annex
	tabWorkerTests   table = "worker-tests"   // <seq>: a site's worker test schedule
	tabEPCISID       table = "epcis-id"       // <eventID>: the seq of the epcis_captured record
	tabEPCISDeclared table = "epcis-declared" // <eventID>: the seq of the epcis_captured record declaring an error in it
)

// key is the key of id in t.
func (t table) key(id string) []byte { return key(prefixState, []byte(t), []byte{'/'}, []byte(id)) }

// seqKey is the key of a record's entry in t.
func (t table) seqKey(seq int64) []byte { return t.key(string(be64(seq))) }

// all is the prefix of every entry of t.
func (t table) all() []byte { return t.key("") }

// An index of the derived state lists entries by value:
// s/x/<index>/<value>\x00<suffix>, so that the entries of one value sort
// together and in order of the suffix (a seq or an id, after a time when
// the index is by time).
type index string

// The indexes of the derived state.
const (
	idxRoot            index = "root"             // root lot -> lot ids of its family
	idxCreated         index = "created"          // "" -> <created seq><lot id>
	idxContainer       index = "container"        // container number -> lot ids
	idxDeclaration     index = "decl"             // declaration number -> lot ids
	idxHolder          index = "holder"           // holder uscc -> lot ids
	idxLotSite         index = "site"             // site id -> lots on it now
	idxRegion          index = "region"           // region -> lot ids (scanned by region prefix)
	idxLotOrg          index = "org"              // uscc -> lots it is party to
	idxStatus          index = "status"           // status word -> lot ids
	idxDue             index = "due"              // "" -> <deadline µs><lot id>: shipments to sweep
	idxSiteStay        index = "site-stay"        // site id -> <left ns><arrived ns><lot id> = trace code: every stay, open ones last (stays.go)
	idxRootRegion      index = "root-region"      // region -> <declared ns><root> = the batch's summary: the reports' batches (node.go)
	idxLotEvents       index = "lot-ev"           // lot id -> seqs of its records
	idxAttachmentLot   index = "att-lot"          // attachment sha256 -> lots citing it
	idxEventKind       index = "ev-kind"          // kind -> seqs
	idxEventAt         index = "ev-at"            // "" -> <at µs><seq>
	idxEventOrg        index = "ev-org"           // uscc -> seqs
	idxEventSite       index = "ev-site"          // site id -> seqs
	idxOrgSite         index = "org-site"         // uscc -> its site ids
	idxFindingRegion   index = "finding-region"   // region -> finding ids (scanned by region prefix)
	idxFindingOpen     index = "finding-open"     // region -> open finding ids
	idxFindingRule     index = "finding-rule"     // rule -> finding ids
	idxFindingOrg      index = "finding-org"      // uscc -> finding ids
	idxFindingAssigned index = "finding-assigned" // region -> finding ids assigned to it
	idxAttFinding      index = "att-finding"      // attachment sha256 -> findings citing it as evidence
	idxPlateUse        index = "plate-use"        // plate -> <from µs><lot id>: shipments under it
	idxWorkerDue       index = "worker-due"       // "" -> <due µs><seq><day><site id>: worker tests to sweep
	idxWorkerSite      index = "worker-site"      // site id -> seqs of its worker test schedules
	idxPeopleLot       index = "people-lot"       // lot id -> <seq>: where and when people worked on it
	idxPeopleSite      index = "people-site"      // site id -> <seq>: people's work at a site
	idxLGTIN           index = "lgtin"            // LGTIN Digital Link -> declared lot ids (new declarations only)
)

// key is the entry of value with suffix in x.
func (x index) key(value string, suffix []byte) []byte {
	return key(prefixState, []byte("x/"), []byte(x), []byte{'/'}, []byte(value), []byte{0}, suffix)
}

// prefix is the prefix of every entry of value in x.
func (x index) prefix(value string) []byte {
	return key(prefixState, []byte("x/"), []byte(x), []byte{'/'}, []byte(value), []byte{0})
}

// within is the prefix of every entry of x whose value starts with
// valuePrefix (a region and the regions inside it).
func (x index) within(valuePrefix string) []byte {
	return key(prefixState, []byte("x/"), []byte(x), []byte{'/'}, []byte(valuePrefix))
}

// retiredPrefixes are derived-state prefixes that no code writes any more.
// Data directories written before hold entries under them: Verify skips
// them (a stopped server's directory is checked read-only, before any
// open could remove them) and New deletes them (retired.go).
var retiredPrefixes = [][]byte{
	[]byte("s/x/stay/"), // site id -> <left µs><lot id>: the rules' stays, merged into idxSiteStay (issue 11)
}

// The auxiliary namespace.
var (
	prefixIdem           = []byte("a/idem/")         // <key id>/<idempotency key>: a receipt
	prefixKeyHash        = []byte("a/keyhash/")      // <secret sha256>: key id
	prefixAttachment     = []byte("a/att/")          // <sha256>: the upload record
	prefixAnnex          = []byte("a/annex/")        // <seq>: the record's annex
	prefixAnnexRead      = []byte("a/annex-read/")   // <n>: one logged annex read
	peopleSecretKey      = []byte("a/people-secret") // the pseudonym key
	prefixPeopleEv       = []byte("a/people-ev/")    // <seq>: pseudonyms of a record's people
	prefixOutbox         = []byte("a/ob/")           // <seq>/<finding id>/<type>
	prefixWebhook        = []byte("a/wh/")           // <id>
	prefixCursor         = []byte("a/whc/")          // <id>: the next outbox key to fan out
	prefixDelivery       = []byte("a/whd/")          // <id>/<outbox suffix>
	prefixPending        = []byte("a/whp/")          // <id>/<outbox suffix>: deliveries still to make
	prefixAckDue         = []byte("a/fdue/")         // <ack deadline µs>/<finding id>: what the sweep watches
	prefixCaptureJob     = []byte("a/capture/")      // <capture id>: an EPCIS capture job's report
	prefixNamedQuery     = []byte("a/epq/")          // <owner>/<name>: an EPCIS named query
	prefixEPCISSub       = []byte("a/eps/")          // <id>: a subscription to a named query
	prefixEPCISSubCursor = []byte("a/epsc/")         // <id>: the next captured event seq to fan out
	prefixEPCISDelivery  = []byte("a/epsd/")         // <id>/<first seq>: a subscription's delivery
	prefixEPCISPending   = []byte("a/epsp/")         // <first seq><id>: deliveries still to make
)

// rootRegionFilledKey is how far the one-time copy of the batch summaries
// into the root-region index has got: the next s/rsum/ key to copy, or
// "done" (migrate.go).
var rootRegionFilledKey = []byte("a/migrated/root-region")

func keyHashKey(sha string) []byte    { return key(prefixKeyHash, []byte(sha)) }
func attachmentKey(sha string) []byte { return key(prefixAttachment, []byte(sha)) }
func annexKey(seq int64) []byte       { return key(prefixAnnex, be64(seq)) }
func annexReadKey(n int64) []byte     { return key(prefixAnnexRead, be64(n)) }
func peopleEvKey(seq int64) []byte    { return key(prefixPeopleEv, be64(seq)) }
func idemKey(keyID, idem string) []byte {
	return key(prefixIdem, []byte(keyID), []byte{'/'}, []byte(idem))
}
func codeKey(code string) []byte     { return tabCode.key(code) }
func captureJobKey(id string) []byte { return key(prefixCaptureJob, []byte(id)) }
func outboxKey(sfx ...[]byte) []byte { return key(append([][]byte{prefixOutbox}, sfx...)...) }

// The delivery queues (ledger/delivery) of webhooks, whose deliveries are
// keyed by outbox suffix, and of EPCIS subscriptions, keyed by their first
// event's seq and due in that order across subscriptions, so that one pass
// builds the deliveries of the same events to every subscription together
// (and reads each event once).
var (
	webhookQueue      = delivery.Layout{Dests: prefixWebhook, Cursors: prefixCursor, Deliveries: prefixDelivery, Pending: prefixPending}
	subscriptionQueue = delivery.Layout{Dests: prefixEPCISSub, Cursors: prefixEPCISSubCursor, Deliveries: prefixEPCISDelivery,
		Pending: prefixEPCISPending, RefLen: 8}
)

func be64(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

func key(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func beUint(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}
