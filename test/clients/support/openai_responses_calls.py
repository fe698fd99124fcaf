"""Calls the gateway's Responses API (/v1/responses) through the official
OpenAI Python SDK, with its default options: for each model in MODELS, a
unary call, a `responses.stream()`, a tool loop (the client holding the
conversation, then previous_response_id) and an image; then errors, and a
stored response another key cannot read. Prints what the SDK handed back as
one JSON object, for test/clients/openai-responses-python.test.ts to compare
with what the fake vendors said."""

import json
import os
import sys

import openai

base_url = f"http://{os.environ['SWITCHBOARD_ADDR']}/v1"
client = openai.OpenAI(base_url=base_url, api_key=os.environ["SWITCHBOARD_KEY"])
other = openai.OpenAI(base_url=base_url, api_key=os.environ["OTHER_KEY"])
PNG = os.environ["PNG"]
LOOKUP = {
    "type": "function",
    "name": "lookup",
    "description": "Looks a thing up.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "strict": False,
}


def text_of(response):
    return "".join(part.text for item in response.output if item.type == "message" for part in item.content if part.type == "output_text")


def error_of(call):
    try:
        call()
        return None
    except openai.APIStatusError as err:
        return {"class": type(err).__name__, "status": err.status_code, "code": err.code, "param": getattr(err, "param", None)}


def calls(model):
    out = {}
    out["unary"] = client.responses.create(model=model, input="hello from python").output_text

    pieces = []
    with client.responses.stream(model=model, input="stream from python") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                pieces.append(event.delta)
        out["stream_final"] = text_of(stream.get_final_response())
    out["stream_pieces"] = pieces

    deltas = []
    with client.responses.stream(model=model, input="weather in Lima", tools=[LOOKUP]) as stream:
        for event in stream:
            if event.type == "response.function_call_arguments.delta":
                deltas.append(event.delta)
        first = stream.get_final_response()
    call = next(item for item in first.output if item.type == "function_call")
    out["tool"] = {"id": call.call_id, "name": call.name, "arguments": call.arguments, "deltas": "".join(deltas)}
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "cloudy"}
    held = [{"role": "user", "content": "weather in Lima"}] + [item.model_dump(exclude_none=True) for item in first.output] + [result]
    out["after_tool"] = client.responses.create(model=model, tools=[LOOKUP], input=held).output_text
    out["after_tool_continued"] = client.responses.create(model=model, tools=[LOOKUP], previous_response_id=first.id, input=[result]).output_text

    image = [{"role": "user", "content": [{"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"}, {"type": "input_text", "text": "what is this"}]}]
    try:
        out["image"] = client.responses.create(model=model, input=image).output_text
    except openai.APIStatusError as err:
        out["image"] = {"status": err.status_code, "code": err.code}
    return out


mine = client.responses.create(model="gpt-4o-mini", input="a private note")
json.dump(
    {
        "models": {model: calls(model) for model in json.loads(os.environ["MODELS"])},
        "built_in_tool": error_of(lambda: client.responses.create(model="gpt-4o-mini", input="x", tools=[{"type": "web_search"}])),
        "owner_reads": client.responses.retrieve(mine.id).output_text,
        "other_reads": error_of(lambda: other.responses.retrieve(mine.id)),
        "other_continues": error_of(lambda: other.responses.create(model="gpt-4o-mini", previous_response_id=mine.id, input="tell me")),
    },
    sys.stdout,
)
