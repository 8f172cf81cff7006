// Package storetest is the conformance suite for [store.Store] backends.
// Each backend's tests call [Run] with a function that opens a fresh, empty
// store; every backend must pass the same suite.
//
// The suite covers every method of store.Queries, each sentinel error path,
// transactions alone and many at once, some failing, the round trip of
// times, and the races that replicas run: concurrent claims of one device,
// concurrent registration of overlapping batches and concurrent
// consumption of one nonce. It uses fixed times, so no test depends on the
// clock.
//
// [BenchConsumeNonce] measures the nonces' part in an attestation and
// [BenchAttestation] the store's whole part, for each backend's benchmarks
// to run.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/store"
)

// Run runs the suite. open must return a new, empty store for each call and
// arrange for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"Meta", testMeta},
		{"Tenants", testTenants},
		{"Keys", testKeys},
		{"CAs", testCAs},
		{"RevokeCA", testRevokeCA},
		{"Certs", testCerts},
		{"ListRevokedCerts", testListRevokedCerts},
		{"RevokeDeviceCerts", testRevokeDeviceCerts},
		{"CRLs", testCRLs},
		{"RegisterDevices", testRegisterDevices},
		{"RegisterManyDevices", testRegisterManyDevices},
		{"SetDeviceBlocked", testSetDeviceBlocked},
		{"ClaimDevice", testClaimDevice},
		{"ListDevices", testListDevices},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentRegistration", testConcurrentRegistration},
		{"Tokens", testTokens},
		{"RevokeToken", testRevokeToken},
		{"Audit", testAudit},
		{"AuditDefaultLimit", testAuditDefaultLimit},
		{"TxCommit", testTxCommit},
		{"TxRollback", testTxRollback},
		{"TxMisuse", testTxMisuse},
		{"TxConcurrent", testTxConcurrent},
		{"Times", testTimes},
		{"PutNonce", testPutNonce},
		{"ConsumeNonce", testConsumeNonce},
		{"ConcurrentConsume", testConcurrentConsume},
		{"DeleteNonces", testDeleteNonces},
		{"Catalogues", testCatalogues},
		{"PutIssuance", testPutIssuance},
		{"IssuanceTx", testIssuanceTx},
		{"RecordAttestation", testRecordAttestation},
		{"RecordAttestationTx", testRecordAttestationTx},
		{"ListIssuances", testListIssuances},
		{"IssuancesDefaultLimit", testIssuancesDefaultLimit},
		{"AttestationTimes", testAttestationTimes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.test(t, open(t))
		})
	}
}

// t0 is the suite's fixed "now", a whole number of microseconds.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// errInvalid stands for any error that is neither store sentinel: the
// error for bad input.
var errInvalid = errors.New("invalid input")

// mustOK fails the test at once if err is not nil.
func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err matches want: nil, a sentinel, or errInvalid.
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want == errInvalid && (err == nil ||
		errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict)):
		t.Errorf("error = %v, want an error for bad input", err)
	case want != nil && want != errInvalid && !errors.Is(err, want):
		t.Errorf("error = %v, want %v", err, want)
	}
}

// wantDiff reports a difference between want and got.
func wantDiff(t *testing.T, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("mismatch (-want +got):\n%s", d)
	}
}
