package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hallmark-project/hallmark/deviceid"
)

// Defaults of RunConfig.
const (
	DefaultMinBackoff = 5 * time.Second
	DefaultMaxBackoff = 10 * time.Minute
)

// RunConfig configures [Run].
type RunConfig struct {
	Client       *Client
	RootOfTrust  RootOfTrust
	ManifestPath string       // read again before each attestation
	Dir          string       // where WriteCredentials stores each new set
	Logger       *slog.Logger // nil discards

	// MinBackoff is the wait after a first failure, doubled at each failure
	// that follows up to MaxBackoff; each wait is drawn at random from its
	// upper half. Zero values mean DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration

	// Now tells the time against which RenewAt is waited for; nil means
	// time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends, returning ctx's error then; nil
	// means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Run keeps the device's credentials fresh until ctx ends: it reads the
// manifest, attests, writes the credentials to cfg.Dir, and waits until
// their RenewAt to do it again. After a failure of any of these steps it
// tries again after an exponential backoff with jitter, or after the wait a
// rate-limited DAA asked for if that is longer. It logs each renewal and
// each failure. Run returns nil when ctx ends, and an error only for a
// configuration it cannot run with.
func Run(ctx context.Context, cfg RunConfig) error {
	id, err := cfg.check()
	if err != nil {
		return err
	}
	cfg.defaults()
	log := cfg.Logger.With("device", id.String())
	log.Info("agent started", "daa", cfg.Client.base, "dir", cfg.Dir)

	for failures := 0; ; {
		creds, err := cfg.renew(ctx)
		var wait time.Duration
		switch {
		case err == nil:
			failures = 0
			// A renewal time already past is not a reason to spin.
			wait = max(creds.RenewAt.Sub(cfg.Now()), cfg.MinBackoff)
			log.Info("credentials renewed",
				"serial", hex.EncodeToString(creds.Certificate.SerialNumber.Bytes()),
				"verdict", creds.Verdict, "not_after", creds.NotAfter,
				"renew_at", creds.RenewAt)
		case ctx.Err() != nil:
			log.Info("agent stopped")
			return nil
		default:
			failures++
			wait = cfg.backoff(failures, err)
			log.Warn("attestation failed", "err", err, "failures", failures, "retry_in", wait)
		}
		if err := cfg.Sleep(ctx, wait); err != nil {
			log.Info("agent stopped")
			return nil
		}
	}
}

// renew runs one attestation and stores its credentials.
func (cfg *RunConfig) renew(ctx context.Context) (*Credentials, error) {
	boot, err := LoadManifest(cfg.ManifestPath)
	if err != nil {
		return nil, err
	}
	creds, err := cfg.Client.Attest(ctx, cfg.RootOfTrust, boot)
	if err != nil {
		return nil, err
	}
	if err := WriteCredentials(cfg.Dir, creds); err != nil {
		return nil, err
	}
	return creds, nil
}

// backoff returns the wait after the n-th failure in a row.
func (cfg *RunConfig) backoff(n int, err error) time.Duration {
	d := cfg.MinBackoff
	for i := 1; i < n && d < cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, cfg.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	var refused *RefusedError
	if errors.As(err, &refused) && refused.RetryAfter > d {
		d = refused.RetryAfter
	}
	return d
}

func (cfg *RunConfig) check() (deviceid.ID, error) {
	switch {
	case cfg.Client == nil:
		return deviceid.ID{}, errors.New("agent: run: no DAA client")
	case cfg.ManifestPath == "":
		return deviceid.ID{}, errors.New("agent: run: no manifest")
	case cfg.Dir == "":
		return deviceid.ID{}, errors.New("agent: run: no credentials directory")
	case cfg.MinBackoff < 0 || cfg.MaxBackoff < 0:
		return deviceid.ID{}, errors.New("agent: run: negative backoff")
	case cfg.MaxBackoff != 0 && cfg.MinBackoff > cfg.MaxBackoff:
		return deviceid.ID{}, errors.New("agent: run: MinBackoff is more than MaxBackoff")
	}
	return DeviceID(cfg.RootOfTrust)
}

func (cfg *RunConfig) defaults() {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
