// Package train trains a network built by package nn on data prepared by
// package data, as a spec.Train describes, and reports the run as a stream
// of events that the page, the command line and the server all read.
//
// # A run
//
// Run prepares the data (train and test limits, class imbalance, the
// stratified validation split, a normalizer measured on the training
// split, class weights or oversampling), builds the network from the seed
// and trains it for train.epochs epochs. After each epoch it measures the
// validation split in inference mode and emits an epoch event with the
// confusion matrix, per-class recall and per-layer statistics. Early
// stopping, reduce_on_plateau, divergence and cancellation end a run early;
// the test split is measured at the end (except after a cancellation) and
// reported in the result event.
//
// # One training step
//
// The order matters to anyone who wants to reproduce a run elsewhere (the
// GoMLX server does):
//
//  1. gradient of the mean softmax cross-entropy (label smoothing s: target
//     (1−s)·onehot + s/classes; class weights: Σ w[y]·loss / Σ w[y])
//  2. L1 and L2 on conv and dense kernels: g += λ1·sign(w) + λ2·w, the
//     gradient of λ1·|w| + λ2/2·w² (Regularize)
//  3. clipping by the global norm of all gradients (ClipGlobalNorm)
//  4. decoupled weight decay on kernels, w ·= 1 − lr·wd, for every optimizer
//  5. the optimizer's update (sgd, rmsprop, adam, adamw; see each type)
//
// Step i (from 0) of epoch e (from 0), in an epoch of S steps, trains at
// LR(schedule, lr, e + i/S, epochs), reduced by reduce_on_plateau's factor
// so far. A last, smaller batch of an epoch is trained on as it is.
//
// # A batch in parts
//
// Config.Shards cuts every batch into len(Shards)+1 equal parts (the
// trainer keeps the first): each Shard runs the forward and backward pass
// of its part on a replica holding the trainer's weights, on a goroutine
// (LocalShard, plateau train -workers) or in another Web Worker, while the
// trainer runs its own. Step 1 then adds the parts' gradients weighted by
// each part's Σ w[y], which is the whole batch's gradient up to rounding;
// steps 2–5 run once, in the trainer. Batch norm normalizes each part by
// its own statistics and keeps running statistics from the trainer's part;
// dropout's masks are keyed by the step and the row (nn.DropoutKey), so a
// part applies the rows' masks of the whole batch. The start event says how
// many parts (workers).
//
// # Events
//
// Every event is an Event whose "event" field says its kind: start, step
// (every train.log_every steps), epoch and result. MarshalJSON lists the
// fields of each kind; NaN and Inf are written as null. These objects are
// the -json output of the command line and travel unchanged to the page.
//
// Besides the curves, the events carry what package doctor reads to say
// why a run stalls: input statistics, class counts, duplicates across
// the split (Duplicates) and whether flips keep the images' class (Mirror)
// in the start event; per-layer statistics, the
// relative weight change and the share of confident mistakes in every
// epoch event. Config.Doctor, when set, reads each event before it is
// emitted and fills the Diagnoses of epoch and result events.
//
// # Learning-rate range test
//
// LRFind trains from the spec's initial weights with an exponentially
// growing rate and reports the loss at each rate, with the rate of
// steepest descent and a suggestion (the plateau lr-find command).
//
// # Determinism
//
// A run is a function of its spec and data: the same seed gives the same
// events (but for the timing fields) and the same weights, bit for bit.
// Every random stream (initialization, imbalance, validation split, batch
// order, augmentation) is derived from the seed and, where it changes per
// epoch, from the epoch alone, and dropout's masks from the seed and the
// step (DropoutSeeds), so a run resumed from a checkpoint continues exactly
// as the uninterrupted one. The one exception is a run with a time limit
// (spec.Train.TimeLimitSeconds): how far it gets, and its schedule, follow
// the clock (TimeLimit).
//
// # Time limit
//
// With spec.Train.TimeLimitSeconds the run stops when its time (steps,
// validation checks and the epochs' validation; not the time BeforeStep
// blocks, a pause) reaches the limit less the time the latest epoch's
// validation took, within an epoch if need be, validates that last
// epoch, tests, and ends with stopped "time_limit". Its schedule runs at
// the further along of its epochs and its time (TimeLimit.Position), so
// it anneals by the limit when that comes first. The GoMLX trainer keeps
// the limit with the same TimeLimit. A checkpoint of a run the limit ended
// within an epoch holds the part of it trained (Progress.Cut): resumed,
// with more time, the run trains the rest of that epoch, not the next, and
// reports it whole; without a limit it ends as the run that was never cut,
// bit for bit.
//
// # Divergence
//
// A NaN or infinite loss, gradient or weight, or a loss a thousand times
// the first step's, stops the run with stopped "diverged", a reason that
// says what to change, and the weights of the last finished epoch. Before
// its result it reports the steps since the last step event in one more,
// with the exploding loss when that is a number, so that even a run that
// diverges at its second step has a curve that shows it.
package train
