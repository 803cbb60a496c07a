package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigFileTakesRedisNamesForListenDataAndLogLevel(t *testing.T) {
	tlsFiles := "tls-cert-file c.pem\ntls-key-file k.pem\ntls-ca-cert-file ca.pem\n"
	cases := []struct {
		name, text            string
		listen, tls, data, lv string
	}{
		{"port alone keeps the default host", "port 7000\n", "127.0.0.1:7000", "", "", "info"},
		{"bind alone keeps the default port", "bind 10.1.2.3\n", "10.1.2.3:6379", "", "", "info"},
		{"bind then port", "bind 127.0.0.2\nport 7001\n", "127.0.0.2:7001", "", "", "info"},
		{"port then bind", "port 7001\nbind 127.0.0.2\n", "127.0.0.2:7001", "", "", "info"},
		{"bind * is every interface", "bind *\nport 7002\n", ":7002", "", "", "info"},
		{"an optional -address", "bind -::1\nport 7003\n", "[::1]:7003", "", "", "info"},
		{"tls-port on the bind address", "bind 127.0.0.4\nport 7004\ntls-port 7005\n" + tlsFiles, "127.0.0.4:7004", "127.0.0.4:7005", "", "info"},
		{"port 0 is TLS only", "port 0\ntls-port 7006\n" + tlsFiles, "", "127.0.0.1:7006", "", "info"},
		{"dir is the data dir", "dir /var/lib/raftlist\n", "127.0.0.1:6379", "", "/var/lib/raftlist", "info"},
		{"loglevel debug", "loglevel debug\n", "127.0.0.1:6379", "", "", "debug"},
		{"loglevel verbose", "loglevel verbose\n", "127.0.0.1:6379", "", "", "debug"},
		{"loglevel notice", "loglevel notice\n", "127.0.0.1:6379", "", "", "info"},
		{"loglevel warning", "loglevel WARNING\n", "127.0.0.1:6379", "", "", "warn"},
		{"loglevel nothing", "loglevel nothing\n", "127.0.0.1:6379", "", "", "off"},
		{"loglevel in raftlist's names", "loglevel trace\n", "127.0.0.1:6379", "", "", "trace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseServerFlags([]string{writeConfig(t, tc.text)})
			if err != nil {
				t.Fatal(err)
			}
			if tc.data == "" {
				tc.data = "data/" + f.id
			}
			got := []string{f.listen, f.tls.listen, f.data, f.logLevel}
			if exp := []string{tc.listen, tc.tls, tc.data, tc.lv}; !reflect.DeepEqual(got, exp) {
				t.Fatalf("listen, tls-listen, data, log-level: exp %q, got %q", exp, got)
			}
		})
	}
	t.Run("the command line still wins", func(t *testing.T) {
		f, err := parseServerFlags([]string{writeConfig(t, "port 7000\nbind 127.0.0.2\n"), "--listen", "127.0.0.3:7100"})
		if err != nil || f.listen != "127.0.0.3:7100" {
			t.Fatalf("exp 127.0.0.3:7100, got %v (%v)", f, err)
		}
	})
}

func TestConfigFileRefusesRedisNamesThatCannotWork(t *testing.T) {
	cases := []struct{ name, text, exp string }{
		{"listen and port", "listen 127.0.0.1:7000\nport 7001\n", "at line 2\n>>> 'port 7001'\nthe file also sets listen (line 1)"},
		{"tls-listen and tls-port", "tls-port 7001\ntls-listen 127.0.0.1:7002\n", "at line 1\n>>> 'tls-port 7001'\nthe file also sets tls-listen (line 2)"},
		{"two bind addresses", "bind 127.0.0.1 -::1\n", "raftlist listens on one address"},
		{"a port that is not one", "port 70000\n", "Invalid port '70000'"},
		{"a level Redis does not have", "loglevel chatty\n", "Invalid loglevel 'chatty'"},
		{"port without a value", "port\n", "wrong number of arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServerFlags([]string{writeConfig(t, tc.text)})
			if err == nil || !strings.Contains(err.Error(), tc.exp) || !strings.Contains(err.Error(), "FATAL CONFIG FILE ERROR") {
				t.Fatalf("exp a config file error containing %q, got %v", tc.exp, err)
			}
		})
	}
}

func TestTimeoutTakesDurationsAndPlainSeconds(t *testing.T) {
	for value, exp := range map[string]time.Duration{
		"0": 0, "300": 300 * time.Second, "90s": 90 * time.Second, "5m": 5 * time.Minute, "1h": time.Hour,
	} {
		f, err := parseServerFlags([]string{"--timeout", value})
		if err != nil || time.Duration(f.idleTimeout) != exp {
			t.Errorf("--timeout %s: exp %v, got %v (%v)", value, exp, time.Duration(f.idleTimeout), err)
		}
	}
	// CONFIG GET answers whole seconds as Redis does.
	f, _ := parseServerFlags([]string{"--timeout", "2m"})
	if got := configValues(f.fs)["timeout"]; got != "120" {
		t.Errorf("CONFIG GET timeout after --timeout 2m: exp 120, got %q", got)
	}
	// Redis's timeout is whole seconds; CONFIG GET could not say 1.5 as
	// Redis does, and a client reading an integer from it would fail.
	for _, bad := range []string{"soon", "-1", "-5s", "1500ms", "500ms"} {
		if _, err := parseServerFlags([]string{"--timeout", bad}); err == nil {
			t.Errorf("--timeout %s: exp an error", bad)
		}
	}
}
