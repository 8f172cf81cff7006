package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

const bom = "\xef\xbb\xbf"

// skipBOM returns r without a leading UTF-8 byte order mark, which
// spreadsheet programs write at the start of CSV files.
func skipBOM(r io.Reader) (io.Reader, error) {
	head := make([]byte, len(bom))
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, readError(err)
	}
	if string(head[:n]) == bom {
		return r, nil
	}
	return io.MultiReader(bytes.NewReader(head[:n]), r), nil
}

// lineLimiter passes its input through and fails with ErrLineTooLong when a
// line is longer than MaxLineLen bytes, not counting "\n" or "\r\n". It
// bounds the memory that the line and CSV readers use.
type lineLimiter struct {
	r      io.Reader
	line   int  // 1-based number of the line being read
	run    int  // bytes of that line so far
	lastCR bool // the last byte read was '\r'
	err    error
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			if l.length() > MaxLineLen {
				return 0, l.fail()
			}
			l.line++
			l.run, l.lastCR = 0, false
			continue
		}
		l.run++
		l.lastCR = c == '\r'
		if l.run > MaxLineLen+1 { // too long even if a "\r\n" follows
			return 0, l.fail()
		}
	}
	if errors.Is(err, io.EOF) && l.length() > MaxLineLen {
		return 0, l.fail()
	}
	return n, err
}

// length returns the length of the current line without a final '\r'.
func (l *lineLimiter) length() int {
	if l.lastCR {
		return l.run - 1
	}
	return l.run
}

func (l *lineLimiter) fail() error {
	l.err = fmt.Errorf("line %d: %w: more than %d bytes", l.line, ErrLineTooLong, MaxLineLen)
	return l.err
}
