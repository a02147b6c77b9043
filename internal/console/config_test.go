package console

import (
	"strings"
	"testing"
)

func TestValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	err := Config{Window: -1, FeedSize: -2}.WithDefaults().Validate()
	for _, want := range []string{"Conn", "JetStream", "Window", "FeedSize"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want %s named", err, want)
		}
	}
}
