package registry

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/hallmark-project/hallmark/deviceid"
)

// ParseBatch reads a batch in the given format. It fails if the batch has
// more than maxLines data lines (blank lines and the CSV header do not
// count), and for the other whole-batch problems listed in the package
// documentation. Invalid lines are not an error of ParseBatch: they are in
// the Batch, and [Batch.Err] reports them.
func ParseBatch(r io.Reader, format Format, maxLines int) (Batch, error) {
	if maxLines <= 0 {
		return Batch{}, fmt.Errorf("line limit %d is not positive", maxLines)
	}
	r, err := skipBOM(r)
	if err != nil {
		return Batch{}, err
	}
	r = &lineLimiter{r: r, line: 1}

	c := &collector{maxLines: maxLines, seen: make(map[deviceid.ID]struct{})}
	switch format {
	case JSONLines:
		err = readJSONLines(r, c)
	case CSV:
		err = readCSV(r, c)
	default:
		err = fmt.Errorf("%w %v", ErrUnsupportedFormat, format)
	}
	if err != nil {
		return Batch{}, err
	}
	if c.batch.Lines == 0 {
		return Batch{}, ErrEmpty
	}
	return c.batch, nil
}

// collector builds a Batch line by line.
type collector struct {
	batch    Batch
	seen     map[deviceid.ID]struct{}
	maxLines int
}

// count counts a data line and fails once there are more than maxLines.
func (c *collector) count() error {
	c.batch.Lines++
	if c.batch.Lines > c.maxLines {
		return fmt.Errorf("%w: more than %d lines", ErrTooLarge, c.maxLines)
	}
	return nil
}

// add checks the device ID s found on a line and keeps it if it is valid
// and new.
func (c *collector) add(line int, s string) {
	if s == "" {
		c.fail(line, CodeMissingDeviceID, "device_id is empty")
		return
	}
	id, err := deviceid.Parse(s)
	if err != nil {
		code, msg := idProblem(s, err)
		c.fail(line, code, msg)
		return
	}
	if _, dup := c.seen[id]; dup {
		return
	}
	c.seen[id] = struct{}{}
	c.batch.IDs = append(c.batch.IDs, id)
}

// fail records an invalid line.
func (c *collector) fail(line int, code, msg string) {
	if len(c.batch.Errors) >= MaxErrors {
		c.batch.MoreErrors++
		return
	}
	c.batch.Errors = append(c.batch.Errors, LineError{Line: line, Code: code, Message: msg})
}

// idProblem turns an error of deviceid.Parse into a code and a message.
func idProblem(s string, err error) (code, msg string) {
	switch {
	case errors.Is(err, deviceid.ErrLength):
		return CodeInvalidLength, fmt.Sprintf("device_id has %d characters, want %d",
			utf8.RuneCountInString(s), deviceid.Len)
	case errors.Is(err, deviceid.ErrNotHex):
		return CodeInvalidHex, "device_id must be lowercase hexadecimal"
	case errors.Is(err, deviceid.ErrNotPoint):
		return CodeNotOnCurve, "device_id is not a point on P-256"
	}
	return CodeInvalidDeviceID, "device_id is not valid"
}

// readError adds context to an error from the input, unless it is one of
// the limits the input broke.
func readError(err error) error {
	if errors.Is(err, ErrLineTooLong) {
		return err
	}
	return fmt.Errorf("read batch: %w", err)
}
