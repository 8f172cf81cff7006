package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 64 << 10

// decode reads one JSON object from the body into v. It refuses other media
// types, bodies over maxJSONBody, unknown fields, and trailing data.
func decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"the body must be application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return newError(http.StatusBadRequest, "invalid_json",
			"the body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) *apiError {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var synErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return newError(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the body is larger than %d bytes", maxErr.Limit))
	case errors.Is(err, io.EOF):
		return newError(http.StatusBadRequest, "invalid_json", "the body is empty")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return newError(http.StatusBadRequest, "unknown_field", "unknown field "+field)
	case errors.As(err, &typeErr):
		return newError(http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("field %q must be a JSON %s", typeErr.Field, typeErr.Type.Kind()))
	case errors.As(err, &synErr):
		return newError(http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("malformed JSON at byte %d", synErr.Offset))
	default:
		return newError(http.StatusBadRequest, "invalid_json", "malformed JSON body")
	}
}
