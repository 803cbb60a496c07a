package fsm

import (
	"fmt"
	"os"
	"testing"

	"github.com/raftlist/raftlist/fsm/lua"
)

// TestMain runs every test in this package with the Lua machines' seal
// checking values too (fsm/lua/seal.go), and fails the run if any script,
// in any test, changed what a machine shares with later runs: every
// script a test runs is then also a probe for sandbox holes.
func TestMain(m *testing.M) {
	lua.CheckValues(true)
	code := m.Run()
	if n := lua.Tainted(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d Lua machines were changed by a script run and retired as tainted (a hole in the sandbox; see fsm/lua/seal.go)\n", n)
		code = 1
	}
	os.Exit(code)
}
