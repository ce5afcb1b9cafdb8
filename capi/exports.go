package main

/*
#include <stddef.h>
#include <stdint.h>
#include "cryptonets.h"
#include "shim.h"
*/
import "C"

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"unsafe"

	"github.com/cryptonets/cryptonets/core/client"
	"github.com/cryptonets/cryptonets/core/compile"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/manifest"
	"github.com/cryptonets/cryptonets/core/model"
	"github.com/cryptonets/cryptonets/core/onnx"
	"github.com/cryptonets/cryptonets/core/rewrite"
	"github.com/cryptonets/cryptonets/core/server"
	"github.com/cryptonets/cryptonets/core/wire"
)

// Each cngo_X export is the Go half of cn_X (shim.c): one guard call whose body
// checks the arguments, resolves the handles and calls core/. Object arguments are
// void* here because Go cannot name const or the opaque C types.

// ----------------------------------------------------------------- helpers --

// begin checks an object out-parameter and clears it, so that on failure the caller
// holds NULL.
func begin(out *unsafe.Pointer) error {
	if out == nil {
		return invalidf("out is NULL")
	}
	*out = nil
	return nil
}

func give(out *unsafe.Pointer, v object) error {
	p, err := newHandle(v)
	if err != nil {
		return err
	}
	*out = p
	return nil
}

// view returns the caller's bytes without copying; decoders that keep anything copy.
func view(arg string, data *C.uint8_t, n C.size_t) ([]byte, error) {
	if data == nil {
		return nil, invalidf("%s is NULL", arg)
	}
	if uint64(n) > math.MaxInt {
		return nil, invalidf("%s length %d is too large", arg, uint64(n))
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n)), nil
}

func str(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// beginBytes checks a buffer out-parameter pair and clears it.
func beginBytes(out **C.uint8_t, outLen *C.size_t) error {
	if out != nil {
		*out = nil
	}
	if outLen != nil {
		*outLen = 0
	}
	if out == nil || outLen == nil {
		return invalidf("out or out_len is NULL")
	}
	return nil
}

// giveBytes allocates size bytes outside the Go heap, lets fill write them, and hands
// them to the caller (freed with cn_bytes_free).
// The caller has checked out and outLen with beginBytes.
func giveBytes(out **C.uint8_t, outLen *C.size_t, size int, secret bool, fill func([]byte) error) error {
	if size < 0 {
		return internalf("negative size %d", size)
	}
	p := C.cnshim_alloc(C.size_t(size))
	if p == nil {
		return internalf("out of memory: cannot allocate %d bytes", size)
	}
	buf := unsafe.Slice((*byte)(p), size)
	if err := fill(buf); err != nil {
		clear(buf)
		C.cnshim_free(p)
		return err
	}
	registry.Lock()
	registry.buffers[p] = buffer{size: size, secret: secret}
	registry.Unlock()
	*out, *outLen = (*C.uint8_t)(p), C.size_t(size)
	return nil
}

// giveCopy hands a copy of data to the caller.
func giveCopy(out **C.uint8_t, outLen *C.size_t, data []byte, secret bool) error {
	return giveBytes(out, outLen, len(data), secret, func(b []byte) error { copy(b, data); return nil })
}

// sliceWriter writes into a fixed buffer and fails rather than grow it.
type sliceWriter struct{ buf []byte }

// Write copies p into the buffer, or fails if it does not fit.
func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.buf) {
		return 0, internalf("serialized size larger than computed")
	}
	n := copy(w.buf, p)
	w.buf = w.buf[n:]
	return n, nil
}

// giveSequence hands the caller the bytes of an upload (kind KindEncryptedBatch) or a
// download (KindEncryptedResult), written straight into the caller's buffer: the
// envelope of a single request, or a sequence.
func giveSequence(out **C.uint8_t, outLen *C.size_t, kind wire.Kind, info *manifestInfo, list []*wire.Ciphertexts) error {
	size, err := wire.SequenceSize(list, info.prm)
	if err != nil {
		return err
	}
	return giveBytes(out, outLen, size, false, func(b []byte) error {
		w := &sliceWriter{buf: b}
		if err := wire.WriteSequence(w, kind, &info.man, info.prm, list); err != nil {
			return err
		}
		if len(w.buf) != 0 {
			return internalf("serialized size smaller than computed")
		}
		return nil
	})
}

// doubleRows views the caller's n·size doubles as n rows of size values, without
// copying. The caller has checked that n·size doubles fit in memory.
func doubleRows(p *C.double, n, size int) [][]float64 {
	all := unsafe.Slice((*float64)(unsafe.Pointer(p)), n*size)
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = all[i*size : (i+1)*size : (i+1)*size]
	}
	return rows
}

func setSize(arg string, out *C.size_t, v int) error {
	if out == nil {
		return invalidf("%s is NULL", arg)
	}
	*out = C.size_t(v)
	return nil
}

// compileOptions converts the fields of a cn_compile_options (unpacked by shim.c; the
// fields struct_size does not cover arrive as their defaults).
func compileOptions(has C.int, size C.size_t, params, packing *C.char, expected C.size_t, insecure C.int) (compile.Options, error) {
	opts := compile.Options{Params: str(params), Packing: manifest.Packing(str(packing)), AllowInsecure: insecure != 0}
	if has != 0 && size < C.size_t(unsafe.Sizeof(C.size_t(0))) {
		return opts, invalidf("opts->struct_size is %d: initialize opts with CN_COMPILE_OPTIONS_INIT", size)
	}
	if uint64(expected) > 1<<40 {
		return opts, invalidf("opts->expected_images is %d", expected)
	}
	opts.ExpectedImages = int(expected)
	return opts, nil
}

// clientOptions lets a client accept the manifest it is given: a manifest object with
// insecure parameters exists only if the caller opted in when making it.
func clientOptions(info *manifestInfo) []client.Option {
	opts := []client.Option{client.MaxEvaluationKeyBytes(info.maxKeyBytes)}
	if info.man.Insecure {
		opts = append(opts, client.AllowInsecure())
	}
	return opts
}

// ------------------------------------------------------------------- bytes --

//export cngo_bytes_free
func cngo_bytes_free(p *C.uint8_t) C.int {
	return guard("cn_bytes_free", func() error {
		if p == nil {
			return nil
		}
		key := unsafe.Pointer(p)
		registry.Lock()
		b, ok := registry.buffers[key]
		delete(registry.buffers, key)
		registry.Unlock()
		if !ok {
			return invalidf("bytes (%p) is not a live buffer of this library: already freed, or not returned by a cn_* function", key)
		}
		if b.secret {
			clear(unsafe.Slice((*byte)(key), b.size))
		}
		C.cnshim_free(key)
		return nil
	})
}

// ------------------------------------------------------------------- model --

//export cngo_model_load
func cngo_model_load(out *unsafe.Pointer, path *C.char) C.int {
	return guard("cn_model_load", func() error {
		if err := begin(out); err != nil {
			return err
		}
		if path == nil {
			return invalidf("path is NULL")
		}
		m, err := model.Load(C.GoString(path))
		if err != nil {
			return err
		}
		return give(out, newModelObj(m))
	})
}

//export cngo_model_from_onnx
func cngo_model_from_onnx(out *unsafe.Pointer, data *C.uint8_t, n C.size_t, calibration *C.double, nImages, perImage C.size_t, degree C.int) C.int {
	return guard("cn_model_from_onnx", func() error {
		if err := begin(out); err != nil {
			return err
		}
		b, err := view("onnx", data, n)
		if err != nil {
			return err
		}
		var images [][]float64
		switch {
		case nImages == 0:
		case calibration == nil:
			return invalidf("calibration is NULL but n_images is %d", uint64(nImages))
		case perImage == 0 || uint64(nImages) > uint64(math.MaxInt/8)/uint64(perImage):
			return invalidf("%d calibration images of %d values each is out of range", uint64(nImages), uint64(perImage))
		default:
			images = doubleRows(calibration, int(nImages), int(perImage))
		}
		imported, err := onnx.Import(b) // copies what it keeps
		if err != nil {
			return err
		}
		// 1 to 16: that degree, whatever the accuracy; 0: chosen within the default
		// budget; below 0: 2, as before degree 0 chose.
		d := int(degree)
		if d < 0 {
			d = 2
		}
		opts := rewrite.Options{Calibration: images, ApproxOptions: rewrite.ApproxOptions{Degree: d},
			Budget: rewrite.Budget{Exceed: d > 0}}
		m, err := rewrite.ConvertWith(imported, opts)
		if err != nil {
			return err
		}
		return give(out, newModelObj(m))
	})
}

//export cngo_model_serialize
func cngo_model_serialize(out **C.uint8_t, outLen *C.size_t, mp unsafe.Pointer) C.int {
	return guard("cn_model_serialize", func() error {
		if err := beginBytes(out, outLen); err != nil {
			return err
		}
		m, err := get[*modelObj]("m", mp)
		if err != nil {
			return err
		}
		data, err := m.m.MarshalBinary()
		if err != nil {
			return err
		}
		return giveCopy(out, outLen, data, false)
	})
}

//export cngo_model_deserialize
func cngo_model_deserialize(out *unsafe.Pointer, data *C.uint8_t, n C.size_t) C.int {
	return guard("cn_model_deserialize", func() error {
		if err := begin(out); err != nil {
			return err
		}
		b, err := view("data", data, n)
		if err != nil {
			return err
		}
		m, err := model.Read(bytes.NewReader(b)) // copies
		if err != nil {
			return err
		}
		return give(out, newModelObj(m))
	})
}

//export cngo_model_compile
func cngo_model_compile(out *unsafe.Pointer, mp unsafe.Pointer, has C.int, size C.size_t, params, packing *C.char, expected C.size_t, insecure C.int) C.int {
	return guard("cn_model_compile", func() error {
		if err := begin(out); err != nil {
			return err
		}
		m, err := get[*modelObj]("m", mp)
		if err != nil {
			return err
		}
		opts, err := compileOptions(has, size, params, packing, expected, insecure)
		if err != nil {
			return err
		}
		p, err := compile.Compile(m.m, opts)
		if err != nil {
			return err
		}
		info, err := newManifestInfo(p.Manifest())
		if err != nil {
			return err
		}
		return give(out, &manifestObj{info: info})
	})
}

//export cngo_model_input_shape
func cngo_model_input_shape(c, h, w *C.size_t, mp unsafe.Pointer) C.int {
	return guard("cn_model_input_shape", func() error {
		m, err := get[*modelObj]("m", mp)
		if err != nil {
			return err
		}
		if c == nil || h == nil || w == nil {
			return invalidf("out_channels, out_height or out_width is NULL")
		}
		s := m.m.Input
		*c, *h, *w = C.size_t(s.C), C.size_t(s.H), C.size_t(s.W)
		return nil
	})
}

//export cngo_model_outputs
func cngo_model_outputs(out *C.size_t, mp unsafe.Pointer) C.int {
	return guard("cn_model_outputs", func() error {
		m, err := get[*modelObj]("m", mp)
		if err != nil {
			return err
		}
		classes, err := modelOutputs(m.m)
		if err != nil {
			return err
		}
		return setSize("out", out, classes)
	})
}

// modelOutputs returns the number of values the last layer of m gives.
func modelOutputs(m *model.Model) (int, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return 0, err
	}
	return shapes[len(shapes)-1].Size(), nil
}

//export cngo_model_predict_plain
func cngo_model_predict_plain(logits *C.double, logitsLen C.size_t, outClasses *C.size_t, mp unsafe.Pointer, inputs *C.double, n, perInput C.size_t) C.int {
	return guard("cn_model_predict_plain", func() error {
		if outClasses == nil {
			return invalidf("out_classes is NULL")
		}
		m, err := get[*modelObj]("m", mp)
		if err != nil {
			return err
		}
		classes, err := modelOutputs(m.m)
		if err != nil {
			return err
		}
		*outClasses = C.size_t(classes)
		switch size := m.m.Input.Size(); {
		case uint64(perInput) != uint64(size):
			return invalidf("values_per_input is %d, the model takes %d (%v)", uint64(perInput), size, m.m.Input)
		case n == 0 || uint64(n) > uint64(math.MaxInt/8)/uint64(perInput):
			return invalidf("n_inputs is %d, want at least 1 (and n_inputs*values_per_input doubles in memory)", uint64(n))
		case uint64(logitsLen) < uint64(n)*uint64(classes):
			return bufferTooSmallf("logits holds %d doubles, %d inputs need %d (%d classes each)",
				uint64(logitsLen), uint64(n), uint64(n)*uint64(classes), classes)
		case inputs == nil || logits == nil:
			return invalidf("inputs or logits is NULL")
		}
		values, err := m.m.Predict(doubleRows(inputs, int(n), int(perInput)), nil)
		if err != nil {
			return err
		}
		return copyRows(logits, values, int(n), classes)
	})
}

//export cngo_model_free
func cngo_model_free(p unsafe.Pointer) C.int {
	return guard("cn_model_free", func() error { return release[*modelObj]("m", p) })
}

// ---------------------------------------------------------------- manifest --

//export cngo_manifest_serialize
func cngo_manifest_serialize(out **C.uint8_t, outLen *C.size_t, mp unsafe.Pointer) C.int {
	return guard("cn_manifest_serialize", func() error {
		if err := beginBytes(out, outLen); err != nil {
			return err
		}
		m, err := get[*manifestObj]("m", mp)
		if err != nil {
			return err
		}
		data, err := wire.EncodeManifest(&m.info.man)
		if err != nil {
			return err
		}
		return giveCopy(out, outLen, data, false)
	})
}

//export cngo_manifest_deserialize
func cngo_manifest_deserialize(out *unsafe.Pointer, data *C.uint8_t, n C.size_t, has C.int, size C.size_t, insecure C.int, maxKeyBytes C.uint64_t) C.int {
	return guard("cn_manifest_deserialize", func() error {
		if err := begin(out); err != nil {
			return err
		}
		b, err := view("data", data, n)
		if err != nil {
			return err
		}
		if has != 0 && size < C.size_t(unsafe.Sizeof(C.size_t(0))) {
			return invalidf("opts->struct_size is %d: initialize opts with CN_MANIFEST_OPTIONS_INIT", size)
		}
		m, err := wire.DecodeManifest(bytes.Clone(b))
		if err != nil {
			return err
		}
		if m.Insecure && insecure == 0 {
			return errs.New(errs.ErrInsecure,
				"the manifest uses the insecure parameter set %s: only opts->allow_insecure (tests) accepts it", m.Params)
		}
		if uint64(maxKeyBytes) > math.MaxInt64 {
			return invalidf("opts->max_eval_key_bytes is %d", uint64(maxKeyBytes))
		}
		info, err := newManifestInfo(*m)
		if err != nil {
			return err
		}
		info.maxKeyBytes = int64(maxKeyBytes)
		return give(out, &manifestObj{info: info})
	})
}

// manifestGetter is the shape of every manifest accessor.
func manifestGetter(fn string, mp unsafe.Pointer, body func(info *manifestInfo) error) C.int {
	return guard(fn, func() error {
		m, err := get[*manifestObj]("m", mp)
		if err != nil {
			return err
		}
		return body(m.info)
	})
}

//export cngo_manifest_input_shape
func cngo_manifest_input_shape(c, h, w *C.size_t, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_input_shape", mp, func(info *manifestInfo) error {
		if c == nil || h == nil || w == nil {
			return invalidf("out_channels, out_height or out_width is NULL")
		}
		s := info.man.Input
		*c, *h, *w = C.size_t(s.C), C.size_t(s.H), C.size_t(s.W)
		return nil
	})
}

//export cngo_manifest_input_size
func cngo_manifest_input_size(out *C.size_t, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_input_size", mp, func(info *manifestInfo) error {
		return setSize("out", out, info.man.Input.Size())
	})
}

//export cngo_manifest_input_range
func cngo_manifest_input_range(lo, hi *C.double, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_input_range", mp, func(info *manifestInfo) error {
		if lo == nil || hi == nil {
			return invalidf("out_min or out_max is NULL")
		}
		*lo, *hi = C.double(info.man.InputRange[0]), C.double(info.man.InputRange[1])
		return nil
	})
}

//export cngo_manifest_outputs
func cngo_manifest_outputs(out *C.size_t, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_outputs", mp, func(info *manifestInfo) error {
		return setSize("out", out, info.man.Outputs)
	})
}

//export cngo_manifest_images_per_batch
func cngo_manifest_images_per_batch(out *C.size_t, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_images_per_batch", mp, func(info *manifestInfo) error {
		return setSize("out", out, info.man.ImagesPerBatch)
	})
}

//export cngo_manifest_params_name
func cngo_manifest_params_name(out *C.char, outLen C.size_t, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_params_name", mp, func(info *manifestInfo) error {
		return writeString(out, outLen, info.man.Params)
	})
}

// writeString copies s, NUL-terminated, into the caller's buffer of outLen bytes.
func writeString(out *C.char, outLen C.size_t, s string) error {
	if out == nil {
		return invalidf("out is NULL")
	}
	if uint64(outLen) < uint64(len(s))+1 {
		return bufferTooSmallf("the name %q needs %d bytes, the buffer has %d", s, len(s)+1, uint64(outLen))
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(out)), len(s)+1)
	copy(buf, s)
	buf[len(s)] = 0
	return nil
}

//export cngo_manifest_insecure
func cngo_manifest_insecure(out *C.int, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_insecure", mp, func(info *manifestInfo) error {
		if out == nil {
			return invalidf("out is NULL")
		}
		*out = 0
		if info.man.Insecure {
			*out = 1
		}
		return nil
	})
}

//export cngo_manifest_packing
func cngo_manifest_packing(out *C.char, outLen C.size_t, mp unsafe.Pointer) C.int {
	return manifestGetter("cn_manifest_packing", mp, func(info *manifestInfo) error {
		return writeString(out, outLen, string(info.man.Packing))
	})
}

//export cngo_manifest_free
func cngo_manifest_free(p unsafe.Pointer) C.int {
	return guard("cn_manifest_free", func() error { return release[*manifestObj]("m", p) })
}

// ------------------------------------------------------------------ client --

//export cngo_client_new
func cngo_client_new(out *unsafe.Pointer, mp unsafe.Pointer) C.int {
	return guard("cn_client_new", func() error {
		if err := begin(out); err != nil {
			return err
		}
		m, err := get[*manifestObj]("m", mp)
		if err != nil {
			return err
		}
		c, err := client.New(&m.info.man, clientOptions(m.info)...)
		if err != nil {
			return err
		}
		return give(out, &clientObj{c: c, info: m.info})
	})
}

//export cngo_client_restore
func cngo_client_restore(out *unsafe.Pointer, mp unsafe.Pointer, key *C.uint8_t, n C.size_t) C.int {
	return guard("cn_client_restore", func() error {
		if err := begin(out); err != nil {
			return err
		}
		m, err := get[*manifestObj]("m", mp)
		if err != nil {
			return err
		}
		b, err := view("secret_key", key, n)
		if err != nil {
			return err
		}
		sk := bytes.Clone(b)
		defer clear(sk)
		c, err := client.Restore(&m.info.man, sk, clientOptions(m.info)...)
		if err != nil {
			return err
		}
		return give(out, &clientObj{c: c, info: m.info})
	})
}

// withClient runs body holding the client's lock.
func withClient(cp unsafe.Pointer, body func(c *clientObj) error) error {
	c, err := get[*clientObj]("c", cp)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return body(c)
}

//export cngo_client_export_secret_key
func cngo_client_export_secret_key(out **C.uint8_t, outLen *C.size_t, cp unsafe.Pointer) C.int {
	return guard("cn_client_export_secret_key", func() error {
		if err := beginBytes(out, outLen); err != nil {
			return err
		}
		return withClient(cp, func(c *clientObj) error {
			data, err := c.c.ExportSecretKey()
			if err != nil {
				return err
			}
			defer clear(data)
			return giveCopy(out, outLen, data, true)
		})
	})
}

//export cngo_client_eval_keys
func cngo_client_eval_keys(out *unsafe.Pointer, cp unsafe.Pointer) C.int {
	return guard("cn_client_eval_keys", func() error {
		if err := begin(out); err != nil {
			return err
		}
		return withClient(cp, func(c *clientObj) error {
			k, err := c.c.EvaluationKeys()
			if err != nil {
				return err
			}
			return give(out, &evalKeysObj{k: k, info: c.info})
		})
	})
}

//export cngo_client_encrypt
func cngo_client_encrypt(out *unsafe.Pointer, cp unsafe.Pointer, pixels *C.double, nImages, perImage C.size_t) C.int {
	return guard("cn_client_encrypt", func() error {
		if err := begin(out); err != nil {
			return err
		}
		return withClient(cp, func(c *clientObj) error {
			m := &c.info.man
			switch {
			case pixels == nil:
				return invalidf("pixels is NULL")
			case uint64(perImage) != uint64(m.Input.Size()):
				return invalidf("values_per_image is %d, the model takes %d (%v)", uint64(perImage), m.Input.Size(), m.Input)
			case nImages == 0 || uint64(nImages) > uint64(math.MaxInt/8)/uint64(perImage):
				return invalidf("n_images is %d, want at least 1 (and n_images*values_per_image doubles in memory)", uint64(nImages))
			}
			requests, err := c.c.EncryptAll(doubleRows(pixels, int(nImages), int(perImage)), nil, nil)
			if err != nil {
				return err
			}
			return give(out, &batchObj{requests: requests, info: c.info})
		})
	})
}

//export cngo_client_decrypt
func cngo_client_decrypt(logits *C.double, logitsLen C.size_t, outImages, outClasses *C.size_t, cp unsafe.Pointer, request *C.uint8_t, requestLen C.size_t, rp unsafe.Pointer) C.int {
	return guard("cn_client_decrypt", func() error {
		if outImages == nil || outClasses == nil {
			return invalidf("out_images or out_classes is NULL")
		}
		ids, err := view("request_ids", request, requestLen)
		if err != nil {
			return err
		}
		r, err := get[*resultObj]("r", rp)
		if err != nil {
			return err
		}
		if len(ids) != len(r.results)*wire.RequestSize {
			return invalidf("request_ids_len is %d, want %d: CN_REQUEST_SIZE bytes for each of the result's %d requests, as cn_encrypted_batch_request_ids gave them",
				len(ids), len(r.results)*wire.RequestSize, len(r.results))
		}
		requests := make([]wire.Request, len(r.results))
		for i := range requests {
			if requests[i], err = wire.ParseRequest(ids[i*wire.RequestSize : (i+1)*wire.RequestSize]); err != nil {
				return err
			}
		}
		return withClient(cp, func(c *clientObj) error {
			if r.info.fp != c.info.fp {
				return errs.New(errs.ErrMismatch, "the result was made for another model plan or parameters than this client's")
			}
			n, classes := images(r.results), r.info.man.Outputs
			*outImages, *outClasses = C.size_t(n), C.size_t(classes)
			if need := n * classes; uint64(logitsLen) < uint64(need) {
				return bufferTooSmallf("logits holds %d doubles, the result needs %d (%d images x %d classes)",
					uint64(logitsLen), need, n, classes)
			}
			if logits == nil {
				return invalidf("logits is NULL")
			}
			values, err := c.c.DecryptAll(requests, r.results)
			if err != nil {
				return err
			}
			return copyRows(logits, values, n, classes)
		})
	})
}

// copyRows copies n rows of classes values into the caller's buffer (of at least
// n·classes doubles).
func copyRows(dst *C.double, rows [][]float64, n, classes int) error {
	if len(rows) != n {
		return internalf("%d rows of logits, want %d", len(rows), n)
	}
	buf := unsafe.Slice((*float64)(unsafe.Pointer(dst)), n*classes)
	for i, row := range rows {
		if len(row) != classes {
			return internalf("row %d has %d logits, want %d", i, len(row), classes)
		}
		copy(buf[i*classes:], row)
	}
	return nil
}

//export cngo_client_free
func cngo_client_free(p unsafe.Pointer) C.int {
	return guard("cn_client_free", func() error { return release[*clientObj]("c", p) })
}

// --------------------------------------------------------- evaluation keys --

//export cngo_eval_keys_serialize
func cngo_eval_keys_serialize(out **C.uint8_t, outLen *C.size_t, kp unsafe.Pointer) C.int {
	return guard("cn_eval_keys_serialize", func() error {
		if err := beginBytes(out, outLen); err != nil {
			return err
		}
		k, err := get[*evalKeysObj]("k", kp)
		if err != nil {
			return err
		}
		data, err := wire.EncodeEvaluationKeys(k.k, &k.info.man, k.info.prm)
		if err != nil {
			return err
		}
		return giveCopy(out, outLen, data, false)
	})
}

//export cngo_eval_keys_deserialize
func cngo_eval_keys_deserialize(out *unsafe.Pointer, mp unsafe.Pointer, data *C.uint8_t, n C.size_t) C.int {
	return guard("cn_eval_keys_deserialize", func() error {
		if err := begin(out); err != nil {
			return err
		}
		m, err := get[*manifestObj]("m", mp)
		if err != nil {
			return err
		}
		b, err := view("data", data, n)
		if err != nil {
			return err
		}
		k, err := wire.DecodeEvaluationKeys(bytes.Clone(b), &m.info.man)
		if err != nil {
			return err
		}
		return give(out, &evalKeysObj{k: k, info: m.info})
	})
}

//export cngo_eval_keys_free
func cngo_eval_keys_free(p unsafe.Pointer) C.int {
	return guard("cn_eval_keys_free", func() error { return release[*evalKeysObj]("k", p) })
}

// ------------------------------------------------------------------ server --

//export cngo_server_new
func cngo_server_new(out *unsafe.Pointer, mp, kp unsafe.Pointer) C.int {
	return guard("cn_server_new", func() error {
		if err := begin(out); err != nil {
			return err
		}
		m, err := get[*modelObj]("m", mp)
		if err != nil {
			return err
		}
		k, err := get[*evalKeysObj]("ek", kp)
		if err != nil {
			return err
		}
		p, err := m.plans.ForManifest(k.info.man, k.info.man.Insecure)
		if err != nil {
			return err
		}
		s, err := server.New(p, k.k)
		if err != nil {
			return err
		}
		return give(out, &serverObj{s: s, info: k.info})
	})
}

//export cngo_server_manifest
func cngo_server_manifest(out *unsafe.Pointer, sp unsafe.Pointer) C.int {
	return guard("cn_server_manifest", func() error {
		if err := begin(out); err != nil {
			return err
		}
		s, err := get[*serverObj]("s", sp)
		if err != nil {
			return err
		}
		return give(out, &manifestObj{info: s.info})
	})
}

//export cngo_server_predict
func cngo_server_predict(out *unsafe.Pointer, sp, bp unsafe.Pointer) C.int {
	return guard("cn_server_predict", func() error {
		if err := begin(out); err != nil {
			return err
		}
		s, err := get[*serverObj]("s", sp)
		if err != nil {
			return err
		}
		b, err := get[*batchObj]("b", bp)
		if err != nil {
			return err
		}
		if b.info.fp != s.info.fp {
			return errs.New(errs.ErrMismatch, "the encrypted batch was made for another model plan or parameters than this server's")
		}
		// The evaluation consumes its input: it gets a copy of one request at a time,
		// and the batch stays as the caller has it.
		results := make([]*wire.Ciphertexts, len(b.requests))
		for i, req := range b.requests {
			res, err := s.s.Predict(context.Background(), req.Clone(), nil)
			if err != nil {
				return fmt.Errorf("request %d of %d: %w", i+1, len(b.requests), err)
			}
			results[i] = res
		}
		return give(out, &resultObj{results: results, info: s.info})
	})
}

//export cngo_server_free
func cngo_server_free(p unsafe.Pointer) C.int {
	return guard("cn_server_free", func() error { return release[*serverObj]("s", p) })
}

// ----------------------------------------------------- ciphertext objects --

// decodeSequence validates a received upload or download; it reads data without
// copying it first because wire's sequence reader copies what it keeps.
func decodeSequence(out *unsafe.Pointer, mp unsafe.Pointer, data *C.uint8_t, n C.size_t, kind wire.Kind) ([]*wire.Ciphertexts, *manifestInfo, error) {
	if err := begin(out); err != nil {
		return nil, nil, err
	}
	m, err := get[*manifestObj]("m", mp)
	if err != nil {
		return nil, nil, err
	}
	b, err := view("data", data, n)
	if err != nil {
		return nil, nil, err
	}
	list, err := wire.DecodeSequence(b, kind, &m.info.man, m.info.prm)
	if err != nil {
		return nil, nil, err
	}
	return list, m.info, nil
}

//export cngo_encrypted_batch_serialize
func cngo_encrypted_batch_serialize(out **C.uint8_t, outLen *C.size_t, bp unsafe.Pointer) C.int {
	return guard("cn_encrypted_batch_serialize", func() error {
		if err := beginBytes(out, outLen); err != nil {
			return err
		}
		b, err := get[*batchObj]("b", bp)
		if err != nil {
			return err
		}
		return giveSequence(out, outLen, wire.KindEncryptedBatch, b.info, b.requests)
	})
}

//export cngo_encrypted_batch_deserialize
func cngo_encrypted_batch_deserialize(out *unsafe.Pointer, mp unsafe.Pointer, data *C.uint8_t, n C.size_t) C.int {
	return guard("cn_encrypted_batch_deserialize", func() error {
		list, info, err := decodeSequence(out, mp, data, n, wire.KindEncryptedBatch)
		if err != nil {
			return err
		}
		return give(out, &batchObj{requests: list, info: info})
	})
}

//export cngo_encrypted_batch_images
func cngo_encrypted_batch_images(out *C.size_t, bp unsafe.Pointer) C.int {
	return guard("cn_encrypted_batch_images", func() error {
		b, err := get[*batchObj]("b", bp)
		if err != nil {
			return err
		}
		return setSize("out", out, images(b.requests))
	})
}

//export cngo_encrypted_batch_requests
func cngo_encrypted_batch_requests(out *C.size_t, bp unsafe.Pointer) C.int {
	return guard("cn_encrypted_batch_requests", func() error {
		b, err := get[*batchObj]("b", bp)
		if err != nil {
			return err
		}
		return setSize("out", out, len(b.requests))
	})
}

//export cngo_encrypted_batch_request_ids
func cngo_encrypted_batch_request_ids(out *C.uint8_t, outLen C.size_t, bp unsafe.Pointer) C.int {
	return guard("cn_encrypted_batch_request_ids", func() error {
		b, err := get[*batchObj]("b", bp)
		if err != nil {
			return err
		}
		if out == nil {
			return invalidf("out is NULL")
		}
		need := len(b.requests) * wire.RequestSize
		if uint64(outLen) < uint64(need) {
			return bufferTooSmallf("out holds %d bytes, the batch's %d request identifiers take %d (CN_REQUEST_SIZE each)", uint64(outLen), len(b.requests), need)
		}
		dst := unsafe.Slice((*byte)(unsafe.Pointer(out)), need)
		for i, r := range b.requests {
			copy(dst[i*wire.RequestSize:], r.Request.Bytes())
		}
		return nil
	})
}

//export cngo_encrypted_batch_free
func cngo_encrypted_batch_free(p unsafe.Pointer) C.int {
	return guard("cn_encrypted_batch_free", func() error { return release[*batchObj]("b", p) })
}

//export cngo_encrypted_result_serialize
func cngo_encrypted_result_serialize(out **C.uint8_t, outLen *C.size_t, rp unsafe.Pointer) C.int {
	return guard("cn_encrypted_result_serialize", func() error {
		if err := beginBytes(out, outLen); err != nil {
			return err
		}
		r, err := get[*resultObj]("r", rp)
		if err != nil {
			return err
		}
		return giveSequence(out, outLen, wire.KindEncryptedResult, r.info, r.results)
	})
}

//export cngo_encrypted_result_deserialize
func cngo_encrypted_result_deserialize(out *unsafe.Pointer, mp unsafe.Pointer, data *C.uint8_t, n C.size_t) C.int {
	return guard("cn_encrypted_result_deserialize", func() error {
		list, info, err := decodeSequence(out, mp, data, n, wire.KindEncryptedResult)
		if err != nil {
			return err
		}
		return give(out, &resultObj{results: list, info: info})
	})
}

//export cngo_encrypted_result_images
func cngo_encrypted_result_images(out *C.size_t, rp unsafe.Pointer) C.int {
	return guard("cn_encrypted_result_images", func() error {
		r, err := get[*resultObj]("r", rp)
		if err != nil {
			return err
		}
		return setSize("out", out, images(r.results))
	})
}

//export cngo_encrypted_result_requests
func cngo_encrypted_result_requests(out *C.size_t, rp unsafe.Pointer) C.int {
	return guard("cn_encrypted_result_requests", func() error {
		r, err := get[*resultObj]("r", rp)
		if err != nil {
			return err
		}
		return setSize("out", out, len(r.results))
	})
}

//export cngo_encrypted_result_free
func cngo_encrypted_result_free(p unsafe.Pointer) C.int {
	return guard("cn_encrypted_result_free", func() error { return release[*resultObj]("r", p) })
}
