package cluster

import (
	"sort"
	"strings"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// allSpecs returns every command the node answers, data and connection
// commands alike, in name order.
func allSpecs() []*resp.Spec {
	var out []*resp.Spec
	for _, c := range fsm.Commands() {
		out = append(out, &c.Spec)
	}
	for _, c := range connCommands {
		out = append(out, &c.Spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func findSpec(name []byte) *resp.Spec {
	sp, _ := findCommand(name)
	return sp
}

var commandSubcommands = []subcommand{
	{"count", 2, func(*Server, *request) resp.Reply { return resp.Int(len(allSpecs())) }, 0},
	{"list", -2, commandList, 0},
	{"info", -2, commandInfoCmd, 0},
	{"docs", -2, commandDocs, 0},
}

// COMMAND | COMMAND COUNT | COMMAND LIST | COMMAND INFO [name ...] |
// COMMAND DOCS [name ...]
func commandCommand(s *Server, r *request) resp.Reply {
	if len(r.args) == 1 {
		return commandInfos(allSpecs())
	}
	return runSubcommand("command", commandSubcommands, s, r)
}

// COMMAND LIST (the FILTERBY option is not supported)
func commandList(_ *Server, r *request) resp.Reply {
	if len(r.args) > 2 {
		return resp.ErrSyntax
	}
	var out resp.Array
	for _, sp := range allSpecs() {
		out = append(out, resp.BulkString(sp.Name))
	}
	return out
}

// COMMAND INFO [name ...]
func commandInfoCmd(_ *Server, r *request) resp.Reply {
	if len(r.args) == 2 {
		return commandInfos(allSpecs())
	}
	var out resp.Array
	for _, a := range r.args[2:] {
		if sp := findSpec(a); sp != nil {
			out = append(out, commandInfo(sp))
		} else {
			out = append(out, resp.NullBulk)
		}
	}
	return out
}

// COMMAND DOCS [name ...]
func commandDocs(_ *Server, r *request) resp.Reply {
	specs := allSpecs()
	if len(r.args) > 2 {
		specs = nil
		for _, a := range r.args[2:] {
			if sp := findSpec(a); sp != nil {
				specs = append(specs, sp)
			}
		}
	}
	out := resp.Array{}
	for _, sp := range specs {
		out = append(out, resp.BulkString(sp.Name), resp.Array{
			resp.BulkString("summary"), resp.BulkString(sp.Summary),
			resp.BulkString("since"), resp.BulkString(sp.Since),
			resp.BulkString("group"), resp.BulkString(sp.Group),
		})
	}
	return out
}

func commandInfos(specs []*resp.Spec) resp.Array {
	out := make(resp.Array, len(specs))
	for i, sp := range specs {
		out[i] = commandInfo(sp)
	}
	return out
}

// commandInfo is Redis 7's ten-field command description.
func commandInfo(sp *resp.Spec) resp.Reply {
	var flags resp.Array
	for _, f := range resp.FlagNames {
		if sp.Flags&f.Flag != 0 {
			flags = append(flags, resp.Status(f.Name))
		}
	}
	group := strings.ReplaceAll(sp.Group, "_", "")
	if group == "transactions" {
		group = "transaction" // Redis's ACL category is singular
	}
	cats := resp.Array{resp.Status("@" + group)}
	switch {
	case sp.Flags&resp.Write != 0:
		cats = append(cats, resp.Status("@write"))
	case sp.Flags&resp.ReadOnly != 0:
		cats = append(cats, resp.Status("@read"))
	}
	if sp.Flags&resp.Fast != 0 {
		cats = append(cats, resp.Status("@fast"))
	} else {
		cats = append(cats, resp.Status("@slow"))
	}
	return resp.Array{
		resp.BulkString(sp.Name), resp.Int(sp.Arity), flags,
		resp.Int(sp.FirstKey), resp.Int(sp.LastKey), resp.Int(sp.KeyStep),
		cats, resp.Array{}, resp.Array{}, resp.Array{},
	}
}
