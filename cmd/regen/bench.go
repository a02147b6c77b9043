package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/regen-dev/regen/internal/benchkit"
)

// errTargetsMissed is returned by `regen bench --check` when a target fails.
var errTargetsMissed = errors.New("performance targets missed")

type benchFlags struct {
	asJSON, quick, check   bool
	doc, watermill         string
	templates              string
	graphTemplates         string
	cpuProfile, memProfile string
	scale                  float64
}

func parseBenchFlags(args []string, stderr io.Writer) (benchFlags, error) {
	var f benchFlags
	fs := flag.NewFlagSet("regen bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object instead of the table")
	fs.BoolVar(&f.quick, "quick", false, "tiny sizes: a smoke run of seconds whose figures are not judged")
	fs.BoolVar(&f.check, "check", false, "exit 1 unless every target is met")
	fs.StringVar(&f.doc, "doc", "", "Markdown file to write the figures into (default docs/benchmarks.md; none with --quick); - for none")
	fs.StringVar(&f.watermill, "watermill", "bench/watermill", "the Watermill comparison module (empty: skip, ratios null)")
	fs.StringVar(&f.templates, "templates", "examples/templates", "templates of the end-to-end run")
	fs.StringVar(&f.graphTemplates, "graph-templates", "examples/gopkg/templates", "templates of the whole-model run (empty: skip it)")
	fs.Float64Var(&f.scale, "scale", 1, "multiply every workload size (0.2: faster, noisier)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a pprof allocation profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 || f.scale <= 0 {
		return f, fmt.Errorf("%w: bench takes flags only and --scale > 0", errConfig)
	}
	if f.doc == "" && !f.quick {
		f.doc = "docs/benchmarks.md"
	}
	return f, nil
}

// benchCmd runs the performance suite (internal/benchkit) and prints the
// table or, with --json, one JSON object. Started with benchkit.ChildEnv
// set, it is the child process whose memory the suite measures.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if benchkit.IsChild() {
		return benchkit.RunChild(ctx, stdout)
	}
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: own executable: %w", err)
	}
	sizes := benchkit.FullSizes()
	if f.quick {
		sizes = benchkit.QuickSizes()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	endProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		return err
	}
	rep, err := benchkit.Run(ctx, benchkit.Config{Sizes: sizes.Scaled(f.scale), Quick: f.quick || f.scale < 1,
		ChildCommand: []string{exe, "bench"}, WatermillDir: f.watermill, Templates: f.templates,
		GraphTemplates: f.graphTemplates, Progress: stderr})
	if perr := endProfiles(); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	return reportBench(rep, f, args, stdout)
}

func reportBench(rep *benchkit.Report, f benchFlags, args []string, stdout io.Writer) error {
	if f.doc != "-" && f.doc != "" {
		if err := rep.WriteDoc(f.doc, strings.TrimSpace("regen bench "+strings.Join(args, " "))); err != nil {
			return err
		}
	}
	var err error
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if f.check && !rep.AllMet() {
		return errTargetsMissed
	}
	return nil
}
