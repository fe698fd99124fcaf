package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	switchboardv1 "github.com/switchboard-gateway/switchboard/gen/go/switchboard/v1"
	"github.com/switchboard-gateway/switchboard/gen/go/switchboard/v1/switchboardv1connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// These tests call a live gateway. test/clients/go-client.test.ts (part of `npm test`)
// starts one in front of a fake vendor and passes its address and key in the environment.

func env(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set: these tests need a live gateway; run `npx vitest run test/clients/go-client.test.ts`, which starts one", name)
	}
	return value
}

func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient dials the gateway as run does, with the given key.
func newClient(t *testing.T, key string) switchboardv1.AIServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(env(t, "SWITCHBOARD_ADDR"),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(gatewayKey(key)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return switchboardv1.NewAIServiceClient(conn)
}

func userMessage(text string) []*switchboardv1.Message {
	return []*switchboardv1.Message{{Role: switchboardv1.Role_ROLE_USER, Content: text}}
}

// chatStream gathers a streamed answer and its summary.
func chatStream(ctx context.Context, client switchboardv1.AIServiceClient, model, question string) (string, *switchboardv1.ChatSummary, error) {
	stream, err := client.ChatStream(ctx, &switchboardv1.ChatStreamRequest{Model: model, Messages: userMessage(question)})
	if err != nil {
		return "", nil, err
	}
	var text strings.Builder
	var summary *switchboardv1.ChatSummary
	for {
		event, err := stream.Recv()
		if err == io.EOF {
			return text.String(), summary, nil
		}
		if err != nil {
			return "", nil, err
		}
		text.WriteString(event.GetDelta().GetContent())
		if event.GetSummary() != nil {
			summary = event.GetSummary()
		}
	}
}

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(callContext(t), &out, env(t, "SWITCHBOARD_ADDR"), env(t, "SWITCHBOARD_KEY")); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"gpt-4o-mini (openai)\n", "\nEcho: hello\n", "\nEcho: tell me a story\n[FINISH_REASON_STOP, "} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("the output lacks %q:\n%s", line, out.String())
		}
	}
}

func TestListModels(t *testing.T) {
	res, err := newClient(t, env(t, "SWITCHBOARD_KEY")).ListModels(callContext(t), &switchboardv1.ListModelsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(res.GetModels(), func(m *switchboardv1.Model) bool { return m.GetId() == "gpt-4o-mini" })
	if i < 0 {
		t.Fatalf("gpt-4o-mini is not listed: %v", res.GetModels())
	}
	model := res.GetModels()[i]
	if model.GetProvider() != "openai" || !slices.Contains(model.GetCapabilities(), switchboardv1.Capability_CAPABILITY_CHAT) {
		t.Errorf("gpt-4o-mini: got provider %q, capabilities %v", model.GetProvider(), model.GetCapabilities())
	}
}

func TestChat(t *testing.T) {
	res, err := newClient(t, env(t, "SWITCHBOARD_KEY")).Chat(callContext(t), &switchboardv1.ChatRequest{Model: "gpt-4o-mini", Messages: userMessage("hello from Go")})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetMessage().GetContent(); got != "Echo: hello from Go" {
		t.Errorf("content: got %q", got)
	}
	if res.GetMessage().GetRole() != switchboardv1.Role_ROLE_ASSISTANT || res.GetFinishReason() != switchboardv1.FinishReason_FINISH_REASON_STOP {
		t.Errorf("role %v, finish reason %v", res.GetMessage().GetRole(), res.GetFinishReason())
	}
	if res.GetProvider() != "openai" || res.GetModel() != "gpt-4o-mini" || res.GetRequestId() == "" {
		t.Errorf("provider %q, model %q, request id %q", res.GetProvider(), res.GetModel(), res.GetRequestId())
	}
	usage := res.GetUsage()
	if usage.GetPromptTokens() == 0 || usage.GetTotalTokens() != usage.GetPromptTokens()+usage.GetCompletionTokens() {
		t.Errorf("usage: %v", usage)
	}
}

func TestChatStream(t *testing.T) {
	text, summary, err := chatStream(callContext(t), newClient(t, env(t, "SWITCHBOARD_KEY")), "gpt-4o-mini", "stream to Go")
	if err != nil {
		t.Fatal(err)
	}
	if text != "Echo: stream to Go" {
		t.Errorf("streamed text: got %q", text)
	}
	if summary == nil {
		t.Fatal("the stream ended without a summary")
	}
	if summary.GetFinishReason() != switchboardv1.FinishReason_FINISH_REASON_STOP || summary.GetUsage().GetCompletionTokens() == 0 || summary.GetProvider() != "openai" {
		t.Errorf("summary: %v", summary)
	}
}

func TestUnauthenticated(t *testing.T) {
	client := newClient(t, "sk-not-a-gateway-key")
	if _, err := client.ListModels(callContext(t), &switchboardv1.ListModelsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ListModels: got %v, want Unauthenticated", err)
	}
	if _, err := client.Chat(callContext(t), &switchboardv1.ChatRequest{Model: "gpt-4o-mini", Messages: userMessage("hello")}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Chat: got %v, want Unauthenticated", err)
	}
	if _, _, err := chatStream(callContext(t), client, "gpt-4o-mini", "hello"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("ChatStream: got %v, want Unauthenticated", err)
	}
}

func TestDeadlineExceeded(t *testing.T) {
	// The harness routes this model to a vendor that never answers.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := newClient(t, env(t, "SWITCHBOARD_KEY")).Chat(ctx, &switchboardv1.ChatRequest{Model: env(t, "SWITCHBOARD_HANGING_MODEL"), Messages: userMessage("are you there?")})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
}

// The connect-go stubs reach the same service over the Connect protocol (HTTP/1.1)
// and over gRPC (h2c).
func TestConnectGoClient(t *testing.T) {
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	clients := map[string]switchboardv1connect.AIServiceClient{
		"connect": switchboardv1connect.NewAIServiceClient(http.DefaultClient, "http://"+env(t, "SWITCHBOARD_ADDR")),
		"grpc": switchboardv1connect.NewAIServiceClient(&http.Client{Transport: &http.Transport{Protocols: &h2c}},
			"http://"+env(t, "SWITCHBOARD_ADDR"), connect.WithGRPC()),
	}
	for protocol, client := range clients {
		t.Run(protocol, func(t *testing.T) {
			req := connect.NewRequest(&switchboardv1.ChatRequest{Model: "gpt-4o-mini", Messages: userMessage("hello over " + protocol)})
			req.Header().Set("Authorization", "Bearer "+env(t, "SWITCHBOARD_KEY"))
			res, err := client.Chat(callContext(t), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Msg.GetMessage().GetContent(); got != "Echo: hello over "+protocol {
				t.Errorf("content: got %q", got)
			}

			req.Header().Set("Authorization", "Bearer sk-not-a-gateway-key")
			if _, err := client.Chat(callContext(t), req); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("with a wrong key: got %v, want unauthenticated", err)
			}
		})
	}
}
