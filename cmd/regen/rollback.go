package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/workers/deploy"
)

// rollbackOpts are the parsed arguments of regen rollback.
type rollbackOpts struct {
	root     string // the dir target's root, as the replica's deploy setting writes it
	path     string // the artifact path under root
	conn     *connFlags
	urlGiven bool // --nats-url or REGEN_NATS_URL: the ledger must be reachable
	noLedger bool
	timeout  time.Duration
}

// rollbackCmd puts the previous version of a deployed file back from its
// deploy root's .regen/prev/ and records it in that target's ledger when
// a NATS server is reachable.
func rollbackCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseRollback(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	ledger, release, err := rollbackLedger(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer release()
	d := &deploy.Dir{Root: o.root, Ledger: ledger}
	hash, err := d.Rollback(ctx, o.path)
	if hash == "" {
		return err
	}
	fmt.Fprintf(stdout, "restored %s in %s from %s/%s (sha256 %s)\n", o.path, o.root, deploy.PrevDir, o.path, hash[:12])
	if err == nil && ledger != nil {
		fmt.Fprintf(stdout, "ledger %s: %s recorded as sha256 %s\n", dirTarget(o.root), o.path, hash[:12])
	}
	return err
}

func dirTarget(root string) string { return "dir:" + root }

// parseRollback parses the flags, before or after PATH, and checks that
// PATH lies in the deploy root.
func parseRollback(args []string, stderr io.Writer) (rollbackOpts, error) {
	fs := flag.NewFlagSet("regen rollback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := rollbackOpts{conn: addConnFlags(fs)}
	fs.StringVar(&o.root, "deploy-dir", defaultDeployDir(os.Getenv("REGEN_DEPLOY")),
		"the dir target's root, written as in the replica's deploy setting (the ledger names the target by it); default the first dir: target of REGEN_DEPLOY, else ./out")
	fs.BoolVar(&o.noLedger, "no-ledger", false, "restore the file only: do not connect to NATS")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: regen rollback PATH [--deploy-dir DIR] [flags]   (PATH: the deployed file, e.g. out/types/x.go)")
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return o, err
	}
	if len(files) != 1 {
		return o, fmt.Errorf("%w: give exactly one PATH, the deployed file to roll back", errConfig)
	}
	fs.Visit(func(f *flag.Flag) { o.urlGiven = o.urlGiven || f.Name == "nats-url" })
	o.urlGiven = o.urlGiven || os.Getenv("REGEN_NATS_URL") != ""
	o.path, err = artifactPath(o.root, files[0])
	return o, err
}

// parseInterleaved parses fs's flags wherever they are among args and
// returns the other arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// defaultDeployDir is the root of the first dir: target of deploy (a
// REGEN_DEPLOY list), or ./out, the default target's.
func defaultDeployDir(deploy string) string {
	for t := range strings.SplitSeq(deploy, ",") {
		if root, ok := strings.CutPrefix(strings.TrimSpace(t), "dir:"); ok && root != "" {
			return root
		}
	}
	return "./out"
}

// artifactPath is file's path relative to root, slash-separated; a file
// outside root is refused.
func artifactPath(root, file string) (string, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("--deploy-dir %s: %w", root, err)
	}
	absFile, err := filepath.Abs(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	rel, err := filepath.Rel(absRoot, absFile)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %s is not inside the deploy root %s (give the deployed file's path, e.g. %s, or --deploy-dir)",
			errConfig, file, root, filepath.Join(root, file))
	}
	return filepath.ToSlash(rel), nil
}

// rollbackLedger is the ledger of the dir target, when one can be
// reached and knows the path; otherwise nil, with a note on stderr why
// (an error when --nats-url or REGEN_NATS_URL named a server that did
// not answer). release closes its connection.
func rollbackLedger(ctx context.Context, o rollbackOpts, stderr io.Writer) (l *deploy.Ledger, release func(), err error) {
	release = func() {}
	skip := func(why string) (*deploy.Ledger, func(), error) {
		fmt.Fprintf(stderr, "ledger %s: not updated: %s\n", dirTarget(o.root), why)
		return nil, release, nil
	}
	if o.noLedger {
		return skip("--no-ledger")
	}
	nc, js, err := o.conn.connect(ctx, "regen rollback")
	if err != nil && !o.urlGiven {
		return skip(fmt.Sprintf("no NATS server (%v); --nats-url names one, --no-ledger skips this", err))
	}
	if err != nil {
		return nil, release, err
	}
	l, why, err := dirLedger(ctx, js, o)
	if l == nil {
		nc.Close()
		if err != nil {
			return nil, release, err
		}
		return skip(why)
	}
	return l, nc.Close, nil
}

// dirLedger is the target's ledger if it has a record of the path; else
// why not.
func dirLedger(ctx context.Context, js jetstream.JetStream, o rollbackOpts) (*deploy.Ledger, string, error) {
	kv, err := js.KeyValue(ctx, wire.ArtifactBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, "the server has no " + wire.ArtifactBucket + " bucket", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("ledger bucket: %w", err)
	}
	l := deploy.NewLedger(kv, dirTarget(o.root))
	if _, rev, err := l.Get(ctx, o.path); err != nil || rev == 0 {
		return nil, fmt.Sprintf("it has no record of %s (write --deploy-dir as in the replica's deploy setting)", o.path), err
	}
	return l, "", nil
}
