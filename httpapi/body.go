package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// maxBody is the largest JSON request body accepted; every route that
// takes one reads it through readBody. Elasticsearch's
// http.max_content_length is 100 MiB, but its bodies carry documents; the
// largest of ours is a role or an API key's descriptors. Restores stream
// their own, larger, limit (snapshot.MaxBackupSize).
const maxBody = 10 << 20

// readBody reads the request body, refusing one over maxBody, before
// reading it when its declared length already is.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, bodyTooLarge()
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("parse_exception", "failed to read request body")
	}
	if len(data) > maxBody {
		return nil, bodyTooLarge()
	}
	return data, nil
}

func bodyTooLarge() error {
	return &httpError{status: http.StatusRequestEntityTooLarge, typ: "content_too_long_exception",
		reason: fmt.Sprintf("request body is larger than the limit of [%d] bytes", maxBody)}
}

// decodeBody decodes a JSON body strictly, as Elasticsearch parses request
// bodies: unknown fields, duplicate keys, wrong types, invalid UTF-8 and
// excessive nesting are errors. required says whether an empty body is one.
func decodeBody(r *http.Request, v any, required bool) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		if required {
			return badRequest("parse_exception", "request body is required")
		}
		return nil
	}
	if err := json.Unmarshal(data, v, json.RejectUnknownMembers(true)); err != nil {
		return badRequest("x_content_parse_exception", parseReason(err))
	}
	return nil
}

// parseReason describes a JSON error by position and kind only: the value
// itself could be a password, so it never reaches the message.
func parseReason(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) {
		field := string(se.JSONPointer)
		if errors.Is(se.Err, json.ErrUnknownName) {
			return fmt.Sprintf("[%d] unknown field [%s]", se.ByteOffset, field)
		}
		want := "value"
		if se.GoType != nil {
			want = se.GoType.Kind().String()
		}
		return fmt.Sprintf("[%d] failed to parse field [%s]: expected %s, found %s", se.ByteOffset, field, want, kindName(se.JSONKind))
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		msg := "malformed JSON"
		switch {
		case errors.Is(syn.Err, jsontext.ErrDuplicateName):
			msg = "duplicate field [" + string(syn.JSONPointer) + "]"
		case syn.Err != nil && strings.Contains(syn.Err.Error(), "UTF-8"):
			msg = "invalid UTF-8 in request body"
		case syn.Err != nil && strings.Contains(syn.Err.Error(), "nesting depth"):
			msg = "request body is nested too deeply"
		case errors.Is(syn.Err, io.ErrUnexpectedEOF):
			msg = "unexpected end of request body"
		}
		return fmt.Sprintf("[%d] %s", syn.ByteOffset, msg)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of request body"
	}
	return "failed to parse request body"
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

// acceptedMediaTypes are the request content types Elasticsearch takes.
var acceptedMediaTypes = map[string]bool{
	"application/json": true, "application/vnd.elasticsearch+json": true,
	"application/x-ndjson": true, "application/vnd.elasticsearch+x-ndjson": true,
	"application/octet-stream": true, // backups
}

func contentTypeOK(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !acceptedMediaTypes[mt] {
		return false
	}
	if v, ok := params["compatible-with"]; ok && v != "7" && v != "8" {
		return false
	}
	return true
}

// responseMediaType answers in the official clients' media type when they
// ask for it.
func responseMediaType(r *http.Request) string {
	return responseContentType(r)[0]
}

// The Content-Type header values of answers, shared by every response (a
// header value set with Header.Set is a new slice per request). Capacity 1:
// an Add to one copies it first.
var (
	contentTypeJSON   = []string{"application/json"}
	contentTypeCompat = []string{"application/vnd.elasticsearch+json;compatible-with=8"}
)

// responseContentType is responseMediaType as a header value.
func responseContentType(r *http.Request) []string {
	if strings.Contains(r.Header.Get("Accept"), "application/vnd.elasticsearch+json") {
		return contentTypeCompat
	}
	return contentTypeJSON
}
