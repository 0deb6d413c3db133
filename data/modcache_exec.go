//go:build !js && !wasip1

package data

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// goEnvModCache asks the go command for GOMODCACHE; "" when it is not
// installed or does not answer quickly.
func goEnvModCache() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
