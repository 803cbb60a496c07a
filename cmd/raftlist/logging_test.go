package main

import (
	"strings"
	"testing"
)

func TestServerFlagsRefuseUnknownLogLevelsAndFormats(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"--log-level", "debug"}, ""},
		{[]string{"--log-level", "WARN", "--log-format", "json"}, ""},
		{[]string{"--log-level", "verbose"}, `--log-level "verbose": want one of trace, debug, info, warn, error, off`},
		{[]string{"--log-level", ""}, `--log-level "": want one of`},
		{[]string{"--log-format", "logfmt"}, `--log-format "logfmt": want text or json`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseServerFlags(tt.args)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("exp no error, got %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("exp error %q, got %v", tt.err, err)
			}
		})
	}
}
