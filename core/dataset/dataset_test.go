package dataset_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cryptonets/cryptonets/core/dataset"
	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// vec3 is the shape of the tests' tabular records: three values.
var vec3 = model.Shape{C: 3, H: 1, W: 1}

// wantError checks that err is of class class and mentions every one of parts.
func wantError(t *testing.T, err error, class error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v mentioning %q", class, parts)
	}
	if !errors.Is(err, class) {
		t.Errorf("error %q is %v, want %v", err, errs.ClassOf(err), class)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func read(t *testing.T, path string, opts dataset.Options) *dataset.Set {
	t.Helper()
	set, err := dataset.Read(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func checkRecords(t *testing.T, set *dataset.Set, want [][]float64) {
	t.Helper()
	if set.Len() != len(want) || len(set.Sources) != len(want) {
		t.Fatalf("%d records (%d sources), want %d", set.Len(), len(set.Sources), len(want))
	}
	for i := range want {
		for k := range want[i] {
			if math.Abs(set.Records[i][k]-want[i][k]) > 1e-12 {
				t.Fatalf("record %d: %v, want %v", i, set.Records[i], want[i])
			}
		}
	}
}

// TestNPYTypes reads the arrays NumPy wrote (testdata/make_testdata.py) in every
// number type and byte order, in Fortran order and in format version 2.
func TestNPYTypes(t *testing.T) {
	want := [][]float64{{0, 1, 2}, {3, 4, 5}}
	for _, name := range []string{"f8", "f4_be", "f2", "i1", "i2", "i4_be", "i8", "u1", "u2", "u4_be", "u8", "fortran", "v2"} {
		path := filepath.Join("testdata", "vec_"+name+".npy")
		set := read(t, path, dataset.Options{Shape: vec3})
		checkRecords(t, set, want)
		if set.Sources[1] != (dataset.Source{File: path, Row: 1}) {
			t.Errorf("%s: source %+v", name, set.Sources[1])
		}
	}
	checkRecords(t, read(t, "testdata/vec_b1.npy", dataset.Options{Shape: vec3}), [][]float64{{0, 1, 0}, {1, 0, 1}})
	// Images of one channel, as (n, H, W) and (n, C, H, W), and flat (n, C·H·W).
	img := model.Shape{C: 1, H: 2, W: 3}
	for _, name := range []string{"img_hw", "img_chw"} {
		set := read(t, filepath.Join("testdata", name+".npy"), dataset.Options{Shape: img})
		if set.Len() != 2 || math.Abs(set.Records[1][5]-1) > 1e-7 || set.Records[0][1] == 0 {
			t.Errorf("%s: %v", name, set.Records)
		}
	}
	checkRecords(t, read(t, "testdata/vec_f8.npy", dataset.Options{Shape: model.Shape{C: 1, H: 1, W: 3}}), want)
}

func TestNPYErrors(t *testing.T) {
	_, err := dataset.Read("testdata/vec_f8.npy", dataset.Options{Shape: model.Shape{C: 4, H: 1, W: 1}})
	wantError(t, err, errs.ErrMismatch, "testdata/vec_f8.npy", "(2, 3)", "4×1×1")
	_, err = dataset.Read("testdata/img_hw.npy", dataset.Options{Shape: model.Shape{C: 1, H: 3, W: 2}})
	wantError(t, err, errs.ErrMismatch, "img_hw.npy", "(2, 2, 3)")
	for _, name := range []string{"complex.npy", "strings.npy"} {
		_, err = dataset.Read(filepath.Join("testdata", name), dataset.Options{Shape: vec3})
		wantError(t, err, errs.ErrUnsupported, name, "data type")
	}

	dir := t.TempDir()
	data, err := os.ReadFile("testdata/vec_f8.npy")
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.npy")
	writeBytes(t, truncated, data[:len(data)-10]) // row 1 loses its last two values
	_, err = dataset.Read(truncated, dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMalformed, "truncated.npy", "row 1", "truncated")
	extended := filepath.Join(dir, "extended.npy")
	writeBytes(t, extended, append(slices.Clone(data), 0))
	_, err = dataset.Read(extended, dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMalformed, "extended.npy", "after")
	garbage := filepath.Join(dir, "garbage.npy")
	writeBytes(t, garbage, []byte("not an array"))
	_, err = dataset.Read(garbage, dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMalformed, "garbage.npy")
	_, err = dataset.Read(filepath.Join(dir, "missing.npy"), dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrIO, "missing.npy")
}

// TestWriteNPY reads back what WriteNPY writes, in both types.
func TestWriteNPY(t *testing.T) {
	for _, ints := range []bool{false, true} {
		var buf bytes.Buffer
		values := []float64{1, -2, 3, 4, 5, 6}
		if err := dataset.WriteNPY(&buf, []int{2, 3}, values, ints); err != nil {
			t.Fatal(err)
		}
		if (buf.Len()-6*8)%64 != 0 {
			t.Errorf("the data start at byte %d, not on a multiple of 64", buf.Len()-6*8)
		}
		shape, got, err := dataset.ReadNPY(&buf, "buffer")
		if err != nil || !slices.Equal(shape, []int{2, 3}) || !slices.Equal(got, values) {
			t.Errorf("ints=%v: read back %v %v (%v)", ints, shape, got, err)
		}
	}
	if err := dataset.WriteNPY(&bytes.Buffer{}, []int{4}, []float64{1}, false); err == nil {
		t.Error("WriteNPY accepted 1 value for shape (4,)")
	}
}

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		writeBytes(t, path, []byte(text))
		return path
	}
	want := [][]float64{{1, 2, 3}, {4, 5.5, -6}}
	// No header: every column, in order.
	checkRecords(t, read(t, write("plain.csv", "1,2,3\n4,5.5,-6\n"), dataset.Options{Shape: vec3}), want)
	// A header, a label column in the middle, columns taken in the file's order.
	labelled := write("labelled.csv", "a,b,label,c\n1,2,7,3\n4, 5.5,1,-6\n")
	set := read(t, labelled, dataset.Options{Shape: vec3, LabelColumn: "label"})
	checkRecords(t, set, want)
	if !slices.Equal(set.Labels, []int{7, 1}) || set.Sources[1] != (dataset.Source{File: labelled, Row: 1}) {
		t.Errorf("labels %v, sources %v", set.Labels, set.Sources)
	}
	// Columns by name, in the model's order (not the file's).
	set = read(t, labelled, dataset.Options{Shape: vec3, Columns: []string{"c", "a", "b"}})
	checkRecords(t, set, [][]float64{{3, 1, 2}, {-6, 4, 5.5}})
	if set.Labels != nil {
		t.Errorf("labels %v without a label column", set.Labels)
	}

	_, err := dataset.Read(write("missing.csv", "a,b,c\n1,2,3\n4,5\n"), dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMalformed, "missing.csv", "line 3", "2 columns", "header has 3")
	_, err = dataset.Read(write("text.csv", "1,2,3\n4,x,6\n"), dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMalformed, "text.csv", "line 2", "column 2", `"x" is not a number`)
	_, err = dataset.Read(write("empty_field.csv", "a,b,c\n1,,3\n"), dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMalformed, "empty_field.csv", "line 2", `"b"`, "missing value")
	_, err = dataset.Read(labelled, dataset.Options{Shape: vec3, Columns: []string{"a", "b", "d"}})
	wantError(t, err, errs.ErrInvalidArgument, "labelled.csv", `no column named "d"`)
	_, err = dataset.Read(labelled, dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMismatch, "labelled.csv", "4 columns", "takes 3")
	_, err = dataset.Read(write("headerless.csv", "1,2,3,0\n"), dataset.Options{Shape: vec3, LabelColumn: "label"})
	wantError(t, err, errs.ErrInvalidArgument, "headerless.csv", "no header")
	_, err = dataset.Read(write("badlabel.csv", "a,b,c,label\n1,2,3,0.5\n"), dataset.Options{Shape: vec3, LabelColumn: "label"})
	wantError(t, err, errs.ErrMalformed, "badlabel.csv", "line 2", "not an integer")
	_, err = dataset.Read(write("quote.csv", "1,2,\"3\n"), dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrMalformed, "quote.csv", "line 1")
	_, err = dataset.Read(write("only_header.csv", "a,b,c\n"), dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrInvalidArgument, "only_header.csv", "no records")
}

// TestBreastCancerCSV reads the shipped tabular test split by its header.
func TestBreastCancerCSV(t *testing.T) {
	path := filepath.Join("..", "..", "models", "breast_cancer", "test.csv")
	set := read(t, path, dataset.Options{Shape: model.Shape{C: 30, H: 1, W: 1}, LabelColumn: "label"})
	if set.Len() != 171 || len(set.Labels) != 171 {
		t.Fatalf("%d records, %d labels; want 171", set.Len(), len(set.Labels))
	}
	if set.Records[0][0] != 20.57 || set.Records[0][3] != 1326 {
		t.Errorf("first record %v", set.Records[0][:4])
	}
	benign := 0
	for _, l := range set.Labels {
		benign += l
	}
	if benign != 107 {
		t.Errorf("%d benign records, the model card says 107", benign)
	}
}

func writeBytes(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writePNG(t *testing.T, path string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, path, buf.Bytes())
	return buf.Bytes()
}

// grayImage is a 3×2 image whose pixel (x, y) is 40·(3y+x).
func grayImage() *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(40 * i)
	}
	return img
}

func TestImages(t *testing.T) {
	dir := t.TempDir()
	gray := model.Shape{C: 1, H: 2, W: 3}
	wantGray := [][]float64{{0, 40. / 255, 80. / 255, 120. / 255, 160. / 255, 200. / 255}}

	path := filepath.Join(dir, "gray.png")
	writePNG(t, path, grayImage())
	set := read(t, path, dataset.Options{Shape: gray})
	checkRecords(t, set, wantGray)
	if set.Records[0][1] != 40.0/255 || set.Sources[0] != (dataset.Source{File: path, Row: -1}) {
		t.Errorf("pixel %v (want exactly 40/255), source %+v", set.Records[0][1], set.Sources[0])
	}
	// A 16-bit grayscale image, and an RGB image whose pixels are all gray.
	g16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	rgbGray := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i, v := range grayImage().Pix {
		g16.SetGray16(i%3, i/3, color.Gray16{Y: uint16(v) * 257})
		rgbGray.Set(i%3, i/3, color.RGBA{v, v, v, 255})
	}
	for name, img := range map[string]image.Image{"gray16.png": g16, "rgb_gray.png": rgbGray} {
		writePNG(t, filepath.Join(dir, name), img)
		checkRecords(t, read(t, filepath.Join(dir, name), dataset.Options{Shape: gray}), wantGray)
	}
	// Colour: channel-major for a 3-channel model, an error naming the pixel for a
	// grayscale one.
	rgb := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		rgb.Set(i%3, i/3, color.RGBA{uint8(i), uint8(10 * i), uint8(100 + i), 255})
	}
	writePNG(t, filepath.Join(dir, "rgb.png"), rgb)
	set = read(t, filepath.Join(dir, "rgb.png"), dataset.Options{Shape: model.Shape{C: 3, H: 2, W: 3}})
	if r := set.Records[0]; r[5] != 5.0/255 || r[6+5] != 50.0/255 || r[12+5] != 105.0/255 {
		t.Errorf("RGB record %v", r)
	}
	_, err := dataset.Read(filepath.Join(dir, "rgb.png"), dataset.Options{Shape: gray})
	wantError(t, err, errs.ErrMismatch, "rgb.png", "pixel (x 0, y 0)", "grayscale")
	// A wrong size, never resized.
	_, err = dataset.Read(path, dataset.Options{Shape: model.Shape{C: 1, H: 3, W: 3}})
	wantError(t, err, errs.ErrMismatch, "gray.png", "3×2 pixels", "3×3")
	// Transparency.
	nrgba := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		nrgba.Set(i%3, i/3, color.NRGBA{9, 9, 9, 255})
	}
	nrgba.Set(2, 1, color.NRGBA{9, 9, 9, 100})
	writePNG(t, filepath.Join(dir, "alpha.png"), nrgba)
	_, err = dataset.Read(filepath.Join(dir, "alpha.png"), dataset.Options{Shape: gray})
	wantError(t, err, errs.ErrUnsupported, "alpha.png", "pixel (x 2, y 1)", "transparent")
	// JPEG, lossy: close to the pixels.
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, grayImage(), &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, filepath.Join(dir, "gray.jpg"), buf.Bytes())
	set = read(t, filepath.Join(dir, "gray.jpg"), dataset.Options{Shape: gray})
	for k, v := range set.Records[0] {
		if math.Abs(v-wantGray[0][k]) > 3.0/255 {
			t.Errorf("JPEG pixel %d: %v, want about %v", k, v, wantGray[0][k])
		}
	}
}

// TestCorruptPNG cuts a PNG inside its pixel data: the error names the file and the
// row where the data break off.
func TestCorruptPNG(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7) // incompressible enough to spread over the file
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// Without compression the rows (29 bytes with the filter byte) follow the IDAT
	// header one after the other; cut the file in row 10.
	at := bytes.Index(data, []byte("IDAT")) + 4 + 2 + 5 + 10*29 + 3
	path := filepath.Join(dir, "scan.png")
	writeBytes(t, path, data[:at])
	_, err := dataset.Read(path, dataset.Options{Shape: model.Shape{C: 1, H: 28, W: 28}})
	wantError(t, err, errs.ErrMalformed, "scan.png", "corrupt png", "row 10 of 28")
	// Damaged, not cut: a flipped byte in the pixel data fails the checksum.
	bad := slices.Clone(data)
	bad[bytes.Index(data, []byte("IDAT"))+200] ^= 0xff
	writeBytes(t, path, bad)
	_, err = dataset.Read(path, dataset.Options{Shape: model.Shape{C: 1, H: 28, W: 28}})
	wantError(t, err, errs.ErrMalformed, "scan.png", "corrupt png")
	writeBytes(t, path, []byte("\x89PNG\r\n\x1a\nnothing else"))
	_, err = dataset.Read(path, dataset.Options{Shape: model.Shape{C: 1, H: 28, W: 28}})
	wantError(t, err, errs.ErrMalformed, "scan.png", "not a valid PNG or JPEG")
}

func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	gray := model.Shape{C: 1, H: 2, W: 3}
	for i, name := range []string{"b.png", "a.png", "c.jpeg"} {
		img := grayImage()
		img.Pix[0] = uint8(100 * i)
		if name == "c.jpeg" {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
				t.Fatal(err)
			}
			writeBytes(t, filepath.Join(dir, name), buf.Bytes())
			continue
		}
		writePNG(t, filepath.Join(dir, name), img)
	}
	writeBytes(t, filepath.Join(dir, ".DS_Store"), []byte("x"))
	set := read(t, dir, dataset.Options{Shape: gray})
	var names []string
	for _, s := range set.Sources {
		names = append(names, filepath.Base(s.File))
	}
	if !slices.Equal(names, []string{"a.png", "b.png", "c.jpeg"}) || set.Records[0][0] != 100.0/255 || set.Records[1][0] != 0 {
		t.Errorf("records from %v: first pixels %v %v", names, set.Records[0][0], set.Records[1][0])
	}
	writeBytes(t, filepath.Join(dir, "notes.txt"), []byte("x"))
	_, err := dataset.Read(dir, dataset.Options{Shape: gray})
	wantError(t, err, errs.ErrUnsupported, "notes.txt", "not an image")
	_, err = dataset.Read(t.TempDir(), dataset.Options{Shape: gray})
	wantError(t, err, errs.ErrInvalidArgument, "no images")
}

// idxFile encodes an IDX array.
func idxFile(typ byte, dims []int, values []byte) []byte {
	out := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		out = binary.BigEndian.AppendUint32(out, uint32(d))
	}
	return append(out, values...)
}

func TestIDX(t *testing.T) {
	dir := t.TempDir()
	gray := model.Shape{C: 1, H: 2, W: 3}
	pixels := []byte{0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 0}
	plain := filepath.Join(dir, "images-idx3-ubyte")
	writeBytes(t, plain, idxFile(0x08, []int{2, 2, 3}, pixels))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(idxFile(0x08, []int{2, 2, 3}, pixels))
	zw.Close()
	zipped := filepath.Join(dir, "images-idx3-ubyte.gz")
	writeBytes(t, zipped, gz.Bytes())
	for _, path := range []string{plain, zipped} {
		set := read(t, path, dataset.Options{Shape: gray})
		checkRecords(t, set, [][]float64{{0, .2, .4, .6, .8, 1}, {1, 0, 0, 0, 0, 0}})
	}
	// Floats are taken as they are.
	floats := make([]byte, 0, 24)
	for _, v := range []float32{1.5, -2, 3, 4, 5, 6} {
		floats = binary.BigEndian.AppendUint32(floats, math.Float32bits(v))
	}
	path := filepath.Join(dir, "data.idx")
	writeBytes(t, path, idxFile(0x0D, []int{2, 3}, floats))
	checkRecords(t, read(t, path, dataset.Options{Shape: vec3}), [][]float64{{1.5, -2, 3}, {4, 5, 6}})

	_, err := dataset.Read(plain, dataset.Options{Shape: model.Shape{C: 1, H: 3, W: 2}})
	wantError(t, err, errs.ErrMismatch, "images-idx3-ubyte", "(2, 2, 3)")
	writeBytes(t, plain, idxFile(0x08, []int{2, 2, 3}, pixels[:9]))
	_, err = dataset.Read(plain, dataset.Options{Shape: gray})
	wantError(t, err, errs.ErrMalformed, "images-idx3-ubyte", "row 1", "truncated")
	writeBytes(t, plain, idxFile(0x0A, []int{2, 2, 3}, pixels))
	_, err = dataset.Read(plain, dataset.Options{Shape: gray})
	wantError(t, err, errs.ErrUnsupported, "images-idx3-ubyte", "0x0a")

	labels := filepath.Join(dir, "labels-idx1-ubyte")
	writeBytes(t, labels, idxFile(0x08, []int{3}, []byte{7, 2, 1}))
	if got, err := dataset.ReadLabels(labels); err != nil || !slices.Equal(got, []int{7, 2, 1}) {
		t.Errorf("IDX labels %v (%v)", got, err)
	}
}

func TestReadLabels(t *testing.T) {
	for _, name := range []string{"labels_i8.npy", "labels_f4.npy"} {
		if got, err := dataset.ReadLabels(filepath.Join("testdata", name)); err != nil || !slices.Equal(got, []int{3, 1, 4}) {
			t.Errorf("%s: %v (%v)", name, got, err)
		}
	}
	_, err := dataset.ReadLabels("testdata/labels_frac.npy")
	wantError(t, err, errs.ErrMalformed, "labels_frac.npy", "row 1", "not an integer")
	_, err = dataset.ReadLabels("testdata/vec_f8.npy")
	wantError(t, err, errs.ErrMismatch, "vec_f8.npy", "(2, 3)")
	path := filepath.Join(t.TempDir(), "labels.txt")
	writeBytes(t, path, []byte("label\n3\n1\n4\n"))
	if got, err := dataset.ReadLabels(path); err != nil || !slices.Equal(got, []int{3, 1, 4}) {
		t.Errorf("text labels: %v (%v)", got, err)
	}
}

func TestReadAll(t *testing.T) {
	set, err := dataset.ReadAll([]string{"testdata/vec_f8.npy", "testdata/vec_i8.npy"}, dataset.Options{Shape: vec3})
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 4 || set.Sources[2].File != "testdata/vec_i8.npy" || set.Sources[2].Row != 0 || set.Labels != nil {
		t.Errorf("%d records, sources %v, labels %v", set.Len(), set.Sources, set.Labels)
	}
	_, err = dataset.Read("testdata/make_testdata.py", dataset.Options{Shape: vec3})
	wantError(t, err, errs.ErrUnsupported, "make_testdata.py", "unknown kind of file")
}

func TestMNIST(t *testing.T) {
	set, err := dataset.MNIST(dataset.MNISTTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 10000 || len(set.Labels) != 10000 || set.Shape != dataset.MNISTShape() {
		t.Fatalf("%d images, %d labels, shape %v", set.Len(), len(set.Labels), set.Shape)
	}
	if !slices.Equal(set.Labels[:5], []int{7, 2, 1, 0, 4}) {
		t.Errorf("first labels %v", set.Labels[:5])
	}
	train, err := dataset.MNIST(dataset.MNISTTrain, 100)
	if err != nil || train.Len() != 100 || train.Labels[0] != 5 {
		t.Fatalf("first 100 training images: %v", err)
	}
	for _, v := range train.Records[0] {
		if v < 0 || v > 1 {
			t.Fatalf("pixel %v outside [0, 1]", v)
		}
	}
	if _, err := dataset.MNIST("valid", 1); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("unknown split: %v", err)
	}
}

// TestMNISTDir finds the module cache as the go command does, without running it: the
// environment, then the go command's environment file.
func TestMNISTDir(t *testing.T) {
	want, err := dataset.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	cache := want[:strings.Index(want, string(filepath.Separator)+"github.com"+string(filepath.Separator))]
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", "")
	t.Setenv("HOME", t.TempDir())
	envFile := filepath.Join(t.TempDir(), "env")
	writeBytes(t, envFile, []byte("GOFLAGS=-mod=mod\nGOMODCACHE="+cache+"\n"))
	t.Setenv("GOENV", envFile)
	if got, err := dataset.MNISTDir(); err != nil || got != want {
		t.Errorf("with GOMODCACHE in $GOENV: %q (%v), want %q", got, err, want)
	}
	t.Setenv("GOENV", "off")
	_, err = dataset.MNISTDir()
	wantError(t, err, errs.ErrIO, "not in the module cache", dataset.EnvMNISTDir)
	t.Setenv(dataset.EnvMNISTDir, "/somewhere")
	if got, _ := dataset.MNISTDir(); got != "/somewhere" {
		t.Errorf("with %s: %q", dataset.EnvMNISTDir, got)
	}
}
