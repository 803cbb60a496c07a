package main

import (
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/go-hclog"
)

// checkLogFlags refuses a level or format the logger would otherwise
// silently replace with its default. hclog decides what a level name is
// (any case): trace, debug, info, warn, error, off.
func checkLogFlags(level, format string) error {
	if hclog.LevelFromString(level) == hclog.NoLevel {
		return fmt.Errorf("--log-level %q: want one of trace, debug, info, warn, error, off", level)
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("--log-format %q: want text or json", format)
	}
	return nil
}

// newLogger is the node's one logger: every line carries the node id as
// the logger's name (hclog's "@module" in JSON, and a node_id field). Anything written through
// the standard library's log package (net/http's errors, a library's
// log.Printf) is routed into it too, so no line leaves the node unnamed or
// in another format.
func newLogger(id, level, format string) hclog.Logger {
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       id,
		Level:      hclog.LevelFromString(level),
		Output:     os.Stderr,
		JSONFormat: format == "json",
	})
	if format == "json" {
		// A field of its own, as log pipelines filter on; the text
		// format already starts every line with it.
		logger = logger.With("node_id", id)
	}
	log.SetFlags(0)
	log.SetPrefix("")
	log.SetOutput(logger.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	return logger
}

// errLogged is an error the server already wrote to its log; main only
// sets the exit status for it.
type errLogged struct{ error }

func (e errLogged) Unwrap() error { return e.error }
