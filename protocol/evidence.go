package protocol

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// evidenceKind says how a finding's number reads.
type evidenceKind int

const (
	plain   evidenceKind = iota
	share                // a fraction, shown as a percentage: 0.773 → 77.3%
	points               // a difference of accuracies: −0.023 → −2.3 points
	change               // a relative change: −0.061 → −6.1%
	count                // images, layers, steps, epochs
	epoch                // an epoch's number
	flag                 // 1 → yes, 0 → no
	class                // a class index, with its name
	layer                // a layer's index in model.layers, with its name
	times                // a ratio: 33.3 → 33.3×
	setting              // a spec value as it is set (a rate, a factor)
)

type evidenceEntry struct {
	label string
	kind  evidenceKind
}

// evidenceTable names every number the doctor's rules report. The
// doctor's tests fail when a rule reports a key this table lacks.
var evidenceTable = map[string]evidenceEntry{
	"a_taken_for_b":              {"first class's images taken for the second", count},
	"accuracy_gap":               {"training minus validation accuracy", points},
	"b_taken_for_a":              {"second class's images taken for the first", count},
	"batch_size":                 {"batch size", count},
	"batchnorm":                  {"has batch norm", flag},
	"batchnorm_layers":           {"batch-norm layers", count},
	"best_val_loss_epoch":        {"lowest validation loss at", epoch},
	"bouncing":                   {"loss bouncing between epochs", flag},
	"chance_loss":                {"loss of a uniform guess", plain},
	"changes_within_noise":       {"epoch-to-epoch changes within the noise", share},
	"ci_high":                    {"validation accuracy, 95% interval top", share},
	"ci_low":                     {"validation accuracy, 95% interval bottom", share},
	"class":                      {"class", class},
	"class_a":                    {"first class", class},
	"class_b":                    {"second class", class},
	"class_mix_tv":               {"class mix, test against training (total variation)", share},
	"class_recall":               {"class's recall", share},
	"class_share":                {"class's share of the mistakes", share},
	"collapse":                   {"predicts mostly one class", flag},
	"common_class_recall":        {"largest class's recall", share},
	"confident_share":            {"share of mistakes made confidently", share},
	"confident_wrong":            {"validation images confidently wrong", share},
	"decayed_epoch":              {"rate decayed by", epoch},
	"depth":                      {"depth (weighted layers)", count},
	"diverged":                   {"loss diverged", flag},
	"dropout_rate":               {"dropout rate", setting},
	"epsilon":                    {"the optimizer's epsilon", setting},
	"label_ceiling":              {"most of the noised labels a network can agree with", share},
	"label_entropy":              {"loss a perfect network would reach on the noised labels", plain},
	"augmented_behind":           {"augmented training images no better fitted than validation", flag},
	"epochs":                     {"epochs run", count},
	"epochs_since_best":          {"epochs without progress", count},
	"epochs_since_val_best":      {"epochs since the best validation loss", count},
	"first_grad_norm":            {"gradient norm, first epoch", plain},
	"first_layer_grad_norm":      {"first layer's gradient norm", plain},
	"first_loss_over_chance":     {"first epoch's loss against a uniform guess", times},
	"first_train_loss":           {"first epoch's training loss", plain},
	"flip_horizontal_kept":       {"mirrored images that keep their class", share},
	"flip_vertical_kept":         {"upside-down images that keep their class", share},
	"gap":                        {"validation minus test accuracy", points},
	"gap_widening":               {"training pulling away from validation, per epoch (fit)", points},
	"grad_clip":                  {"gradient clipping", setting},
	"grad_norm_growth":           {"gradient norm growth", times},
	"gradient_divergence":        {"gradients blew up", flag},
	"gradient_ratio":             {"first against last layer's gradient norm", times},
	"half_width":                 {"half the 95% interval", points},
	"imbalance":                  {"data.imbalance", setting},
	"imbalance_ratio":            {"largest against smallest class", times},
	"input_max_abs":              {"largest input value", plain},
	"input_mean":                 {"input mean", plain},
	"input_std":                  {"input standard deviation", plain},
	"l1":                         {"L1", setting},
	"l2":                         {"L2", setting},
	"largest_change":             {"largest epoch-to-epoch change", points},
	"largest_class":              {"largest class", class},
	"last_layer_grad_norm":       {"last layer's gradient norm", plain},
	"last_loss_fall":             {"training loss fall, last epoch", share},
	"last_lr":                    {"learning rate now", setting},
	"last_train_loss":            {"last training loss", plain},
	"layer_dead":                 {"a layer wholly dead", flag},
	"local_pool_channels":        {"channels pooled to 1×1", count},
	"local_pool_field":           {"pixels a pooled feature sees (side)", count},
	"local_pool_layer":           {"layer pooling to 1×1", layer},
	"loss_change_per_epoch":      {"training loss change per epoch", change},
	"loss_change_since":          {"training loss moved since it stood still at the decayed rate", share},
	"loss_drop":                  {"training loss fall, first epoch to last", share},
	"loss_jump":                  {"largest rise of the training loss", change},
	"loss_over_chance":           {"loss against a uniform guess", times},
	"loss_rise":                  {"training loss change, first to last", change},
	"loss_rises":                 {"epochs whose training loss rose", share},
	"peak_step":                  {"reached at step", count},
	"peak_val_accuracy":          {"best validation accuracy before", share},
	"val_loss_rises":             {"epochs whose validation loss rose", share},
	"val_loss_mean_rise":         {"mean rise of the validation loss in those", share},
	"loss_slope":                 {"training loss change per epoch (fit)", change},
	"loss_swing":                 {"monitored metric's swing per epoch", plain},
	"loss_trend":                 {"training loss change over two epochs", change},
	"lowest_train_loss":          {"lowest training loss", plain},
	"lr":                         {"learning rate", setting},
	"majority_prediction_share":  {"predictions of the largest class", share},
	"majority_true_share":        {"images of the largest class", share},
	"max_dead_fraction":          {"dead units, worst layer", share},
	"max_grad_norm":              {"largest gradient norm", plain},
	"mean_dead_fraction":         {"dead units, mean over layers", share},
	"mistake_spread":             {"how evenly mistakes spread over class pairs", share},
	"momentum":                   {"batch-norm momentum", setting},
	"narrow_dead":                {"narrow layer's units dead", flag},
	"narrow_layer":               {"narrow layer", layer},
	"narrow_units":               {"its units", count},
	"pair_error_rate":            {"the two classes' error rate", share},
	"pair_share":                 {"the pair's share of the mistakes", share},
	"params":                     {"parameters", count},
	"patience":                   {"early-stopping patience", count},
	"peak_lr":                    {"peak learning rate", setting},
	"planned_epochs":             {"epochs planned", count},
	"progress":                   {"training loss fall from a uniform guess", share},
	"rare_class":                 {"smallest class", class},
	"rare_class_recall":          {"smallest class's recall", share},
	"raw":                        {"raw pixels (0–255)", flag},
	"relative_lr":                {"learning rate against a typical one", times},
	"relu_layers":                {"ReLU layers", count},
	"saturating_activations":     {"sigmoid or tanh layers", count},
	"spec_label_noise":           {"data.label_noise", setting},
	"stalled":                    {"training loss stalled", flag},
	"steps":                      {"steps run", count},
	"steps_per_epoch":            {"steps per epoch", count},
	"steps_to_settle":            {"steps the statistics take to settle", count},
	"stopped_early":              {"stopped early", flag},
	"stopped_by_time_limit":      {"ended by its time limit", flag},
	"strong_transforms":          {"strong transforms", count},
	"stuck_at_chance":            {"loss stuck at a uniform guess", flag},
	"checks_at_chance":           {"validation checks in a row at a constant guess", count},
	"since_step":                 {"first of those checks at step", count},
	"check_val_accuracy":         {"latest check's validation accuracy", share},
	"check_val_loss":             {"latest check's validation loss", plain},
	"check_val_loss_change":      {"validation loss change per check, the smaller fall of the last two", change},
	"silent_labels":              {"a constant guess with the layers passing the gradient", flag},
	"first_check_gradient_ratio": {"first check (or epoch): first layer's relative gradient over the last's", plain},
	"first_check_dead_fraction":  {"first check (or epoch): ReLU units dead", share},
	"far_from_trained":           {"the rate crawls (lr_too_low)", flag},
	"input_span":                 {"largest input value minus the smallest", plain},
	"levels":                     {"levels of 255 between them", plain},
	"label_smoothing":            {"train.label_smoothing", setting},
	"loss_room":                  {"share of ln K the loss can fall", share},
	"grad_norm":                  {"mean gradient norm, last epoch (before clipping)", plain},
	"crushed":                    {"weights shrunk to a constant guess", flag},
	"chance_accuracy":            {"accuracy of a constant guess", share},
	"step_loss":                  {"training loss of the steps since (median)", plain},
	"peak_step_loss":             {"highest step loss", plain},
	"test_accuracy":              {"test accuracy", share},
	"test_ci_high":               {"test accuracy, 95% interval top", share},
	"test_ci_low":                {"test accuracy, 95% interval bottom", share},
	"test_duplicate_fraction":    {"test images also in training", share},
	"test_duplicates":            {"test images also in training", count},
	"train_accuracy":             {"training accuracy", share},
	"train_error":                {"training error", share},
	"train_loss_change":          {"training loss change, last epoch", change},
	"train_loss_fall_since":      {"training loss fall since the best validation loss", share},
	"train_size":                 {"training images", count},
	"val_accuracy":               {"validation accuracy", share},
	"val_loss":                   {"validation loss", plain},
	"val_accuracy_rise":          {"validation accuracy rise, recent epochs", points},
	"val_accuracy_slope":         {"validation accuracy rise per epoch (fit)", points},
	"val_ci_high":                {"validation accuracy, 95% interval top", share},
	"val_ci_low":                 {"validation accuracy, 95% interval bottom", share},
	"val_duplicate_fraction":     {"validation images also in training", share},
	"val_duplicates":             {"validation images also in training", count},
	"val_loss_change":            {"validation loss change, last epoch", change},
	"val_loss_rise":              {"validation loss rise above its lowest", change},
	"val_minus_test_accuracy":    {"validation minus test accuracy", points},
	"val_minus_train":            {"validation minus training accuracy", points},
	"val_size":                   {"validation images", count},
	"weight_change":              {"weights' movement per epoch", share},
	"weight_decay":               {"weight decay", setting},
	"weighted_layers":            {"weighted layers", count},
}

// EvidenceLabelled reports whether the doctor's number key has a label.
func EvidenceLabelled(key string) bool {
	_, ok := evidenceTable[key]
	return ok
}

// EvidenceNames name what a finding's numbers index.
type EvidenceNames struct {
	Classes []string // by class index
	Layers  []string // the model's layers' names, in order
}

// EvidenceText is how a page shows one number a finding reports: a label
// a reader follows and the value in its unit ("validation accuracy",
// "77.3%"). A class index comes with its name ("6 (Shirt)"), a layer's
// index in model.layers as its name. A key the table lacks reads as its
// name with spaces, the value as a plain number.
func EvidenceText(key string, v float64, names EvidenceNames) (label, value string) {
	e, ok := evidenceTable[key]
	if !ok {
		return strings.ReplaceAll(key, "_", " "), plainNumber(v)
	}
	switch e.kind {
	case share:
		value = percent(100*v) + "%"
	case points:
		value = signed(percent(100*v)) + " points"
	case change:
		value = signed(percent(100*v)) + "%"
	case count:
		value = plainNumber(v)
	case epoch:
		value = "epoch " + plainNumber(v)
	case flag:
		value = "no"
		if v != 0 {
			value = "yes"
		}
	case class:
		value = plainNumber(v)
		if c := int(v); float64(c) == v && c >= 0 && c < len(names.Classes) && names.Classes[c] != value {
			value += " (" + names.Classes[c] + ")"
		}
	case layer:
		value = fmt.Sprintf("model.layers[%s]", plainNumber(v))
		if i := int(v); float64(i) == v && i >= 0 && i < len(names.Layers) && names.Layers[i] != "" {
			value = names.Layers[i]
		}
	case times:
		value = strconv.FormatFloat(v, 'f', -1, 64)
		if a := math.Abs(v); a >= 100 {
			value = fmt.Sprintf("%.0f", v)
		} else if a > 0 {
			value = strconv.FormatFloat(v, 'g', 3, 64)
		}
		value += "×"
	default:
		value = plainNumber(v)
	}
	return e.label, value
}

// percent writes p with one decimal, or more where one would show a small
// number as zero (0.04%).
func percent(p float64) string {
	if a := math.Abs(p); a != 0 && a < 0.1 {
		return fmt.Sprintf("%.2g", p)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", p), ".0")
}

// signed puts a sign on a number that has none: "+2.3", "−2.3".
func signed(s string) string {
	switch {
	case strings.HasPrefix(s, "-"):
		return "−" + s[1:]
	case s == "0":
		return s
	}
	return "+" + s
}

// plainNumber writes v as briefly as its size allows: 255, 0.125, 140.25,
// 1.5e-05.
func plainNumber(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e6:
		return fmt.Sprintf("%.0f", v)
	case a >= 1e-3 && a < 1e4:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	}
	return fmt.Sprintf("%.3g", v)
}
