package main

import (
	"context"
	"flag"
	"os"

	"github.com/regen-dev/regen/bus/embedded"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
)

// connFlags are the connection flags of the client commands (publish,
// dlq); each defaults to its REGEN_* variable.
type connFlags struct{ cfg bus.ConnConfig }

func addConnFlags(fs *flag.FlagSet) *connFlags {
	c := &connFlags{}
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.cfg.URLs, "nats-url", env("REGEN_NATS_URL", "nats://"+embedded.ListenDefault), "NATS URLs, comma-separated (env REGEN_NATS_URL)")
	fs.StringVar(&c.cfg.Creds, "creds", env("REGEN_NATS_CREDS", ""), "NATS credentials file")
	fs.StringVar(&c.cfg.User, "user", env("REGEN_NATS_USER", ""), "NATS user")
	fs.StringVar(&c.cfg.Password, "password", env("REGEN_NATS_PASSWORD", ""), "NATS password")
	fs.StringVar(&c.cfg.Token, "token", env("REGEN_NATS_TOKEN", ""), "NATS token")
	fs.StringVar(&c.cfg.TLSCA, "tls-ca", env("REGEN_NATS_TLS_CA", ""), "CA certificate")
	fs.StringVar(&c.cfg.TLSCert, "tls-cert", env("REGEN_NATS_TLS_CERT", ""), "client certificate")
	fs.StringVar(&c.cfg.TLSKey, "tls-key", env("REGEN_NATS_TLS_KEY", ""), "client key")
	return c
}

func (c *connFlags) connect(ctx context.Context, name string) (*nats.Conn, jetstream.JetStream, error) {
	cfg := c.cfg
	cfg.Name = name
	return bus.Connect(ctx, cfg)
}
