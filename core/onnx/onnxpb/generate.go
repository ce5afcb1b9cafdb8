// Package onnxpb holds the Go types generated from the official ONNX protobuf schema
// (onnx.proto, copied from the onnx 1.12.0 Python package with only a go_package option
// added). Do not edit onnx.pb.go by hand; regenerate it with `go generate` after
// installing protoc and protoc-gen-go:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative onnx.proto
