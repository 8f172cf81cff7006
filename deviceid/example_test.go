package deviceid_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hallmark-project/hallmark/deviceid"
)

func ExampleParse() {
	id, err := deviceid.Parse(generatorID)
	if err != nil {
		panic(err)
	}
	pub, err := id.PublicKey()
	if err != nil {
		panic(err)
	}
	fmt.Println(pub.Curve.Params().Name, len(id.String()))

	_, err = deviceid.Parse(strings.ToUpper(generatorID))
	fmt.Println(errors.Is(err, deviceid.ErrNotHex))
	// Output:
	// P-256 128
	// true
}
