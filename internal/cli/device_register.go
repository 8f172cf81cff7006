package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// batchTypes maps a batch format to the media type the API reads.
var batchTypes = map[string]string{
	"csv":   "text/csv",
	"jsonl": "application/x-ndjson",
}

func runDeviceRegister(ctx context.Context, s *session) error {
	format := s.fs.String("format", "",
		"the batch `FORMAT`: csv or jsonl; default: from the file's extension\n"+
			"(.csv, .jsonl or .ndjson); needed for standard input")
	args, err := s.parse(1, 1)
	if err != nil {
		return err
	}
	name := args[0]
	f, err := batchFormat(name, *format)
	if err != nil {
		return err
	}

	var body io.Reader = s.stdin
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return &Error{Msg: "open device batch", Err: err}
		}
		defer file.Close()
		body = file
	}
	var res struct {
		Received int `json:"received"`
		Created  int `json:"created"`
		Existing int `json:"existing"`
	}
	raw, err := s.api.do(ctx, "POST", "/api/v1/devices", nil, body, batchTypes[f])
	if err != nil {
		return err
	}
	if err := decodeAnswer(raw, &res); err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "received %d device IDs: %d registered, %d already known\n",
			res.Received, res.Created, res.Existing)
		return err
	})
}

// batchFormat returns the format of the batch in the file name: flagValue
// if given, else the one its extension names.
func batchFormat(name, flagValue string) (string, error) {
	hint := "pass --format csv or --format jsonl"
	if flagValue != "" {
		if _, ok := batchTypes[flagValue]; !ok {
			return "", &UsageError{Msg: fmt.Sprintf("unknown batch format %q", flagValue),
				Hint: hint}
		}
		return flagValue, nil
	}
	if name == "-" {
		return "", &UsageError{Msg: "the format of a batch on standard input is unknown",
			Hint: hint}
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return "csv", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	}
	return "", &UsageError{Msg: fmt.Sprintf("cannot tell the format of %s from its name", name),
		Hint: hint}
}
