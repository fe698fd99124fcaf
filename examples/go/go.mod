module github.com/switchboard-gateway/switchboard/examples/go

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/switchboard-gateway/switchboard/gen/go v0.0.0
	google.golang.org/grpc v1.85.0
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// In this repository the example builds against the freshly generated code. A service
// elsewhere requires a published version, or replaces it with its own checkout's gen/go.
replace github.com/switchboard-gateway/switchboard/gen/go => ../../gen/go
