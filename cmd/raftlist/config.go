package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/raftlist/raftlist/fsm/resp"
)

// A node's configuration file is a Redis-style raftlist.conf: one
// "keyword value" per line, '#' comments, values quoted as Redis's
// sdssplitargs quotes them. Every flag of `raftlist server` is a keyword of
// the same name, found through the FlagSet itself, so a flag added to
// parseServerFlags is a config key with no further code. Flags on the
// command line override the file, as `redis-server redis.conf --port 7000`
// does.

// configFileFlag names the file when it is not the first argument.
const configFileFlag = "config"

// flagAliases are flags kept for compatibility under an older name; the
// example file and CONFIG GET list the name they alias.
var flagAliases = map[string]string{"max-bulk-len": "proto-max-bulk-len"}

// multiWord is implemented by flag values that, like Redis's
// client-output-buffer-limit, take several words on one config line.
type multiWord interface{ MultiWord() bool }

// boolFlag is what the flag package's bool values implement.
type boolFlag interface{ IsBoolFlag() bool }

// parseWithConfig parses args into fs after applying the config file named
// by a leading non-flag argument or by --config, so that the command line
// wins over the file.
func parseWithConfig(fs *flag.FlagSet, args []string) error {
	fs.String(configFileFlag, "", "read settings from this Redis-style config file first (also accepted as the first argument); flags given on the command line override it")
	path, args := configPath(args)
	if path != "" {
		// Kept for CONFIG REWRITE, however the file was named.
		if abs, err := filepath.Abs(path); err == nil {
			fs.Set(configFileFlag, abs)
		}
		if err := loadConfigFile(fs, path); err != nil {
			return err
		}
	}
	return parseFlags(fs, args)
}

// configPath finds the config file in args: the first argument when it is
// not a flag, or --config PATH / --config=PATH anywhere before the first
// non-flag argument. The leading path is removed from what flag parses.
func configPath(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	for i, a := range args {
		name := strings.TrimLeft(a, "-")
		if name == configFileFlag && i+1 < len(args) {
			return args[i+1], args
		}
		if v, ok := strings.CutPrefix(name, configFileFlag+"="); ok {
			return v, args
		}
	}
	return "", args
}

// configError is Redis's way of saying a config file is wrong: the file,
// the line and the text of the line.
type configError struct {
	path string
	line int
	text string
	why  string
}

func (e *configError) Error() string {
	return fmt.Sprintf("\n*** FATAL CONFIG FILE ERROR ***\nReading the configuration file %s, at line %d\n>>> '%s'\n%s", e.path, e.line, e.text, e.why)
}

// loadConfigFile sets fs's flags from the file at path.
func loadConfigFile(fs *flag.FlagSet, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open config file: %w", err)
	}
	defer f.Close()
	return applyConfig(fs, path, f)
}

// applyConfig reads config lines from r (named path in errors) into fs.
func applyConfig(fs *flag.FlagSet, path string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var redis redisAddrs
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(why string) error { return &configError{path: path, line: n, text: line, why: why} }
		argv, err := splitArgs(line)
		if err != nil {
			return fail("Unbalanced quotes in configuration line")
		}
		key := strings.ToLower(argv[0])
		here := &configLine{n: n, text: line}
		redis.noteSet(key, here)
		if ok, err := redis.take(fs, key, argv[1:], here); ok {
			if err != nil {
				return fail(err.Error())
			}
			continue
		}
		fl := fs.Lookup(key)
		if fl == nil || key == configFileFlag {
			return fail("Bad directive or wrong number of arguments")
		}
		value, err := configValue(fl, argv[1:])
		if err != nil {
			return fail(err.Error())
		}
		if err := fs.Set(key, value); err != nil {
			return fail(fmt.Sprintf("Invalid argument '%s' for %s: %v", value, key, err))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read config file %s: %w", path, err)
	}
	if at, err := redis.apply(fs); err != nil {
		return &configError{path: path, line: at.n, text: at.text, why: err.Error()}
	}
	return nil
}

// configValue turns a line's arguments into what fs.Set takes: yes/no for
// booleans as Redis writes them, several words only where the flag takes
// them.
func configValue(fl *flag.Flag, args []string) (string, error) {
	if mw, ok := fl.Value.(multiWord); ok && mw.MultiWord() && len(args) > 0 {
		return strings.Join(args, " "), nil
	}
	if len(args) != 1 {
		return "", errors.New("wrong number of arguments")
	}
	if bf, ok := fl.Value.(boolFlag); ok && bf.IsBoolFlag() {
		switch strings.ToLower(args[0]) {
		case "yes":
			return "true", nil
		case "no":
			return "false", nil
		}
		return "", errors.New("argument must be 'yes' or 'no'")
	}
	return args[0], nil
}

// splitArgs splits a config line as Redis's sdssplitargs does (the port
// the script engine uses for shebang lines): words separated by blanks,
// "double quotes" with escapes, 'single quotes' with \' only; a closing
// quote must end the word.
func splitArgs(line string) ([]string, error) {
	words, ok := resp.SplitArgs(line)
	if !ok {
		return nil, errUnbalanced
	}
	return words, nil
}

var errUnbalanced = errors.New("unbalanced quotes")

// configValues is every config key of fs with its effective value, as
// CONFIG GET shows it, plus the Redis names derived from raftlist's own
// (redisConfigValues), and dir from --data.
func configValues(fs *flag.FlagSet) map[string]string {
	out := make(map[string]string)
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name == configFileFlag {
			return
		}
		v := fl.Value.String()
		if bf, ok := fl.Value.(boolFlag); ok && bf.IsBoolFlag() {
			v = map[bool]string{true: "yes", false: "no"}[v == "true"]
		}
		out[fl.Name] = v
	})
	redisConfigValues(out)
	if dir, err := filepath.Abs(out["data"]); err == nil {
		out["dir"] = dir
	}
	return out
}

// exampleConfig renders a config file listing every key of fs with its
// default and usage; docs/raftlist.conf.example is this text (a test keeps
// them equal).
func exampleConfig(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(`# raftlist.conf: settings of one raftlist node ("raftlist server").
#
# Start a node with it as Redis takes redis.conf:
#
#     raftlist server /etc/raftlist/raftlist.conf [--flag value ...]
#     raftlist server --config /etc/raftlist/raftlist.conf [--flag value ...]
#
# Every "raftlist server --NAME value" flag is the keyword NAME here, one
# "keyword value" per line; flags on the command line override the file.
# Booleans take yes or no. Values with blanks are quoted as in redis.conf.
# Sizes in bytes accept Redis's units: 1k = 1000, 1kb = 1024, mb, gb.
# An unknown keyword stops the node at startup, naming the line.
#
# Redis's names are accepted too, meaning what they mean in redis.conf:
# port, bind, tls-port (combined into listen and tls-listen), dir (data)
# and loglevel (debug, verbose, notice, warning, nothing); see
# docs/operations/limits-and-config.md.
#
# This file is generated from the server's flags (go test ./cmd/raftlist
# fails when it drifts); every setting below is at its default, so this
# file as it stands changes nothing. Empty values ("") mean "worked out at
# startup" as each comment says.
`)
	var names []string
	fs.VisitAll(func(fl *flag.Flag) {
		if fl.Name != configFileFlag && flagAliases[fl.Name] == "" {
			names = append(names, fl.Name)
		}
	})
	sort.Strings(names)
	for _, name := range names {
		fl := fs.Lookup(name)
		b.WriteString("\n# " + fl.Usage + "\n")
		def := fl.DefValue
		if bf, ok := fl.Value.(boolFlag); ok && bf.IsBoolFlag() {
			def = map[bool]string{true: "yes", false: "no"}[def == "true"]
		}
		quote := def == "" || strings.ContainsAny(def, " \t\"'")
		if mw, ok := fl.Value.(multiWord); ok && mw.MultiWord() && def != "" {
			quote = false // several words, unquoted, as redis.conf writes them
		}
		if quote {
			def = strconv.Quote(def)
		}
		fmt.Fprintf(&b, "%s %s\n", name, def)
	}
	return b.String()
}

// minMaxEntrySize keeps room for the node's own entries (term start,
// membership, unblock), which are never refused.
const minMaxEntrySize = 4096

// checkLimits refuses limits that cannot work, naming the flag.
func checkLimits(f *serverFlags) error {
	switch {
	case f.maxBulkLen < 1:
		return fmt.Errorf("--proto-max-bulk-len %d: must be at least 1", f.maxBulkLen)
	case f.maxEntrySize < minMaxEntrySize:
		return fmt.Errorf("--max-entry-size %d: must be at least %d", f.maxEntrySize, minMaxEntrySize)
	case f.maxClients < 0:
		return fmt.Errorf("--maxclients %d: must be 0 (no limit) or more", f.maxClients)
	case f.idleTimeout < 0:
		return fmt.Errorf("--timeout %s: must be 0 (never) or more", f.idleTimeout.String())
	}
	return nil
}
