package main

import (
	"fmt"
	"runtime/cgo"
	"sync"
	"syscall"
	"unsafe"
)

// Every object the C side sees is a pointer to a slot: a small record outside the Go
// heap holding a magic number, the object's type tag and the runtime/cgo.Handle of
// the Go value. Its C layout is
//
//	struct { uint32_t magic; uint32_t tag; uint64_t handle; }
//
// The registry below is the authority on which slots are live: a pointer is looked up
// there, under a mutex, before its slot is read, so a freed, foreign or stale pointer
// is reported without its memory being touched. The slot's own magic, tag and handle
// are checked against the registry too, which catches a caller that overwrote the
// slot.
//
// Slots are never reused. With malloc a freed slot's address comes back for the next
// object, and a stale pointer would silently reach that new object (of the same type,
// often). So slots come from an arena that only moves forward: address space is
// reserved by the GiB (PROT_NONE, no memory behind it), committed 64 KiB at a time,
// and a chunk whose slots have all been used and freed gets its memory returned to the
// system and is made inaccessible again, while its addresses stay reserved for good.
// A process that made 2^26 objects has used 1 GiB of address space and, at most, the
// memory of the chunks that still hold a live object.

type slot struct {
	magic  uint32
	tag    uint32
	handle uint64
}

const (
	slotSize      = int(unsafe.Sizeof(slot{}))
	chunkBytes    = 64 << 10
	slotsPerChunk = chunkBytes / slotSize
	regionBytes   = 1 << 30

	liveMagic uint32 = 0x434e4f42 // "CNOB"
	deadMagic uint32 = 0xdeadc0de
)

// The type tags, one per opaque C type.
const (
	tagModel uint32 = iota + 1
	tagManifest
	tagClient
	tagEvalKeys
	tagServer
	tagBatch
	tagResult
)

var tagNames = map[uint32]string{
	tagModel: "cn_model", tagManifest: "cn_manifest", tagClient: "cn_client",
	tagEvalKeys: "cn_eval_keys", tagServer: "cn_server", tagBatch: "cn_encrypted_batch",
	tagResult: "cn_encrypted_result",
}

type chunk struct {
	mem        []byte
	used, live int
}

// arena hands out slots at increasing addresses, never the same one twice.
type arena struct {
	region []byte
	next   int
	chunk  *chunk
}

func (a *arena) alloc() (unsafe.Pointer, *chunk, error) {
	if a.region == nil || a.next == len(a.region) {
		mem, err := syscall.Mmap(-1, 0, regionBytes, syscall.PROT_NONE,
			syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot reserve address space for object handles: %w", err)
		}
		a.region, a.next = mem, 0
	}
	if a.next%chunkBytes == 0 {
		mem := a.region[a.next : a.next+chunkBytes]
		if err := syscall.Mprotect(mem, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil, nil, fmt.Errorf("cannot commit memory for object handles: %w", err)
		}
		a.chunk = &chunk{mem: mem}
	}
	p := unsafe.Pointer(&a.region[a.next])
	a.next += slotSize
	a.chunk.used++
	a.chunk.live++
	return p, a.chunk, nil
}

// release retires a chunk once every slot in it has been handed out and freed.
func (a *arena) release(c *chunk) {
	c.live--
	if c.used == slotsPerChunk && c.live == 0 {
		// Failures leave the memory committed: a leak of 64 KiB, not a fault.
		_ = syscall.Madvise(c.mem, syscall.MADV_DONTNEED)
		_ = syscall.Mprotect(c.mem, syscall.PROT_NONE)
	}
}

type entry struct {
	tag   uint32
	h     cgo.Handle
	chunk *chunk
}

// buffer is a byte buffer the library allocated for the caller (cn_bytes_free).
type buffer struct {
	size   int
	secret bool
}

var registry = struct {
	sync.Mutex
	arena   arena
	live    map[unsafe.Pointer]entry
	buffers map[unsafe.Pointer]buffer
}{live: map[unsafe.Pointer]entry{}, buffers: map[unsafe.Pointer]buffer{}}

// object is implemented by the Go value behind each opaque C type.
type object interface{ tag() uint32 }

// newHandle registers v and returns the pointer the C side will hold.
func newHandle(v object) (unsafe.Pointer, error) {
	registry.Lock()
	defer registry.Unlock()
	p, c, err := registry.arena.alloc()
	if err != nil {
		return nil, err
	}
	h := cgo.NewHandle(v)
	*(*slot)(p) = slot{magic: liveMagic, tag: v.tag(), handle: uint64(h)}
	registry.live[p] = entry{tag: v.tag(), h: h, chunk: c}
	return p, nil
}

// checkLocked returns the registry entry of p if p is a live object of type tag.
func checkLocked(arg string, p unsafe.Pointer, tag uint32) (entry, error) {
	e, ok := registry.live[p]
	if !ok {
		return e, invalidf("%s (%p) is not a live %s: already freed, or not made by this library", arg, p, tagNames[tag])
	}
	if s := (*slot)(p); s.magic != liveMagic || s.tag != e.tag || s.handle != uint64(e.h) {
		return e, invalidf("%s (%p) is corrupted: its memory was overwritten", arg, p)
	}
	if e.tag != tag {
		return e, invalidf("%s is a %s, expected a %s", arg, tagNames[e.tag], tagNames[tag])
	}
	return e, nil
}

// get returns the Go value behind the C pointer p, which must be a live object of
// T's type; arg names the argument in error messages.
func get[T object](arg string, p unsafe.Pointer) (T, error) {
	var zero T
	if p == nil {
		return zero, invalidf("%s is NULL", arg)
	}
	registry.Lock()
	defer registry.Unlock()
	e, err := checkLocked(arg, p, zero.tag())
	if err != nil {
		return zero, err
	}
	return e.h.Value().(T), nil
}

// release frees the object behind p (NULL is a no-op): its handle is deleted, its
// slot poisoned and never handed out again.
func release[T object](arg string, p unsafe.Pointer) error {
	if p == nil {
		return nil
	}
	var zero T
	registry.Lock()
	defer registry.Unlock()
	e, err := checkLocked(arg, p, zero.tag())
	if err != nil {
		return err
	}
	*(*slot)(p) = slot{magic: deadMagic}
	e.h.Delete()
	delete(registry.live, p)
	registry.arena.release(e.chunk)
	return nil
}
