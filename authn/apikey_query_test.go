package authn

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tokenstore/tokenstore/authn/apikeyquery"
)

func TestQueryErrorIsIllegalArgument(t *testing.T) {
	_, err := apikeyquery.Compile(APIKeyQueryRequest{Query: json.RawMessage(`{"match_none":{}}`)})
	var e *Error
	if !errors.As(queryError(err), &e) || e.Kind != Invalid || e.Type != "illegal_argument_exception" ||
		e.Reason != "Query type [match_none] is not supported for API Key query" {
		t.Errorf("got %#v, want an Invalid illegal_argument_exception with the query's reason", queryError(err))
	}
}
