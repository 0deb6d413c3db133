// Package doctor reads the telemetry of a training run and says why its
// validation accuracy is not improving: causes ranked by confidence, each
// with the numbers that support it and the change to try.
//
// # Use
//
// The doctor is a pure function of the spec and the events package train
// emits, so it runs wherever a run does: in the command line, in the
// browser worker, or later over a saved events.jsonl.
//
//	doc := doctor.New(spec)                 // spec expanded
//	cfg.Doctor = doc.Observe                // live: start, epoch and result events (and
//	                                        // checks before the first epoch's end) carry diagnoses
//	...
//	t := &doctor.Telemetry{Spec: spec}      // after the fact
//	for _, e := range events { t.Add(e) }
//	findings := doctor.Diagnose(t)
//
// Diagnose returns the findings at or above Threshold (0.3), most
// confident first; a healthy run gets an empty list. Findings appear and
// change as evidence arrives: a rule that needs five epochs stays silent
// before them. ValCI gives the 95% interval of a validation accuracy, for
// a page that wants to shade the noise band. Fix turns a finding into
// spec changes ("path=value" pairs for spec.Set, the command line's -set)
// for a one-click retry that forks the run.
//
// # Rules
//
// Each rule lives in its own file, named after its cause, whose doc
// comment states the evidence it reads, its thresholds and its advice;
// underfitting's readings of a crushing penalty and of heavy label
// smoothing live in penalty.go and smoothing.go, the readings before the
// first epoch's end in first_epoch.go.
//
//	blank_inputs             images that carry nothing: one value, or two levels of 256
//	unnormalized_input       inputs far from mean 0, std 1 (raw pixels)
//	lr_too_high              divergence, NaN, a rising loss, stuck at chance, oscillation,
//	                         or a validation loss that swings while the training loss falls
//	lr_too_low               weights barely move, a small rate (or weights moving under 1%
//	                         an epoch, as an epsilon of 1 makes Adam's) still descending at
//	                         the end, or a schedule that cut the rate a hundredfold early;
//	                         an SGD gradient clip that cuts every step is named first
//	overfitting              train–validation gap with a rising validation loss, or a
//	                         validation loss stalled while the training loss falls
//	underfitting             low training accuracy on a flat loss, held back by heavy
//	                         dropout, a hidden dense layer narrower than the classes,
//	                         or local features pooled to 1×1 (where they are is lost);
//	                         augmented images fitted no better than clean ones: weaken
//	                         the augmentation first; or an L1, L2 or weight-decay
//	                         penalty that crushed the weights to a constant guess;
//	                         or label smoothing that leaves the targets near uniform
//	class_imbalance          rare classes sacrificed, or collapse onto the majority
//	augmentation_too_strong  augmented images no longer look like their class (a flip
//	                         among them, judged on the data: mirrored digits)
//	vanishing_gradients      first layers' relative gradient ≪ last layer's
//	exploding_gradients      deep unnormalized stacks that blow up, growing gradient norms
//	dead_relu                ReLU units that never fire
//	plateau_needs_lr_drop    a constant, high rate stalls or bounces a run that learned
//	batch_size               too small for batch norm, too large for the data
//	batchnorm_statistics     inference's running averages lag behind training's batches
//	val_set_too_small        a validation accuracy whose interval swallows the changes
//	label_noise              confident disagreement with the labels, or labels that
//	                         say nothing of the images: a constant guess since a first
//	                         check whose layers passed the gradient
//	train_val_leakage        held-out images that also appear in training
//	class_confusion          a stalled run's mistakes gather on two classes, or on one
//	test_shift               the test split scores far below validation, beyond the noise
//	still_learning           a run that ended as planned (or at its time limit) while
//	                         both losses still fell, or that early stopping ended while
//	                         the validation loss fell
//
// Some rules defer to others that name a root cause: a divergence with
// raw inputs is unnormalized_input first, zero gradients behind dead ReLUs
// are dead_relu rather than vanishing_gradients, weights that do not move
// at a high rate are never lr_too_low, underfitting yields entirely to
// the more specific rules (label_noise, lr_too_low, lr_too_high), a rate
// decay is not advised to a run its rate
// threw back to chance, and a train–validation gap in a short run with
// batch norm is batchnorm_statistics before overfitting.
//
// # Before the first epoch's end
//
// A long first epoch (a full-size dataset in a browser tab) need not be
// waited out: at every validation check before its end (val_check events,
// which Observe answers then and not later) lr_too_high and lr_too_low
// read the checks and the step losses instead of epochs (first_epoch.go):
// two checks or more in a row at a constant guess with the training loss
// there too, at three times the usual rate or more (thrown) or a fifth or
// less (frozen); or at a fifth or less a validation loss that still falls
// at every check, far from fitted (crawling); unnormalized_input rises
// from the start's 0.5 when the checks show the run struggling; and
// label_noise names planted noise that drowns the labels' signal;
// underfitting names a strong penalty behind checks at a constant guess
// at the usual rate (crushed); and with checks stuck there at a usual
// rate, vanishing_gradients and dead_relu read the layers of the step
// before the latest check (layersAtTheChecks). The other rules wait for
// the epoch.
//
// # Telemetry
//
// The rules read the start event (input statistics, class counts,
// duplicates across the split, sizes), the validation checks and step
// losses before the first epoch's end, the epoch events (losses and
// accuracies, per-class recall and the confusion matrix, gradient norm,
// weight change, confident mistakes, per-layer gradient and weight norms,
// dead fractions and activation statistics), the result event (why the
// run stopped) and the spec (optimizer, rate, schedule, layers,
// augmentation, normalization, balance).
//
// The suite in planted_test.go trains one small run per rule with its
// cause planted, and healthy runs, and checks that the planted cause is
// the top finding and that healthy runs get none; then it applies each
// finding's Fix and trains again to check that the cause goes.
package doctor
