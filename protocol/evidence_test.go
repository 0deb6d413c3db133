package protocol_test

import (
	"testing"

	"plateau/protocol"
)

func TestEvidenceText(t *testing.T) {
	names := protocol.EvidenceNames{Classes: []string{"cat", "dog"}, Layers: []string{"conv1", "relu1"}}
	for _, tt := range []struct {
		key          string
		v            float64
		label, value string
	}{
		{"val_accuracy", 0.7733, "validation accuracy", "77.3%"},
		{"val_accuracy", 1, "validation accuracy", "100%"},
		{"confident_wrong", 0.0004, "validation images confidently wrong", "0.04%"},
		{"accuracy_gap", 0.2351, "training minus validation accuracy", "+23.5 points"},
		{"val_minus_train", -0.01, "validation minus training accuracy", "−1 points"},
		{"val_accuracy_rise", 0, "validation accuracy rise, recent epochs", "0 points"},
		{"loss_trend", -0.0882, "training loss change over two epochs", "−8.8%"},
		{"best_val_loss_epoch", 2, "lowest validation loss at", "epoch 2"},
		{"stalled", 1, "training loss stalled", "yes"},
		{"batchnorm", 0, "has batch norm", "no"},
		{"class", 1, "class", "1 (dog)"},
		{"class", 7, "class", "7"},
		{"narrow_layer", 1, "narrow layer", "relu1"},
		{"narrow_layer", 5, "narrow layer", "model.layers[5]"},
		{"imbalance_ratio", 33.333333, "largest against smallest class", "33.3×"},
		{"grad_norm_growth", 1234.6, "gradient norm growth", "1235×"},
		{"gradient_ratio", 0.0045, "first against last layer's gradient norm", "0.0045×"},
		{"lr", 1e-5, "learning rate", "1e-05"},
		{"input_max_abs", 255, "largest input value", "255"},
		{"no_such_key", 0.5, "no such key", "0.5"},
	} {
		label, value := protocol.EvidenceText(tt.key, tt.v, names)
		if label != tt.label || value != tt.value {
			t.Errorf("%s %g: %q %q, want %q %q", tt.key, tt.v, label, value, tt.label, tt.value)
		}
	}
}
