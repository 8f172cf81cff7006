package evidence_test

import (
	"testing"

	"github.com/hallmark-project/hallmark/internal/evidence"
)

func BenchmarkParseVerify(b *testing.B) {
	ev, err := evidence.Sign(newTestKey(b), sampleClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		parsed, err := evidence.Parse(ev)
		if err != nil {
			b.Fatal(err)
		}
		if err := parsed.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	key := newTestKey(b)
	claims := sampleClaims()
	for b.Loop() {
		if _, err := evidence.Sign(key, claims); err != nil {
			b.Fatal(err)
		}
	}
}
