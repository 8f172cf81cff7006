package pki_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/internal/pki"
)

func TestValidateVerificationCode(t *testing.T) {
	valid := []struct{ name, code string }{
		{"azure upper hex", testCode},
		{"azure lower hex", strings.ToLower(testCode)},
		{"shortest", "abcd1234"},
		{"longest", strings.Repeat("Z9", 32)},
		{"with dashes", "3f2a-77b1-90cc"},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			if err := pki.ValidateVerificationCode(tt.code); err != nil {
				t.Errorf("ValidateVerificationCode(%q) = %v, want nil", tt.code, err)
			}
		})
	}

	invalid := []struct{ name, code, want string }{
		{"empty", "", "empty"},
		{"too short", "abc1234", "7 characters"},
		{"too long", strings.Repeat("a", 65), "65 characters"},
		{"leading space", " " + testCode, "offset 0"},
		{"trailing space", testCode + " ", "offset 48"},
		{"inner space", "abcd 1234", "' '"},
		{"tab", "abcd\t1234", `'\t'`},
		{"newline", testCode + "\n", `'\n'`},
		{"NUL", "abcd\x001234", `'\x00'`},
		{"underscore", "abcd_1234", "'_'"},
		{"dot", "abcd.1234", "'.'"},
		{"slash", "abcd/1234", "'/'"},
		{"comma", "CN=x,O=y", "'='"},
		{"latin letter", "abcdé1234", "'é'"},
		{"fullwidth digit", "abcd１２３４", "'１'"},
		{"emoji", "abcd1234🔑", "offset 8"},
		{"invalid UTF-8", "abcd\xff1234", "byte 0xff at offset 4 is not UTF-8"},
		{"replacement character", "abcd\uFFFD1234", "'\uFFFD'"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			err := pki.ValidateVerificationCode(tt.code)
			if !errors.Is(err, pki.ErrVerificationCode) {
				t.Fatalf("ValidateVerificationCode(%q) = %v, want ErrVerificationCode",
					tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func FuzzValidateVerificationCode(f *testing.F) {
	for _, s := range []string{testCode, "", "abcd1234", " abcd1234", "abcd\xff1234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		err := pki.ValidateVerificationCode(code)
		ok := len(code) >= 8 && len(code) <= 64
		for _, c := range []byte(code) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '-') {
				ok = false
			}
		}
		if ok != (err == nil) {
			t.Errorf("ValidateVerificationCode(%q) = %v, want accepted %v", code, err, ok)
		}
		if err != nil && !errors.Is(err, pki.ErrVerificationCode) {
			t.Errorf("error %v does not wrap ErrVerificationCode", err)
		}
	})
}
