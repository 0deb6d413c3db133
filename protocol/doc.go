// Package protocol defines the messages between the page, the training
// workers and the server: what the page asks a worker to do (commands) and
// what a worker reports back (messages). A run in a browser worker and a run
// on the server speak the same protocol, so the page renders both with the
// same components. The training event (Event) is defined here too, with its
// JSON form: package train writes it (train.Event is this type), and the
// command line's -json lines, the worker's event messages and the server's
// event streams all carry it, so that one decoder reads them and the page
// needs no training code. What every reader of events derives alike lives
// here too: the findings a run made and dropped (Earlier, EpochSpans), and
// what a flip keeps of the images' class (MirrorStats.Kept).
//
// # Framing
//
// Every command and every message is one JSON object. Inside the browser it
// travels by postMessage as a plain JavaScript object with two properties:
//
//	{json: "<the JSON text>", bin: <Uint8Array or undefined>, blob: <File or undefined>}
//
// bin carries the one binary payload a message may have (image pixels,
// safetensors weights, a part's gradient). It is sent as a
// transferable, so the bytes move between threads without a copy, and it is
// left out of the JSON text: Frame and Unframe split a value into the two
// parts and join them again. blob carries a dataset file the user chose or
// dropped, by reference: the structured clone of a File is the same file,
// which the worker reads a window at a time where it lies, so that an
// archive of hundreds of megabytes never sits whole in the page's memory
// or the worker's (Command.Blob). Over HTTP (server-sent events, one message per
// "data:" line) there is no bin; the payload is in the JSON text, base64
// encoded, under the field that holds it.
//
// # Versions and runs
//
// Every object carries "v", the protocol version (Version), and "run", the
// id of the run it concerns. A receiver refuses an object of another
// version with an error message rather than guessing. Run ids are chosen by
// the page; a worker answers with the id of the command it acts on, so
// several workers, or a worker and the server, can train side by side and
// their messages never mix. Messages about the worker itself (ready) carry
// the empty run id.
//
// # Commands
//
// A Command's "cmd" field says what to do:
//
//	load     read a dataset: dataset.url (fetched by the worker), the blob
//	         (a chosen or dropped file named dataset.name) or the bin
//	         payload (the file's bytes); answers loading as it reads the
//	         images of a dataset of image files, then dataset,
//	         samples and memory, or error. With workers above 1 and
//	         images of 8 megapixels or more in all, the worker starts
//	         that many workers, hands each image file to one of them as
//	         it comes free with decode commands, and ends them once all
//	         are read
//	spec     check a spec against the loaded dataset; answers spec_ok or error
//	start    train spec on the loaded dataset, from the safetensors weights
//	         in bin when there are some (checked as import_weights checks
//	         them), else from weights drawn from the seed; answers state
//	         running, then events, progress and images, and state done.
//	         With workers above 1, every batch is cut into that many parts
//	         trained side by side: the worker starts workers-1 more workers
//	         (kept for later runs) and hands each a part with shard and
//	         part commands
//	pause    stop between two steps; answers state paused
//	resume   continue a paused run; answers state running
//	step     train exactly one step of a paused run; answers progress
//	stop     end the run; its result event follows, then state done
//	set_lr   from now on train at lr (the schedule's shape is kept: every
//	         later rate is scaled by lr / spec.train.lr)
//	set_augment from the next step on, train with spec.data.augment;
//	         progress says from which step (augment_step)
//	augment  preview spec.data.augment on the sample images; answers images
//	         of kind preview
//	export   send the finished run's weights as safetensors; answers weights
//	lr_find  the LR range test of spec on the loaded dataset (a few hundred
//	         steps at an exponentially growing rate); answers lr_find
//	memory   collect garbage, then report the worker's memory; answers
//	         memory
//	evaluate measure a run's weights on the validation and test splits of
//	         the loaded dataset: the run training in this worker, between
//	         two steps, paused or not; or the safetensors weights in bin,
//	         for spec (a finished run's, a file's), checked against the
//	         spec's parameter names and shapes; answers evaluation
//	import_weights  check the safetensors weights in bin (a file named
//	         file) against spec: every parameter present with its name and
//	         shape, nothing else; answers weights_ok, or an error that
//	         lists each tensor that is missing, extra or of another shape
//	shard    (from a worker to one it started) prepare a replica of
//	         spec.model for parts of batches (Part); answers spec_ok
//	part     (likewise) compute the gradient of a part of a batch on the
//	         weights in bin (Part); answers part, with the gradient in bin.
//	         With part.inference, a part of an evaluation: the logits of
//	         its rows in inference mode, on the weights in bin or, when
//	         part.values is 0, on those of the last part (an evaluation
//	         sends them with its first part only)
//	decode   (from a worker to one it started) decode the image file in
//	         bin (Decode: its path, EXIF orientation and the dataset's
//	         image shape) as the data package does; answers decoded, with
//	         the pixels in bin, or error
//
// Commands that need a dataset or a run answer an error message when there
// is none; the worker never stops answering.
//
// # Messages
//
// A Message's "kind" field says what it carries:
//
//	ready     the worker has started and takes commands
//	dataset   a loaded dataset's summary (Dataset)
//	samples   sample images of the dataset, with their labels (Images)
//	preview   the same samples augmented (Images)
//	event     a training event (Event): exactly the JSON object the command
//	          line writes with -json (start, step, val_check, epoch,
//	          result); epoch
//	          and result events carry the doctor's findings so far, each
//	          with its fix as spec changes when a setting can express it
//	progress  where a run is, at most a few times a second (Progress), with
//	          the worker's memory
//	memory    the worker's memory (Memory): asked for, after a dataset loads
//	          (both after a collection) and after a run ends
//	misclassified  validation images the network gets wrong, after an epoch,
//	          with their saliency maps (Images.Saliency)
//	filters   the first convolution's kernels as images, after an epoch
//	state     the run's state changed (State)
//	weights   the run's final weights, safetensors in bin
//	spec_ok   the spec fits the dataset
//	lr_find   the loss against the learning rate and the suggested rate (LRFind)
//	weights_ok  weights that fit the spec: tensors and parameters (WeightsInfo)
//	evaluation  a run's loss, accuracy, per-class accuracy and confusion on
//	          the validation and test splits (Evaluation)
//	part      a part of a batch done: its loss and gradient (Part), or
//	          an evaluation's part: its logits
//	loading   how many of a dataset's images are read (Loading)
//	decoded   an image decoded, its pixels in bin
//	error     something failed (Error): what, and what to change
//
// # Rates
//
// A worker posts at most ProgressPerSecond progress messages a second and
// forwards step events as the spec's train.log_every produces them;
// validation checks come at most every train.val_check_seconds; epoch
// and result events and images come once per epoch. The page can therefore
// render every message it gets.
package protocol
