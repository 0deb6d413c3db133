package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"plateau/spec"
)

// Metadata keys and the format value of the safetensors files the network
// writes.
const (
	MetadataFormat = "format"
	MetadataSpec   = "spec"
	FormatPlateau  = "plateau"
)

// Save writes every parameter, trainable and state, as F32 safetensors
// under its name, with metadata {"format": "plateau", "spec": <model JSON>}.
func (n *Network) Save(w io.Writer) error {
	model, err := json.Marshal(n.Spec)
	if err != nil {
		return fmt.Errorf("encoding the model spec: %v", err)
	}
	tensors := make([]Tensor, len(n.params))
	for i, p := range n.params {
		tensors[i] = Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value}
	}
	return WriteSafetensors(w, tensors, map[string]string{MetadataFormat: FormatPlateau, MetadataSpec: string(model)})
}

// Load reads weights written by Save (or any safetensors file with the same
// names and shapes). Every parameter must be present with its shape, and the
// file may hold nothing else; otherwise the error lists each problem and the
// network is left unchanged.
func (n *Network) Load(r io.Reader) error {
	tensors, _, err := ReadSafetensors(r)
	if err != nil {
		return err
	}
	return n.setTensors(tensors)
}

// Open builds a network from a file written by Save: the model comes from
// the file's metadata and the weights from its tensors.
func Open(r io.Reader, maxBatch int) (*Network, error) {
	tensors, metadata, err := ReadSafetensors(r)
	if err != nil {
		return nil, err
	}
	text, ok := metadata[MetadataSpec]
	if !ok {
		return nil, errors.New("the file has no model spec in its metadata")
	}
	var m spec.Model
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, fmt.Errorf("the model spec in the file's metadata: %v", err)
	}
	n, err := New(m, maxBatch, 0)
	if err != nil {
		return nil, err
	}
	if err := n.setTensors(tensors); err != nil {
		return nil, err
	}
	return n, nil
}

// setTensors checks every name and shape before copying anything.
// tensors are sorted by name, as ReadSafetensors returns them.
func (n *Network) setTensors(tensors []Tensor) error {
	byName := make(map[string]Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	var problems []error
	for _, p := range n.params {
		t, ok := byName[p.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Errorf("%s: missing from the file (network expects shape %v)", p.Name, p.Shape))
		case !slices.Equal(t.Shape, p.Shape):
			problems = append(problems, fmt.Errorf("%s: file has shape %v, network expects %v", p.Name, t.Shape, p.Shape))
		}
		delete(byName, p.Name)
	}
	for _, t := range tensors {
		if _, extra := byName[t.Name]; extra {
			problems = append(problems, fmt.Errorf("%s: in the file but not in the network", t.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("weights do not fit the network:\n%w", errors.Join(problems...))
	}
	for _, p := range n.params {
		i, _ := slices.BinarySearchFunc(tensors, p.Name, func(t Tensor, name string) int { return strings.Compare(t.Name, name) })
		copy(p.Value, tensors[i].Data)
	}
	return nil
}

// Copy returns a new network with the same model, maximum batch and
// parameter values (trainable and state). Gradients and optimizer slots
// start at zero.
func (n *Network) Copy() *Network {
	c, err := New(n.Spec, n.maxBatch, n.seed)
	if err != nil {
		panic("nn: Copy: rebuilding the network failed")
	}
	copy(c.Values(), n.Values())
	return c
}

// CopyWeightsFrom sets n's parameter values (trainable and state) to
// other's; restoring the best weights of a run is one copy. The networks
// must have the same parameters.
func (n *Network) CopyWeightsFrom(other *Network) {
	if len(n.params) != len(other.params) {
		panic("nn: CopyWeightsFrom: networks have different parameters")
	}
	for i, p := range n.params {
		q := other.params[i]
		if p.Name != q.Name || !slices.Equal(p.Shape, q.Shape) {
			panic("nn: CopyWeightsFrom: networks have different parameters")
		}
	}
	copy(n.Values(), other.Values())
}
