package registry

import "testing"

// FuzzPlainJSONLine checks that the fast path agrees with the decoder on
// every line it takes.
func FuzzPlainJSONLine(f *testing.F) {
	f.Add(`{"device_id":"00ff"}`)
	f.Add(` {"device_id":""} `)
	f.Add(`{"device_id":"}`)
	f.Add(`{"device_id":"ab"} {"device_id":"cd"}`)
	f.Add(`{"device_id":"ab","device_id":"cd"}`)
	f.Fuzz(func(t *testing.T, line string) {
		fast, ok := plainJSONLine([]byte(line))
		if !ok {
			return
		}
		slow, code, msg := decodeJSONLine([]byte(line))
		if code != "" || slow != fast {
			t.Fatalf("fast path read %q, decoder read %q (%s: %s)", fast, slow, code, msg)
		}
	})
}
