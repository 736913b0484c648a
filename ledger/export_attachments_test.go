package ledger

import (
	"coldtrace/ledger/vlog"
	"context"
)

// Hooks for the external tests of attachments.

// CheckDocuments exposes checkDocuments, which the domain's event
// validation calls, for a record of kind by p citing refs, on a snapshot
// of s.
func CheckDocuments(s Store, p Principal, kind EventKind, refs []AttachmentRef) error {
	return s.View(context.Background(), func(tx Tx) error {
		return checkDocuments(&state{tx: tx}, p, &Record{Event: Event{Kind: kind, Attachments: refs}})
	})
}

// PutRecordForTest writes a record with ev at seq straight into s, outside
// the sequencer: enough for VerifyAttachments, which reads only the records.
func PutRecordForTest(s Store, seq int64, ev Event) error {
	data, err := encodeRecord(&Record{Seq: seq, ID: "test", Event: ev})
	if err != nil {
		return err
	}
	return s.Update(context.Background(), func(tx Tx) error { return tx.Set(vlog.RecordKey(seq), data) })
}

// UploadRecordKey is where the upload record of sha is kept.
func UploadRecordKey(sha string) []byte { return attachmentKey(sha) }
