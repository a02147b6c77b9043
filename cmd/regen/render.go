package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/logging"
)

// renderCmd is the one-shot full build: every template for every node of
// the model in JSON-lines files (no server needed), or of a running
// deployment's model (--from-server), written to --out.
func renderCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regen render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := addConnFlags(fs)
	templates := fs.String("templates", "examples/templates", "template directory")
	out := fs.String("out", "", "directory to write the artifacts to (must be empty or absent; required)")
	fromServer := fs.Bool("from-server", false, "render the model of the deployment at --nats-url instead of files")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: regen render --out DIR [flags] FILE.jsonl ...   (- reads stdin)\n"+
			"       regen render --out DIR --from-server [connection flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := app.RenderConfig{Templates: *templates, Out: *out, Logger: logging.New(stderr, "warn", "auto")}
	if (fs.NArg() == 0) != *fromServer {
		return fmt.Errorf("%w: give JSON-lines files or --from-server (one of them)", errConfig)
	}
	closeInputs, err := renderSource(ctx, &cfg, conn, fs.Args())
	if err != nil {
		return err
	}
	defer closeInputs()
	res, err := app.Render(ctx, cfg)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "rendered %d artifacts from %d events into %s\n", res.Artifacts, res.Events, cfg.Out)
	return err
}

// renderSource opens the input files (or connects, without files) into
// cfg; the returned func releases them.
func renderSource(ctx context.Context, cfg *app.RenderConfig, conn *connFlags, files []string) (func(), error) {
	if len(files) == 0 {
		nc, js, err := conn.connect(ctx, "regen render")
		if err != nil {
			return nil, err
		}
		cfg.JS = js
		return nc.Close, nil
	}
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			_ = f.Close()
		}
	}
	for _, name := range files {
		if name == "-" {
			cfg.Inputs = append(cfg.Inputs, os.Stdin)
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, errors.Join(errConfig, err)
		}
		opened = append(opened, f)
		cfg.Inputs = append(cfg.Inputs, f)
	}
	return closeAll, nil
}
