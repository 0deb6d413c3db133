package kernels

// Panic messages for programmer errors: a caller that passes a slice too
// short for the shape it names, or a shape that cannot exist, has a bug that
// no input from a user can cause.
const (
	errNegativeDimension = "kernels: negative dimension"
	errBadLda            = "kernels: lda smaller than the row length of A"
	errBadLdb            = "kernels: ldb smaller than the row length of B"
	errBadLdc            = "kernels: ldc smaller than the row length of C"
	errShortA            = "kernels: A shorter than its shape"
	errShortB            = "kernels: B shorter than its shape"
	errShortC            = "kernels: C shorter than its shape"
	errBadConvParams     = "kernels: invalid convolution parameters"
	errBadPoolParams     = "kernels: invalid pooling parameters"
	errBadMultiplier     = "kernels: depthwise OC is not C times Multiplier"
	errShortInput        = "kernels: input slice shorter than its shape"
	errShortOutput       = "kernels: output slice shorter than its shape"
	errShortWeights      = "kernels: weight slice shorter than its shape"
	errShortBias         = "kernels: bias slice shorter than its shape"
	errShortScratch      = "kernels: scratch shorter than ScratchSize"
	errLengthMismatch    = "kernels: slice lengths differ"
	errBadRate           = "kernels: dropout rate outside [0, 1)"
	errBadLabel          = "kernels: label outside [0, classes)"
	errBadSize           = "kernels: non-positive size"
)
