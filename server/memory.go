package main

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"plateau/data"
	"plateau/spec"
	"plateau/train"
)

// checkMemory is train.CheckMemory as the jobs API answers it: 422 on the
// field, with the limit.
func checkMemory(sp *spec.Spec, workers int, ds *data.Dataset, limit int64, budget string) *requestError {
	err := train.CheckMemory(sp, workers, ds, limit, budget)
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		field := fe.Path
		if field == "model" {
			field = "spec.model" // as the parameter limit names it
		}
		return tooLarge(field, limit, "%s", fe.Message)
	}
	return nil
}

// machineMemory is the memory this process may use, in bytes: the
// machine's (MemTotal in /proc/meminfo), or less where a control group
// (a container) limits it; 8 GiB where neither can be read.
func machineMemory() int64 {
	total := int64(8 << 30)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
					total = kb << 10
				}
			}
		}
	}
	// cgroup v2, then v1; "max" or a huge number means no limit.
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(p); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < total {
				return n
			}
		}
	}
	return total
}
