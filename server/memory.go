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

// machineMemory is the machine's memory in bytes (MemTotal in
// /proc/meminfo), or 8 GiB where it cannot be read.
func machineMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
					return kb << 10
				}
			}
		}
	}
	return 8 << 30
}
