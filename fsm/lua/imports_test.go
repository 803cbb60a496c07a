package lua

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsOnlyWhatItsDocAllows: the standard library, gopher-lua and
// fsm/resp (doc.go). Anything else would let the state machine's
// concerns, or nondeterminism, into the runtime.
func TestImportsOnlyWhatItsDocAllows(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range pkg.Imports {
		std := !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
		if !std && !strings.HasPrefix(path, "github.com/yuin/gopher-lua") && path != "github.com/raftlist/raftlist/fsm/resp" {
			t.Errorf("exp only the standard library, gopher-lua and fsm/resp, got an import of %s", path)
		}
		switch path {
		case "math/rand", "math/rand/v2", "crypto/rand", "os", "net", "runtime":
			t.Errorf("exp no source of nondeterminism, got an import of %s", path)
		}
	}
}
