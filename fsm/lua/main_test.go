package lua

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs every test with the seal checking values too, and fails
// the run if any script, in any test, changed what a machine shares with
// later runs: every script a test runs is then also a probe for holes.
func TestMain(m *testing.M) {
	CheckValues(true)
	code := m.Run()
	if n := Tainted(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d Lua machines were changed by a script run and retired as tainted (a hole in the sandbox; see seal.go)\n", n)
		code = 1
	}
	os.Exit(code)
}
