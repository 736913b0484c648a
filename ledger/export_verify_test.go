package ledger

import (
	"context"
	"fmt"
	"reflect"

	gojson "github.com/goccy/go-json"

	"coldtrace/ledger/vlog"
)

// Hooks for the external tests of verify.

// CheckRecordsDecodeCanonical checks that decodeCanonical, with
// goccy/go-json's decoder as `coldtrace verify` gives it, takes every
// record of s on its fast path and returns what DecodeRecord returns, and
// says how many records it checked.
func CheckRecordsDecodeCanonical(s Store) (n int, err error) {
	err = s.View(context.Background(), func(tx Tx) error {
		return vlog.ScanRecords(tx, 0, func(seq int64, v []byte) error {
			n++
			fast, ok := decodeCanonical(v, gojson.Unmarshal)
			if !ok {
				return fmt.Errorf("record %d: decodeCanonical refuses it: %s", seq, v)
			}
			std, err := DecodeRecord(v)
			if err != nil || !reflect.DeepEqual(fast, std) {
				return fmt.Errorf("record %d: decodeCanonical returned %+v, DecodeRecord %+v (%v)", seq, fast, std, err)
			}
			return nil
		})
	})
	return n, err
}
