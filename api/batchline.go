package api

import "coldtrace/ledger"

// DecodeBatchLine decodes one line of newline-delimited events exactly as
// POST /v1/events/batch does (unknown fields, duplicate keys and kinds that
// are not lot or site events refused; a bad field named): the event and the
// line's own idempotency key, if it has one. `coldtrace import` reads its
// file with it.
func DecodeBatchLine(line []byte) (ev ledger.Event, idempotencyKey string, err error) {
	bl, err := decodeBatchLine(line)
	return bl.Event, bl.IdempotencyKey, err
}
