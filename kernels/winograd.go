package kernels

// Winograd's minimal filtering F(2×2,3×3) (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2015) for 3×3, stride-1 convolutions:
// each 2×2 block of outputs (a tile) is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, where d is
// the 4×4 patch of input the tile reads and g the 3×3 kernel, with
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]
//
// Summed over input channels, the element-wise products become sixteen
// matrix products (one per position ξ of the 4×4 transformed tile) of
// (tiles, C) by (C, OC): 16·C·OC multiply-adds per tile of four outputs
// instead of 36·C·OC, a 2.25-fold saving paid for with the transforms,
// which cost O(C + OC) per tile.
//
// The gradient with respect to the input is itself a stride-1 3×3
// convolution, of dy with the kernel rotated by 180° and its channel axes
// swapped; since G·flip = P·G, with P the permutation that swaps rows 0 and
// 3, its transformed kernel is U[p(i),p(j)]ᵀ and needs no transform of its
// own. The gradient with respect to the kernel follows the forward
// computation backwards: dU[ξ] = Σ_tiles (A dY Aᵀ)[ξ]·(Bᵀ d B)[ξ], then
// dg = Gᵀ dU G.
//
// Memory layout (all in scratch): transformed kernels U are (C,16,OC),
// transformed input tiles V are (tiles,16,C) and transformed output tiles M
// are (tiles,16,OC), so that every transform reads and writes contiguous
// channel vectors, and the sixteen products read their operands in place
// with leading dimensions 16·C and 16·OC.

// winogradMinChannels is the smallest C and OC that take the Winograd path:
// with fewer channels the transforms cost more than the products they
// save.
const winogradMinChannels = 8

// winogradChunkTiles is the number of tiles the Winograd path aims to put
// in one chunk: its sixteen products then have that many rows, and the
// transformed tiles of a chunk stay in L2.
const winogradChunkTiles = 128

// winograd reports whether the convolution takes the Winograd path.
func (p ConvParams) winograd() bool {
	return p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 &&
		p.C >= winogradMinChannels && p.OC >= winogradMinChannels
}

// tiles returns the number of 2×2 tiles covering an h×w output.
func tiles(h, w int) int { return ((h + 1) / 2) * ((w + 1) / 2) }

// winogradImages is the number of images one Winograd chunk holds.
func (p ConvParams) winogradImages() int {
	per := max(tiles(p.OH, p.OW), tiles(p.H, p.W))
	return max(1, min(p.N, (winogradChunkTiles+per-1)/per))
}

// The scratch of the Winograd path is U (or dU), shared by all ranges
// (convpar.go), then for each range the transformed tiles of a chunk on both
// sides, a zero vector standing in for padding and a sink for outputs past
// the edge.

// winogradScratch is the scratch of the Winograd path with one range.
func (p ConvParams) winogradScratch() int { return p.convScratchFor(true, 1) }

// winogradSplit cuts a range's chunk buffer into the input-side and
// output-side tiles (for inC and outC channels), the zero vector and the
// sink.
func (p ConvParams) winogradSplit(scratch []float32, inC, outC int) (v, m, zero, sink []float32) {
	t := p.winogradImages() * max(tiles(p.OH, p.OW), tiles(p.H, p.W))
	v, scratch = scratch[:16*t*inC], scratch[16*t*inC:]
	m, scratch = scratch[:16*t*outC], scratch[16*t*outC:]
	ch := max(p.C, p.OC)
	zero, sink = scratch[:ch], scratch[ch:2*ch]
	clear(zero)
	return v, m, zero, sink
}

// winogradConv2D is Conv2D on the Winograd path (y assigned).
func winogradConv2D(y, x, w, bias []float32, p ConvParams, scratch []float32) {
	u := scratch[:16*p.C*p.OC]
	winogradKernel(u, w, p.C, p.OC)
	t := convTask{op: opWinogradForward, p: p, out: y, in: x, bias: bias, u: u}
	convRun(t, p.convParts(true, len(scratch)), scratch[len(u):])
}

// winogradConv2DRange is winogradConv2D over the images of ct.
func winogradConv2DRange(ct *convTask) {
	p, u := ct.p, ct.u
	v, m, zero, sink := p.winogradSplit(ct.work, p.C, p.OC)
	th, tw := (p.OH+1)/2, (p.OW+1)/2
	per := p.winogradImages()
	in, out := p.H*p.W*p.C, p.OH*p.OW*p.OC
	for n0 := ct.n0; n0 < ct.n1; n0 += per {
		images := min(per, ct.n1-n0)
		t := images * th * tw
		winogradInputTiles(v, ct.in[n0*in:(n0+images)*in], zero, images, p.H, p.W, p.C, th, tw, p.PadTop, p.PadLeft)
		for xi := range 16 {
			convGemm(ct.ws, false, false, t, p.OC, p.C, 1, v[xi*p.C:], 16*p.C, u[xi*p.OC:], 16*p.OC, 0, m[xi*p.OC:], 16*p.OC)
		}
		winogradOutputTiles(ct.out[n0*out:(n0+images)*out], m, ct.bias, sink, images, p.OH, p.OW, p.OC, th, tw)
	}
}

// winogradFlip is p(i)·4+p(j) for ξ = i·4+j: the position of U that holds
// ξ of the rotated kernel's transform.
var winogradFlip = [16]int{15, 13, 14, 12, 7, 5, 6, 4, 11, 9, 10, 8, 3, 1, 2, 0}

// winogradConv2DGradInput is Conv2DGradInput on the Winograd path (dx
// assigned): dy convolved with the rotated kernel, padded by 2-PadTop
// above and 2-PadLeft on the left.
func winogradConv2DGradInput(dx, dy, w []float32, p ConvParams, scratch []float32) {
	u := scratch[:16*p.C*p.OC]
	winogradKernel(u, w, p.C, p.OC)
	t := convTask{op: opWinogradGradInput, p: p, out: dx, in: dy, u: u}
	convRun(t, p.convParts(true, len(scratch)), scratch[len(u):])
}

// winogradConv2DGradInputRange is winogradConv2DGradInput over the images
// of ct.
func winogradConv2DGradInputRange(ct *convTask) {
	p, u := ct.p, ct.u
	v, m, zero, sink := p.winogradSplit(ct.work, p.OC, p.C)
	th, tw := (p.H+1)/2, (p.W+1)/2
	per := p.winogradImages()
	in, out := p.OH*p.OW*p.OC, p.H*p.W*p.C
	for n0 := ct.n0; n0 < ct.n1; n0 += per {
		images := min(per, ct.n1-n0)
		t := images * th * tw
		winogradInputTiles(v, ct.in[n0*in:(n0+images)*in], zero, images, p.OH, p.OW, p.OC, th, tw, 2-p.PadTop, 2-p.PadLeft)
		for xi, f := range winogradFlip {
			convGemm(ct.ws, false, true, t, p.C, p.OC, 1, v[xi*p.OC:], 16*p.OC, u[f*p.OC:], 16*p.OC, 0, m[xi*p.C:], 16*p.C)
		}
		winogradOutputTiles(ct.out[n0*out:(n0+images)*out], m, nil, sink, images, p.H, p.W, p.C, th, tw)
	}
}

// winogradConv2DGradFilter is the kernel part of Conv2DGradFilter on the
// Winograd path (dw accumulated).
func winogradConv2DGradFilter(dw, dy, x []float32, p ConvParams, scratch []float32) {
	du := scratch[:16*p.C*p.OC]
	clear(du)
	t := convTask{op: opWinogradGradFilter, p: p, in: x, w: dy, acc: du}
	convRun(t, p.convParts(true, len(scratch)), scratch[len(du):])
	winogradKernelGrad(dw, du, p.C, p.OC)
}

// winogradConv2DGradFilterRange is the chunk loop of
// winogradConv2DGradFilter over the images of ct, accumulated into ct.acc.
func winogradConv2DGradFilterRange(ct *convTask) {
	p, du := ct.p, ct.acc
	v, m, zero, _ := p.winogradSplit(ct.work, p.C, p.OC)
	th, tw := (p.OH+1)/2, (p.OW+1)/2
	per := p.winogradImages()
	in, out := p.H*p.W*p.C, p.OH*p.OW*p.OC
	for n0 := ct.n0; n0 < ct.n1; n0 += per {
		images := min(per, ct.n1-n0)
		t := images * th * tw
		winogradInputTiles(v, ct.in[n0*in:(n0+images)*in], zero, images, p.H, p.W, p.C, th, tw, p.PadTop, p.PadLeft)
		winogradGradTiles(m, ct.w[n0*out:(n0+images)*out], zero, images, p.OH, p.OW, p.OC, th, tw)
		for xi := range 16 {
			convGemm(ct.ws, true, false, p.C, p.OC, t, 1, v[xi*p.C:], 16*p.C, m[xi*p.OC:], 16*p.OC, 1, du[xi*p.OC:], 16*p.OC)
		}
	}
}

// winogradKernel writes U = G g Gᵀ for every (c, oc): w is (3,3,C,OC), u is
// (C,16,OC).
func winogradKernel(u, w []float32, c, oc int) {
	plane := c * oc
	w = w[:9*plane]
	for ch := range c {
		g := func(k int) []float32 { return w[k*plane+ch*oc : k*plane+ch*oc+oc] }
		g0, g1, g2, g3, g4, g5, g6, g7, g8 := g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7), g(8)
		o := u[ch*16*oc : (ch+1)*16*oc]
		for j := range g0 {
			// Rows of G g (4×3), then the same combination of its columns.
			r00, r01, r02 := g0[j], g1[j], g2[j]
			r30, r31, r32 := g6[j], g7[j], g8[j]
			r10 := 0.5 * (g0[j] + g3[j] + g6[j])
			r11 := 0.5 * (g1[j] + g4[j] + g7[j])
			r12 := 0.5 * (g2[j] + g5[j] + g8[j])
			r20 := 0.5 * (g0[j] - g3[j] + g6[j])
			r21 := 0.5 * (g1[j] - g4[j] + g7[j])
			r22 := 0.5 * (g2[j] - g5[j] + g8[j])
			o[0*oc+j] = r00
			o[1*oc+j] = 0.5 * (r00 + r01 + r02)
			o[2*oc+j] = 0.5 * (r00 - r01 + r02)
			o[3*oc+j] = r02
			o[4*oc+j] = r10
			o[5*oc+j] = 0.5 * (r10 + r11 + r12)
			o[6*oc+j] = 0.5 * (r10 - r11 + r12)
			o[7*oc+j] = r12
			o[8*oc+j] = r20
			o[9*oc+j] = 0.5 * (r20 + r21 + r22)
			o[10*oc+j] = 0.5 * (r20 - r21 + r22)
			o[11*oc+j] = r22
			o[12*oc+j] = r30
			o[13*oc+j] = 0.5 * (r30 + r31 + r32)
			o[14*oc+j] = 0.5 * (r30 - r31 + r32)
			o[15*oc+j] = r32
		}
	}
}

// winogradKernelGrad adds dg = Gᵀ dU G to dw for every (c, oc): du is
// (C,16,OC), dw is (3,3,C,OC).
func winogradKernelGrad(dw, du []float32, c, oc int) {
	plane := c * oc
	dw = dw[:9*plane]
	for ch := range c {
		d := du[ch*16*oc : (ch+1)*16*oc]
		g := func(k int) []float32 { return dw[k*plane+ch*oc : k*plane+ch*oc+oc] }
		g0, g1, g2, g3, g4, g5, g6, g7, g8 := g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7), g(8)
		for j := range g0 {
			// Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1], applied to rows, then columns.
			var s [4][3]float32
			for i := range 4 {
				a, b, e, f := d[(4*i)*oc+j], d[(4*i+1)*oc+j], d[(4*i+2)*oc+j], d[(4*i+3)*oc+j]
				s[i] = [3]float32{a + 0.5*(b+e), 0.5 * (b - e), 0.5*(b+e) + f}
			}
			for k := range 3 {
				a, b, e, f := s[0][k], s[1][k], s[2][k], s[3][k]
				s[0][k], s[1][k], s[2][k] = a+0.5*(b+e), 0.5*(b-e), 0.5*(b+e)+f
			}
			g0[j] += s[0][0]
			g1[j] += s[0][1]
			g2[j] += s[0][2]
			g3[j] += s[1][0]
			g4[j] += s[1][1]
			g5[j] += s[1][2]
			g6[j] += s[2][0]
			g7[j] += s[2][1]
			g8[j] += s[2][2]
		}
	}
}

// winogradInputTiles writes V = Bᵀ d B for every tile of images images of
// x (images,h,w,c): tile (ty,tx) reads the 4×4 patch whose top left corner
// is (2ty-padTop, 2tx-padLeft), zero outside x. v is (images*th*tw,16,c).
func winogradInputTiles(v, x, zero []float32, images, h, w, c, th, tw, padTop, padLeft int) {
	zero = zero[:c]
	var d [16][]float32
	t := 0
	for img := range images {
		xi := x[img*h*w*c : (img+1)*h*w*c]
		for ty := range th {
			for tx := range tw {
				for i := range 4 {
					ih := 2*ty - padTop + i
					for j := range 4 {
						iw := 2*tx - padLeft + j
						if ih < 0 || ih >= h || iw < 0 || iw >= w {
							d[4*i+j] = zero
						} else {
							d[4*i+j] = xi[(ih*w+iw)*c : (ih*w+iw)*c+c]
						}
					}
				}
				winogradInputTile(v[t*16*c:(t+1)*16*c], &d)
				t++
			}
		}
	}
}

// winogradInputTileScalar writes Bᵀ d B of one tile for channels from on,
// channel by channel (winogradInputTile, in each build's file, calls it
// for the channels it does not do with vectors).
func winogradInputTileScalar(o []float32, d *[16][]float32, from int) {
	c := len(d[0])
	o = o[:16*c]
	d00, d01, d02, d03 := d[0], d[1][:c], d[2][:c], d[3][:c]
	d10, d11, d12, d13 := d[4][:c], d[5][:c], d[6][:c], d[7][:c]
	d20, d21, d22, d23 := d[8][:c], d[9][:c], d[10][:c], d[11][:c]
	d30, d31, d32, d33 := d[12][:c], d[13][:c], d[14][:c], d[15][:c]
	o0, o1, o2, o3 := o[0:c], o[c:2*c], o[2*c:3*c], o[3*c:4*c]
	o4, o5, o6, o7 := o[4*c:5*c], o[5*c:6*c], o[6*c:7*c], o[7*c:8*c]
	o8, o9, o10, o11 := o[8*c:9*c], o[9*c:10*c], o[10*c:11*c], o[11*c:12*c]
	o12, o13, o14, o15 := o[12*c:13*c], o[13*c:14*c], o[14*c:15*c], o[15*c:16*c]
	for k := from; k < len(d00); k++ {
		// Rows of Bᵀ d.
		r0, r1, r2, r3 := d00[k]-d20[k], d01[k]-d21[k], d02[k]-d22[k], d03[k]-d23[k]
		s0, s1, s2, s3 := d10[k]+d20[k], d11[k]+d21[k], d12[k]+d22[k], d13[k]+d23[k]
		t0, t1, t2, t3 := d20[k]-d10[k], d21[k]-d11[k], d22[k]-d12[k], d23[k]-d13[k]
		u0, u1, u2, u3 := d10[k]-d30[k], d11[k]-d31[k], d12[k]-d32[k], d13[k]-d33[k]
		// Then · B on each row.
		o0[k], o1[k], o2[k], o3[k] = r0-r2, r1+r2, r2-r1, r1-r3
		o4[k], o5[k], o6[k], o7[k] = s0-s2, s1+s2, s2-s1, s1-s3
		o8[k], o9[k], o10[k], o11[k] = t0-t2, t1+t2, t2-t1, t1-t3
		o12[k], o13[k], o14[k], o15[k] = u0-u2, u1+u2, u2-u1, u1-u3
	}
}

// winogradOutputTiles writes y = Aᵀ M A (+ bias) for every tile: m is
// (images*th*tw,16,c), y is (images,h,w,c); outputs past the bottom or
// right edge go to sink.
func winogradOutputTiles(y, m, bias, sink []float32, images, h, w, c, th, tw int) {
	sink = sink[:c]
	if bias != nil {
		bias = bias[:c]
	}
	t := 0
	for img := range images {
		yi := y[img*h*w*c : (img+1)*h*w*c]
		for ty := range th {
			for tx := range tw {
				var o [4][]float32
				for i := range 2 {
					for j := range 2 {
						oh, ow := 2*ty+i, 2*tx+j
						if oh < h && ow < w {
							o[2*i+j] = yi[(oh*w+ow)*c : (oh*w+ow)*c+c]
						} else {
							o[2*i+j] = sink
						}
					}
				}
				winogradOutputTile(&o, m[t*16*c:(t+1)*16*c], bias)
				t++
			}
		}
	}
}

// winogradOutputTileScalar writes Aᵀ M A (+ bias) of one tile into its
// four output vectors for channels from on (winogradOutputTile, in each
// build's file, calls it for the channels it does not do with vectors).
func winogradOutputTileScalar(o *[4][]float32, m, bias []float32, from int) {
	c := len(o[0])
	m = m[:16*c]
	y00, y01, y10, y11 := o[0], o[1][:c], o[2][:c], o[3][:c]
	m0, m1, m2, m3 := m[0:c], m[c:2*c], m[2*c:3*c], m[3*c:4*c]
	m4, m5, m6, m7 := m[4*c:5*c], m[5*c:6*c], m[6*c:7*c], m[7*c:8*c]
	m8, m9, m10, m11 := m[8*c:9*c], m[9*c:10*c], m[10*c:11*c], m[11*c:12*c]
	m12, m13, m14, m15 := m[12*c:13*c], m[13*c:14*c], m[14*c:15*c], m[15*c:16*c]
	for k := from; k < len(y00); k++ {
		// Aᵀ M: two rows of four.
		a0, a1, a2, a3 := m0[k]+m4[k]+m8[k], m1[k]+m5[k]+m9[k], m2[k]+m6[k]+m10[k], m3[k]+m7[k]+m11[k]
		b0, b1, b2, b3 := m4[k]-m8[k]-m12[k], m5[k]-m9[k]-m13[k], m6[k]-m10[k]-m14[k], m7[k]-m11[k]-m15[k]
		var add float32
		if bias != nil {
			add = bias[k]
		}
		y00[k] = a0 + a1 + a2 + add
		y01[k] = a1 - a2 - a3 + add
		y10[k] = b0 + b1 + b2 + add
		y11[k] = b1 - b2 - b3 + add
	}
}

// winogradGradTiles writes A dY Aᵀ for every tile of dy (images,h,w,c),
// zero past the edges: m is (images*th*tw,16,c).
func winogradGradTiles(m, dy, zero []float32, images, h, w, c, th, tw int) {
	zero = zero[:c]
	t := 0
	for img := range images {
		di := dy[img*h*w*c : (img+1)*h*w*c]
		for ty := range th {
			for tx := range tw {
				var d [4][]float32
				for i := range 2 {
					for j := range 2 {
						oh, ow := 2*ty+i, 2*tx+j
						if oh < h && ow < w {
							d[2*i+j] = di[(oh*w+ow)*c : (oh*w+ow)*c+c]
						} else {
							d[2*i+j] = zero
						}
					}
				}
				winogradGradTile(m[t*16*c:(t+1)*16*c], &d)
				t++
			}
		}
	}
}

// winogradGradTileScalar writes A dY Aᵀ of one tile, A = [1 0; 1 1; 1 -1;
// 0 -1], for channels from on (winogradGradTile, in each build's file,
// calls it for the channels it does not do with vectors).
func winogradGradTileScalar(o []float32, d *[4][]float32, from int) {
	c := len(d[0])
	o = o[:16*c]
	da, db, dc, dd := d[0], d[1][:c], d[2][:c], d[3][:c]
	for k := from; k < len(da); k++ {
		a, b, e, f := da[k], db[k], dc[k], dd[k]
		// Rows of A dY: (a,b), (a+e,b+f), (a-e,b-f), (-e,-f); each row
		// (u,v) becomes (u, u+v, u-v, -v).
		p, q := a+e, b+f
		r, s := a-e, b-f
		o[0*c+k], o[1*c+k], o[2*c+k], o[3*c+k] = a, a+b, a-b, -b
		o[4*c+k], o[5*c+k], o[6*c+k], o[7*c+k] = p, p+q, p-q, -q
		o[8*c+k], o[9*c+k], o[10*c+k], o[11*c+k] = r, r+s, r-s, -s
		o[12*c+k], o[13*c+k], o[14*c+k], o[15*c+k] = -e, -e-f, f-e, f
	}
}
