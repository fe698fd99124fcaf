// Generated Go clients and servers for the Switchboard API. The code below
// switchboard/ is written by `npm run generate`; this file is kept by hand
// (and tidied by the generate script).
module github.com/switchboard-gateway/switchboard/gen/go

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b // indirect
)
