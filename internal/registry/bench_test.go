package registry_test

import (
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/internal/registry"
)

func BenchmarkParseBatch10k(b *testing.B) {
	const n = 10_000
	ids := testIDs(b, n)
	for _, f := range formats {
		in := document(f, "\r\n", ids...)
		b.Run(f.String(), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				batch, err := registry.ParseBatch(strings.NewReader(in), f, n)
				if err != nil {
					b.Fatal(err)
				}
				if len(batch.IDs) != n || len(batch.Errors) != 0 {
					b.Fatalf("read %d IDs and %d errors, want %d and 0",
						len(batch.IDs), len(batch.Errors), n)
				}
			}
		})
	}
}
