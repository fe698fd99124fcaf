// Command example calls Switchboard's AIService over gRPC through the
// generated Go stubs (gen/go): it lists the models, asks a question, and
// streams the answer to another.
//
//	SWITCHBOARD_ADDR=localhost:8080 SWITCHBOARD_KEY=sk-... go run .
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	switchboardv1 "github.com/switchboard-gateway/switchboard/gen/go/switchboard/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv("SWITCHBOARD_ADDR"), os.Getenv("SWITCHBOARD_KEY")); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer, addr, key string) error {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()), // h2c; credentials.NewTLS(nil) for TLS
		grpc.WithPerRPCCredentials(gatewayKey(key)),
	)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := switchboardv1.NewAIServiceClient(conn)

	models, err := client.ListModels(ctx, &switchboardv1.ListModelsRequest{})
	if err != nil {
		return err
	}
	for _, model := range models.GetModels() {
		fmt.Fprintf(out, "%s (%s)\n", model.GetId(), model.GetProvider())
	}

	res, err := client.Chat(ctx, &switchboardv1.ChatRequest{
		Model:    "gpt-4o-mini",
		Messages: []*switchboardv1.Message{{Role: switchboardv1.Role_ROLE_USER, Content: "hello"}},
	})
	if err != nil {
		return err // status.Code(err) is codes.Unauthenticated, codes.DeadlineExceeded, ...
	}
	fmt.Fprintln(out, res.GetMessage().GetContent())

	stream, err := client.ChatStream(ctx, &switchboardv1.ChatStreamRequest{
		Model:    "gpt-4o-mini",
		Messages: []*switchboardv1.Message{{Role: switchboardv1.Role_ROLE_USER, Content: "tell me a story"}},
	})
	if err != nil {
		return err
	}
	for {
		event, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		fmt.Fprint(out, event.GetDelta().GetContent())
		if summary := event.GetSummary(); summary != nil {
			fmt.Fprintf(out, "\n[%s, %d tokens]\n", summary.GetFinishReason(), summary.GetUsage().GetTotalTokens())
		}
	}
	return nil
}

// gatewayKey sends `authorization: Bearer <key>` with every call.
type gatewayKey string

func (k gatewayKey) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

// RequireTransportSecurity lets the key travel over plaintext h2c, for a gateway on
// loopback or a trusted network; return true to refuse anything but TLS.
func (gatewayKey) RequireTransportSecurity() bool { return false }
