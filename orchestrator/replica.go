package orchestrator

import (
	"os"
	"strconv"
)

func defaultReplica() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "regen"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}
