package ui

import (
	"fmt"
	"strconv"

	"plateau/protocol"
)

// StatusBar is the line under the header: whether the worker is ready,
// the dataset loading, the last notice, and the memory the worker and the
// page hold.
type StatusBar struct{ *Root }

// PageMemory is the page's wasm linear memory in bytes.
func (sb *StatusBar) PageMemory() int64 { return sb.Host.PageMemory() }

// MeasureMemory asks the worker to collect garbage and report its memory.
func (sb *StatusBar) MeasureMemory() {
	sb.Host.Send(protocol.NewCommand("", protocol.CmdMemory))
}

// MemoryCollected says whether the shown memory was measured right after
// a collection ("true" or "false").
func (sb *StatusBar) MemoryCollected() string {
	return strconv.FormatBool(sb.WorkerMemory != nil && sb.WorkerMemory.Collected)
}

// MemoryText says how much memory the worker and the page hold.
func (sb *StatusBar) MemoryText() string {
	m := sb.WorkerMemory
	if m == nil {
		return ""
	}
	others := ""
	switch {
	case m.OtherWorkers == 1:
		others = fmt.Sprintf(" · the other worker %s", megabytes(m.Others))
	case m.OtherWorkers > 1:
		others = fmt.Sprintf(" · %d other workers %s", m.OtherWorkers, megabytes(m.Others))
	}
	return fmt.Sprintf("memory: worker %s (live Go heap %s, of which images %s)%s · page %s",
		megabytes(m.Linear), megabytes(m.Live), megabytes(m.Dataset), others, megabytes(sb.PageMemory()))
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
