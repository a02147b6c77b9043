package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/regen-dev/regen/orchestrator"
)

// Flags binds the configuration flags to fs and returns a Loader that
// applies file, env and the flags the user set, in that order.
func Flags(fs *flag.FlagSet) *Loader {
	l := &Loader{fs: fs, flagVals: map[string]string{}}
	fs.StringVar(&l.file, "config", "", "YAML config file (env REGEN_CONFIG)")
	fs.BoolVar(&l.once, "once", false, "drain the backlog, then exit (autonomous: false)")
	var probe Config
	for _, s := range settings(&probe) {
		fs.Var(&flagValue{name: s.flag, vals: l.flagVals, isBool: s.isBool}, s.flag, s.usage+" (env "+s.Env()+")")
	}
	return l
}

// Loader resolves the effective Config after fs.Parse.
type Loader struct {
	fs       *flag.FlagSet
	file     string
	once     bool
	flagVals map[string]string
}

// flagValue stores what the user typed; the Loader applies it last.
type flagValue struct {
	name   string
	vals   map[string]string
	isBool bool
}

func (f *flagValue) String() string   { return "" }
func (f *flagValue) IsBoolFlag() bool { return f.isBool }
func (f *flagValue) Set(v string) error {
	if prev, ok := f.vals[f.name]; ok && repeatable[f.name] != "" {
		v = prev + repeatable[f.name] + v
	}
	f.vals[f.name] = v
	return nil
}

// repeatable are the flags that may be given more than once, with the
// separator that joins their values.
var repeatable = map[string]string{"deploy": ",", "validator": mapSep, "deploy-validate": mapSep, "rate-limit": mapSep}

// Load returns defaults overlaid with the YAML file, REGEN_* env and flags,
// validated. getenv is usually os.Getenv.
func (l *Loader) Load(getenv func(string) string) (Config, error) {
	cfg := Default()
	file := l.file
	if file == "" {
		file = getenv("REGEN_CONFIG")
	}
	if file != "" {
		if err := loadFile(file, &cfg); err != nil {
			return cfg, err
		}
	}
	var errs []error
	for _, s := range settings(&cfg) {
		if v := getenv(s.Env()); v != "" {
			errs = appendErr(errs, s.set(v), fmt.Sprintf("%s (env %s)", s.key, s.Env()))
		}
		if v, ok := l.flagVals[s.flag]; ok {
			errs = appendErr(errs, s.set(v), fmt.Sprintf("%s (flag --%s)", s.key, s.flag))
		}
	}
	if l.once {
		cfg.Orchestrator.Autonomous = false
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, err
	}
	cfg.Orchestrator = resolveAuto(cfg.Orchestrator)
	cfg.Breaker = cfg.Breaker.WithDefaults()
	return cfg, cfg.Validate()
}

// resolveAuto fills the fields whose default derives from others
// (batch_size 0 = 2 x max_concurrent, replica "" = host-pid). Unlike
// WithDefaults it keeps an explicit max_concurrent: 0, so Validate refuses it.
func resolveAuto(o orchestrator.Config) orchestrator.Config {
	mc := o.MaxConcurrent
	o.MaxConcurrent = max(mc, 1)
	if o.BatchSize == 0 {
		o.BatchSize = o.WithDefaults().BatchSize
	}
	if o.Replica == "" {
		o.Replica = o.WithDefaults().Replica
	}
	o.MaxConcurrent = mc
	return o
}

func appendErr(errs []error, err error, field string) []error {
	if err == nil {
		return errs
	}
	return append(errs, fmt.Errorf("%s: %w", field, err))
}

func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// YAML renders cfg (secrets redacted) as the YAML a config file takes.
func YAML(cfg Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg.Redacted()); err != nil {
		return nil, fmt.Errorf("config yaml: %w", err)
	}
	return buf.Bytes(), enc.Close()
}
