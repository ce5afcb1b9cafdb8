package params

import (
	"testing"

	"github.com/tuneinsight/lattigo/v5/he/hefloat"
	"github.com/tuneinsight/lattigo/v5/ring"
)

func TestSecurePresetsReach128Bits(t *testing.T) {
	for _, p := range Secure() {
		prm, err := p.Parameters()
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		bits, err := SecurityBits(prm)
		if err != nil || bits < 128 {
			t.Fatalf("%s: %d bits, %v", p.Name, bits, err)
		}
		if prm.RingType() != ring.ConjugateInvariant || prm.MaxSlots() != prm.N() {
			t.Fatalf("%s: want the conjugate-invariant ring with N real slots", p.Name)
		}
		if got, ok := ByFingerprint(FingerprintOf(prm)); !ok || got.Name != p.Name {
			t.Fatalf("%s: not found by fingerprint", p.Name)
		}
	}
	for _, p := range Batch() {
		prm, _ := p.Parameters()
		if qmax := slicesMax(prm.Q()); qmax >= 1<<50 {
			t.Fatalf("%s: prime %d is not below 2^50", p.Name, qmax)
		}
		if len(prm.P()) > 0 && slicesMax(prm.P()) < slicesMax(prm.Q()) {
			t.Fatalf("%s: the special prime is smaller than a prime of Q: relinearization would be noisy", p.Name)
		}
	}
}

func TestSecurityCheckRejectsWeakSets(t *testing.T) {
	cases := map[string]hefloat.ParametersLiteral{
		"logQP over bound": {LogN: 13, LogQ: []int{60, 60, 60, 40}, LogP: []int{30}, LogDefaultScale: 30},
		"sparse secret":    {LogN: 13, LogQ: []int{40, 40}, Xs: ring.Ternary{H: 64}, LogDefaultScale: 30},
		"small ring":       {LogN: 9, LogQ: []int{20}, LogDefaultScale: 10},
	}
	for name, lit := range cases {
		prm, err := hefloat.NewParametersFromLiteral(lit)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bits, err := SecurityBits(prm); err == nil {
			t.Errorf("%s: accepted as %d bits", name, bits)
		}
	}
	if _, err := InsecureN11.Parameters(); err != nil {
		t.Fatalf("insecure preset must still build: %v", err)
	}
	prm, _ := InsecureN11.Parameters()
	if _, err := SecurityBits(prm); err == nil {
		t.Fatal("InsecureN11 reported secure")
	}
	if _, err := ByName(InsecureN11.Name, false); err == nil {
		t.Fatal("insecure preset returned without opt-in")
	}
	if p, err := ByName(InsecureN11.Name, true); err != nil || !p.Insecure {
		t.Fatalf("opt-in failed: %v", err)
	}
}

func TestSecurityLevels(t *testing.T) {
	prm, _ := hefloat.NewParametersFromLiteral(hefloat.ParametersLiteral{LogN: 14, LogQ: []int{50, 50, 50}, LogP: []int{50}, LogDefaultScale: 30})
	if bits, err := SecurityBits(prm); err != nil || bits != 256 {
		t.Fatalf("logQP 200 at N=2^14: got %d, %v; want 256", bits, err)
	}
}

func TestFingerprintSeparatesParameters(t *testing.T) {
	a, _ := N13.Parameters()
	b, _ := N14R.Parameters()
	c, _ := InsecureN11.Parameters()
	a2, _ := N13.Parameters()
	if FingerprintOf(a) != FingerprintOf(a2) {
		t.Fatal("fingerprint not deterministic")
	}
	if FingerprintOf(a) == FingerprintOf(b) || FingerprintOf(a) == FingerprintOf(c) {
		t.Fatal("different parameters share a fingerprint")
	}
}

func TestKeySwitchingPresets(t *testing.T) {
	for _, p := range KeySwitching() {
		prm, err := p.Parameters()
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if bits, err := SecurityBits(prm); err != nil || bits < 128 {
			t.Fatalf("%s: %d bits, %v", p.Name, bits, err)
		}
		if prm.PCount() == 0 || prm.RingType() != ring.ConjugateInvariant || prm.MaxLevel() < 5 {
			t.Fatalf("%s: want the conjugate-invariant ring, a special prime and 5 levels", p.Name)
		}
		if got, err := ByName(p.Name, false); err != nil || got.Name != p.Name {
			t.Fatalf("%s: not found by name: %v", p.Name, err)
		}
		if got, ok := ByFingerprint(FingerprintOf(prm)); !ok || got.Name != p.Name {
			t.Fatalf("%s: not found by fingerprint", p.Name)
		}
	}
	prm, err := InsecureN12S.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SecurityBits(prm); err == nil {
		t.Fatal("InsecureN12S reported secure")
	}
	if _, err := ByName(InsecureN12S.Name, false); err == nil {
		t.Fatal("insecure preset returned without opt-in")
	}
}

func slicesMax(v []uint64) uint64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
