// Command regen is the regeneration service and its tools:
//
//	regen run      [flags]   pull change events, regenerate, deploy (embedded NATS unless --nats-url)
//	regen publish  [flags]   publish change events from JSON lines, stdin or --synthetic N
//	regen dlq      list|replay|purge
//	regen rollback PATH [--deploy-dir DIR]   put a deployed file's previous version back (and in the ledger)
//	regen watch    [flags]   print telemetry events (--since 10m replays, --type filters, --json raw)
//	regen stats    [flags]   every live replica's stats and the totals (--json: one document)
//	regen cost     [flags]   what the events cost over the last --since (1h), summed over every replica's cost reports
//	regen console  [flags]   the live web console of a deployment (--nats-url, --http ADDR)
//	regen healthcheck --url URL   exit 0 when the URL answers 2xx (container healthchecks)
//	regen config   [flags]   print the effective configuration as YAML
//	regen bench    [flags]   the performance suite: table, --json, docs/benchmarks.md
//
// Run `regen <command> -h` for the flags of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "pull change events, regenerate and deploy artifacts", runCmd},
		{"publish", "publish change events (JSON lines, stdin or --synthetic N)", publishCmd},
		{"render", "render every artifact of a model (JSON-lines files, or --from-server) into a directory", renderCmd},
		{"dlq", "list, replay or purge dead letters", dlqCmd},
		{"rollback", "put a deployed file's previous version back from .regen/prev/ and record it", rollbackCmd},
		{"watch", "print telemetry events as they happen (--since replays, --type filters)", watchCmd},
		{"stats", "show every live replica's stats and the totals", statsCmd},
		{"cost", "sum the replicas' cost reports of the last --since (1h) by template, source, priority and target", costCmd},
		{"console", "serve the live web console of a deployment (--nats-url, --http ADDR)", consoleCmd},
		{"pause", "pause a priority level on every replica (--priority LEVEL; priority_levels)", pauseCmd},
		{"resume", "resume a paused priority level (--priority LEVEL)", resumeCmd},
		{"healthcheck", "GET a probe URL; exit 0 on 2xx, 1 otherwise (container healthchecks)", healthcheckCmd},
		{"config", "print the effective configuration as YAML", configCmd},
		{"bench", "run the performance suite on an embedded server (--quick, --json)", benchCmd},
		{"version", "print the version", func(_ context.Context, _ []string, out, _ io.Writer) error {
			_, err := fmt.Fprintln(out, "regen", version)
			return err
		}},
	}
}

func main() {
	os.Exit(realMain(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// realMain dispatches to a command and maps its error to an exit code.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 2
		default:
			fmt.Fprintf(stderr, "regen %s: %v\n", c.name, err)
			return exitCode(err)
		}
	}
	fmt.Fprintf(stderr, "regen: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: regen <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
}
