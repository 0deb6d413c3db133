package train

import (
	"math"
	"testing"

	"plateau/spec"
)

func TestLR(t *testing.T) {
	tests := []struct {
		name  string
		s     spec.Schedule
		epoch float64
		total int
		want  float64
	}{
		{"constant", spec.Schedule{Type: "constant"}, 3.7, 10, 0.1},
		{"empty type is constant", spec.Schedule{}, 3.7, 10, 0.1},
		// 0.1·0.5^floor(3.9/2)
		{"step before boundary", spec.Schedule{Type: "step", Factor: 0.5, Every: 2}, 3.9, 10, 0.05},
		{"step on boundary", spec.Schedule{Type: "step", Factor: 0.5, Every: 2}, 4, 10, 0.025},
		{"exponential", spec.Schedule{Type: "exponential", Gamma: 0.5}, 2, 10, 0.025},
		// 0.1·0.5^0.5
		{"exponential fractional", spec.Schedule{Type: "exponential", Gamma: 0.5}, 0.5, 10, 0.1 * math.Sqrt(0.5)},
		{"cosine start", spec.Schedule{Type: "cosine"}, 0, 10, 0.1},
		// 0.1·(1+cos(π/4))/2
		{"cosine quarter", spec.Schedule{Type: "cosine"}, 2.5, 10, 0.1 * (1 + math.Sqrt2/2) / 2},
		{"cosine half", spec.Schedule{Type: "cosine"}, 5, 10, 0.05},
		// 0.01 + 0.09/2
		{"cosine half to min_lr", spec.Schedule{Type: "cosine", MinLR: 0.01}, 5, 10, 0.055},
		{"cosine after the end", spec.Schedule{Type: "cosine", MinLR: 0.01}, 12, 10, 0.01},
		{"one_cycle start", spec.Schedule{Type: "one_cycle"}, 0, 10, 0.1},
		// peak 10·lr0 at 0.3 of the run
		{"one_cycle peak", spec.Schedule{Type: "one_cycle"}, 3, 10, 1},
		// 1 + (0.1−1)·(1+cos(π/2))/2
		{"one_cycle rising", spec.Schedule{Type: "one_cycle"}, 1.5, 10, 0.55},
		// (0.65−0.3)/0.7 = 0.5 of the way from 1 down to 0
		{"one_cycle falling", spec.Schedule{Type: "one_cycle"}, 6.5, 10, 0.5},
		{"one_cycle custom", spec.Schedule{Type: "one_cycle", MaxLR: 0.5, PctStart: 0.5, MinLR: 0.1}, 7.5, 10, 0.3},
		{"one_cycle end", spec.Schedule{Type: "one_cycle", MinLR: 0.001}, 10, 10, 0.001},
		{"warmup start", spec.Schedule{WarmupEpochs: 2}, 0, 10, 0},
		{"warmup half", spec.Schedule{WarmupEpochs: 2}, 1, 10, 0.05},
		{"warmup done", spec.Schedule{WarmupEpochs: 2}, 2, 10, 0.1},
		// warm-up ramps to the schedule's start, then cosine runs over 10 epochs
		{"warmup then cosine ramp", spec.Schedule{Type: "cosine", WarmupEpochs: 2}, 1, 12, 0.05},
		{"warmup then cosine half", spec.Schedule{Type: "cosine", WarmupEpochs: 2}, 7, 12, 0.05},
		{"warmup then step", spec.Schedule{Type: "step", Factor: 0.5, Every: 2, WarmupEpochs: 1}, 3, 10, 0.05},
		{"reduce_on_plateau is constant", spec.Schedule{Type: "reduce_on_plateau"}, 5, 10, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LR(tt.s, 0.1, tt.epoch, tt.total); !near(got, tt.want, 1e-12) {
				t.Errorf("LR = %.15g, want %.15g", got, tt.want)
			}
		})
	}
}

func TestCheckSchedule(t *testing.T) {
	if err := CheckSchedule(spec.Schedule{Type: "cosine"}); err != nil {
		t.Errorf("cosine: %v", err)
	}
	if err := CheckSchedule(spec.Schedule{Type: "linear"}); err == nil {
		t.Error("no error for an unknown schedule")
	}
}

func TestPlateauState(t *testing.T) {
	s := spec.Schedule{Type: "reduce_on_plateau", Factor: 0.5, Patience: 2, MinLR: 0.03}
	steps := []struct {
		loss        float64
		wantReduced bool
		wantLR      float64
	}{
		{1.0, false, 0.1},
		{0.9, false, 0.1},
		{0.95, false, 0.1},  // wait 1
		{0.9, true, 0.05},   // no better than the best: wait 2, reduce
		{0.95, false, 0.05}, // wait 1
		{0.96, true, 0.03},  // 0.025 is below min_lr
		{0.5, false, 0.03},
	}
	p := NewPlateauState()
	for i, st := range steps {
		reduced := p.Observe(s, st.loss)
		if reduced != st.wantReduced {
			t.Errorf("epoch %d: reduced = %v, want %v", i+1, reduced, st.wantReduced)
		}
		if got := p.Apply(s, LR(s, 0.1, float64(i+1), 10)); !near(got, st.wantLR, 1e-12) {
			t.Errorf("epoch %d: lr = %g, want %g", i+1, got, st.wantLR)
		}
	}
	t.Run("other schedules ignore it", func(t *testing.T) {
		p := NewPlateauState()
		c := spec.Schedule{Type: "constant", Patience: 1}
		for range 5 {
			if p.Observe(c, 1) {
				t.Fatal("reduced a constant schedule")
			}
		}
		if got := p.Apply(c, 0.1); got != 0.1 {
			t.Errorf("lr = %g, want 0.1", got)
		}
	})
}
