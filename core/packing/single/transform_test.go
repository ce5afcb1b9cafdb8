package single

import (
	"context"
	"math"
	"math/rand"
	"slices"
	"sync"
	"testing"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/packing"
	"github.com/cryptonets/cryptonets/core/params"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/he/hefloat"
)

// TestTransformMatchesPlaintext evaluates random diagonal transformations on the
// kernels with every kind of baby-step span — one giant step (hoisted rotations
// only), an odd and an even number of rotating giant steps, one diagonal per giant
// step — on one goroutine and on two, against the plaintext matrix-vector product:
// the two must agree bit for bit, and with the plaintext to the noise.
func TestTransformMatchesPlaintext(t *testing.T) {
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	base, err := Compile(m, params.InsecureN12S, packing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	prm := base.params
	width, level := prm.MaxSlots(), prm.MaxLevel()-2
	kgen := rlwe.NewKeyGenerator(prm)
	sk := kgen.GenSecretKeyNew()
	ecd := hefloat.NewEncoder(prm)
	enc, dec := rlwe.NewEncryptor(prm, sk), rlwe.NewDecryptor(prm, sk)
	rng := rand.New(rand.NewSource(5))
	x := make([]float64, width)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	pt := hefloat.NewPlaintext(prm, level)
	if err := ecd.Encode(x, pt); err != nil {
		t.Fatal(err)
	}
	in, err := enc.EncryptNew(pt)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		diags []int // rotations in slots
		span  int
	}{
		{"hoisted", []int{0, 1, 2, 5, 9, -3}, width},
		{"three rotating giant steps", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 4},
		{"two rotating giant steps, no giant step 0", []int{-8, -7, -5, 4, 6}, 4},
		{"one diagonal per giant step", []int{0, 3, 7, -2}, 1},
		{"chosen span", []int{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, -2, -4, -6}, 0},
	}
	for _, c := range cases {
		diags := hefloat.Diagonals[float64]{}
		for _, d := range c.diags {
			v := make([]float64, width)
			for i := range v {
				v[i] = 2*rng.Float64() - 1
			}
			diags[d] = v
		}
		tr, err := newTransform(prm, ecd, diags, width, level, rlwe.NewScale(prm.Q()[level]), c.span)
		if err != nil {
			t.Fatal(err)
		}
		var gks []*rlwe.GaloisKey
		for _, r := range tr.rotations() {
			gks = append(gks, kgen.GenGaloisKeyNew(prm.GaloisElement(r), sk, rlwe.EvaluationKeyParameters{LevelQ: &level}))
		}
		evk := rlwe.NewMemEvaluationKeySet(nil, gks...)
		var outs [2]*rlwe.Ciphertext
		for w := range outs {
			p := base.WithWorkers(w + 1)
			p.babyLevel, p.maxBabies, p.maxGiants, p.idle = level, len(tr.babies), tr.nonzeroGiants(), &workspaces{}
			ws := p.idle.get(p, evk)
			ws.begin(p)
			outs[w] = hefloat.NewCiphertext(prm, 1, level)
			err := p.linear(ws, in.CopyNew(), tr, outs[w])
			ws.end()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		for k := range outs[0].Value {
			for l := range outs[0].Value[k].Coeffs {
				if !slices.Equal(outs[0].Value[k].Coeffs[l], outs[1].Value[k].Coeffs[l]) {
					t.Fatalf("%s: one goroutine and two differ (polynomial %d, limb %d)", c.name, k, l)
				}
			}
		}
		got := make([]float64, width)
		if err := ecd.Decode(dec.DecryptNew(outs[0]), got); err != nil {
			t.Fatal(err)
		}
		maxErr := 0.0
		for j := range got {
			want := 0.0
			for d, v := range diags { // d_k[j] = M[j][(j+k) mod n]
				want += v[j] * x[((j+d)%width+width)%width]
			}
			maxErr = math.Max(maxErr, math.Abs(got[j]-want))
		}
		t.Logf("%s: span %d, %d baby steps, %d rotating giant steps, max error %.3g", c.name, tr.lt.N1, len(tr.babies), tr.nonzeroGiants(), maxErr)
		if maxErr > 1e-3 {
			t.Errorf("%s: max error %.3g", c.name, maxErr)
		}
	}
}

// recordingKeys is an evaluation key set that records which Galois keys are asked for.
type recordingKeys struct {
	*rlwe.MemEvaluationKeySet
	mu   sync.Mutex
	used map[uint64]bool
}

func (r *recordingKeys) GetGaloisKey(galEl uint64) (*rlwe.GaloisKey, error) {
	r.mu.Lock()
	r.used[galEl] = true
	r.mu.Unlock()
	return r.MemEvaluationKeySet.GetGaloisKey(galEl)
}

// TestManifestListsTheKeysUsed evaluates the shipped model at the 128-bit preset
// (one image, and four interleaved) with a key set that records the Galois keys
// asked for: they must be exactly the manifest's.
func TestManifestListsTheKeysUsed(t *testing.T) {
	if testing.Short() {
		t.Skip("128-bit parameters: skipped with -short")
	}
	m, err := model.Load(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.MNIST(dataset.MNISTTest, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 4} {
		p, err := Compile(m, params.N13S, packing.Options{ImagesPerRequest: k})
		if err != nil {
			t.Fatal(err)
		}
		c, evk := newClient(t, p)
		in, err := c.EncryptImages(set.Records[:k], nil)
		if err != nil {
			t.Fatal(err)
		}
		// Evaluate checks every listed key first: evaluate with a workspace on the
		// recording keys instead, recording from the first step.
		keys := &recordingKeys{MemEvaluationKeySet: evk, used: map[uint64]bool{}}
		ws := p.idle.get(p, keys)
		clear(keys.used)
		if _, err := p.evaluateWith(context.Background(), ws, in, nil); err != nil {
			t.Fatal(err)
		}
		listed := p.Manifest().GaloisElements
		for _, g := range listed {
			if !keys.used[g] {
				t.Errorf("%d images: Galois key %d is listed but not used", k, g)
			}
			delete(keys.used, g)
		}
		for g := range keys.used {
			t.Errorf("%d images: Galois key %d is used but not listed", k, g)
		}
		t.Logf("%d images per request: %d Galois keys, all used", k, len(listed))
	}
}
