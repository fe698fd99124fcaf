"""The Python example, and what a caller sees from the gateway, checked against a live gateway.

test/clients/python-client.test.ts (part of `npm test`) starts one in front of a
fake vendor and passes its address and key in the environment.
"""

import os
from collections.abc import Iterator

import grpc
import pytest
from switchboard.v1 import ai_service_pb2, ai_service_pb2_grpc, chat_pb2, models_pb2

from example import run


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: these tests need a live gateway; run `npx vitest run test/clients/python-client.test.ts`, which starts one")
    return value


@pytest.fixture
def stub() -> Iterator[ai_service_pb2_grpc.AIServiceStub]:
    with grpc.insecure_channel(env("SWITCHBOARD_ADDR")) as channel:
        yield ai_service_pb2_grpc.AIServiceStub(channel)


def auth(key: str | None = None) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {key or env('SWITCHBOARD_KEY')}")]


def user(text: str) -> list[chat_pb2.Message]:
    return [chat_pb2.Message(role=chat_pb2.ROLE_USER, content=text)]


def chat(stub: ai_service_pb2_grpc.AIServiceStub, model: str, text: str, key: str | None = None, timeout: float = 10) -> ai_service_pb2.ChatResponse:
    reply: ai_service_pb2.ChatResponse = stub.Chat(ai_service_pb2.ChatRequest(model=model, messages=user(text)), metadata=auth(key), timeout=timeout)
    return reply


def chat_stream(stub: ai_service_pb2_grpc.AIServiceStub, model: str, text: str, key: str | None = None) -> list[ai_service_pb2.ChatStreamResponse]:
    return list(stub.ChatStream(ai_service_pb2.ChatStreamRequest(model=model, messages=user(text)), metadata=auth(key), timeout=10))


def test_run(capsys: pytest.CaptureFixture[str]) -> None:
    run(env("SWITCHBOARD_ADDR"), env("SWITCHBOARD_KEY"))
    out = capsys.readouterr().out
    assert "gpt-4o-mini (openai)\n" in out, out
    assert "\nEcho: hello\n" in out, out
    assert "\nEcho: tell me a story\n[FINISH_REASON_STOP, " in out, out


def test_list_models(stub: ai_service_pb2_grpc.AIServiceStub) -> None:
    response: ai_service_pb2.ListModelsResponse = stub.ListModels(ai_service_pb2.ListModelsRequest(), metadata=auth(), timeout=10)
    by_id = {model.id: model for model in response.models}
    assert "gpt-4o-mini" in by_id, list(by_id)
    assert by_id["gpt-4o-mini"].provider == "openai"
    assert models_pb2.CAPABILITY_CHAT in by_id["gpt-4o-mini"].capabilities


def test_chat(stub: ai_service_pb2_grpc.AIServiceStub) -> None:
    response = chat(stub, "gpt-4o-mini", "hello from Python")
    assert response.message.content == "Echo: hello from Python"
    assert response.message.role == chat_pb2.ROLE_ASSISTANT
    assert response.finish_reason == chat_pb2.FINISH_REASON_STOP
    assert (response.provider, response.model) == ("openai", "gpt-4o-mini")
    assert response.request_id
    assert response.usage.prompt_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_chat_stream(stub: ai_service_pb2_grpc.AIServiceStub) -> None:
    events = chat_stream(stub, "gpt-4o-mini", "stream to Python")
    assert "".join(event.delta.content for event in events if event.HasField("delta")) == "Echo: stream to Python"
    summaries = [event.summary for event in events if event.HasField("summary")]
    assert len(summaries) == 1 and events[-1].HasField("summary")
    assert summaries[0].finish_reason == chat_pb2.FINISH_REASON_STOP
    assert summaries[0].usage.completion_tokens > 0
    assert summaries[0].provider == "openai"


def test_unauthenticated(stub: ai_service_pb2_grpc.AIServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as listed:
        stub.ListModels(ai_service_pb2.ListModelsRequest(), metadata=auth("sk-not-a-gateway-key"), timeout=10)
    assert listed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as unary:
        chat(stub, "gpt-4o-mini", "hello", key="sk-not-a-gateway-key")
    assert unary.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as streamed:
        chat_stream(stub, "gpt-4o-mini", "hello", key="sk-not-a-gateway-key")
    assert streamed.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_deadline_exceeded(stub: ai_service_pb2_grpc.AIServiceStub) -> None:
    # The harness routes this model to a vendor that never answers.
    with pytest.raises(grpc.RpcError) as error:
        chat(stub, env("SWITCHBOARD_HANGING_MODEL"), "are you there?", timeout=0.5)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
