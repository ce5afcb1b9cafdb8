package main

import (
	"fmt"
	"io"

	"github.com/cryptonets/cryptonets/core/client"
)

// keygenReport is the output of keygen.
type keygenReport struct {
	SecretKey      string `json:"secret_key"`
	SecretKeyBytes int64  `json:"secret_key_bytes"`
	EvalKeys       string `json:"eval_keys"`
	EvalKeyBytes   int64  `json:"eval_key_bytes"`
	Params         string `json:"params"`
	Fingerprint    string `json:"params_fingerprint"`
	Packing        string `json:"packing"`
	// Relinearize and GaloisKeys say which evaluation keys were made.
	Relinearize bool `json:"relinearize"`
	GaloisKeys  int  `json:"galois_keys"`
}

// writeText implements report.
func (r *keygenReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "generated keys for %s, %s packing (params fingerprint %s)\n", r.Params, r.Packing, r.Fingerprint)
	t := newTable(w)
	t.row("secret key", "%s (%s, mode 0600: keep it on the client)", r.SecretKey, byteSize(r.SecretKeyBytes))
	t.row("evaluation keys", "%s (%s: send to the server)", r.EvalKeys, byteSize(r.EvalKeyBytes))
	t.flush()
}

// runKeygen is the keygen command (client).
func runKeygen(c *cli, args []string) error {
	fs := c.flags("--manifest manifest.bin --secret-key sk.bin --eval-keys evk.bin [--json]", `
Client: generates a fresh secret key for the manifest's parameters and writes it
(file mode 0600; never send it anywhere), and the evaluation keys the server needs.`)
	mf := addManifestFlags(fs)
	skPath := fs.String("secret-key", "", "secret key file to write, mode 0600 (required)")
	evkPath := fs.String("eval-keys", "", "evaluation key file to write (required)")
	out := outputFlags(fs)
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	if err := required(fs, "manifest", "secret-key", "eval-keys"); err != nil {
		return err
	}
	man, err := readManifest(mf.path)
	if err != nil {
		return err
	}
	cl, err := client.New(man, mf.clientOptions()...)
	if err != nil {
		return err
	}
	sk, err := cl.ExportSecretKey()
	if err != nil {
		return err
	}
	evk, err := cl.EvaluationKeysBytes()
	if err != nil {
		return err
	}
	if err := writeBytes(*skPath, 0o600, sk); err != nil {
		return err
	}
	if err := writeBytes(*evkPath, 0o644, evk); err != nil {
		return err
	}
	return c.emit(out, &keygenReport{SecretKey: *skPath, SecretKeyBytes: int64(len(sk)), EvalKeys: *evkPath,
		EvalKeyBytes: int64(len(evk)), Params: man.Params, Fingerprint: man.ParamsFingerprint.String(),
		Packing: string(man.Packing), Relinearize: man.Relinearize, GaloisKeys: len(man.GaloisElements)})
}
