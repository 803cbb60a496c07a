package fsm

import (
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

// The front door serves a command flagged readonly from local state
// (State.Read), behind the read barrier, never through the log; and a
// Local row (SELECT, PING, ECHO) at the front door with no state at all.
// A row that writes under either flag changes one node and not the
// others. So every such row is run on the read path with the replay
// generator's arguments (sometimes mangled), on a state that a generated
// log filled: the digest must not move.
func TestReadPathCommandsNeverChangeState(t *testing.T) {
	st := NewState()
	for i, le := range replayGenerate(11, 400).entries {
		st.Apply(uint64(i+1), 1, le.e)
	}
	before := st.Digest()
	if before == NewState().Digest() {
		t.Fatalf("exp the generated log to fill the state, got an empty one")
	}
	g := newReplayGen(12)
	checked := 0
	for _, c := range Commands() {
		if c.Flags&resp.Write != 0 {
			continue
		}
		checked++
		for i := 0; i < 200; i++ {
			args := replayCommandGens[c.Name](g)
			if g.chance(0.1) {
				args = g.mangle(args)
			}
			db := replayDBs[g.r.IntN(len(replayDBs))]
			if c.IsLocal() {
				RunLocal(db, 0, replayArgv(args))
			} else {
				st.Read(db, replayArgv(args))
			}
			if got := st.Digest(); got != before {
				t.Fatalf("%q on the read path (%s is not flagged write): exp digest %s, got %s", args, c.Name, before, got)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("exp the read commands checked, got %d", checked)
	}
}
