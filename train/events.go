package train

import "plateau/protocol"

// Event is one thing a run reports; protocol.Event defines it, and its
// JSON form, for every reader of a run (the CLI's -json lines, the worker
// channel, server-sent events, the page).
type Event = protocol.Event

// Diagnosis, LayerStats, InputStats and MirrorStats are the parts of an
// Event.
type (
	Diagnosis   = protocol.Diagnosis
	LayerStats  = protocol.LayerStats
	InputStats  = protocol.InputStats
	MirrorStats = protocol.MirrorStats
)

// FlipKeepBar is the share of its class matches above chance a flip must
// keep to preserve the label (see MirrorStats.Kept).
const FlipKeepBar = protocol.FlipKeepBar

// Event kinds, the value of Event.Event.
const (
	EventStart  = protocol.EventStart
	EventStep   = protocol.EventStep
	EventEpoch  = protocol.EventEpoch
	EventResult = protocol.EventResult
	// EventValCheck is a validation check within an epoch.
	EventValCheck = protocol.EventValCheck
)

// Why a run stopped, the value of Event.Stopped in a result event.
const (
	StoppedCompleted     = protocol.StoppedCompleted
	StoppedEarlyStopping = protocol.StoppedEarlyStopping
	StoppedDiverged      = protocol.StoppedDiverged
	StoppedCanceled      = protocol.StoppedCanceled
	StoppedTimeLimit     = protocol.StoppedTimeLimit
)

// ConfidentProbability is the predicted probability above which a wrong
// prediction counts in Event.ConfidentWrong.
const ConfidentProbability = 0.5
