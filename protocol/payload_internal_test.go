package protocol

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// Both ways of writing a payload, copying memory where the machine is
// little-endian and byte by byte elsewhere, give the same little-endian
// bytes and read them back.
func TestPayloadBothWays(t *testing.T) {
	floats := []float32{1.5, -2, float32(math.Inf(-1)), 3e-38, 0}
	ints := []int32{7, -1, math.MaxInt32}
	want := make([]byte, 0, 32)
	for _, v := range floats {
		want = binary.LittleEndian.AppendUint32(want, math.Float32bits(v))
	}
	for _, v := range ints {
		want = binary.LittleEndian.AppendUint32(want, uint32(v))
	}
	defer func(was bool) { littleEndian = was }(littleEndian)
	for _, fast := range []bool{true, false} {
		if fast && !littleEndian {
			continue
		}
		littleEndian = fast
		b := make([]byte, len(want))
		PutInts(PutFloats(b, floats), ints)
		if !bytes.Equal(b, want) {
			t.Errorf("fast %v: wrote % x, want % x", fast, b, want)
		}
		f, i := make([]float32, len(floats)), make([]int32, len(ints))
		rest, err := Floats(f, b)
		if err == nil {
			rest, err = Ints(i, rest)
		}
		if err != nil || len(rest) != 0 || !slices.Equal(f, floats) || !slices.Equal(i, ints) {
			t.Errorf("fast %v: read %v %v (%d left, %v)", fast, f, i, len(rest), err)
		}
	}
}
