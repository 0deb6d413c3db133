package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"plateau/nn"
	"plateau/protocol"
	"plateau/spec"
)

// importWeights checks a safetensors file against a spec and says what it
// holds, or what does not fit.
func (s *Session) importWeights(c protocol.Command) {
	sp, err := s.prepareSpec(c.Spec)
	if err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	net, err := networkWithWeights(sp, c.Bytes, c.File, 1)
	if err != nil {
		s.post(protocol.ErrorMessage(c.Run, err))
		return
	}
	trainable, state := net.ParamCount()
	m := protocol.NewMessage(c.Run, protocol.KindWeightsOK)
	m.Weights = &protocol.WeightsInfo{Tensors: len(net.Params()), Params: trainable, State: state, Model: savedModelName(c.Bytes)}
	s.post(m)
}

// networkWithWeights builds the network of sp (expanded) for batches of
// up to maxBatch and loads safetensors weights into it. When they do not
// fit, the error names the file and lists every tensor that is missing,
// extra or of another shape, and the model the file was saved for when it
// says.
func networkWithWeights(sp *spec.Spec, weights []byte, file string, maxBatch int) (*nn.Network, error) {
	what := "the weights"
	if file != "" {
		what = "the weights in " + file
	} else {
		file = "the file"
	}
	if len(weights) == 0 {
		return nil, fmt.Errorf("%s is empty", file)
	}
	if _, _, err := nn.ReadSafetensors(bytes.NewReader(weights)); err != nil {
		return nil, fmt.Errorf("%s is not a safetensors file of float32 weights: %v", file, err)
	}
	net, err := nn.New(sp.Model, max(1, maxBatch), 0)
	if err != nil {
		return nil, fmt.Errorf("building the network: %v", err)
	}
	if err := net.Load(bytes.NewReader(weights)); err != nil {
		msg := err.Error()
		// nn lists one problem a line after a heading.
		if _, list, ok := strings.Cut(msg, ":\n"); ok {
			msg = strings.ReplaceAll(list, "\n", "; ")
		}
		model := sp.Model.Name
		if model == "" {
			model = "the current model"
		} else {
			model = fmt.Sprintf("model %q", model)
		}
		text := fmt.Sprintf("%s do not fit %s (%d tensors): %s", what, model, len(net.Params()), msg)
		if saved := savedModelName(weights); saved != "" && saved != sp.Model.Name {
			text += fmt.Sprintf(". The file was saved for model %q: pick that model, or weights saved for this one", saved)
		}
		return nil, errors.New(text)
	}
	return net, nil
}

// savedModelName is the model name a file written by nn.Save records in
// its metadata, or "".
func savedModelName(weights []byte) string {
	_, meta, err := nn.ReadSafetensors(bytes.NewReader(weights))
	if err != nil || meta[nn.MetadataSpec] == "" {
		return ""
	}
	var m spec.Model
	if json.Unmarshal([]byte(meta[nn.MetadataSpec]), &m) != nil {
		return ""
	}
	return m.Name
}
