package spec

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Bounds that keep a spec within what a browser tab, and the arithmetic of
// shape inference, can hold. A model past them is refused with a message
// that says which layer is largest.
const (
	MaxParams      = 100_000_000 // trainable parameters of the whole model
	MaxActivations = 1 << 25     // values per example, summed over all layer outputs
	MaxInputSide   = 8192        // height or width of the input
	MaxChannels    = 1 << 16     // filters, input channels, depthwise multiplier
	MaxUnits       = 1 << 20     // units of a dense layer
	MaxKernel      = 1024        // kernel and stride
	MaxClasses     = 1 << 16
	MaxBatchSize   = 1 << 16
	MaxEpochs      = 100_000
	MaxLayers      = 1000 // layers of the expanded model
	MinImageSide   = 4    // data.image_side, when set
	MaxImageSide   = 1024
	maxProblems    = 100 // problems listed one by one; the rest are counted
)

// Known names of the string settings.
var (
	Optimizers     = []string{"sgd", "adam", "adamw", "rmsprop"}
	Schedules      = []string{"constant", "step", "exponential", "cosine", "one_cycle", "reduce_on_plateau"}
	Monitors       = []string{"val_loss", "val_accuracy"}
	Normalizations = []string{"raw", "scale01", "standardize"}
	BalanceMethods = []string{"none", "oversample", "class_weights"}
)

const paddingExamples = `"same", "valid" or a number of pixels`

// FieldError is one problem with a spec. Path names the field the way the
// JSON document spells it, e.g. "model.layers[3].kernel" or "train.lr";
// Layer is the layer's name when the problem is inside one.
type FieldError struct {
	Path    string
	Layer   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	if e.Layer != "" {
		return e.Path + " (" + e.Layer + "): " + e.Message
	}
	return e.Path + ": " + e.Message
}

// Errors lists every problem found in a spec, in document order. Validate,
// Parse, Set and Model.Shapes return it, so a page can mark each field.
type Errors []*FieldError

func (e Errors) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems in the spec:", len(e))
	for _, fe := range e {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find the individual FieldErrors.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, fe := range e {
		errs[i] = fe
	}
	return errs
}

// Validate reports every problem with s as one Errors value, or nil. It
// checks s as Expand would leave it, without changing s: defaults count as
// set, and a problem in a layer made from an activation shorthand is
// reported against that activation field. Paths give layer positions in s
// as written; once s is expanded they are positions in the expanded list.
// Call Expand before handing the spec on, since the network builder and the
// trainer read only plain, expanded settings.
func (s *Spec) Validate() error {
	c := s.Clone()
	ch := &checker{origins: c.expand()}
	ch.model(&c.Model)
	ch.train(&c.Train, &c.Data)
	ch.data(&c.Data, c.Model.Input)
	return ch.result()
}

// Validate reports the problems of the model part of a spec; see
// Spec.Validate.
func (m Model) Validate() error {
	c := m.Clone()
	ch := &checker{origins: c.expand()}
	ch.model(&c)
	return ch.result()
}

// checker collects problems. origins maps expanded layer positions back to
// the document; layers is the expanded list, for names in messages.
type checker struct {
	errs    Errors
	more    int // problems past maxProblems
	origins []origin
	layers  []Layer
}

func (c *checker) add(path, format string, args ...any) {
	c.push(&FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) push(e *FieldError) {
	if len(c.errs) >= maxProblems {
		c.more++
		return
	}
	c.errs = append(c.errs, e)
}

// result returns the problems found, or nil.
func (c *checker) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	if c.more > 0 {
		return append(c.errs, &FieldError{Message: fmt.Sprintf("… and %d more problems", c.more)})
	}
	return c.errs
}

// layer reports a problem with field of expanded layer i ("" for the layer
// as a whole).
func (c *checker) layer(i int, field, format string, args ...any) {
	index, name := i, ""
	if i < len(c.layers) {
		name = c.layers[i].Name
	}
	if i < len(c.origins) {
		o := c.origins[i]
		index = o.index
		if o.activation {
			field = "activation"
			if i > 0 {
				name = c.layers[i-1].Name
			}
		}
	}
	path := "model.layers[" + strconv.Itoa(index) + "]"
	if field != "" {
		path += "." + field
	}
	c.push(&FieldError{Path: path, Layer: name, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) fromActivation(i int) bool {
	return i < len(c.origins) && c.origins[i].activation
}

// oneOf reports whether v is among allowed, and otherwise adds a problem
// that lists them.
func (c *checker) oneOf(path, what, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	c.add(path, "unknown %s %q; use %s", what, v, orList(allowed))
	return false
}

// inRange checks lo ≤ v ≤ hi, or lo ≤ v < hi when open; written so that
// NaN fails.
func (c *checker) inRange(path string, v, lo, hi float64, open bool, hint string) {
	ok := v >= lo && v <= hi
	if open {
		ok = v >= lo && v < hi
	}
	if ok {
		return
	}
	closing := "]"
	if open {
		closing = ")"
	}
	msg := fmt.Sprintf("%s must be in [%s, %s%s", fmtFloat(v), fmtFloat(lo), fmtFloat(hi), closing)
	if hint != "" {
		msg += "; " + hint
	}
	c.add(path, "%s", msg)
}

func (c *checker) train(t *Train, d *Data) {
	c.oneOf("train.optimizer", "optimizer", t.Optimizer, Optimizers)
	if !(t.LR > 0 && t.LR <= 1e3) {
		c.add("train.lr", "learning rate %s must be positive and at most 1000 (1e-3 is usual for adam, 1e-2 to 1e-1 for sgd)", fmtFloat(t.LR))
	}
	c.inRange("train.momentum", t.Momentum, 0, 1, true, "0.9 is usual")
	if t.Nesterov && (t.Optimizer != "sgd" || t.Momentum == 0) {
		c.add("train.nesterov", "nesterov needs optimizer sgd with momentum > 0")
	}
	c.inRange("train.beta1", t.Beta1Value(), 0, 1, true, "0.9 is usual; 0 is Adam without momentum")
	c.inRange("train.beta2", t.Beta2Value(), 0, 1, true, "0.999 is usual")
	c.inRange("train.epsilon", t.Epsilon, 0, 1, false, "1e-7 is usual")
	c.inRange("train.rho", t.RhoValue(), 0, 1, true, "0.9 is usual")
	if t.BatchSize < 1 || t.BatchSize > MaxBatchSize {
		c.add("train.batch_size", "batch size %d must be between 1 and %d (32 to 128 is usual)", t.BatchSize, MaxBatchSize)
	}
	if t.Epochs < 1 || t.Epochs > MaxEpochs {
		c.add("train.epochs", "epochs %d must be between 1 and %d", t.Epochs, MaxEpochs)
	}
	c.schedule(t, d)
	c.inRange("train.l1", t.L1, 0, 1, false, "1e-5 to 1e-3 is usual")
	c.inRange("train.l2", t.L2, 0, 1, false, "1e-4 to 1e-2 is usual")
	c.inRange("train.weight_decay", t.WeightDecay, 0, 1, false, "1e-4 to 1e-1 is usual")
	if !(t.GradClip >= 0 && t.GradClip <= math.MaxFloat64) {
		c.add("train.grad_clip", "gradient clip %s must be ≥ 0 (0 turns clipping off)", fmtFloat(t.GradClip))
	}
	c.inRange("train.label_smoothing", t.LabelSmoothing, 0, 1, true, "0.1 is usual")
	es := t.EarlyStopping
	if es.Patience < 0 {
		c.add("train.early_stopping.patience", "patience %d must be ≥ 0 (0 turns early stopping off)", es.Patience)
	}
	c.oneOf("train.early_stopping.monitor", "monitor", es.Monitor, Monitors)
	if !(es.MinDelta >= 0 && es.MinDelta <= math.MaxFloat64) {
		c.add("train.early_stopping.min_delta", "min_delta %s must be ≥ 0", fmtFloat(es.MinDelta))
	}
	if es.Patience > 0 && d.Validation == 0 {
		c.add("train.early_stopping.patience", "early stopping watches the validation set, but data.validation is 0; set data.validation (0.1 is usual) or patience 0")
	}
	if t.LogEvery < 1 {
		c.add("train.log_every", "log_every %d must be ≥ 1 step", t.LogEvery)
	}
	if !(t.ValCheckSeconds <= maxValCheckSeconds) || math.IsInf(t.ValCheckSeconds, -1) {
		c.add("train.val_check_seconds", "val_check_seconds %s must be a number of seconds up to %s (%d is usual; -1 turns the checks off)",
			fmtFloat(t.ValCheckSeconds), fmtFloat(maxValCheckSeconds), DefaultValCheckSeconds)
	}
	if !(t.TimeLimitSeconds >= 0 && t.TimeLimitSeconds <= MaxTimeLimitSeconds) {
		c.add("train.time_limit_seconds", "time_limit_seconds %s must be a number of seconds from 0 (no limit) up to a year, %s; 180 trains for three minutes",
			fmtFloat(t.TimeLimitSeconds), Thousands(MaxTimeLimitSeconds))
	}
}

func (c *checker) schedule(t *Train, d *Data) {
	s := t.Schedule
	const p = "train.schedule."
	if !c.oneOf(p+"type", "schedule", s.Type, Schedules) {
		return
	}
	switch s.Type {
	case "step":
		if !(s.Factor > 0 && s.Factor <= 1) {
			c.add(p+"factor", "factor %s must be in (0, 1]; 0.1 or 0.5 is usual", fmtFloat(s.Factor))
		}
		if !(s.Every > 0 && s.Every <= MaxEpochs) {
			c.add(p+"every", "every %s must be a positive number of epochs", fmtFloat(s.Every))
		}
	case "exponential":
		if !(s.Gamma > 0 && s.Gamma <= 1) {
			c.add(p+"gamma", "gamma %s must be in (0, 1]; 0.9 to 0.99 is usual", fmtFloat(s.Gamma))
		}
	case "one_cycle":
		if !(s.MaxLR >= t.LR && s.MaxLR <= 1e3) {
			c.add(p+"max_lr", "max_lr %s must be at least train.lr (%s); 10×lr is usual", fmtFloat(s.MaxLR), fmtFloat(t.LR))
		}
		if !(s.PctStart > 0 && s.PctStart < 1) {
			c.add(p+"pct_start", "pct_start %s must be in (0, 1); 0.3 is usual", fmtFloat(s.PctStart))
		}
	case "reduce_on_plateau":
		if !(s.Factor > 0 && s.Factor < 1) {
			c.add(p+"factor", "factor %s must be in (0, 1); 0.1 or 0.5 is usual", fmtFloat(s.Factor))
		}
		if s.Patience < 1 {
			c.add(p+"patience", "patience %d must be at least 1 epoch", s.Patience)
		}
		if d.Validation == 0 {
			c.add(p+"type", "reduce_on_plateau watches the validation loss, but data.validation is 0; set data.validation (0.1 is usual) or use another schedule")
		}
	}
	if !(s.MinLR >= 0 && (s.MinLR < t.LR || s.MinLR == 0)) {
		c.add(p+"min_lr", "min_lr %s must be ≥ 0 and below train.lr (%s)", fmtFloat(s.MinLR), fmtFloat(t.LR))
	}
	if !(s.WarmupEpochs >= 0 && s.WarmupEpochs < float64(max(t.Epochs, 1))) {
		c.add(p+"warmup_epochs", "warmup_epochs %s must be ≥ 0 and shorter than the run (%d epochs)", fmtFloat(s.WarmupEpochs), t.Epochs)
	}
}

func (c *checker) data(d *Data, input []int) {
	c.oneOf("data.normalization", "normalization", d.Normalization, Normalizations)
	c.inRange("data.validation", d.Validation, 0, 0.9, false, "0.1 is usual; 0 turns validation off")
	if d.TrainLimit < 0 {
		c.add("data.train_limit", "train_limit %d must be ≥ 0 (0 keeps every example)", d.TrainLimit)
	}
	if d.TestLimit < 0 {
		c.add("data.test_limit", "test_limit %d must be ≥ 0 (0 keeps every example)", d.TestLimit)
	}
	if d.ImageSide != 0 && (d.ImageSide < MinImageSide || d.ImageSide > MaxImageSide) {
		c.add("data.image_side", "image_side %d must be between %d and %d pixels, or 0 to scale images larger than 64 down to 64 (32 to 96 is usual)", d.ImageSide, MinImageSide, MaxImageSide)
	}
	c.inRange("data.imbalance", d.Imbalance, 0, 1, false, "0 or 1 keeps the classes as they are; 0.1 keeps 10% of the last class")
	c.inRange("data.train_fraction", d.TrainFraction, 0, 1, false, "0 or 1 trains on every training image; 0.5 on half of each class's")
	c.inRange("data.label_noise", d.LabelNoise, 0, 0.9, false, "0 keeps the labels; 0.2 gives a fifth of the training and validation labels another class")
	c.oneOf("data.balance", "balance", d.Balance, BalanceMethods)

	side, channels := 0, 0
	if len(input) == 3 {
		side, channels = min(input[0], input[1]), input[2]
	}
	maxCrop := 64.0
	if side > 0 {
		maxCrop = float64(side / 2)
	}
	a := d.Augment
	for _, t := range []struct {
		name    string
		tr      Transform
		maxStr  float64
		unit    string
		noColor bool
	}{
		{"flip_horizontal", a.FlipHorizontal, math.MaxFloat64, "", false},
		{"flip_vertical", a.FlipVertical, math.MaxFloat64, "", false},
		{"crop", a.Crop, maxCrop, "pixels of padding", false},
		{"shift", a.Shift, 0.5, "of the image size", false},
		{"rotation", a.Rotation, 180, "degrees", false},
		{"zoom", a.Zoom, 0.9, "(scale 1±strength)", false},
		{"brightness", a.Brightness, 1, "of the 0–255 range", false},
		{"contrast", a.Contrast, 1, "(scale 1±strength)", false},
		{"saturation", a.Saturation, 1, "(scale 1±strength)", true},
		{"hue", a.Hue, 1, "× 180 degrees", true},
		{"cutout", a.Cutout, 1, "of the image size", false},
	} {
		path := "data.augment." + t.name
		c.inRange(path+".p", t.tr.P, 0, 1, false, "it is the probability of applying "+t.name)
		if t.maxStr == math.MaxFloat64 {
			if !(t.tr.Strength >= 0 && t.tr.Strength <= math.MaxFloat64) {
				c.add(path+".strength", "strength %s must be ≥ 0 (flips ignore it)", fmtFloat(t.tr.Strength))
			}
		} else {
			c.inRange(path+".strength", t.tr.Strength, 0, t.maxStr, false, "strength is in "+t.unit)
		}
		if t.name == "crop" && t.tr.Strength != math.Trunc(t.tr.Strength) {
			c.add(path+".strength", "crop pads by a whole number of pixels, not %s", fmtFloat(t.tr.Strength))
		}
		if t.noColor && t.tr.On() && channels == 1 {
			c.add(path+".p", "%s changes color, but the input has 1 channel; set p to 0", t.name)
		}
	}
}

// validName reports whether a layer name can be used in parameter names
// like "conv1/kernel" and in file formats that expect plain identifiers.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// orList writes a, b or c, each quoted.
func orList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Thousands writes n with its thousands grouped, for messages and pages:
// 60000 → "60,000".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	digits := strings.TrimPrefix(s, "-")
	var b strings.Builder
	b.WriteString(s[:len(s)-len(digits)])
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Count writes n things of a noun whose plural takes an s, for messages:
// "1 image", "2,000 images".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return Thousands(n) + " " + noun + "s"
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
