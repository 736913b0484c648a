// Package fault holds the error kinds of coldtrace: an Error carries a Kind
// (NotFound, Invalid, Conflict, Forbidden, Rejected, Unavailable, Tampered,
// ...), a message safe to show to a client, the offending fields and a
// cause that is only logged. The centre and its adapters build errors with
// the constructors here; api maps each Kind to an HTTP status in one table.
// It imports only the standard library.
package fault

import (
	"errors"
	"fmt"
)

// A Kind classifies an error so that adapters can translate it (to an HTTP
// status, an exit code) without looking at its text.
type Kind uint8

// The error kinds. Internal is the zero value: anything not classified.
const (
	Internal        Kind = iota
	NotFound             // the thing asked for does not exist
	Invalid              // the request is malformed; Fields says where
	Conflict             // the request clashes with what is stored (duplicate, idempotency mismatch)
	Forbidden            // the principal may not do this
	Rejected             // a physical or authority invariant refuses the event
	Unavailable          // a dependency (disk, object store) cannot serve now; retry later
	Tampered             // stored data does not match its hash or signature
	Unauthenticated      // no valid credentials
	TooLarge             // the request exceeds a size limit
)

var kindNames = [...]string{
	Internal:        "internal",
	NotFound:        "not_found",
	Invalid:         "invalid",
	Conflict:        "conflict",
	Forbidden:       "forbidden",
	Rejected:        "rejected",
	Unavailable:     "unavailable",
	Tampered:        "tampered",
	Unauthenticated: "unauthenticated",
	TooLarge:        "too_large",
}

// String returns the stable machine word of the kind, as used in problem
// documents' "code".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// A FieldError names one offending field of a request, by its JSON path.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// An Error is the ledger's error: a kind, a message that is safe to show to
// the client, optional field errors and an optional cause that is only logged.
type Error struct {
	Kind   Kind
	Msg    string
	Fields []FieldError
	Err    error
}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	for _, f := range e.Fields {
		s += fmt.Sprintf("; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted client message.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of kind k whose cause is err; msg is shown to clients,
// err only logged.
func Wrap(k Kind, msg string, err error) error {
	return &Error{Kind: k, Msg: msg, Err: err}
}

// KindOf returns the kind of err, Internal when it carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrStop is returned by a store's Scan callback to end the scan early,
// without error. It is shared by the ledger, the log and the adapters.
var ErrStop = errors.New("stop scan")

// Fields collects the field problems of one request.
type Fields []FieldError

// Add adds a problem with field.
func (fe *Fields) Add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when no problem was added, else an Invalid error.
func (fe Fields) Err() error {
	if len(fe) == 0 {
		return nil
	}
	msg := "invalid field " + fe[0].Field
	if len(fe) > 1 {
		msg = fmt.Sprintf("%d invalid fields, first %s", len(fe), fe[0].Field)
	}
	return &Error{Kind: Invalid, Msg: msg, Fields: fe}
}

// InvalidField returns an Invalid error naming one field, with the message
// "invalid field <field>".
func InvalidField(field, format string, args ...any) error {
	var fe Fields
	fe.Add(field, format, args...)
	return fe.Err()
}

// BadField returns an Invalid error with its own client message msg and one
// field problem.
func BadField(msg, field, problem string) *Error {
	return &Error{Kind: Invalid, Msg: msg, Fields: []FieldError{{Field: field, Message: problem}}}
}

// Rejectf returns a Rejected error naming the field that breaks an invariant.
func Rejectf(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	e := &Error{Kind: Rejected, Msg: msg}
	if field != "" {
		e.Fields = []FieldError{{Field: field, Message: msg}}
	}
	return e
}
