package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/regen-dev/regen/bus"
)

// dlqTableBlock is how many table rows are aligned and printed together.
const dlqTableBlock = 100

// dlqCmd lists, replays or purges dead letters.
func dlqCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: regen dlq list [--json] [--limit N] [--since-seq S] | replay (--id ID | --all) | purge")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("regen dlq "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := addConnFlags(fs)
	var page dlqPage
	fs.BoolVar(&page.asJSON, "json", false, "list: one JSON object per line")
	fs.IntVar(&page.limit, "limit", 0, "list: at most N dead letters (0: all)")
	fs.Uint64Var(&page.since, "since-seq", 0, "list: start at this DLQ stream sequence (the next page's, printed after a --limit page)")
	id := fs.String("id", "", "replay: the event id to replay")
	all := fs.Bool("all", false, "replay: replay every dead letter")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if page.limit < 0 {
		return fmt.Errorf("%w: --limit must be 0 or more, got %d", errConfig, page.limit)
	}
	nc, js, err := conn.connect(ctx, "regen dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	dlq := bus.NewDeadLetters(js)
	switch args[0] {
	case "list":
		return dlqList(ctx, dlq, stdout, stderr, page)
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

// dlqPage is what `regen dlq list` prints: from which sequence, how many,
// in which form.
type dlqPage struct {
	asJSON bool
	limit  int
	since  uint64
}

// dlqList prints dead letters as it reads them, one at a time. After a
// full --limit page that has a successor it tells, on stderr, the
// --since-seq of the next page.
func dlqList(ctx context.Context, dlq *bus.DeadLetters, stdout, stderr io.Writer, page dlqPage) error {
	out := newDLQPrinter(stdout, page.asJSON)
	n := 0
	for dl, err := range dlq.All(ctx, page.since) {
		if err != nil {
			return errors.Join(out.flush(), err)
		}
		if page.limit > 0 && n == page.limit {
			if err := out.flush(); err != nil {
				return err
			}
			_, err := fmt.Fprintf(stderr, "more dead letters: next page with --since-seq %d\n", dl.Seq)
			return err
		}
		if err := out.print(dl); err != nil {
			return err
		}
		n++
	}
	return out.flush()
}

// dlqPrinter prints dead letters as JSON lines or as a table aligned in
// blocks of dlqTableBlock rows (a table is never held whole in memory).
type dlqPrinter struct {
	w      io.Writer
	enc    *json.Encoder
	tw     *tabwriter.Writer
	rows   int
	header bool
}

func newDLQPrinter(w io.Writer, asJSON bool) *dlqPrinter {
	p := &dlqPrinter{w: w}
	if asJSON {
		p.enc = json.NewEncoder(w)
	}
	return p
}

func (p *dlqPrinter) print(dl bus.DeadLetter) error {
	if p.enc != nil {
		return p.enc.Encode(dl)
	}
	fmt.Fprintf(p.table(), "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", dl.Seq, dl.ID, dl.ChangeType, dl.Subject, dl.Reason,
		dl.Deliveries, sizeColumn(dl), dl.DeadAt.Format(time.RFC3339))
	if p.rows++; p.rows%dlqTableBlock == 0 {
		return p.flush()
	}
	return nil
}

// table is the tabwriter of the current block; the first one begins
// with the column names.
func (p *dlqPrinter) table() *tabwriter.Writer {
	if p.tw == nil {
		p.tw = tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
		if !p.header {
			fmt.Fprintln(p.tw, "SEQ\tID\tCHANGE TYPE\tSUBJECT\tREASON\tDELIVERIES\tSIZE\tTIME")
			p.header = true
		}
	}
	return p.tw
}

// flush prints the current block (the column names at least).
func (p *dlqPrinter) flush() error {
	if p.enc != nil {
		return nil
	}
	err := p.table().Flush()
	p.tw = nil
	return err
}

// sizeColumn is the payload size, or for a truncated payload the
// original's with a note.
func sizeColumn(dl bus.DeadLetter) string {
	if dl.Truncated {
		return strconv.FormatInt(dl.OriginalSize, 10) + " (truncated to " + strconv.Itoa(dl.Size) + ")"
	}
	return strconv.Itoa(dl.Size)
}

func dlqReplay(ctx context.Context, dlq *bus.DeadLetters, w io.Writer, id string, all bool) error {
	if (id == "") == !all {
		return fmt.Errorf("%w: replay needs exactly one of --id ID or --all", errConfig)
	}
	n, err := dlq.Replay(ctx, func(dl bus.DeadLetter) bool { return all || dl.ID == id })
	if _, perr := fmt.Fprintf(w, "replayed %d dead letters\n", n); perr != nil {
		return errors.Join(err, perr)
	}
	if errors.Is(err, bus.ErrTruncated) {
		return fmt.Errorf("%w\n(a truncated dead letter holds only the start of an oversize event: fix and republish the event at its source)", err)
	}
	if err != nil {
		return err
	}
	if n == 0 && !all {
		return fmt.Errorf("replay %s: %w", id, bus.ErrDeadLetterNotFound)
	}
	return nil
}
