"""Calls Switchboard's AIService over gRPC through the generated Python stubs (gen/python):
lists the models, asks a question, and streams the answer to another.

    pip install ./gen/python
    SWITCHBOARD_ADDR=localhost:8080 SWITCHBOARD_KEY=sk-... python examples/python/example.py
"""

import os

import grpc
from switchboard.v1 import ai_service_pb2, ai_service_pb2_grpc, chat_pb2


def run(addr: str, key: str) -> None:
    with grpc.insecure_channel(addr) as channel:  # h2c; grpc.secure_channel(addr, grpc.ssl_channel_credentials()) for TLS
        stub = ai_service_pb2_grpc.AIServiceStub(channel)
        auth = [("authorization", f"Bearer {key}")]

        models: ai_service_pb2.ListModelsResponse = stub.ListModels(ai_service_pb2.ListModelsRequest(), metadata=auth, timeout=30)
        for model in models.models:
            print(f"{model.id} ({model.provider})")

        # Errors raise grpc.RpcError: .code() is grpc.StatusCode.UNAUTHENTICATED, DEADLINE_EXCEEDED, ...
        reply: ai_service_pb2.ChatResponse = stub.Chat(
            ai_service_pb2.ChatRequest(
                model="gpt-4o-mini",
                messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content="hello")],
            ),
            metadata=auth,
            timeout=30,
        )
        print(reply.message.content)

        events = stub.ChatStream(
            ai_service_pb2.ChatStreamRequest(
                model="gpt-4o-mini",
                messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content="tell me a story")],
            ),
            metadata=auth,
            timeout=30,
        )
        event: ai_service_pb2.ChatStreamResponse
        for event in events:
            if event.HasField("delta"):
                print(event.delta.content, end="")
            elif event.HasField("summary"):
                print(f"\n[{chat_pb2.FinishReason.Name(event.summary.finish_reason)}, {event.summary.usage.total_tokens} tokens]")


if __name__ == "__main__":
    run(os.environ["SWITCHBOARD_ADDR"], os.environ["SWITCHBOARD_KEY"])
