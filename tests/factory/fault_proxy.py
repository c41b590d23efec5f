"""Test helpers for HTTP teachers: a fault-injecting proxy and a small fake OpenAI-compatible server, both on
127.0.0.1 in background threads.

    with FakeTeacher() as teacher, FaultProxy(teacher.url, plan=["429", "drop", "503"]) as proxy:
        engine = OpenAIEngine(teacher.model, HTTPSettings(base_url=proxy.base_url), journal_dir)

`FaultProxy` forwards every request to `upstream` (a URL like http://127.0.0.1:PORT) and, for chat requests,
applies one action per request taken from `plan` (a list consumed in arrival order, then "pass"; or a function of
the request number and body):

    pass        forward, return the answer
    429         answer 429 with `Retry-After: retry_after` (not forwarded)
    500 502 503 504 401 404 400   answer that status (not forwarded)
    drop        close the connection without an answer (not forwarded)
    drop_after  forward (the upstream does the work), then close without an answer: a paid answer lost
    reset       forward, then reset the TCP connection (RST)
    slow        forward, then wait `slow_s` before answering (the client's timeout should fire first)
    malformed   forward, then answer 200 with the JSON body cut in half

`proxy.log` records every chat request (user message, n, sample range header, action, forwarded or not), so a
test can count what reached the teacher per prompt.

`FakeTeacher` answers chat completions deterministically: sample i of a prompt (i from the engine's
`X-Factory-Sample-Range` header plus the choice's position) is `fake_text(user message, i)`. It can return fewer
choices than asked (`max_choices`), DeepSeek-style `reasoning_content`, a key check, per-request delay, a hostile
answer (`mangle`: rewrite the answer, send raw bytes, or a body that never ends), and it records the largest number
of requests it served at once.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

Plan = Sequence[str] | Callable[[int, dict], str] | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Background:
    """A ThreadingHTTPServer on a free loopback port, served from a daemon thread; a context manager."""

    handler: type[BaseHTTPRequestHandler]

    def start(self) -> "_Background":
        handler = type("Handler", (self.handler,), {"owner": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: Any

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def reply_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(data).encode(), headers)

    def endless(self) -> None:
        """A 200 whose body never ends (a huge Content-Length, written until the client goes away)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(10**12))
        self.end_headers()
        chunk = b'{"choices": [' + b" " * (1 << 20)
        try:
            while True:
                self.wfile.write(chunk)
                chunk = b" " * (1 << 20)
        except OSError:
            self.close_connection = True

    def hang_up(self, reset: bool = False) -> None:
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


# ---------------------------------------------------------------- the proxy

@dataclass
class ProxyRecord:
    number: int
    user: str
    n: int
    sample_range: str
    action: str
    forwarded: bool
    status: int | None = None


class _ProxyHandler(_Handler):
    def do_GET(self) -> None:
        self.forward(None)

    def do_POST(self) -> None:
        self.forward(self.read_body())

    def forward(self, body: bytes | None) -> None:
        proxy: FaultProxy = self.owner
        chat = self.path.endswith("/chat/completions") and body is not None
        action, record = ("pass", None)
        if chat:
            action, record = proxy._admit(body, self.headers.get("X-Factory-Sample-Range", ""))
        if action in ("429", "500", "502", "503", "504", "401", "404", "400"):
            headers = {"Retry-After": str(proxy.retry_after)} if action == "429" else {}
            self.reply_json(int(action), {"error": {"message": f"injected {action}", "type": "injected"}}, headers)
            return
        if action == "drop":
            self.hang_up()
            return
        record and setattr(record, "forwarded", True)
        status, headers, answer = proxy._upstream(self.command, self.path, body, self.headers)
        if record:
            record.status = status
        if action == "drop_after":
            self.hang_up()
        elif action == "reset":
            self.hang_up(reset=True)
        elif action == "malformed":
            self.reply(200, answer[: len(answer) // 2])
        else:
            if action == "slow":
                time.sleep(proxy.slow_s)
            try:
                self.reply(status, answer, {k: v for k, v in headers if k.lower() in ("retry-after",)})
            except OSError:
                self.close_connection = True  # the client gave up waiting


class FaultProxy(_Background):
    handler = _ProxyHandler

    def __init__(self, upstream: str, plan: Plan = None, *, retry_after: float = 1, slow_s: float = 3.0) -> None:
        parsed = urlparse(upstream)
        self.upstream_host, self.upstream_port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.retry_after, self.slow_s = retry_after, slow_s
        self.log: list[ProxyRecord] = []
        self._lock = threading.Lock()
        self.set_plan(plan)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def set_plan(self, plan: Plan) -> None:
        with self._lock:
            self._plan = plan if callable(plan) else list(plan or [])

    def reset_log(self) -> None:
        with self._lock:
            self.log = []

    def forwarded(self) -> list[ProxyRecord]:
        """Chat requests that reached the upstream (paid for)."""
        with self._lock:
            return [r for r in self.log if r.forwarded]

    def _admit(self, body: bytes, sample_range: str) -> tuple[str, ProxyRecord]:
        request = json.loads(body)
        user = next((m["content"] for m in request.get("messages", []) if m.get("role") == "user"), "")
        with self._lock:
            number = len(self.log)
            if callable(self._plan):
                action = self._plan(number, request)
            else:
                action = self._plan.pop(0) if self._plan else "pass"
            record = ProxyRecord(number, user, int(request.get("n") or 1), sample_range, action, False)
            self.log.append(record)
        return action, record

    def _upstream(self, method: str, path: str, body: bytes | None, headers: Any) -> tuple[int, list, bytes]:
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=600)
        try:
            forward = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
            connection.request(method, path, body=body, headers=forward)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


# ---------------------------------------------------------------- the fake teacher

def fake_text(user: str, index: int) -> str:
    """What FakeTeacher answers as sample `index` of the prompt whose user turn is `user`."""
    tag = hashlib.sha256(user.encode()).hexdigest()[:8]
    return f"<think>\nprompt {tag}, sample {index}: thinking\n</think>\n\nThe answer is \\boxed{{{index}}}."


class _TeacherHandler(_Handler):
    def authorised(self) -> bool:
        teacher: FakeTeacher = self.owner
        if teacher.api_key is None or self.headers.get("Authorization") == f"Bearer {teacher.api_key}":
            return True
        self.reply_json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        return False

    def do_GET(self) -> None:
        if not self.authorised():
            return
        teacher: FakeTeacher = self.owner
        if self.path.rstrip("/").endswith("/v1/models"):
            self.reply_json(200, {"object": "list", "data": [{"id": teacher.model, "object": "model"}]})
        else:
            self.reply_json(404, {"error": {"message": "no such route"}})

    def do_POST(self) -> None:
        body = self.read_body()
        if not self.authorised():
            return
        teacher: FakeTeacher = self.owner
        request = json.loads(body)
        if request.get("model") != teacher.model:
            self.reply_json(404, {"error": {"message": f"The model `{request.get('model')}` does not exist."}})
            return
        with teacher._lock:
            teacher.active += 1
            teacher.max_active = max(teacher.max_active, teacher.active)
            teacher.requests += 1
        try:
            time.sleep(teacher.delay_s)
            answer = teacher.answer(request, self.headers.get("X-Factory-Sample-Range", "0-1"))
            if teacher.mangle is not None:
                answer = teacher.mangle(answer, request, dict(self.headers))
            if answer == "endless":
                self.endless()
            elif isinstance(answer, bytes):
                self.reply(200, answer)
            else:
                self.reply_json(200, answer)
        finally:
            with teacher._lock:
                teacher.active -= 1


class FakeTeacher(_Background):
    handler = _TeacherHandler

    def __init__(self, *, model: str = "fake-r1", max_choices: int | None = None, reasoning_content: bool = False,
                 api_key: str | None = None, delay_s: float = 0.0, length_every: int = 0,
                 mangle: Callable[[dict, dict, dict], Any] | None = None) -> None:
        self.model, self.max_choices, self.reasoning_content = model, max_choices, reasoning_content
        self.mangle = mangle  # (answer, request, request headers) -> an answer dict, raw bytes, or "endless"
        self.api_key, self.delay_s, self.length_every = api_key, delay_s, length_every
        self.active = self.max_active = self.requests = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def answer(self, request: dict, sample_range: str) -> dict:
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        start = int(sample_range.split("-")[0])
        count = int(request.get("n") or 1)
        if self.max_choices is not None:
            count = min(count, self.max_choices)
        choices = []
        for k in range(count):
            text = fake_text(user, start + k)
            finish = "length" if self.length_every and (start + k) % self.length_every == self.length_every - 1 \
                else "stop"
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if self.reasoning_content:
                reasoning, answer = text.removeprefix("<think>\n").split("\n</think>\n\n")
                message = {"role": "assistant", "reasoning_content": reasoning, "content": answer}
            choices.append({"index": k, "message": message, "finish_reason": finish})
        completion_tokens = sum(len(fake_text(user, start + k).split()) for k in range(count))
        return {"id": "fake", "object": "chat.completion", "model": self.model, "choices": choices,
                "usage": {"prompt_tokens": len(user.split()), "completion_tokens": completion_tokens,
                          "total_tokens": len(user.split()) + completion_tokens}}
