// Package cluster is a raftlist node as clients see it: the RESP front door
// (redcon), per-connection state (SELECT, READONLY, client names, the
// protocol HELLO chose: replies are encoded in RESP2 or RESP3 here, and a
// follower forwards a RESP3 client's request as RAFT FORWARD3 so that the
// leader answers it in RESP3), routing of
// writes and linearizable reads to the leader (by forwarding or by -MOVED),
// membership commands, INFO, COMMAND and DEBUG DIGEST. It authenticates
// connections (AUTH, HELLO AUTH: the default user, ACL users, and the
// cluster secret's node rights, auth.go) and checks each command against
// the connection's ACL user before it goes anywhere (acl.go); the users
// themselves are fsm's replicated state.
//
// It owns the path of a command up to the log and back: validate (so bad
// input never reaches the log), propose or read, reply only after the entry
// is applied. It must never change state except through raftnode's Propose,
// never forward a command more than one hop, and never decide what a data
// command does (that is fsm's job).
package cluster
