"""Calls the gateway's Messages surface (/v1/messages) through the official
Anthropic Python SDK, with its default options, as Anthropic code does with
only the base URL and key changed: for each model in MODELS, a unary call, a
`messages.stream()`, a tool loop, an image and errors. Prints what the SDK
handed back as one JSON object, for test/clients/anthropic-python.test.ts to
compare with what the fake vendors said."""

import json
import os
import sys

import anthropic

client = anthropic.Anthropic(base_url=f"http://{os.environ['SWITCHBOARD_ADDR']}", api_key=os.environ["SWITCHBOARD_KEY"])
PNG = os.environ["PNG"]
LOOKUP = {
    "name": "lookup",
    "description": "Looks a thing up.",
    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
}


def error_of(call):
    try:
        call()
        return None
    except anthropic.APIStatusError as err:
        return {"class": type(err).__name__, "status": err.status_code, "type": err.body["error"]["type"]}


def calls(model):
    out = {}
    answer = client.messages.create(model=model, max_tokens=256, messages=[{"role": "user", "content": "hello from python"}])
    out["unary"] = answer.content[0].text
    out["unary_stop"] = answer.stop_reason

    with client.messages.stream(model=model, max_tokens=256, messages=[{"role": "user", "content": "stream from python"}]) as stream:
        out["stream_pieces"] = list(stream.text_stream)
        out["stream_final"] = stream.get_final_message().content[0].text

    messages = [{"role": "user", "content": "weather in Lima"}]
    partial = []
    with client.messages.stream(model=model, max_tokens=256, tools=[LOOKUP], messages=messages) as stream:
        for event in stream:
            if event.type == "input_json":
                partial.append(event.partial_json)
        final = stream.get_final_message()
    call = next(block for block in final.content if block.type == "tool_use")
    out["tool"] = {"id": call.id, "name": call.name, "input": call.input, "partial": "".join(partial), "stop": final.stop_reason}
    messages += [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in final.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "cloudy"}]},
    ]
    out["after_tool"] = client.messages.create(model=model, max_tokens=256, tools=[LOOKUP], messages=messages).content[0].text

    image = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}, {"type": "text", "text": "what is this"}]
    try:
        out["image"] = client.messages.create(model=model, max_tokens=256, messages=[{"role": "user", "content": image}]).content[0].text
    except anthropic.APIStatusError as err:
        out["image"] = {"status": err.status_code, "type": err.body["error"]["type"], "message": err.body["error"]["message"]}
    return out


stranger = anthropic.Anthropic(base_url=f"http://{os.environ['SWITCHBOARD_ADDR']}", api_key="sk-not-a-gateway-key")
json.dump(
    {
        "models": {model: calls(model) for model in json.loads(os.environ["MODELS"])},
        "unauthenticated": error_of(lambda: stranger.messages.create(model="gpt-4o-mini", max_tokens=16, messages=[{"role": "user", "content": "x"}])),
        "missing": error_of(lambda: client.messages.create(model="no-such-model", max_tokens=16, messages=[{"role": "user", "content": "x"}])),
    },
    sys.stdout,
)
