package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// Redis's own names for settings raftlist spells differently are accepted
// in the config file, so that a line copied from redis.conf means the same:
//
//	port N       the client port of --listen; 0: no plain port (TLS only)
//	bind ADDR    the host of --listen (and --tls-listen); "*" or "-ADDR"
//	             as in redis.conf; raftlist listens on one address only
//	tls-port N   --tls-listen on the bind address; 0: no TLS port
//	dir DIR      --data
//	loglevel L   --log-level: debug, verbose, notice, warning, nothing
//	             (Redis's levels) or raftlist's own
//
// port, bind and tls-port are combined once the whole file is read, so
// their order does not matter: --listen = bind:port, each part defaulting to
// --listen's default (127.0.0.1, 6379); --tls-listen = bind:tls-port. A file
// may not give both listen and port/bind, or tls-listen and tls-port. The
// command line still wins: --listen given as a flag replaces what the file
// built.

// redisLogLevels maps Redis's loglevel names to raftlist's --log-level.
var redisLogLevels = map[string]string{
	"debug": "debug", "verbose": "debug", "notice": "info", "warning": "warn", "nothing": "off",
}

// redisAddrs collects a config file's port, bind and tls-port lines.
type redisAddrs struct {
	port, bind, tlsPort *configLine
	set                 map[string]*configLine // every key the file set
}

// configLine is one line of a config file, for errors found after reading
// the whole file.
type configLine struct {
	n     int
	text  string
	value string
}

// take handles key if it is one of Redis's names, reporting whether it was.
func (r *redisAddrs) take(fs *flag.FlagSet, key string, args []string, line *configLine) (bool, error) {
	switch key {
	case "port", "tls-port", "bind", "dir", "loglevel":
	default:
		return false, nil
	}
	if len(args) != 1 {
		if key == "bind" && len(args) > 1 {
			return true, errors.New("raftlist listens on one address: bind takes exactly one")
		}
		return true, errors.New("wrong number of arguments")
	}
	v := args[0]
	line.value = v
	switch key {
	case "port", "tls-port":
		if p, err := strconv.Atoi(v); err != nil || p < 0 || p > 65535 {
			return true, fmt.Errorf("Invalid %s '%s': want a port number 0..65535", key, v)
		}
		if key == "port" {
			r.port = line
		} else {
			r.tlsPort = line
		}
	case "bind":
		v = strings.TrimPrefix(v, "-") // Redis: "-ADDR" is an address that may be missing
		if v == "*" {
			v = "" // every interface
		}
		line.value = v
		r.bind = line
	case "dir":
		return true, fs.Set("data", v)
	case "loglevel":
		level := strings.ToLower(v)
		if mapped, ok := redisLogLevels[level]; ok {
			level = mapped
		}
		if err := checkLogFlags(level, "text"); err != nil {
			return true, fmt.Errorf("Invalid loglevel '%s': want debug, verbose, notice, warning, nothing (or trace, info, warn, error, off)", v)
		}
		return true, fs.Set("log-level", level)
	}
	return true, nil
}

// noteSet records that the file set key on line.
func (r *redisAddrs) noteSet(key string, line *configLine) {
	if r.set == nil {
		r.set = make(map[string]*configLine)
	}
	r.set[key] = line
}

// apply sets --listen and --tls-listen from port, bind and tls-port. It
// returns the line at fault with its error.
func (r *redisAddrs) apply(fs *flag.FlagSet) (*configLine, error) {
	if r.port == nil && r.bind == nil && r.tlsPort == nil {
		return nil, nil
	}
	for _, c := range []struct {
		own  string
		them []*configLine
	}{{"listen", []*configLine{r.port, r.bind}}, {"tls-listen", []*configLine{r.tlsPort}}} {
		for _, l := range c.them {
			if l != nil && r.set[c.own] != nil {
				return l, fmt.Errorf("the file also sets %s (line %d): give one or the other", c.own, r.set[c.own].n)
			}
		}
	}
	defHost, defPort, _ := net.SplitHostPort(fs.Lookup("listen").DefValue)
	host, port := defHost, defPort
	if r.bind != nil {
		host = r.bind.value
	}
	if r.port != nil {
		port = r.port.value
	}
	if r.port != nil || r.bind != nil {
		listen := net.JoinHostPort(host, port)
		if port == "0" {
			listen = "" // Redis's port 0: no plain TCP port
		}
		if err := fs.Set("listen", listen); err != nil {
			return r.port, err
		}
	}
	if r.tlsPort != nil && r.tlsPort.value != "0" {
		if err := fs.Set("tls-listen", net.JoinHostPort(host, r.tlsPort.value)); err != nil {
			return r.tlsPort, err
		}
	}
	return nil, nil
}

// redisConfigValues adds Redis's names to CONFIG GET's values: port and
// bind from --listen, tls-port from --tls-listen, dir (set by the caller)
// and loglevel in Redis's level names.
func redisConfigValues(out map[string]string) {
	out["port"] = "0"
	if host, port, err := net.SplitHostPort(out["listen"]); err == nil {
		out["bind"], out["port"] = host, port
	}
	out["tls-port"] = "0"
	if host, port, err := net.SplitHostPort(out["tls-listen"]); err == nil {
		out["tls-port"] = port
		if out["listen"] == "" {
			out["bind"] = host
		}
	}
	switch strings.ToLower(out["log-level"]) {
	case "trace", "debug":
		out["loglevel"] = "debug"
	case "warn", "error":
		out["loglevel"] = "warning"
	case "off":
		out["loglevel"] = "nothing"
	default:
		out["loglevel"] = "notice"
	}
}

// seconds is a duration flag that also takes a plain integer as seconds,
// as Redis's timeout does. It holds whole seconds only, so that CONFIG GET
// timeout answers an integer as Redis would (clients parse it as one).
type seconds time.Duration

func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return errors.New("out of range")
		}
		*s = seconds(time.Duration(n) * time.Second)
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want seconds (300) or a duration (90s, 5m)")
	}
	if d%time.Second != 0 {
		return errors.New("want whole seconds, as Redis's timeout")
	}
	*s = seconds(d)
	return nil
}

func (s *seconds) String() string {
	return strconv.FormatInt(int64(time.Duration(*s)/time.Second), 10)
}
