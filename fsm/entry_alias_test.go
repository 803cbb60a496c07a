package fsm

import (
	"bytes"
	"fmt"
	"testing"
)

// DecodeEntry carves the commands' argument lists from shared arrays and
// shares owner strings between commands. Nothing a command (or a caller)
// does to its decoded arguments may show in another command's, or in the
// entry's data, which the log keeps.
func TestDecodedCommandsDoNotAliasEachOtherOrTheData(t *testing.T) {
	e := &Entry{Kind: KindCommands, TimeMs: 5}
	owners := []string{"a", "a", "b", "", "b", "b", "a"}
	for i, o := range owners {
		args := [][]byte{[]byte("RPUSH"), []byte(fmt.Sprint("k", i))}
		for j := 0; j < i%3+1; j++ {
			args = append(args, []byte(fmt.Sprint("v", i, j)))
		}
		e.Cmds = append(e.Cmds, Cmd{DB: i % 2, Owner: o, Seq: uint64(i), Args: args})
	}
	data := e.Encode()
	keep := bytes.Clone(data)
	got, err := DecodeEntry(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range got.Cmds {
		if c.Owner != owners[i] || c.Seq != uint64(i) || c.DB != i%2 {
			t.Fatalf("command %d: owner %q seq %d db %d", i, c.Owner, c.Seq, c.DB)
		}
		if len(c.Args) != len(e.Cmds[i].Args) || cap(c.Args) != len(c.Args) {
			t.Fatalf("command %d: %d args (cap %d), want %d", i, len(c.Args), cap(c.Args), len(e.Cmds[i].Args))
		}
	}
	// Grow every command's argument list and scribble over every argument.
	for i := range got.Cmds {
		c := &got.Cmds[i]
		c.Args = append(c.Args, []byte("EXTRA"))
		for _, a := range c.Args {
			for k := range a {
				a[k] = 'X'
			}
		}
	}
	if !bytes.Equal(data, keep) {
		t.Fatal("writing to decoded arguments changed the entry's data")
	}
	again, err := DecodeEntry(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range again.Cmds {
		for j, a := range c.Args {
			if !bytes.Equal(a, e.Cmds[i].Args[j]) {
				t.Fatalf("command %d arg %d: %q, want %q", i, j, a, e.Cmds[i].Args[j])
			}
		}
	}
	// Appending to one command's arguments never reaches its neighbour's.
	fresh, _ := DecodeEntry(data)
	fresh.Cmds[0].Args = append(fresh.Cmds[0].Args, []byte("NEXT"))
	if !bytes.Equal(fresh.Cmds[1].Args[0], []byte("RPUSH")) {
		t.Fatalf("appending to command 0's arguments changed command 1's: %q", fresh.Cmds[1].Args[0])
	}
}
