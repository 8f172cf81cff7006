package evidence_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/hallmark-project/hallmark/internal/evidence"
)

func Example() {
	// On the device: the identity key signs the nonce, the boot measurements
	// and the key of the certificate request.
	identity, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	binding, _ := evidence.KeyBindingOf(&csrKey.PublicKey)
	nonce := make([]byte, evidence.NonceSize)
	rand.Read(nonce)
	b, err := evidence.Sign(identity, evidence.Claims{
		Nonce:    nonce,
		IssuedAt: time.Now(),
		Components: []evidence.Component{
			{Name: "bootloader", Version: "2.3.1", Digest: sha256.Sum256(nil), SVN: 4},
		},
		KeyBinding: binding,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// On the verifier.
	ev, err := evidence.Parse(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := ev.Verify(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Claims().Components[0].Name, ev.Claims().KeyBinding == binding)
	// Output: bootloader true
}
