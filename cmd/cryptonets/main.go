// Command cryptonets runs neural networks on homomorphically encrypted images
// (CryptoNets on CKKS), from the command line.
//
// The roles are split as in the library: the model owner converts an ONNX network
// (convert), compiles it and publishes a manifest (manifest); the client makes keys
// (keygen), encrypts records from its files (encrypt) and decrypts results (decrypt);
// the server evaluates encrypted uploads (predict) and never sees a secret key.
// predict-plain evaluates a converted model on plaintext records, with no keys. Every object
// travels as a file in the library's wire envelope, which inspect describes. demo
// and bench run the whole exchange in one process, through bytes, and measure it.
//
// Usage:
//
//	cryptonets COMMAND [flags] [args]
//	cryptonets COMMAND -h
//
// Errors go to stderr as one line (and, with --json, as a JSON object on stdout); the
// exit code is the number of the error's class (package errs): 1 invalid argument or
// usage, 2 malformed input, 3 mismatch, 4 insecure parameters, 5 I/O, 7 internal,
// 8 integrity, 9 resource limit, 10 unsupported.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cryptonets/cryptonets/core/errs"
)

// main runs the command line and exits with its code.
func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	run     func(c *cli, args []string) error
}

// commands lists the subcommands in the order the help shows them.
func commands() []command {
	return []command{
		{"convert", "import an ONNX network and convert it for encrypted evaluation", runConvert},
		{"manifest", "compile a converted model and write its public manifest (model owner)", runManifest},
		{"keygen", "generate a secret key and the evaluation keys (client)", runKeygen},
		{"encrypt", "encrypt records from files (or MNIST test images) into one upload (client)", runEncrypt},
		{"predict", "evaluate the model on encrypted uploads, compiling once (server, no secret key)", runPredict},
		{"decrypt", "decrypt encrypted results into predicted labels, one row per record (client)", runDecrypt},
		{"predict-plain", "evaluate a converted model on plaintext records from files (no keys)", runPredictPlain},
		{"inspect", "describe any cryptonets file (envelope, .cnm model, .onnx)", runInspect},
		{"demo", "run keygen, encrypt, evaluate and decrypt on MNIST and check against plaintext", runDemo},
		{"bench", "measure one full encrypted batch", runBench},
		{"version", "print the version", runVersion},
	}
}

// cli is the per-invocation context of a command: where it writes, its name, and the
// warnings it prints to stderr when it succeeds (a failure prints only its error line).
type cli struct {
	name     string
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	warnings []string
	help     func() // prints the command's help (set by flags)
	// stdoutIsData is set when standard output carries the command's output file
	// (-o -): the report and a --json error go to stderr instead.
	stdoutIsData bool
}

// reportWriter is where the command's report goes.
func (c *cli) reportWriter() io.Writer {
	if c.stdoutIsData {
		return c.stderr
	}
	return c.stdout
}

// warn records a warning for stderr.
func (c *cli) warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// run executes the command line and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	c := &cli{name: "cryptonets", stdin: stdin, stdout: stdout, stderr: stderr}
	defer func() {
		if r := recover(); r != nil {
			code = c.fail(args, errs.New(errs.ErrInternal, "internal error: %v", r))
		}
	}()
	if len(args) == 0 {
		usage(stderr)
		return errs.Code(errs.ErrInvalidArgument)
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(rest) > 0 {
			return run([]string{rest[0], "-h"}, stdin, stdout, stderr)
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, cmd := range commands() {
		if cmd.name != name {
			continue
		}
		c.name = "cryptonets " + name
		err := cmd.run(c, rest)
		switch {
		case err == nil:
			for _, w := range c.warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		}
		return c.fail(rest, err)
	}
	return c.fail(rest, errs.New(errs.ErrInvalidArgument, "unknown command %q (run 'cryptonets -h' for the list)", name))
}

// errorReport is what --json prints on stdout for a failure.
type errorReport struct {
	Error struct {
		Class   string `json:"class"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fail reports err: one line on stderr, and, if args ask for --json, an error object
// on stdout. It returns the exit code of err's class.
func (c *cli) fail(args []string, err error) int {
	msg := oneLine(err.Error())
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, msg)
	if slices.Contains(args, "--json") || slices.Contains(args, "-json") {
		var rep errorReport
		rep.Error.Class, rep.Error.Code, rep.Error.Message = errs.ClassOf(err).Error(), errs.Code(err), msg
		_ = json.NewEncoder(c.reportWriter()).Encode(&rep)
	}
	return errs.Code(err)
}

// usage prints the list of commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "cryptonets: neural network inference on homomorphically encrypted data (CryptoNets, CKKS)")
	fmt.Fprintln(w, "\nUsage: cryptonets COMMAND [flags] [args]   (cryptonets COMMAND -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cmd := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", cmd.name, cmd.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nA typical exchange, each role in its own process:")
	fmt.Fprintln(w, "  cryptonets convert models/mnist/mnist_cryptonets.onnx -o model.cnm")
	fmt.Fprintln(w, "  cryptonets manifest model.cnm -o manifest.bin                                  # model owner")
	fmt.Fprintln(w, "  cryptonets keygen --manifest manifest.bin --secret-key sk.bin --eval-keys evk.bin  # client")
	fmt.Fprintln(w, "  cryptonets encrypt --manifest manifest.bin --secret-key sk.bin --in scans/ -o upload.bin --inputs-out inputs.json")
	fmt.Fprintln(w, "  cryptonets predict --model model.cnm --eval-keys evk.bin --in upload.bin -o result.bin  # server")
	fmt.Fprintln(w, "  cryptonets decrypt --manifest manifest.bin --secret-key sk.bin --request upload.bin --in result.bin --inputs inputs.json --out labels.csv")
}

// oneLine folds a multi-line message (errors.Join, wrapped library errors) into one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// flags creates the flag set of a command. synopsis follows the command name in the
// help; about is the paragraph under it.
func (c *cli) flags(synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse prints the help for -h; errors are one line
	c.help = func() {
		fmt.Fprintf(c.stdout, "Usage: %s %s\n\n%s\n\nFlags:\n", c.name, synopsis, strings.TrimSpace(about))
		fs.SetOutput(c.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args, allowing flags after positional arguments, and checks the number
// of positional arguments (want; -1 for any). It prints the help for -h and returns
// flag.ErrHelp.
func (c *cli) parse(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.help()
				return nil, err
			}
			return nil, errs.New(errs.ErrInvalidArgument, "%w (see '%s -h')", err, c.name)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if want >= 0 && len(pos) != want {
		if want == 0 {
			return nil, errs.New(errs.ErrInvalidArgument, "unexpected argument %q (see '%s -h')", pos[0], c.name)
		}
		return nil, errs.New(errs.ErrInvalidArgument, "want %d file argument(s), got %d (see '%s -h')", want, len(pos), c.name)
	}
	return pos, nil
}

// required returns an error naming the first flag in names whose value is empty.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && f.Value.String() == "" {
			return errs.New(errs.ErrInvalidArgument, "flag --%s is required (see '%s -h')", n, fs.Name())
		}
	}
	return nil
}

// output holds the flags every reporting command has.
type output struct {
	json  bool
	quiet bool
}

// outputFlags registers --json and -q on fs.
func outputFlags(fs *flag.FlagSet) *output {
	o := &output{}
	fs.BoolVar(&o.json, "json", false, "print the report as one JSON object on stdout")
	fs.BoolVar(&o.quiet, "q", false, "no progress lines on stderr")
	return o
}
