package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/regen-dev/regen/bus"
)

// dlqCmd lists, replays or purges dead letters.
func dlqCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: regen dlq list [--json] | replay (--id ID | --all) | purge")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("regen dlq "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := addConnFlags(fs)
	asJSON := fs.Bool("json", false, "list: one JSON object per line")
	id := fs.String("id", "", "replay: the event id to replay")
	all := fs.Bool("all", false, "replay: replay every dead letter")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	nc, js, err := conn.connect(ctx, "regen dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	dlq := bus.NewDeadLetters(js)
	switch args[0] {
	case "list":
		return dlqList(ctx, dlq, stdout, *asJSON)
	case "replay":
		return dlqReplay(ctx, dlq, stdout, *id, *all)
	case "purge":
		if err := dlq.Purge(ctx); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stdout, "dead letters purged")
		return err
	}
	return fmt.Errorf("%w: unknown dlq command %q", errConfig, args[0])
}

func dlqList(ctx context.Context, dlq *bus.DeadLetters, w io.Writer, asJSON bool) error {
	list, err := dlq.List(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, dl := range list {
			if err := enc.Encode(dl); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCHANGE TYPE\tSUBJECT\tREASON\tDELIVERIES\tTIME")
	for _, dl := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", dl.ID, dl.ChangeType, dl.Subject, dl.Reason,
			dl.Deliveries, dl.DeadAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func dlqReplay(ctx context.Context, dlq *bus.DeadLetters, w io.Writer, id string, all bool) error {
	if (id == "") == !all {
		return fmt.Errorf("%w: replay needs exactly one of --id ID or --all", errConfig)
	}
	n, err := dlq.Replay(ctx, func(dl bus.DeadLetter) bool { return all || dl.ID == id })
	if err != nil {
		return err
	}
	if n == 0 && !all {
		return fmt.Errorf("replay %s: %w", id, bus.ErrDeadLetterNotFound)
	}
	_, err = fmt.Fprintf(w, "replayed %d dead letters\n", n)
	return errors.Join(err)
}
