"""``spatial.grounding.models.llm`` and ``spatial ask`` against a real local HTTP server that
speaks the OpenAI chat-completions API (and, on request, misbehaves)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grounding_room
import numpy as np
import pytest
from typer.testing import CliRunner

from sensors.errors import ConfigError, SpatialError
from sensors.types import CameraIntrinsics, Trajectory
from spatial.cli import app
from spatial.grounding import build_graph
from spatial.grounding.models.llm import Answer, LlmError, LlmOptions, ask, chat, citations
from spatial.scene import Scene
from spatial.scene.geometry import PointCloud

RUN = CliRunner()
QUESTION = "Where can I sit next to the table?"


class FakeLlm:
    """What the handler answers (``mode``) and what it was sent (``requests``)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.body = b""
        self.requests: list[dict] = []

    def reply(self, request: dict) -> tuple[int, bytes]:
        if self.mode == "status500":
            return 500, b"internal error: the model crashed " + b"x" * 400
        if self.mode == "malformed":
            return 200, b'{"choices": [{"message": {"content": "unterminated'
        if self.mode == "nochoices":
            return 200, json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
        if self.mode == "error":
            return 200, json.dumps({"error": {"message": "model 'm' not loaded"}}).encode()
        if self.mode == "raw":
            return 200, self.body
        if self.mode == "raw502":
            return 502, self.body
        if self.mode == "slow":
            time.sleep(1.0)
        user = request["messages"][-1]["content"]
        chair = re.search(r"\[(chair_\d+)\]", user)
        text = (f"Sit on [{chair.group(1) if chair else 'none'}] next to [table_1]; [nonexistent_9] does not exist, "
                f"and [{chair.group(1) if chair else 'none'}] is the closest.")
        if self.mode == "think":
            text = "<think>\nThe user asks about [sofa_1]? No, a chair.\n</think>\n" + text
        if self.mode == "empty":
            text = "<think>thinking until the budget runs out</think>"
        doc = {"id": "chatcmpl-1", "object": "chat.completion", "model": request.get("model"),
               "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
        return 200, json.dumps(doc).encode()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # http.server's naming
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fake: FakeLlm = self.server.fake  # type: ignore[attr-defined]
        request = json.loads(raw)
        fake.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": request})
        status, body = fake.reply(request)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # http.server's signature
        pass


@pytest.fixture(scope="module")
def server():
    """A chat-completions server on 127.0.0.1 (an ephemeral port) for the module's tests."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.fake = FakeLlm()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def fake(server) -> FakeLlm:
    """The server's behaviour, reset for each test."""
    f = server.fake
    f.mode, f.body, f.requests = "ok", b"", []
    return f


@pytest.fixture
def endpoint(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No configuration from the caller's environment, and no proxy between us and 127.0.0.1."""
    for name in ("SPATIAL_LLM_ENDPOINT", "SPATIAL_LLM_MODEL", "SPATIAL_LLM_API_KEY", "http_proxy", "HTTP_PROXY",
                 "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _thin_cloud() -> tuple:
    room, cloud = grounding_room.room_and_cloud()
    return room, PointCloud(cloud.points[::4], colors=cloud.colors[::4])  # same answers, a fraction of the time


@pytest.fixture(scope="module")
def graph():
    room, cloud = _thin_cloud()
    return build_graph(room, geometry=cloud)


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    room, cloud = _thin_cloud()
    camera = CameraIntrinsics(500, 500, 320, 240, 640, 480)
    scene = Scene(Trajectory([0], np.eye(4)[None]), camera, cloud=cloud, room=room)
    return scene.save(tmp_path_factory.mktemp("llm") / "scene")


def _options(endpoint: str, **kw) -> LlmOptions:
    return LlmOptions(endpoint=endpoint, model="test-model", timeout_s=kw.pop("timeout_s", 5.0), **kw)


# -- the request and the answer -----------------------------------------------------------------
def test_ask_sends_the_graph_and_question_and_maps_citations(graph, fake, endpoint):
    answer = ask(graph, QUESTION, _options(endpoint, api_key="sk-test", max_tokens=64))
    assert isinstance(answer, Answer)
    assert answer.text.startswith("Sit on [chair_1] next to [table_1]")
    assert answer.cited == ("chair-blue", "table-1")  # first appearance order, unique, [nonexistent_9] ignored
    assert answer.aliases == ("chair_1", "table_1")
    (req,) = fake.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["headers"]["Content-Type"] == "application/json"
    body = req["body"]
    assert body["model"] == "test-model" and body["temperature"] == 0.0 and body["max_tokens"] == 64
    system, user = body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    for phrase in ("z pointing up", "metres", "width x depth x height", "above the floor", "viewpoint", "[chair_2]"):
        assert phrase in system["content"]
    assert graph.to_text() in user["content"] and user["content"].rstrip().endswith(QUESTION)
    assert user["content"].index(graph.to_text()) < user["content"].index(QUESTION)


def test_no_auth_header_without_a_key_and_chat_returns_the_content(fake, endpoint):
    text = chat(_options(endpoint), [{"role": "user", "content": "hello [chair_7]"}])
    assert text.startswith("Sit on [chair_7]")
    assert "Authorization" not in fake.requests[0]["headers"]


def test_a_reasoning_models_thinking_is_dropped(graph, fake, endpoint):
    fake.mode = "think"
    answer = ask(graph, QUESTION, _options(endpoint))
    assert "<think>" not in answer.text and "sofa" not in answer.text
    assert answer.cited == ("chair-blue", "table-1")
    fake.mode = "empty"
    with pytest.raises(LlmError, match="empty answer.*max-tokens"):
        ask(graph, QUESTION, _options(endpoint))


def test_citations_ignore_unknown_names_and_case():
    aliases = {"chair-red": "chair_2", "bin-1": "object_1", "wall-n": "wall_2"}
    text = "Use [Chair_2], not [chair_9]; [object_1] is under [ window_1 ], see [chair_2] and [wall_2]. [] [x]"
    assert citations(text, aliases) == (("chair-red", "bin-1", "wall-n"), ("chair_2", "object_1", "wall_2"))
    assert citations("nothing cited", aliases) == ((), ())


def test_endpoint_url_forms():
    assert _options("http://h:8000/v1/").url == "http://h:8000/v1/chat/completions"
    assert _options("https://api.example.com/v1/chat/completions").url == "https://api.example.com/v1/chat/completions"


# -- configuration --------------------------------------------------------------------------------
def test_environment_configures_the_options(graph, fake, endpoint, monkeypatch):
    monkeypatch.setenv("SPATIAL_LLM_ENDPOINT", endpoint)
    monkeypatch.setenv("SPATIAL_LLM_MODEL", "env-model")
    monkeypatch.setenv("SPATIAL_LLM_API_KEY", "env-key")
    options = LlmOptions()
    assert (options.endpoint, options.model, options.api_key) == (endpoint, "env-model", "env-key")
    assert "env-key" not in repr(options)
    assert LlmOptions.create(model="flag-model", endpoint=None).model == "flag-model"  # a flag beats the environment
    ask(graph, QUESTION, options)
    req = fake.requests[0]
    assert req["body"]["model"] == "env-model" and req["headers"]["Authorization"] == "Bearer env-key"


def test_missing_endpoint_or_model_says_how_to_configure(graph, endpoint):
    for options in (LlmOptions(), LlmOptions(model="m"), LlmOptions(endpoint=endpoint)):
        with pytest.raises(ConfigError) as exc:
            ask(graph, QUESTION, options)
        message = str(exc.value)
        assert "--endpoint URL --model NAME" in message and "SPATIAL_LLM_ENDPOINT / SPATIAL_LLM_MODEL" in message
        assert "llama-server" in message and "Ollama" in message
    with pytest.raises(ConfigError, match="model"):
        LlmOptions(endpoint=endpoint).check()
    with pytest.raises(ConfigError, match="invalid language model config: timeout_s"):
        LlmOptions.create(endpoint=endpoint, model="m", timeout_s=0)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/v1", "localhost:8000/v1", "file:///etc/passwd", "http://"])
def test_non_http_endpoints_are_refused(graph, url):
    with pytest.raises(ConfigError, match="not an http:// or https:// URL"):
        ask(graph, QUESTION, _options(url))


def test_empty_question(graph, endpoint):
    for q in ("", "   \n"):
        with pytest.raises(ConfigError, match="question is empty"):
            ask(graph, q, _options(endpoint))


# -- a server that is not there, or misbehaves -------------------------------------------------------
def test_closed_port(graph):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(LlmError, match="cannot reach") as exc:
        ask(graph, QUESTION, _options(url))
    assert f"{url}/chat/completions" in str(exc.value)


def test_timeout(fake, endpoint):
    fake.mode = "slow"
    with pytest.raises(LlmError, match=r"did not answer within 0\.2 s"):
        chat(_options(endpoint, timeout_s=0.2), [{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("mode, message", [
    ("status500", "HTTP 500 Internal Server Error: 'internal error: the model crashed xxx"),
    ("malformed", "did not answer with JSON"),
    ("nochoices", "has no choices\\[0\\].message.content"),
    ("error", "server error: .*not loaded"),
])
def test_server_errors_name_the_url(graph, fake, endpoint, mode, message):
    fake.mode = mode
    with pytest.raises(LlmError, match=message) as exc:
        ask(graph, QUESTION, _options(endpoint))
    assert f"{endpoint}/chat/completions" in str(exc.value)
    if mode == "status500":  # the body is cut to 200 characters
        assert "x" * 200 not in str(exc.value) and "x" * 150 in str(exc.value)


@pytest.mark.parametrize("seed, mode", [(0, "raw"), (1, "raw502")])
def test_fuzz_random_bytes_from_the_server(fake, endpoint, seed, mode):
    rng = np.random.default_rng(seed)
    fake.mode, fake.body = mode, rng.bytes(int(rng.integers(1, 4000)))
    with pytest.raises(SpatialError) as exc:
        chat(_options(endpoint), [{"role": "user", "content": "hi"}])
    assert isinstance(exc.value, LlmError) and f"{endpoint}/chat/completions" in str(exc.value)


# -- spatial ask ------------------------------------------------------------------------------------
def test_cli_prints_the_answer_and_a_table_of_cited_objects(scene_dir, fake, endpoint):
    r = RUN.invoke(app, ["ask", str(scene_dir), QUESTION, "--endpoint", endpoint, "--model", "cli-model",
                         "--api-key", "k", "--max-tokens", "100"])
    assert r.exit_code == 0, r.output
    assert "Sit on [chair_1] next to [table_1]" in r.stdout  # printed as is, not as rich markup
    assert "cited" in r.stdout and "table_1" in r.stdout and "1.00x1.00x0.75" in r.stdout
    assert "chair-blue" not in r.stdout and "answer from cli-model" in r.stdout
    req = fake.requests[0]
    assert req["body"]["model"] == "cli-model" and req["body"]["max_tokens"] == 100
    assert req["headers"]["Authorization"] == "Bearer k" and QUESTION in req["body"]["messages"][1]["content"]


def test_cli_json_configured_from_the_environment(scene_dir, fake, endpoint, monkeypatch):
    monkeypatch.setenv("SPATIAL_LLM_ENDPOINT", endpoint)
    monkeypatch.setenv("SPATIAL_LLM_MODEL", "env-model")
    r = RUN.invoke(app, ["ask", str(scene_dir), QUESTION, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["question"] == QUESTION and doc["answer"].startswith("Sit on [chair_1]")
    assert [c["identifier"] for c in doc["cited"]] == ["chair-blue", "table-1"]
    chair = doc["cited"][0]
    assert chair["alias"] == "chair_1" and chair["category"] == "chair" and chair["dimensions_m"] == [0.5, 0.5, 0.9]
    transform = np.array(chair["transform"])
    assert transform.shape == (4, 4) and np.allclose(chair["center_m"], transform[:3, 3])
    assert fake.requests[0]["body"]["model"] == "env-model"


def test_cli_errors_exit_2(scene_dir, fake, endpoint):
    r = RUN.invoke(app, ["ask", str(scene_dir), QUESTION])  # fails before the graph is built
    assert r.exit_code == 2 and "--endpoint URL --model NAME" in r.output
    r = RUN.invoke(app, ["ask", str(scene_dir), "  ", "--endpoint", endpoint, "--model", "m"])
    assert r.exit_code == 2 and "question is empty" in r.output
    r = RUN.invoke(app, ["ask", str(scene_dir), QUESTION, "--endpoint", "ftp://x/v1", "--model", "m"])
    assert r.exit_code == 2 and "http://" in r.output
    assert not fake.requests
    fake.mode = "status500"
    r = RUN.invoke(app, ["ask", str(scene_dir), QUESTION, "--endpoint", endpoint, "--model", "m"])
    assert r.exit_code == 2 and "HTTP 500" in r.output and "Traceback" not in r.output
