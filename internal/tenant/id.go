package tenant

import (
	"fmt"
	"io"
)

// newID returns a random (version 4) UUID in its canonical lowercase form.
func newID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("tenant: read random: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// ValidateID checks that id has the canonical form of a tenant ID.
func ValidateID(id string) error {
	if len(id) != 36 {
		return ErrInvalidTenantID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return ErrInvalidTenantID
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return ErrInvalidTenantID
			}
		}
	}
	return nil
}
