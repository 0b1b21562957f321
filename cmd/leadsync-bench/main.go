// Command leadsync-bench is the load benchmark of README "Benchmarks": it
// drives the real daemon (real config, real bbolt file, fsync on) with
// unique signed Hemnet webhooks, and in the same run a bare reference
// handler (read body + HMAC + 200) under the same load, and prints req/s,
// p50, p99, errors and the ratio to the reference for each connection count,
// with the CPU per request of both servers and of the load generator
// (client.go: pre-built requests over raw keep-alive connections, cheaper
// than the reference handler it measures).
//
//	go run ./cmd/leadsync-bench                      # the intake table
//	go run ./cmd/leadsync-bench -quick               # a short smoke run
//	go run ./cmd/leadsync-bench -suite all           # also e2e latency, drain, 1M events, GOMAXPROCS=1
//
// Everything runs on loopback; every loop is bounded in time and count.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run()) }

type options struct {
	conns    []int
	duration time.Duration
	warmup   time.Duration
	suite    string
	keep     bool
	logLevel string
	floor    bool
	rounds   int
	million  int
	drainN   int
}

func run() int {
	if len(os.Args) >= 3 && (os.Args[1] == "-reference" || os.Args[1] == "-floor-server" && len(os.Args) == 4) {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		serve := func() error { return serveReference(ctx, os.Args[2]) }
		if os.Args[1] == "-floor-server" {
			serve = func() error { return serveFloor(ctx, os.Args[2], os.Args[3]) }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	var o options
	var conns string
	quick := flag.Bool("quick", false, "short run: 2s per point, small stores")
	flag.StringVar(&conns, "conns", "16,64,256", "connection counts")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "measured time per point")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time before each point")
	flag.IntVar(&o.rounds, "rounds", 4, "intake: the measured time of a point is split into this many turns of reference, then leadsync")
	flag.StringVar(&o.suite, "suite", "intake", "intake | all | drain | latency | large")
	flag.IntVar(&o.million, "stored", 1_000_000, "events already stored for the large-store run")
	flag.IntVar(&o.drainN, "drain", 100_000, "pending leads for the drain run")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir")
	flag.BoolVar(&o.floor, "floor", true, "intake: also measure the durable floor (the reference + one bbolt put per request, one writer)")
	flag.StringVar(&o.logLevel, "log-level", "info", "the daemon's log level (info, the default, logs a line per lead)")
	flag.Parse()
	switch o.suite {
	case "intake", "all", "drain", "latency", "large":
	default:
		fmt.Fprintf(os.Stderr, "bad -suite %q: want intake, all, drain, latency or large\n", o.suite)
		return 2
	}
	for _, c := range strings.Split(conns, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(c), &n); err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bad -conns %q\n", conns)
			return 2
		}
		o.conns = append(o.conns, n)
	}
	if *quick {
		o.duration, o.warmup, o.million, o.drainN = 2*time.Second, 300*time.Millisecond, 50_000, 10_000
	}
	b, err := newBench(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leadsync-bench:", err)
		return 1
	}
	defer b.close()
	if err := b.run(); err != nil {
		fmt.Fprintln(os.Stderr, "leadsync-bench:", err)
		return 1
	}
	return 0
}
