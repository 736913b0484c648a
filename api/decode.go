package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger/fault"
)

// decodeJSON reads the request body as exactly one JSON value into v,
// rejecting unknown fields, and translates what goes wrong into a ledger
// error naming the field.
func decodeJSON(c *gin.Context, v any) error {
	if err := checkJSONContentType(c); err != nil {
		return err
	}
	data, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeStrict(data, v)
}

// readBody reads the whole (limited) request body.
func readBody(c *gin.Context) ([]byte, error) {
	data, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	return data, nil
}

// decodeStrict decodes data as exactly one JSON value into v: no unknown
// fields, no field twice.
func decodeStrict(data []byte, v any) error {
	if err := checkDuplicateKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nameTimeField(decodeError(err), data)
	}
	return expectEOF(dec)
}

// nameTimeField names the field of a time that did not parse: encoding/json
// does not say which field a time came from, so the body is searched for
// the member that holds the bad value (deadline, at, from, ...).
func nameTimeField(err error, data []byte) error {
	var le *fault.Error
	if !errors.As(err, &le) || len(le.Fields) != 1 || le.Fields[0].Field != timeFieldUnknown {
		return err
	}
	le.Fields[0].Field = "at"
	var v any
	if json.Unmarshal(data, &v) != nil {
		return err
	}
	var timeErr *time.ParseError
	if !errors.As(le.Err, &timeErr) {
		return err
	}
	if path, ok := findString(v, "", timeErr.Value); ok {
		le.Fields[0].Field = path
	}
	return err
}

// checkJSONContentType accepts a body sent as application/json or without a
// Content-Type.
func checkJSONContentType(c *gin.Context) error {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return fault.BadField("the body must be application/json", "Content-Type", "must be application/json, is "+ct)
	}
	return nil
}

// expectEOF fails if dec has more than the one value it decoded.
func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return fault.BadField("the body must hold one JSON object", "", "unexpected data after the JSON object")
	}
	return nil
}

// decodeError names the offending field of a JSON decoding error.
func decodeError(err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		maxErr    *http.MaxBytesError
		timeErr   *time.ParseError
	)
	field, msg := "", err.Error()
	if he := (*httpError)(nil); errors.As(err, &he) {
		return he
	}
	switch {
	case errors.As(err, &maxErr):
		return fault.Errorf(fault.TooLarge, "the body is larger than %d bytes", maxErr.Limit)
	case errors.As(err, &typeErr):
		field = typeErr.Field
		kind := typeErr.Type.Kind().String()
		msg = "must be " + jsonTypeName(kind) + ", not " + typeErr.Value
		if strings.HasPrefix(typeErr.Value, "number") && strings.Contains(kind, "int") {
			msg = "must be a whole number"
			if field == "grams" || strings.HasSuffix(field, ".grams") {
				msg = "must be a whole number of grams"
			}
		}
	case errors.As(err, &syntaxErr):
		msg = "malformed JSON at byte " + strconv.FormatInt(syntaxErr.Offset, 10) + ": " + syntaxErr.Error()
	case errors.As(err, &timeErr):
		// encoding/json does not say which field a time came from; "at" is
		// the only time a request body carries.
		// nameTimeField finds the field when the body is at hand.
		return &fault.Error{Kind: fault.Invalid, Msg: "the body does not decode", Err: timeErr,
			Fields: []fault.FieldError{{Field: timeFieldUnknown, Message: "must be an RFC 3339 time such as 2026-11-25T08:00:00+08:00"}}}
	case strings.HasPrefix(msg, "json: unknown field "):
		field = strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		msg = "is not a field of this request"
	case errors.Is(err, io.EOF):
		msg = "the body is empty; a JSON object is required"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the body ends in the middle of the JSON"
	}
	return fault.BadField("the body does not decode", field, msg)
}

// timeFieldUnknown marks a time error whose field nameTimeField looks for.
const timeFieldUnknown = "\x00time"

// findString returns the path of the first string member of v equal to s.
func findString(v any, path, s string) (string, bool) {
	switch x := v.(type) {
	case string:
		return path, x == s
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if got, ok := findString(e, p, s); ok {
				return got, true
			}
		}
	case []any:
		for i, e := range x {
			if got, ok := findString(e, path+"["+strconv.Itoa(i)+"]", s); ok {
				return got, true
			}
		}
	}
	return "", false
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a " + goKind
}
