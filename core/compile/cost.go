package compile

// The cost model: a plan counts the work of one request (packing.Plan.Work), in
// limb-polynomial operations with the unit costs its packing measured on the
// reference machine (2 cores, AMD EPYC, the CI machine class); BenchmarkCostModel
// prints measured and modelled times side by side, and cryptonets bench --sweep
// checks the model against end-to-end measurements (README, "Packings").

// Estimate is the cost model's expected time to get the results of a number of
// images: requests of up to ImagesPerBatch images, each encrypted, evaluated and
// decrypted in turn.
type Estimate struct {
	Images, Requests int
	// Per phase, over all requests.
	EncryptSeconds, EvaluateSeconds, DecryptSeconds float64
	TotalSeconds                                    float64
}

// EstimateOf returns the expected time of n images under p.
func EstimateOf(p Plan, n int) Estimate {
	per := p.Manifest().ImagesPerBatch
	req := p.Work().Seconds(p.Parameters().N())
	e := Estimate{Images: n, Requests: (n + per - 1) / per}
	r := float64(e.Requests)
	e.EncryptSeconds, e.EvaluateSeconds, e.DecryptSeconds = r*req.Encrypt, r*req.Evaluate, r*req.Decrypt
	e.TotalSeconds = e.EncryptSeconds + e.EvaluateSeconds + e.DecryptSeconds
	return e
}
