package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// DecodeBatchLine decodes one line of newline-delimited events exactly as
// POST /v1/events/batch does (unknown fields, duplicate keys and kinds that
// are not lot or site events refused; a bad field named): the event and the
// line's own idempotency key, if it has one. `coldtrace import` reads its
// file with it.
func DecodeBatchLine(line []byte) (ev ledger.Event, idempotencyKey string, err error) {
	bl, err := decodeBatchLine(line)
	return bl.Event, bl.IdempotencyKey, err
}

// batchChunk is how many lines of a batch without an Idempotency-Key are
// decoded and queued at a time: the write path applies one chunk while the
// next is decoded.
const batchChunk = 512

// postBatch records newline-delimited events in order and answers one
// line per event: its receipt or its problem (POST /v1/events/batch).
//
// Idempotency: a line's "idempotency_key" keys it like the header of a
// single event. The batch's Idempotency-Key header keys every other line by
// the key and the line's place, bound to the whole body: a retry of the same
// body replays the receipts of the lines recorded the first time (lines
// refused then are judged again), and a different body under the same key
// is a 409 before anything of it is recorded.
//
// The body is read and split into lines first, so that a batch too large
// or a body that fails to arrive is refused before anything of it is
// recorded. A keyed batch is then decoded whole, checked against its key's
// earlier body (BatchConflict) and submitted; any other is decoded and
// queued batchChunk lines at a time, so that the write path starts on the
// first lines while the rest are decoded (decoding a whole batch first left
// the write path idle for about a tenth of the batch's time).
func (s *server) postBatch(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if len(key) > maxBatchKey {
		fail(c, &fault.Error{Kind: fault.Invalid, Msg: "bad Idempotency-Key",
			Fields: []fault.FieldError{{Field: "Idempotency-Key", Message: "is longer than 200 characters"}}})
		return
	}
	lines, digest, err := s.readBatchLines(c, key != "")
	if err != nil {
		fail(c, err)
		return
	}
	p, ctx := principal(c), c.Request.Context()
	var results []ledger.BatchResult
	if key == "" {
		results = s.queueBatchLines(ctx, p, lines)
	} else {
		batch := make([]ledger.Submission, len(lines))
		for i, line := range lines {
			batch[i] = batchSubmission(p, line)
			if batch[i].Idem == "" {
				batch[i].Idem = "batch:" + key + ":" + strconv.Itoa(i)
				batch[i].IdemScope = digest
			}
		}
		if err := s.l.BatchConflict(ctx, batch); err != nil {
			fail(c, err)
			return
		}
		results = s.l.SubmitBatch(ctx, batch)
	}
	writeBatchResults(c, results)
}

// readBatchLines reads a batch's body and returns its non-empty lines,
// trimmed, and, when digest is set, the SHA-256 of the whole body.
func (s *server) readBatchLines(c *gin.Context, digest bool) ([][]byte, []byte, error) {
	c.Request.Body = http.MaxBytesReader(c.Writer, s.rateBody(c, rawBody(c)), 32*s.opts.MaxBodyBytes)
	var body io.Reader = c.Request.Body
	var whole hash.Hash
	if digest {
		whole = sha256.New()
		body = io.TeeReader(body, whole)
	}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), int(s.opts.MaxBodyBytes))
	var lines [][]byte
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(lines) == maxBatchLines {
			return nil, nil, fault.Errorf(fault.TooLarge, "a batch holds at most %d events", maxBatchLines)
		}
		lines = append(lines, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		var maxErr *http.MaxBytesError
		switch {
		case errors.Is(err, errBodyTimeout):
			return nil, nil, err
		case errors.As(err, &maxErr) || errors.Is(err, bufio.ErrTooLong):
			return nil, nil, fault.Errorf(fault.TooLarge, "the batch, or one of its lines, is too large")
		}
		return nil, nil, fault.Wrap(fault.Invalid, "the batch could not be read", err)
	}
	if whole == nil {
		return lines, nil, nil
	}
	return lines, whole.Sum(nil), nil
}

// batchSubmission decodes one line as p's submission; a line that does not
// decode carries its problem.
func batchSubmission(p ledger.Principal, line []byte) ledger.Submission {
	bl, err := decodeBatchLine(line)
	return ledger.Submission{Principal: p, Event: bl.Event, Err: err, Idem: bl.IdempotencyKey}
}

// queueBatchLines decodes and queues lines batchChunk at a time, in order
// from this goroutine (so recorded in order), and returns their results.
func (s *server) queueBatchLines(ctx context.Context, p ledger.Principal, lines [][]byte) []ledger.BatchResult {
	var waits []func() []ledger.BatchResult
	for lo := 0; lo < len(lines); lo += batchChunk {
		chunk := lines[lo:min(lo+batchChunk, len(lines))]
		batch := make([]ledger.Submission, len(chunk))
		for i, line := range chunk {
			batch[i] = batchSubmission(p, line)
		}
		waits = append(waits, s.l.QueueBatch(ctx, batch))
	}
	results := make([]ledger.BatchResult, 0, len(lines))
	for _, wait := range waits {
		results = append(results, wait()...)
	}
	return results
}

// writeBatchResults answers a batch: 200 and one line per event, its
// receipt or its problem, with Idempotent-Replayed when a receipt was.
func writeBatchResults(c *gin.Context, results []ledger.BatchResult) {
	for _, r := range results {
		if r.Receipt != nil && r.Receipt.Replayed {
			c.Header("Idempotent-Replayed", "true")
			break
		}
	}
	c.Header("Content-Type", "application/x-ndjson")
	zh := chinese(c)
	c.Status(http.StatusOK)
	for _, r := range results {
		if r.Err != nil {
			p := problemOf(r.Err)
			if zh {
				inChinese(&p)
			}
			_ = writeJSON(c.Writer, p)
		} else {
			_ = writeJSON(c.Writer, r.Receipt)
		}
	}
}
