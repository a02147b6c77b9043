package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// consoleToken is the console token of the browser test.
const consoleToken = "browser-test-token"

// browser starts headless Chromium (/usr/bin/chromium, or chromium on
// PATH) and returns a tab's context. Without Chromium the test is skipped,
// unless CI is set: then it fails.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("chromium"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("chromium is missing (make test installs it): the console's browser test cannot run")
			}
			t.Skip("chromium is missing: `make test` installs it (apt-get install chromium)")
		}
	}
	// The defaults are headless, with background networking disabled.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(width, height), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // the first run starts the browser, with no deadline
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs actions in the tab within d.
func run(t *testing.T, tab context.Context, d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS polls expr in the page until it is true, within d.
func waitJS(t *testing.T, tab context.Context, d time.Duration, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(d))); err != nil {
		t.Fatalf("%s (%s): %v", what, expr, err)
	}
}

// value runs one action that returns a value, within d.
func value[T any](t *testing.T, tab context.Context, d time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, d)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// The console of a replica shows what happens without a reload: counters
// and charts move as events are processed, a poison event appears in the
// dead letters, and replaying it from the page (with the token, after a
// confirmation) sends it back through the service, which deploys it now
// that the conflict is gone. The page is screenshotted (and written to
// REGEN_CONSOLE_SCREENSHOT when set, for docs/console.png).
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *config.Config) {
		c.HTTP = "127.0.0.1:0"
		c.ConsoleToken = consoleToken
		c.StatsInterval = time.Second
	})
	conflict := conflictDir(t, b.out)("urn:console:Conflict")
	svc := b.start(t)
	url := ConsoleURL(svc.HTTPAddr())
	tab := browser(t, 1280, 1000)
	const long = 45 * time.Second

	run(t, tab, long, "open the console", chromedp.Navigate(url+"#token="+consoleToken),
		chromedp.WaitVisible(chromedp.CSS("#conn.live")))
	value(t, tab, long, "mark the page", chromedp.Evaluate[bool](`(window.loadedOnce = true)`))
	weight := value(t, tab, long, "measure the page", chromedp.Evaluate[[]int](`(() => {
		const page = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
			.filter((e) => !new URL(e.name).pathname.startsWith('/api/'));
		return [page.length, page.reduce((n, e) => n + e.transferSize, 0), page.reduce((n, e) => n + e.decodedBodySize, 0)];
	})()`))
	t.Logf("page weight: %d requests, %d bytes transferred, %d decoded", weight[0], weight[1], weight[2])
	before := value(t, tab, long, "read the chart", chromedp.AttributeValue(chromedp.CSS("#chart-eps"), "data-total")).Value

	publish(t, b.js, syntheticNodes(40))
	publish(t, b.js, [][]byte{[]byte(`{"id":"poison-console","change_type":"node_added","subject":"urn:console:Conflict"}`)})

	waitJS(t, tab, long, "the processed counter reaches 41",
		`Number(document.getElementById('m-processed').textContent.replace(/,/g, '')) >= 41`)
	waitJS(t, tab, long, "the events chart moves",
		fmt.Sprintf(`Number(document.getElementById('chart-eps').dataset.total) > Number(%s)`, strconv.Quote(before)))
	waitJS(t, tab, long, "the cycle chart draws", `Number(document.getElementById('chart-cycle').dataset.total) > 0`)
	waitJS(t, tab, long, "the deployments listed", `document.querySelectorAll('#deploy-table tbody tr td.mono').length > 0`)
	waitJS(t, tab, long, "the poison event in the dead letters",
		`!!document.querySelector('#dlq-table tr[data-id="poison-console"] button.replay')`)
	requireRefused(t, url)

	if err := os.RemoveAll(filepath.Join(b.out, conflict)); err != nil {
		t.Fatal(err)
	}
	run(t, tab, long, "replay from the page", chromedp.Click(chromedp.CSS(`#dlq-table tr[data-id="poison-console"] button.replay`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm-yes")), chromedp.Click(chromedp.CSS("#confirm-yes")))
	waitJS(t, tab, long, "the replay confirmed", `document.getElementById('action-status').textContent.includes('replayed 1')`)
	testkit.WaitFor(t, long, "the replayed event deployed", func() bool {
		fi, err := os.Stat(filepath.Join(b.out, conflict))
		return err == nil && fi.Mode().IsRegular()
	})
	waitJS(t, tab, long, "the dead letters empty again", `!document.querySelector('#dlq-table tr[data-id]')`)
	waitJS(t, tab, long, "the counters show the replay", `document.getElementById('m-dlq').textContent === '0' &&
		Number(document.getElementById('m-processed').textContent.replace(/,/g, '')) >= 42`)
	waitJS(t, tab, long, "the page never reloaded", `window.loadedOnce === true`)
	waitJS(t, tab, long, "no request to another origin",
		`performance.getEntriesByType('resource').every((e) => e.name.startsWith(location.origin))`)
	costAdviceAndBreakers(t, tab, b)
	storySearchAndFilter(t, tab)
	pauseAndResume(t, tab, b)
	screenshot(t, tab)
	fitsAPhone(t, url)
}

// costAdviceAndBreakers publishes a cost report and a scaling advice as
// a replica would and checks the page shows them, and the breakers.
func costAdviceAndBreakers(t *testing.T, tab context.Context, b *bundle) {
	t.Helper()
	const long = 45 * time.Second
	tel := bus.NewTelemetry(b.nc, "test")
	for _, d := range []wire.TelemetryPayload{
		wire.CostReportData{IntervalSeconds: 60, Total: wire.CostTotals{Events: 41, CPUSeconds: 0.5, BytesOut: 4096},
			ByTemplate: map[string]wire.CostTotals{"go-struct": {Events: 41, CPUSeconds: 0.5, BytesOut: 4096}}},
		wire.ScalingAdviceData{RecommendedReplicas: 2, CurrentReplicasEstimate: 1, Pending: 500, ArrivalRate: 20,
			DrainRate: 10, Reason: "backlog_growing"},
	} {
		if err := tel.Publish(wire.TelemetryEvent{Component: "orchestrator", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tel.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, long, "the cost tables", `document.getElementById('cost-none').hidden &&
		document.getElementById('cost-tables').textContent.includes('go-struct')`)
	waitJS(t, tab, long, "the scaling advice", `document.getElementById('advice').textContent.includes('2 replicas recommended')`)
	waitJS(t, tab, long, "the breakers", `document.getElementById('breakers').textContent.includes('engine: closed')`)
}

// storySearchAndFilter reads the poison event's story (dead-lettered,
// then deployed after the replay), searches the deployments by node and
// filters the feed by type, all from the page.
func storySearchAndFilter(t *testing.T, tab context.Context) {
	t.Helper()
	const long = 45 * time.Second
	run(t, tab, long, "ask for the story", chromedp.SetValue(chromedp.CSS("#story-id"), "poison-console"),
		chromedp.Click(chromedp.CSS(`#story-form button[type="submit"]`)))
	waitJS(t, tab, long, "the story: dead-lettered, then deployed", `(() => {
		const steps = [...document.querySelectorAll('#story-steps .what')].map((e) => e.textContent);
		const dead = steps.indexOf('dead-lettered');
		return dead >= 0 && steps.indexOf('deployed', dead) > dead && steps.filter((s) => s === 'delivered').length === 2;
	})()`)
	run(t, tab, long, "search the deployments", chromedp.SendKeys(chromedp.CSS("#deploy-q"), "Node12"))
	waitJS(t, tab, long, "only Node12's deployments", `(() => {
		const nodes = [...document.querySelectorAll('#deploy-table tbody tr')].map((r) => r.cells[3] && r.cells[3].textContent);
		return nodes.length > 0 && nodes.every((n) => n === 'urn:test:Node12');
	})()`)
	run(t, tab, long, "show only event_rejected", chromedp.Click(chromedp.CSS("#feed-none")),
		chromedp.Click(chromedp.CSS(`#feed-types input[value="event_rejected"]`)))
	waitJS(t, tab, long, "the feed shows only event_rejected", `(() => {
		const types = [...document.querySelectorAll('#feed-list .ty')].map((e) => e.textContent);
		return types.length > 0 && types.every((t) => t === 'event_rejected');
	})()`)
	run(t, tab, long, "show every type again", chromedp.Click(chromedp.CSS("#feed-all")))
}

// pauseAndResume pauses the low level for 15 minutes from the page, then
// resumes it, with the keyboard only, checking the consumer's state on
// the server each time.
func pauseAndResume(t *testing.T, tab context.Context, b *bundle) {
	t.Helper()
	const long = 45 * time.Second
	paused := func() bool {
		ok, err := bus.LevelPaused(context.Background(), b.js, b.cfg.Consumer.Name, wire.PriorityLow)
		return err == nil && ok
	}
	// With the keyboard only: Enter on the button, then Tab from Cancel
	// (focused when the dialog opens) to Confirm, and Enter.
	byKeyboard := func(button string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Focus(chromedp.CSS(button)), chromedp.KeyEvent("\r"),
			chromedp.WaitVisible(chromedp.CSS("#confirm-yes")), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r")}
	}
	run(t, tab, long, "choose 15 minutes", chromedp.SetValue(chromedp.CSS("#pause-for"), "15m"),
		chromedp.Focus(chromedp.CSS(`#levels tr[data-level="low"] button.pause`)))
	updates := value(t, tab, long, "count the updates", chromedp.Evaluate[string](`document.body.dataset.updates`))
	waitJS(t, tab, long, "the focus kept across updates", fmt.Sprintf(`Number(document.body.dataset.updates) >= Number(%s) + 2 &&
		document.activeElement.dataset.key === 'level-low'`, strconv.Quote(updates)))
	run(t, tab, long, "pause low from the page", byKeyboard(`#levels tr[data-level="low"] button.pause`)...)
	testkit.WaitFor(t, long, "low paused", paused)
	run(t, tab, long, "resume low from the page", byKeyboard(`#levels tr[data-level="low"] button.resume`)...)
	testkit.WaitFor(t, long, "low resumed", func() bool { return !paused() })
	waitJS(t, tab, long, "the page shows low running", `!!document.querySelector('#levels tr[data-level="low"] button.pause')`)
}

// requireRefused checks that a mutating request without the token is
// refused with 403 and a JSON error.
func requireRefused(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url+"api/dlq/purge", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusForbidden || body.Error == "" {
		t.Fatalf("purge without the token: %d %q (%v), want 403 with an error", resp.StatusCode, body.Error, err)
	}
}

// screenshot saves the viewport under the test's temp dir (and to
// REGEN_CONSOLE_SCREENSHOT when set) and checks it is not blank.
func screenshot(t *testing.T, tab context.Context) {
	t.Helper()
	run(t, tab, 30*time.Second, "scroll to the overview", chromedp.ScrollIntoView(chromedp.CSS("#h-overview")))
	buf := value(t, tab, 30*time.Second, "screenshot", chromedp.CaptureScreenshot())
	file := filepath.Join(t.TempDir(), "console.png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("REGEN_CONSOLE_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	if n := colours(img); n < 50 {
		t.Fatalf("screenshot %s has %d colours: blank?", file, n)
	}
}

// colours counts the distinct colours of img (up to 10000).
func colours(img image.Image) int {
	seen := map[uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y && len(seen) < 10000; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			seen[cr>>8<<16|cg>>8<<8|cb>>8] = true
		}
	}
	return len(seen)
}

// fitsAPhone opens the console 390 px wide and checks that the page does
// not scroll sideways (wide tables scroll inside their own box).
func fitsAPhone(t *testing.T, url string) {
	t.Helper()
	tab := browser(t, 390, 844)
	run(t, tab, 45*time.Second, "open on a phone", chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#conn.live")))
	waitJS(t, tab, 30*time.Second, "no sideways scroll at 390 px",
		`document.documentElement.scrollWidth <= window.innerWidth`)
}
