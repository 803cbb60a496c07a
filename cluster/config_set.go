package cluster

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/raftlist/raftlist/fsm/resp"
)

// CONFIG SET changes this node only, as it changes one Redis server: the
// settings it takes are each node's own (limits, log level), never the
// replicated state, so no entry is written. Every parameter of the
// command is checked before any is applied; either all apply or none.
//
// What can change while the node runs is the table below. Redis's tuning
// knobs that mean nothing to raftlist (listpack sizes, hz, the Lua time
// limit, slowlog...) are accepted with Redis's checks and shown by CONFIG
// GET, and change nothing (README, "Where raftlist differs"); every other
// key the node shows is fixed for the process's life, and setting it
// answers Redis's "can't set immutable config".

// liveSettings are the settings CONFIG SET changes, read where they act.
type liveSettings struct {
	maxClients  atomic.Int64 // 0: no limit
	idleTimeout atomic.Int64 // nanoseconds; 0: never
	outputLimit atomic.Pointer[OutputBufferLimit]

	mu sync.Mutex
	// shown are CONFIG GET's values of what CONFIG SET changed, by key,
	// over the values the node started with.
	shown map[string]string
}

func (l *liveSettings) init(cfg Config) {
	l.maxClients.Store(int64(cfg.MaxClients))
	l.idleTimeout.Store(int64(cfg.IdleTimeout))
	limit := cfg.OutputLimit
	l.outputLimit.Store(&limit)
	l.shown = make(map[string]string)
	for k, v := range noEffectDefaults {
		l.shown[k] = v
	}
}

func (l *liveSettings) show(key, value string) {
	l.mu.Lock()
	l.shown[key] = value
	l.mu.Unlock()
}

// overlay copies what CONFIG SET changed into values.
func (l *liveSettings) overlay(values map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range l.shown {
		values[k] = v
	}
}

// changed returns what CONFIG SET changed, for CONFIG REWRITE: only the
// settings that act (the knobs of no effect are not written).
func (l *liveSettings) changed() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string)
	for k, v := range l.shown {
		if _, knob := noEffectDefaults[k]; !knob {
			out[k] = v
		}
	}
	return out
}

// settable is one parameter CONFIG SET takes: check parses a value or
// says why not in Redis's words; apply makes a checked value act and
// returns what CONFIG GET shows for each key it changed.
type settable struct {
	check func(v string) (any, string)
	apply func(s *Server, v any) map[string]string
}

var settables map[string]*settable

func init() {
	settables = map[string]*settable{
		"maxclients": {check: intIn(1, math.MaxUint32), apply: func(s *Server, v any) map[string]string {
			s.live.maxClients.Store(v.(int64))
			return map[string]string{"maxclients": strconv.FormatInt(v.(int64), 10)}
		}},
		"timeout": {check: intIn(0, math.MaxInt32), apply: func(s *Server, v any) map[string]string {
			s.live.idleTimeout.Store(int64(time.Duration(v.(int64)) * time.Second))
			return map[string]string{"timeout": strconv.FormatInt(v.(int64), 10)}
		}},
		"loglevel": {check: oneOf("debug", "verbose", "notice", "warning"),
			apply: func(s *Server, v any) map[string]string {
				level := redisToHclog[v.(string)]
				s.log.SetLevel(level)
				return map[string]string{"loglevel": v.(string), "log-level": strings.ToLower(level.String())}
			}},
		"log-level": {check: hclogLevel, apply: func(s *Server, v any) map[string]string {
			level := v.(hclog.Level)
			s.log.SetLevel(level)
			return map[string]string{"log-level": strings.ToLower(level.String()), "loglevel": hclogToRedis(level)}
		}},
		"client-output-buffer-limit": {check: checkOutputLimit, apply: func(s *Server, v any) map[string]string {
			limit := v.(OutputBufferLimit)
			s.live.outputLimit.Store(&limit)
			return map[string]string{"client-output-buffer-limit": limit.String()}
		}},
	}
	for name, k := range noEffectKnobs {
		settables[name] = &settable{check: k.check, apply: func(_ *Server, v any) map[string]string {
			shown := k.show(v)
			out := map[string]string{name: shown}
			if k.alias != "" {
				out[k.alias] = shown
			}
			return out
		}}
	}
}

// noEffectKnob is a Redis setting with no meaning here: checked as Redis
// checks it, shown (under its alias too, as Redis shows both names of
// one setting), and nothing else.
type noEffectKnob struct {
	check func(string) (any, string)
	show  func(any) string
	alias string
}

var noEffectKnobs = map[string]noEffectKnob{
	"list-max-listpack-size":  {check: intIn(math.MinInt32, math.MaxInt32), show: showInt, alias: "list-max-ziplist-size"},
	"list-max-ziplist-size":   {check: intIn(math.MinInt32, math.MaxInt32), show: showInt, alias: "list-max-listpack-size"},
	"list-compress-depth":     {check: intIn(0, math.MaxInt32), show: showInt},
	"lua-time-limit":          {check: intIn(0, math.MaxInt64), show: showInt, alias: "busy-reply-threshold"},
	"busy-reply-threshold":    {check: intIn(0, math.MaxInt64), show: showInt, alias: "lua-time-limit"},
	"hz":                      {check: clampedHz, show: showInt},
	"dynamic-hz":              {check: yesNo, show: showString},
	"activerehashing":         {check: yesNo, show: showString},
	"slowlog-log-slower-than": {check: intIn(-1, math.MaxInt64), show: showInt},
	"slowlog-max-len":         {check: intIn(0, math.MaxInt64), show: showInt},
	"latency-tracking":        {check: yesNo, show: showString},
	// RDB save points: raftlist's persistence is the Raft log.
	"save": {check: saveParams, show: showString},
	// Redis's sort unit sets it; raftlist holds no sets.
	"set-max-intset-entries": {check: intIn(0, math.MaxInt64), show: showInt},
}

// noEffectDefaults are those knobs' values before any CONFIG SET, Redis
// 7.0's defaults.
var noEffectDefaults = map[string]string{
	"list-max-listpack-size": "-2", "list-max-ziplist-size": "-2", "list-compress-depth": "0",
	"lua-time-limit": "5000", "busy-reply-threshold": "5000", "hz": "10", "dynamic-hz": "yes",
	"activerehashing": "yes", "slowlog-log-slower-than": "10000", "slowlog-max-len": "128",
	"latency-tracking": "yes", "save": "", "set-max-intset-entries": "512",
}

func showInt(v any) string    { return strconv.FormatInt(v.(int64), 10) }
func showString(v any) string { return v.(string) }

// intIn checks an integer as Redis's numeric configs do.
func intIn(lo, hi int64) func(string) (any, string) {
	return func(v string) (any, string) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, "argument couldn't be parsed into an integer"
		}
		if n < lo || n > hi {
			return nil, fmt.Sprintf("argument must be between %d and %d inclusive", lo, hi)
		}
		return n, ""
	}
}

// clampedHz takes any integer and keeps it within Redis's 1..500.
func clampedHz(v string) (any, string) {
	n, msg := intIn(math.MinInt32, math.MaxInt32)(v)
	if msg != "" {
		return nil, msg
	}
	return min(max(n.(int64), 1), 500), ""
}

// saveParams checks RDB save points as Redis 7.0 does: "" or pairs of
// seconds (>= 1) and changes (>= 0), split on single spaces.
func saveParams(v string) (any, string) {
	if v == "" {
		return "", ""
	}
	f := strings.Split(v, " ")
	if len(f)%2 != 0 {
		return nil, "Invalid save parameters"
	}
	shown := make([]string, len(f))
	for i, s := range f {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || (i%2 == 0 && n < 1) || n < 0 {
			return nil, "Invalid save parameters"
		}
		shown[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(shown, " "), ""
}

func yesNo(v string) (any, string) {
	switch strings.ToLower(v) {
	case "yes", "no":
		return strings.ToLower(v), ""
	}
	return nil, "argument must be 'yes' or 'no'"
}

func oneOf(names ...string) func(string) (any, string) {
	return func(v string) (any, string) {
		for _, n := range names {
			if strings.EqualFold(v, n) {
				return n, ""
			}
		}
		return nil, "argument(s) must be one of the following: " + strings.Join(names, ", ")
	}
}

var redisToHclog = map[string]hclog.Level{
	"debug": hclog.Debug, "verbose": hclog.Debug, "notice": hclog.Info, "warning": hclog.Warn, "nothing": hclog.Off,
}

func hclogToRedis(l hclog.Level) string {
	switch {
	case l <= hclog.Debug:
		return "debug"
	case l == hclog.Info:
		return "notice"
	case l == hclog.Off:
		return "nothing"
	}
	return "warning"
}

func hclogLevel(v string) (any, string) {
	if l := hclog.LevelFromString(v); l != hclog.NoLevel {
		return l, ""
	}
	return nil, "argument(s) must be one of the following: trace, debug, info, warn, error, off"
}

// checkOutputLimit takes Redis's "class hard soft seconds" groups. Only
// the normal class acts: raftlist has no replica or pub/sub clients, so
// those classes are checked and otherwise ignored.
func checkOutputLimit(v string) (any, string) {
	f := strings.Fields(v)
	if len(f)%4 != 0 {
		return nil, "Wrong number of arguments in buffer limit configuration."
	}
	limit := OutputBufferLimit{Hard: -1}
	for i := 0; i < len(f); i += 4 {
		class := strings.ToLower(f[i])
		if class != "normal" && class != "replica" && class != "slave" && class != "pubsub" {
			return nil, "Invalid client class specified in buffer limit configuration."
		}
		hard, err1 := ParseBytes(f[i+1])
		soft, err2 := ParseBytes(f[i+2])
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || secs < 0 {
			return nil, "Error in hard, soft or soft_seconds setting in buffer limit configuration."
		}
		if class == "normal" {
			limit = OutputBufferLimit{Hard: hard, Soft: soft, SoftSeconds: secs}
		}
	}
	return limit, ""
}

// CONFIG SET parameter value [parameter value ...]
func configSet(s *Server, r *request) resp.Reply {
	if len(r.args)%2 != 0 {
		return resp.ErrSyntax
	}
	type change struct {
		set   *settable
		value any
	}
	changes := make([]change, 0, (len(r.args)-2)/2)
	seen := make(map[string]bool)
	for i := 2; i < len(r.args); i += 2 {
		name := strings.ToLower(string(r.args[i]))
		st, ok := settables[name]
		if !ok {
			if _, known := s.configValues(r.c)[name]; known {
				return configSetFailed(name, "can't set immutable config")
			}
			return resp.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(r.args[i]) + "'")
		}
		if seen[name] {
			return configSetFailed(name, "duplicate parameter")
		}
		seen[name] = true
		v, msg := st.check(string(r.args[i+1]))
		if msg != "" {
			return configSetFailed(name, msg)
		}
		changes = append(changes, change{st, v})
	}
	for _, ch := range changes {
		for k, v := range ch.set.apply(s, ch.value) {
			s.live.show(k, v)
		}
	}
	return resp.OK
}

func configSetFailed(name, why string) resp.Reply {
	return resp.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + why)
}

// CONFIG RESETSTAT: the counters INFO's stats, commandstats and errorstats
// show start again from zero, as Redis's do.
func configResetStat(s *Server, _ *request) resp.Reply {
	s.stats.reset()
	s.connections.Store(0)
	return resp.OK
}

// CONFIG REWRITE writes what CONFIG SET changed into the config file the
// node started with (Config.Rewrite, which knows its format).
func configRewrite(s *Server, _ *request) resp.Reply {
	if s.cfg.Rewrite == nil {
		return resp.Error("ERR The server is running without a config file")
	}
	if err := s.cfg.Rewrite(s.live.changed()); err != nil {
		s.log.Warn("CONFIG REWRITE failed", "error", err)
		return resp.Error("ERR Rewriting config file: " + oneLine(err))
	}
	return resp.OK
}
