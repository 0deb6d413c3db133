package doctor

import (
	"fmt"
	"slices"
	"strings"

	"plateau/train"
)

// checkClassConfusion: the validation accuracy has stopped rising, and
// much of what is still wrong is two classes taken for each other, or one
// class taken for others and others for it: the plateau is theirs
// (classes that look alike, or labels that disagree), not the training's.
//
// Evidence: the last epoch's validation confusion matrix. The pair of
// classes with the most mistakes between them (class_a, class_b, how
// often each was taken for the other), their share of all the mistakes
// (pair_share) and the share of the two classes' images that went to the
// other one (pair_error_rate); or the class in the most mistakes, either
// way (class, class_share, its recall class_recall); the validation
// accuracy and its rise over the last two epochs.
//
// Thresholds: needs 3 epochs, 3 classes or more, 20 mistakes or more, a
// validation accuracy of twice chance or more (a network at chance that
// answers one class for most images has not learned; one filter on eight
// classes, at 14%, had its mistakes "gather" on its answer) and no more
// than 0.1 under its best (a run falling apart), and a stalled
// validation accuracy: its least-squares slope over the last 4
// epochs (val_accuracy_slope), carried over two epochs, under half its
// 95% interval (at least 0.01). Read as one epoch's rise against 0.01,
// small-cnn on 300 validation images had the finding at epochs 3, 6 and 8
// and not between; as the best of the last two epochs against the best
// before them, ten saved runs had it at one epoch alone, and asking that
// two epochs running missed six-epoch runs that had stalled. Fires for
// the pair when it holds 30% of the mistakes or more and a tenth of its
// images or more go to the other class; else for the class when it is in
// 40% of the mistakes or more (and in twice the 2/K of K classes that
// share them evenly) with a recall of 0.85 or less.
// Confidence 0.35 + 0.2 × ramp(share, 0.3 or 0.4, 0.7): it says where the
// plateau is, below the rules that name a setting to change.
//
// Advice: look at the classes' misclassified images; if a person cannot
// tell them apart either, or their labels disagree, the plateau is the
// data's, and more (or relabeled) examples of them help most; otherwise
// give the network finer features (more filters early, less early
// downsampling, more epochs) and keep augmentation that preserves what
// tells them apart. No setting expresses that: Fix returns nil.
func checkClassConfusion(t *Telemetry) *train.Diagnosis {
	n := len(t.Epochs)
	if n < 3 || !t.hasVal() || t.diverged() {
		return nil
	}
	last := t.last()
	conf := last.Confusion
	k := len(conf)
	if k < 3 {
		return nil
	}
	va := t.valAcc()
	if va[n-1] < 2/float64(k) || slices.Max(va)-va[n-1] > 0.1 {
		// Near chance the mistakes gather on whatever class the network
		// answers for everything: it has not learned, which is not two
		// classes looking alike; nor has a run that lost ten points from
		// its best (SGD with momentum 0.99 fell from 64% to 34% in an
		// epoch, on its way back to chance), which is falling apart.
		return nil
	}
	rise := va[n-1] - max(va[n-3], va[n-2])
	// Stalled: the accuracy's least-squares rise over the last four
	// epochs, carried over two epochs, under half its 95% interval (at
	// least a point): a fit over four epochs, which one noisy epoch moves
	// little.
	bar := 0.01
	if t.Start != nil && t.Start.ValSize > 0 {
		low, high := ValCI(va[n-1], t.Start.ValSize)
		bar = max(bar, (high-low)/4)
	}
	trend := slope(va[max(0, n-4):])
	if !(2*trend < bar) {
		return nil
	}
	a, b, share, rate, mistakes := topPair(conf)
	if mistakes < 20 || a < 0 {
		return nil
	}
	ev := map[string]float64{"val_accuracy": va[n-1], "val_accuracy_rise": rise, "val_accuracy_slope": trend}
	const look = "look at their misclassified images (Run tab): if a person cannot tell them apart either, or their labels disagree, " +
		"the plateau is the data's and more or relabeled examples of them help most; otherwise give the network finer features " +
		"(more filters in the first layers, less downsampling early, more epochs) and keep augmentation that preserves what tells them apart"
	if share >= 0.3 && rate >= 0.1 {
		ab, ba := conf[a][b], conf[b][a]
		ev["class_a"], ev["class_b"], ev["a_taken_for_b"], ev["b_taken_for_a"] = float64(a), float64(b), float64(ab), float64(ba)
		ev["pair_share"], ev["pair_error_rate"] = share, rate
		return &train.Diagnosis{Confidence: 0.35 + 0.2*ramp(share, 0.3, 0.7), Evidence: ev,
			Advice: fmt.Sprintf("%s and %s are mixed up: %.0f%% of the validation mistakes are between them (%s taken for %s %d times, the other way %d times), %.0f%% of their images; %s",
				t.className(a), t.className(b), 100*share, t.className(a), t.className(b), ab, ba, 100*rate, look)}
	}
	// The class in the most mistakes, as the true class or the predicted.
	in := make([]int, k)
	for i, row := range conf {
		for j, c := range row {
			if i != j {
				in[i] += c
				in[j] += c
			}
		}
	}
	c := 0
	for i := range in {
		if in[i] > in[c] {
			c = i
		}
	}
	size := 0
	for _, v := range conf[c] {
		size += v
	}
	cshare := float64(in[c]) / float64(mistakes)
	if size == 0 || cshare < max(0.4, 4/float64(k)) {
		return nil
	}
	recall := float64(conf[c][c]) / float64(size)
	if recall > 0.85 {
		return nil
	}
	ev["class"], ev["class_share"], ev["class_recall"] = float64(c), cshare, recall
	// Its partners, most mistakes first.
	partners := make([]int, 0, k-1)
	for j := range k {
		if j != c && conf[c][j]+conf[j][c] > 0 {
			partners = append(partners, j)
		}
	}
	slices.SortStableFunc(partners, func(x, y int) int { return (conf[c][y] + conf[y][c]) - (conf[c][x] + conf[x][c]) })
	var with []string
	for _, j := range partners[:min(3, len(partners))] {
		with = append(with, fmt.Sprintf("%s %d times", t.className(j), conf[c][j]+conf[j][c]))
	}
	return &train.Diagnosis{Confidence: 0.35 + 0.2*ramp(cshare, 0.4, 0.7), Evidence: ev,
		Advice: fmt.Sprintf("%s is in %.0f%% of the validation mistakes, with a recall of %.0f%%: mixed up with %s; %s",
			t.className(c), 100*cshare, 100*recall, strings.Join(with, ", "), look)}
}

// className names class k as "class 6 (Shirt)", or "class 6" when the run
// has no names or its names are the numbers.
func (t *Telemetry) className(k int) string {
	s := fmt.Sprintf("class %d", k)
	if t.Start != nil && k < len(t.Start.Classes) && t.Start.Classes[k] != "" && t.Start.Classes[k] != fmt.Sprint(k) {
		s += " (" + t.Start.Classes[k] + ")"
	}
	return s
}

// topPair finds in a confusion matrix (rows true, columns predicted) the
// two classes with the most mistakes between them: their share of all the
// mistakes, the share of the pair's images that went to the other one,
// and the number of mistakes. a is -1 when there is no mistake or the
// matrix is not square.
func topPair(confusion [][]int) (a, b int, share, rate float64, mistakes int) {
	k := len(confusion)
	a, b = -1, -1
	pair := 0
	size := make([]int, k)
	for i, row := range confusion {
		if len(row) != k {
			return -1, -1, 0, 0, 0
		}
		for j, c := range row {
			size[i] += c
			if i == j {
				continue
			}
			mistakes += c
			if j > i {
				if p := c + confusion[j][i]; p > pair {
					a, b, pair = i, j, p
				}
			}
		}
	}
	if a < 0 || size[a]+size[b] == 0 {
		return -1, -1, 0, 0, mistakes
	}
	return a, b, float64(pair) / float64(mistakes), float64(pair) / float64(size[a]+size[b]), mistakes
}
