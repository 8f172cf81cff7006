package registry

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readCSV reads a CSV batch: a header row, then one device per row.
func readCSV(r io.Reader, c *collector) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, readBufSize))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return ErrEmpty
	case errors.As(err, &pe):
		return fmt.Errorf("%w: line %d: %v", ErrHeader, pe.StartLine, pe.Err)
	case err != nil:
		return readError(err)
	}
	col, err := idColumn(header)
	if err != nil {
		return err
	}

	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.As(err, &pe) {
			if err := c.count(); err != nil {
				return err
			}
			c.fail(pe.StartLine, CodeInvalidCSV, csvProblem(pe))
			continue
		}
		if err != nil {
			return readError(err)
		}

		if err := c.count(); err != nil {
			return err
		}
		line := 0
		if len(rec) > 0 { // always, as encoding/csv skips empty lines
			line, _ = cr.FieldPos(0)
		}
		if col >= len(rec) {
			c.fail(line, CodeMissingDeviceID, "row has no device_id column")
			continue
		}
		c.add(line, rec[col])
	}
}

// idColumn returns the index of the device_id column.
func idColumn(header []string) (int, error) {
	col := -1
	for i, name := range header {
		if !strings.EqualFold(strings.TrimSpace(name), "device_id") {
			continue
		}
		if col >= 0 {
			return 0, fmt.Errorf("%w: device_id column appears twice", ErrHeader)
		}
		col = i
	}
	if col < 0 {
		return 0, fmt.Errorf("%w: no device_id column; the first row must name the columns",
			ErrHeader)
	}
	return col, nil
}

// csvProblem describes a CSV syntax error in a row that starts on
// pe.StartLine.
func csvProblem(pe *csv.ParseError) string {
	if pe.Line == pe.StartLine {
		return fmt.Sprintf("column %d: %v", pe.Column, pe.Err)
	}
	return fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
}
