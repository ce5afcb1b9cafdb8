package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io"
	"os"

	"github.com/cryptonets/cryptonets/core/errs"
	"github.com/cryptonets/cryptonets/core/model"
)

// maxImageFileBytes bounds the image files read.
const maxImageFileBytes = 256 << 20

// maxImagePixels bounds the pixel data a broken PNG's rows are counted in.
const maxImagePixels = 1 << 24

// readImageFile reads one image as a set of one record.
func readImageFile(path string, shape model.Shape) (*Set, error) {
	values, err := decodeImageFile(path, shape)
	if err != nil {
		return nil, err
	}
	return &Set{Shape: shape, Records: [][]float64{values}, Sources: []Source{{File: path, Row: -1}}}, nil
}

// decodeImageFile decodes a PNG or JPEG image into a record of the given shape: one
// channel for a grayscale image, three (red, green, blue) for a colour one, each
// pixel value/max in [0, 1]. The image must have the shape's size; a model of one
// channel takes colour images only if every pixel is gray, and no image may be
// transparent.
func decodeImageFile(path string, shape model.Shape) ([]float64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "dataset: %w", err)
	}
	if st.Size() > maxImageFileBytes {
		return nil, errs.New(errs.ErrLimit, "dataset: %s: an image file of %d bytes is too large", path, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errs.New(errs.ErrIO, "dataset: %w", err)
	}
	cfg, kind, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, errs.New(errs.ErrMalformed, "dataset: %s: not a valid PNG or JPEG image: %v", path, err)
	}
	if cfg.Width != shape.W || cfg.Height != shape.H {
		return nil, errs.New(errs.ErrMismatch, "dataset: %s: the image is %d×%d pixels (width × height), the model takes %d×%d images (no resizing is done)",
			path, cfg.Width, cfg.Height, shape.W, shape.H)
	}
	if shape.C != 1 && shape.C != 3 {
		return nil, errs.New(errs.ErrMismatch, "dataset: %s: the model takes %d channels; images give 1 (grayscale) or 3 (RGB)", path, shape.C)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		where := ""
		if rows, ok := pngRowsIntact(data); ok && kind == "png" {
			where = fmt.Sprintf(" (the pixel data break off in row %d of %d)", rows, cfg.Height)
		}
		return nil, errs.New(errs.ErrMalformed, "dataset: %s: corrupt %s image: %v%s", path, kind, err, where)
	}
	return pixels(img, shape, path)
}

// pngRowsIntact counts the rows of a broken PNG file whose pixel data can be read
// before the damage, for the error message. ok is false for interlaced images, whose
// rows are not stored in order, and for files too broken to tell.
func pngRowsIntact(data []byte) (rows int, ok bool) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(data, []byte(sig)) {
		return 0, false
	}
	var idat bytes.Buffer
	var width, depth, channels int
	for p := data[len(sig):]; len(p) >= 12; {
		n := int(binary.BigEndian.Uint32(p))
		kind := string(p[4:8])
		if n < 0 || n > len(p)-12 {
			if kind == "IDAT" { // a truncated last chunk: keep what is there
				idat.Write(p[8:])
			}
			break
		}
		body := p[8 : 8+n]
		switch kind {
		case "IHDR":
			if n < 13 || body[12] != 0 {
				return 0, false
			}
			width, depth = int(binary.BigEndian.Uint32(body)), int(body[8])
			channels = map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[body[9]]
		case "IDAT":
			idat.Write(body)
		}
		p = p[12+n:]
	}
	rowBytes := 1 + (width*channels*depth+7)/8 // the filter byte, then the pixels
	if width <= 0 || channels == 0 || depth == 0 {
		return 0, false
	}
	z, err := zlib.NewReader(&idat)
	if err != nil {
		return 0, true
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(z, int64(maxImagePixels)*8))
	return int(n) / rowBytes, true
}

// pixels converts a decoded image into channel-major values in [0, 1]: each 16-bit
// channel value over 65535. For an 8-bit pixel v (16-bit v·257) that is exactly the
// double nearest v/255, as the IDX reader gives.
func pixels(img image.Image, shape model.Shape, path string) ([]float64, error) {
	b := img.Bounds()
	out := make([]float64, shape.Size())
	plane := shape.H * shape.W
	for y := range shape.H {
		for x := range shape.W {
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			if c.A != 0xffff {
				return nil, errs.New(errs.ErrUnsupported, "dataset: %s: pixel (x %d, y %d) is transparent (alpha %d/65535): give opaque images", path, x, y, c.A)
			}
			i := y*shape.W + x
			if shape.C == 1 {
				if c.R != c.G || c.G != c.B {
					return nil, errs.New(errs.ErrMismatch, "dataset: %s: pixel (x %d, y %d) has colour (red %d, green %d, blue %d of 65535), the model takes grayscale images",
						path, x, y, c.R, c.G, c.B)
				}
				out[i] = float64(c.R) / 0xffff
				continue
			}
			out[i], out[plane+i], out[2*plane+i] = float64(c.R)/0xffff, float64(c.G)/0xffff, float64(c.B)/0xffff
		}
	}
	return out, nil
}
