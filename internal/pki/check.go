package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkKey checks that pub is an ECDSA key on one of the curves. role names
// the key in the error.
func checkKey(role string, pub crypto.PublicKey, curves ...elliptic.Curve) error {
	if k, ok := pub.(*ecdsa.PublicKey); ok && k != nil {
		for _, c := range curves {
			if k.Curve == c {
				return nil
			}
		}
	}
	names := make([]string, len(curves))
	for i, c := range curves {
		names[i] = c.Params().Name
	}
	return fmt.Errorf("%s key must be ECDSA %s, got %s", role,
		strings.Join(names, " or "), describeKey(pub))
}

// ecKey checks pub like checkKey and returns it as an ECDSA key.
func ecKey(role string, pub crypto.PublicKey, curve elliptic.Curve) (*ecdsa.PublicKey, error) {
	if err := checkKey(role, pub, curve); err != nil {
		return nil, err
	}
	return pub.(*ecdsa.PublicKey), nil
}

// describeKey names the type and size of a public key for error messages.
func describeKey(pub crypto.PublicKey) string {
	if isNil(pub) {
		return "no key"
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == nil || k.Curve.Params() == nil {
			return "ECDSA on an unknown curve"
		}
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		if k.N == nil {
			return "RSA"
		}
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// isNil reports whether v is nil or a nil pointer (or other nil reference)
// in an interface, on which a method call could panic.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func,
		reflect.Chan:
		return r.IsNil()
	}
	return false
}

// checkText checks a subject attribute value: not empty, valid UTF-8, no
// control characters and, if maxLen > 0, at most maxLen characters (the
// upper bounds of RFC 5280 appendix A).
func checkText(field, s string, maxLen int) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", field)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", field)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%s contains a control character", field)
	case maxLen > 0 && utf8.RuneCountInString(s) > maxLen:
		return fmt.Errorf("%s is longer than %d characters", field, maxLen)
	}
	return nil
}

// checkURL checks that s is empty or an absolute http or https URL, the kinds
// that relying parties fetch CRLs and certificates from.
func checkURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		strings.ContainsFunc(s, unicode.IsSpace) {
		return fmt.Errorf("%s %q is not an absolute http or https URL", field, s)
	}
	return nil
}
