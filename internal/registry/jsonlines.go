package registry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// readBufSize is the read buffer of both formats. It holds many lines, and
// always one whole line with its ending.
const readBufSize = 64 << 10

// jsonSpace is the white space of JSON. A line of it alone is blank.
const jsonSpace = " \t\r\n"

// readJSONLines reads a batch of JSON lines.
func readJSONLines(r io.Reader, c *collector) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, readBufSize), readBufSize)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.Trim(line, jsonSpace)) == 0 {
			continue
		}
		if err := c.count(); err != nil {
			return err
		}
		id, code, msg := jsonDeviceID(line)
		if code != "" {
			c.fail(n, code, msg)
			continue
		}
		c.add(n, id)
	}
	if err := sc.Err(); err != nil {
		return readError(err)
	}
	return nil
}

// jsonDeviceID returns the device_id of one line, or the code and message
// of what is wrong with the line. It does not check the ID itself.
func jsonDeviceID(line []byte) (id, code, msg string) {
	if id, ok := plainJSONLine(line); ok {
		return id, "", ""
	}
	return decodeJSONLine(line)
}

// decodeJSONLine is jsonDeviceID the long way, for any line.
func decodeJSONLine(line []byte) (id, code, msg string) {
	if !json.Valid(line) {
		return "", CodeInvalidJSON, "line is not valid JSON, or has data after the object"
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", CodeInvalidJSON, "line is not a JSON object"
	}

	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", CodeInvalidJSON, "line is not valid JSON"
		}
		if key, _ := tok.(string); key != "device_id" {
			return "", CodeUnknownField, fmt.Sprintf("unknown field %q", cut(key))
		}
		if found {
			return "", CodeInvalidJSON, "device_id appears twice"
		}
		found = true

		var v any
		if err := dec.Decode(&v); err != nil {
			return "", CodeInvalidJSON, "line is not valid JSON"
		}
		switch v := v.(type) {
		case string:
			id = v
		case nil:
			id = ""
		default:
			return "", CodeInvalidJSON, "device_id must be a JSON string"
		}
	}
	if !found {
		return "", CodeMissingDeviceID, "line has no device_id"
	}
	return id, "", ""
}

// plainJSONLine is a fast path for the common line {"device_id":"<hex>"},
// with only lowercase hex digits between the quotes and nothing else but
// spaces around the object. Lines it does not take go the long way.
func plainJSONLine(line []byte) (string, bool) {
	const head, tail = `{"device_id":"`, `"}`
	line = bytes.Trim(line, jsonSpace)
	if !bytes.HasPrefix(line, []byte(head)) || !bytes.HasSuffix(line, []byte(tail)) ||
		len(line) < len(head)+len(tail) {
		return "", false
	}
	v := line[len(head) : len(line)-len(tail)]
	for _, c := range v {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return string(v), true
}
