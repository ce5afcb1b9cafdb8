// Package version holds the release number of cryptonets.
//
// Its single source is include/cryptonets.h (CN_VERSION_MAJOR/MINOR/PATCH): CMake
// and the Python package's build read the header, the library's cn_version()
// returns it, and a test of this package checks Version against it. Bump all of
// them by editing the header, then Version here and __version__ in
// bindings/python/cryptonets/__init__.py; the tests name whatever was forgotten.
package version

// Version is the release of cryptonets, "MAJOR.MINOR.PATCH": the version of the C
// header, of libcryptonets (cn_version()), of its CMake package, of the Python
// package and of the cryptonets command.
const Version = "0.1.0"
