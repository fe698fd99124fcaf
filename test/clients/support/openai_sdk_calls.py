"""Calls every REST endpoint the README lists through the official OpenAI
Python SDK, with its default options (embeddings as base64, retries on), the
way existing OpenAI code does with only the base URL and key changed, and
prints what the SDK handed back as one JSON object for the test to compare
with what the vendor sent (test/clients/openai-python.test.ts)."""

import json
import os
import sys

import openai

client = openai.OpenAI(base_url=f"http://{os.environ['SWITCHBOARD_ADDR']}/v1", api_key=os.environ["SWITCHBOARD_KEY"])
messages = [{"role": "user", "content": os.environ["QUESTION"]}]
inputs = json.loads(os.environ["EMBEDDING_INPUTS"])

answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
embeddings = client.embeddings.create(model="text-embedding-3-small", input=inputs)
model = client.models.retrieve("gpt-4o-mini")
try:
    client.models.retrieve("no-such-model")
    missing = None
except openai.NotFoundError as err:
    missing = {"status": err.status_code, "code": err.code, "request_id": err.request_id}

json.dump(
    {
        "chat": answer.choices[0].message.content,
        "chat_request_id": answer._request_id,
        "stream": streamed,
        "embeddings": [item.embedding for item in embeddings.data],
        "models": [m.id for m in client.models.list()],
        "model": {"id": model.id, "object": model.object, "owned_by": model.owned_by},
        "missing": missing,
    },
    sys.stdout,
)
