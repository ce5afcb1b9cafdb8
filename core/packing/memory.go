package packing

import "github.com/tuneinsight/lattigo/v5/he/hefloat"

// Memory is a plan's memory, in bytes, as its packing estimates it: upper bounds
// that a server adds up to decide how many evaluations it can run at once.
type Memory struct {
	// Evaluation is the most one Evaluate call holds at a time: its input
	// ciphertexts, the intermediate ones and the scratch space, beyond what the plan
	// already holds; the evaluation keys are not included.
	Evaluation int64
	// Resident is what the plan itself holds: its parameters and encoded weights.
	Resident int64
	// Kept is the most the plan keeps after its first evaluation for later ones to
	// reuse (memory an evaluation no longer needs), beyond Resident.
	Kept int64
}

// ParametersBytes estimates the memory CKKS parameters hold: the tables of each
// prime's NTT and arithmetic, about four rows of N words per prime.
func ParametersBytes(prm hefloat.Parameters) int64 {
	return 4 * int64(prm.QCount()+prm.PCount()) * int64(prm.N()) * 8
}
