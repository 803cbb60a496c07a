package fsm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/raftlist/raftlist/fsm/resp"
)

func aclEntry(op ACLOp, args ...string) *Entry {
	e := &Entry{Kind: KindACL, ACL: ACLChange{Op: op}}
	for _, a := range args {
		e.ACL.Args = append(e.ACL.Args, []byte(a))
	}
	return e
}

func TestACLUsersAreReplicatedState(t *testing.T) {
	st := NewState()
	if d := st.Digest(); d != strings.Repeat("0", 40) {
		t.Fatalf("exp an untouched ACL to digest as empty, got %s", d)
	}
	apply := func(e *Entry) resp.Reply { return st.Apply(st.applied+1, 1, e).Replies[0] }
	for _, tc := range []struct {
		e   *Entry
		exp string
	}{
		{aclEntry(ACLSetUser, "app", "on", ">pw", "~*", "+@read"), "+OK\r\n"},
		{aclEntry(ACLSetUser, "jobs", "on", ">pw", "~jobs:*", "%R~r*", "+@all", "-flushall"), "+OK\r\n"},
		{aclEntry(ACLSetUser, "jobs", "~more", "bogus"), "-ERR Error in ACL SETUSER modifier 'bogus': Syntax error\r\n"},
		{aclEntry(ACLSetUser, "bad name"), "-ERR Usernames can't contain spaces or null characters\r\n"},
		{aclEntry(ACLDelUser, "nosuch", "default"), "-ERR The 'default' user cannot be removed\r\n"},
		{aclEntry(ACLSetUser, "tmp"), "+OK\r\n"},
		{aclEntry(ACLDelUser, "tmp", "nosuch"), ":1\r\n"},
	} {
		if got := string(resp.AppendRESP(nil, apply(tc.e))); got != tc.exp {
			t.Fatalf("%s %q: exp %q, got %q", map[ACLOp]string{ACLSetUser: "SETUSER", ACLDelUser: "DELUSER"}[tc.e.ACL.Op], tc.e.ACL.Args, tc.exp, got)
		}
	}
	jobs := st.users["jobs"]
	if strings.Join(jobs.Rules(), " ") != "reset on #"+PasswordHash([]byte("pw"))+" ~jobs:* %R~r* +@all -flushall" {
		t.Fatalf("a refused SETUSER changed nothing: got %q", jobs.Rules())
	}
	d := st.Digest()
	if d == strings.Repeat("0", 40) {
		t.Fatal("exp ACL users in the digest")
	}

	t.Run("a snapshot round trip keeps every user and the digest", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, st); err != nil {
			t.Fatal(err)
		}
		back, err := ReadSnapshot(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if back.Digest() != d || len(back.users) != 3 {
			t.Fatalf("exp digest %s with 3 users, got %s with %d", d, back.Digest(), len(back.users))
		}
		for name, u := range st.users {
			if exp, got := strings.Join(u.Rules(), " "), strings.Join(back.users[name].Rules(), " "); exp != got {
				t.Errorf("user %s: exp %q, got %q", name, exp, got)
			}
		}
	})
	t.Run("a clone keeps the users and shares nothing", func(t *testing.T) {
		c := st.Clone()
		c.users["jobs"].Keys[0].Pattern = "changed"
		if st.users["jobs"].Keys[0].Pattern != "jobs:*" {
			t.Fatal("the clone shares a user's keys")
		}
		if c.Digest() == d {
			t.Fatal("exp a changed clone to digest differently")
		}
	})
	t.Run("two states fed the same ACL entries digest equal, and differ after one more", func(t *testing.T) {
		other := NewState()
		for i, e := range []*Entry{
			aclEntry(ACLSetUser, "app", "on", ">pw", "~*", "+@read"),
			aclEntry(ACLSetUser, "jobs", "on", ">pw", "~jobs:*", "%R~r*", "+@all", "-flushall"),
		} {
			other.Apply(uint64(i+1), 1, e)
		}
		if other.Digest() != d {
			t.Fatalf("exp %s, got %s", d, other.Digest())
		}
		other.Apply(3, 1, aclEntry(ACLSetUser, "app", "off"))
		if other.Digest() == d {
			t.Fatal("exp a disabled user to change the digest")
		}
	})
	t.Run("an ACL entry encodes and decodes, and is refused in an older format", func(t *testing.T) {
		e := aclEntry(ACLSetUser, "app", "on", ">pw")
		back, err := DecodeEntry(e.Encode())
		if err != nil || back.Kind != KindACL || len(back.ACL.Args) != 3 || string(back.ACL.Args[2]) != ">pw" {
			t.Fatalf("exp the entry back, got %+v (%v)", back, err)
		}
		e.OldFormat = formatExpiry
		if _, err := DecodeEntry(e.Encode()); err == nil {
			t.Fatal("exp an ACL change in format 3 refused")
		}
	})
}
