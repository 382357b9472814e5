"""`python -m llama_cpp.server --model_alias NAME --port PORT ...` of the stand-in (see the package docstring)."""

import ctypes
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import llama_cpp.llama_chat_format as chat_format
from llama_cpp import Llama

args = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
alias, port = args["--model_alias"], int(args["--port"])
crash_at = {int(n) for n in os.environ.get("STANDIN_CRASH_AT", "0").split(",")}
counter = Path(os.environ["STANDIN_COUNT"])


class Handler(BaseHTTPRequestHandler):
    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json({"data": [{"id": alias}]})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.startswith("/extras/tokenize/count"):
            self._json({"count": len(json.loads(body)["input"].split()) + 1})
            return
        done = int(counter.read_text() or 0) if counter.exists() else 0
        counter.write_text(str(done + 1))
        if done in crash_at:  # this generation is one that dies
            print("ggml_backend_amx_mul_mat: about to fault", flush=True)
            ctypes.string_at(0)  # a real invalid read: SIGSEGV now, before this thread can answer
        bodies = os.environ.get("STANDIN_BODIES")
        if bodies:
            with open(bodies, "ab") as f:
                f.write(body + b"\n")
        request = json.loads(body)
        words = " ".join(str(m.get("content")) for m in request.get("messages", [])).split()
        Llama().generate(list(range(len(words))))  # what the child's wrapper counts as the prompt's tokens
        reply = "def f(x):\n    return x\n"
        chunk = {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": alias,
            "choices": [{"index": 0, "delta": {"content": reply}, "finish_reason": None}],
        }
        end = {
            "id": "c",
            "object": "chat.completion.chunk",
            "model": alias,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in chat_format._convert_text_completion_chunks_to_chat(iter((chunk, end))):
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


print(f"stand-in llama.cpp server on {port}", flush=True)
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
