package server

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out, errw bytes.Buffer
	err := Demo(context.Background(), []string{"--dir", t.TempDir(), "--devices", "4"}, &out,
		&errw)
	if err != nil {
		t.Fatalf("Demo: %v\n%s", err, errw.String())
	}
	text := out.String()
	for _, want := range []string{"refused: software_revoked", ", warning, valid until",
		", affirming, valid until", "3 of 4 devices hold a 24-hour certificate",
		"issuance log lists 3"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
}
