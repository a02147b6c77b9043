package console_test

import (
	"fmt"

	"github.com/regen-dev/regen/internal/console"
)

// A console on loopback needs no token unless one is given; on any other
// address one is generated, to be shown to the operator once.
func ExampleResolveToken() {
	token, generated, _ := console.ResolveToken("127.0.0.1:8080", "")
	fmt.Printf("loopback: %q %v\n", token, generated)
	token, generated, _ = console.ResolveToken("0.0.0.0:8080", "")
	fmt.Printf("every interface: %d hex digits, generated %v\n", len(token), generated)
	token, generated, _ = console.ResolveToken("0.0.0.0:8080", "s3cret")
	fmt.Printf("configured: %q %v\n", token, generated)
	// Output:
	// loopback: "" false
	// every interface: 48 hex digits, generated true
	// configured: "s3cret" false
}
