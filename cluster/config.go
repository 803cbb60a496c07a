package cluster

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"github.com/raftlist/raftlist/fsm"
	"github.com/raftlist/raftlist/fsm/resp"
)

// CONFIG answers from the node's effective settings (Config.ConfigValues,
// every flag of `raftlist server` by its config key), from redisFacts and
// from what CONFIG SET changed since (config_set.go).

var configSubcommands = []subcommand{
	{"get", -3, configGet, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"help", 2, configHelp, resp.Loading | resp.Stale},
	{"resetstat", 2, configResetStat, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"rewrite", 2, configRewrite, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
	{"set", -4, configSet, resp.Admin | resp.NoScript | resp.Loading | resp.Stale},
}

// redisFacts are Redis config keys whose values follow from how raftlist
// works rather than from a flag: every write is in the Raft log, fsynced
// before it is acknowledged (appendonly yes, appendfsync always), there are
// no RDB save points, and the databases are fsm.NumDBs.
var redisFacts = map[string]string{
	"appendonly":  "yes",
	"appendfsync": "always",
	"save":        "",
	"databases":   strconv.Itoa(fsm.NumDBs),
}

// clusterOnlyKeys are shown only to fellow nodes (authCluster): the
// cluster secret grants more than the default user has, so the default
// user must not read it. requirepass is shown, as Redis shows it, to
// those who already gave it.
var clusterOnlyKeys = []string{"cluster-secret"}

// CONFIG GET|HELP
func configCommand(s *Server, r *request) resp.Reply {
	return runSubcommand("config", configSubcommands, s, r)
}

// configValues is every config key the node answers c, with its value.
func (s *Server) configValues(c *client) map[string]string {
	out := make(map[string]string, len(redisFacts)+32)
	for k, v := range redisFacts {
		out[k] = v
	}
	if s.cfg.ConfigValues != nil {
		for k, v := range s.cfg.ConfigValues() {
			out[k] = v
		}
	}
	s.live.overlay(out)
	if authLevel(c.auth.Load()) != authCluster {
		for _, k := range clusterOnlyKeys {
			delete(out, k)
		}
	}
	return out
}

// CONFIG GET parameter [parameter ...]
//
// As Redis 7: a pattern without glob characters is looked up by name in
// any case and answered under the name as given; a glob pattern matches
// names without regard to case. Each key is answered once.
func configGet(s *Server, r *request) resp.Reply {
	values := s.configValues(r.c)
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	seen := make(map[string]bool)
	var out resp.Map
	for _, pat := range r.args[2:] {
		if !bytes.ContainsAny(pat, "[*?") {
			name := strings.ToLower(string(pat))
			if v, ok := values[name]; ok && !seen[name] {
				seen[name] = true
				out = append(out, resp.Bulk(pat), resp.BulkString(v))
			}
			continue
		}
		for _, name := range names {
			if !seen[name] && fsm.GlobMatch(pat, []byte(name), true) {
				seen[name] = true
				out = append(out, resp.BulkString(name), resp.BulkString(values[name]))
			}
		}
	}
	if out == nil {
		out = resp.Map{}
	}
	return out
}

// CONFIG HELP
func configHelp(_ *Server, _ *request) resp.Reply {
	return helpReply("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
	)
}

// helpReply is Redis's addReplyHelp: the lines as status replies, ending
// with HELP's own entry.
func helpReply(lines ...string) resp.Reply {
	out := make(resp.Array, 0, len(lines)+2)
	for _, l := range lines {
		out = append(out, resp.Status(l))
	}
	return append(out, resp.Status("HELP"), resp.Status("    Prints this help."))
}
