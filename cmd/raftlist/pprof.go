package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/hashicorp/go-hclog"
)

// servePprof serves net/http/pprof on addr (port 0 picks one; the log line
// names it) until the process exits. It is off unless --pprof is given:
// profiles expose internals and cost CPU while taken.
func servePprof(addr string, logger hclog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	logger.Info("pprof serving", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux,
		ErrorLog: logger.Named("pprof").StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})}
	go func() {
		if err := srv.Serve(ln); err != nil {
			logger.Warn("pprof server stopped", "error", err)
		}
	}()
	return nil
}
