package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/regen-dev/regen/bus"
)

// errUnhealthy is returned when the probed endpoint does not answer 2xx.
var errUnhealthy = errors.New("unhealthy")

// healthcheckCmd GETs a probe URL and succeeds only on a 2xx answer: the
// container healthcheck of an image without curl or wget.
func healthcheckCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regen healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "probe URL")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	quiet := fs.Bool("q", false, "print nothing on success")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("%w: --url: %w", errConfig, err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnhealthy, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%w: %s answered %s: %s", errUnhealthy, bus.RedactURLs(*url), resp.Status, body)
	}
	if !*quiet {
		_, err = fmt.Fprintf(stdout, "%s %s\n", bus.RedactURLs(*url), resp.Status)
	}
	return err
}
