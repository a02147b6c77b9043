package breaker_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/breaker"
)

func TestConfigWithDefaults(t *testing.T) {
	t.Parallel()
	got := breaker.Config{}.WithDefaults()
	want := breaker.Config{
		Window:          breaker.WindowDefault,
		WindowBuckets:   breaker.WindowBucketsDefault,
		MinRequests:     breaker.MinRequestsDefault,
		FailureRatio:    breaker.FailureRatioDefault,
		OpenTimeout:     breaker.OpenTimeoutDefault,
		HalfOpenProbes:  breaker.HalfOpenProbesDefault,
		Retries:         breaker.RetriesDefault,
		RetryInitial:    breaker.RetryInitialDefault,
		RetryMax:        breaker.RetryMaxDefault,
		RetryMaxElapsed: breaker.RetryMaxElapsedDefault,
		CallTimeout:     breaker.CallTimeoutDefault,
	}
	mustEqual(t, "WithDefaults", got, want)
	set := breaker.Config{MinRequests: 7, Retries: breaker.RetriesDisabled, CallTimeout: time.Second}.WithDefaults()
	mustEqual(t, "set MinRequests", set.MinRequests, 7)
	mustEqual(t, "set Retries", set.Retries, breaker.RetriesDisabled)
	mustEqual(t, "set CallTimeout", set.CallTimeout, time.Second)
	mustEqual(t, "zero config valid", breaker.Config{}.Validate(), error(nil))
}

func TestConfigValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cfg    breaker.Config
		fields []string
	}{
		{"negatives", breaker.Config{
			Window: -1, WindowBuckets: -1, MinRequests: -1, FailureRatio: -0.5, OpenTimeout: -1,
			HalfOpenProbes: -1, Retries: -2, RetryInitial: -1, RetryMax: -1, RetryMaxElapsed: -1, CallTimeout: -1,
		}, []string{
			"window", "window_buckets", "min_requests", "failure_ratio", "open_timeout", "half_open_probes",
			"retries", "retry_initial", "retry_max", "retry_max_elapsed", "call_timeout",
		}},
		{"ratio above one", breaker.Config{FailureRatio: 1.5}, []string{"failure_ratio"}},
		{"ratio NaN", breaker.Config{FailureRatio: math.NaN()}, []string{"failure_ratio"}},
		{"retry max below initial", breaker.Config{RetryInitial: 2 * time.Second, RetryMax: time.Second}, []string{"retry_max"}},
		{"window too short for buckets", breaker.Config{Window: 5, WindowBuckets: 10}, []string{"window_buckets"}},
		{"counts beyond uint32", breaker.Config{MinRequests: math.MaxUint32 + 1, HalfOpenProbes: math.MaxUint32 + 1},
			[]string{"min_requests", "half_open_probes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			for _, f := range tc.fields {
				if !strings.Contains(err.Error(), "breaker."+f+": ") {
					t.Errorf("error does not name breaker.%s:\n%v", f, err)
				}
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok || len(joined.Unwrap()) != len(tc.fields) {
				t.Fatalf("want %d joined errors, got:\n%v", len(tc.fields), err)
			}
		})
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	t.Parallel()
	_, err := breaker.New("engine", breaker.Config{FailureRatio: 2})
	if err == nil || !strings.Contains(err.Error(), "breaker.failure_ratio") || !strings.Contains(err.Error(), "engine") {
		t.Fatalf("New(bad config) err = %v", err)
	}
	if _, err := breaker.New("", breaker.Config{}); err == nil {
		t.Fatal("New(empty component) err = nil")
	}
	if g, err := breaker.New("deploy:dir", breaker.Config{}, breaker.WithLogger(nil), breaker.WithStateChange(nil),
		breaker.WithPermanent(nil)); err != nil || g == nil {
		t.Fatalf("New with nil options = %v, %v", g, err)
	}
}
