"""A language model behind any OpenAI-compatible chat-completions endpoint, asked about a room.

    options = LlmOptions(endpoint="http://localhost:8080/v1", model="qwen2.5-7b-instruct")
    answer = ask(graph, "where can I sit near the window?", options)
    print(answer.text, answer.cited)          # "... [chair_2] ..." ('chair-red',)

The model reads :meth:`~spatial.grounding.graph.SceneGraph.to_text` (elements named by short
aliases in square brackets) and is asked to cite every object it mentions the same way, so the
answer maps back to element identifiers, boxes and transforms. Any server speaking
``POST {endpoint}/chat/completions`` works: llama.cpp's ``llama-server``, vLLM, Ollama's ``/v1``,
LM Studio or a hosted API. Requests go through :mod:`urllib` (no extra dependency); the
standard proxy variables (``http_proxy``, ``no_proxy``) apply.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from sensors.errors import ConfigError, SpatialError, validated

log = logging.getLogger(__name__)

ENV_ENDPOINT = "SPATIAL_LLM_ENDPOINT"
ENV_MODEL = "SPATIAL_LLM_MODEL"
ENV_API_KEY = "SPATIAL_LLM_API_KEY"
HOW_TO_CONFIGURE = (f"pass --endpoint URL --model NAME or set {ENV_ENDPOINT} / {ENV_MODEL}; any OpenAI-compatible "
                    "server works, e.g. llama.cpp's llama-server, vLLM, Ollama's /v1")
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
SNIPPET_CHARS = 200

SYSTEM_PROMPT = """You answer questions about one room, described below as a scene graph.
How to read the description:
- Every element (object, wall, door, window, floor) is one line, named by a short alias in square brackets,
  e.g. [chair_2].
- Coordinates are in a world frame with z pointing up; all lengths are in metres.
- Sizes are width x depth x height; heights ("from 0.03 to 0.90 high") are measured above the floor.
- Each line lists the element's colours, shape and its relations to other elements (next to, under, between, ...).
- Left, right, front and behind mean as seen from the viewpoint stated in the first line.
- p= is the detector's confidence that the object is of that category.
Answer briefly (one to three sentences), using only what the description says; if it does not say, answer that \
it is unknown. Cite every object you refer to by its bracketed name exactly as written, e.g. [chair_2]."""


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


class LlmOptions(BaseModel):
    """Where and how to ask. ``endpoint``: the server's base URL (``http://localhost:8000/v1``;
    a URL already ending in ``/chat/completions`` is used as is), default ``$SPATIAL_LLM_ENDPOINT``;
    ``model``: the model name the server knows, default ``$SPATIAL_LLM_MODEL``; ``api_key``: sent
    as ``Authorization: Bearer``, default ``$SPATIAL_LLM_API_KEY`` (local servers need none).
    The environment is read when the options are made; :meth:`check` says what is missing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str | None = Field(default_factory=lambda: _env(ENV_ENDPOINT))
    model: str | None = Field(default_factory=lambda: _env(ENV_MODEL))
    api_key: str | None = Field(default_factory=lambda: _env(ENV_API_KEY), repr=False)
    timeout_s: float = Field(60.0, gt=0.0)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=1)

    @classmethod
    def create(cls, **values) -> LlmOptions:
        """Validate ``values`` (``None`` means "use the environment's default"), turning pydantic's
        errors into one :class:`ConfigError`."""
        given = {k: v for k, v in values.items() if v is not None}
        # validated()'s own first parameter is called "model", so the values travel in a partial
        return validated(partial(cls, **given), "language model")

    def check(self) -> LlmOptions:
        """Raise :class:`ConfigError` unless an endpoint (http or https) and a model are given;
        returns the options, so a caller can fail before any slow work."""
        missing = [what for what, value in (("endpoint", self.endpoint), ("model", self.model)) if not value]
        if missing:
            raise ConfigError(f"no language model {' or '.join(missing)} configured: {HOW_TO_CONFIGURE}")
        self.url  # noqa: B018 - validates the scheme and host
        return self

    @property
    def url(self) -> str:
        """The chat-completions URL."""
        if not self.endpoint:
            raise ConfigError(f"no language model endpoint configured: {HOW_TO_CONFIGURE}")
        base = self.endpoint.strip()
        parts = urllib.parse.urlsplit(base)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"language model endpoint '{base}' is not an http:// or https:// URL: give the "
                              "server's base URL, e.g. http://localhost:8000/v1")
        base = base.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"


class LlmError(SpatialError):
    """The language model's server could not be reached or gave no usable answer."""


def chat(options: LlmOptions, messages: list[dict]) -> str:
    """The assistant's reply to ``messages`` (``[{"role": ..., "content": ...}, ...]``) from the
    chat-completions endpoint of ``options``. Raises :class:`ConfigError` for a missing or
    non-http endpoint or model and :class:`LlmError` (naming the URL) when the server is
    unreachable, times out, answers with an error status or with something other than a
    chat completion."""
    options.check()
    url = options.url
    body = json.dumps({"model": options.model, "messages": messages, "temperature": options.temperature,
                       "max_tokens": options.max_tokens}).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if options.api_key:
        headers["Authorization"] = f"Bearer {options.api_key}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    log.debug("POST %s (model %s, %d messages, %d bytes)", url, options.model, len(messages), len(body))
    t0 = time.perf_counter()
    raw = _post(request, url, options.timeout_s)
    log.debug("answer from %s in %.2f s (%d bytes)", url, time.perf_counter() - t0, len(raw))
    return _content(raw, url)


def _post(request: urllib.request.Request, url: str, timeout_s: float) -> bytes:
    """The response body of ``request``; every transport failure becomes an :class:`LlmError`."""
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise LlmError(f"the language model server at {url} answered HTTP {exc.code} {exc.reason}: "
                       f"{_snippet(_error_body(exc))!r}{_status_hint(exc.code)}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise _timeout(url, timeout_s) from None
        raise LlmError(f"cannot reach the language model server at {url} ({reason}): check that it is running "
                       f"and the endpoint is right; {HOW_TO_CONFIGURE}") from None
    except TimeoutError:
        raise _timeout(url, timeout_s) from None
    except (OSError, http.client.HTTPException) as exc:
        raise LlmError(f"the connection to the language model server at {url} failed "
                       f"({type(exc).__name__}: {exc}): check that it is running and speaks HTTP") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise LlmError(f"the language model server at {url} sent more than {MAX_RESPONSE_BYTES >> 20} MB: "
                       "that is not a chat completion; check the endpoint")
    return raw


def _timeout(url: str, timeout_s: float) -> LlmError:
    return LlmError(f"the language model server at {url} did not answer within {timeout_s:g} s: raise the "
                    "timeout (timeout_s, --timeout) or use a smaller model")


def _error_body(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(4096)
    except (OSError, http.client.HTTPException):
        return b""


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return f"; check the API key (--api-key or {ENV_API_KEY})"
    if status == 404:
        return "; check the endpoint (usually the base URL ending in /v1) and the model name"
    return ""


def _snippet(raw: bytes) -> str:
    return raw[:4 * SNIPPET_CHARS].decode("utf-8", errors="replace")[:SNIPPET_CHARS]


def _content(raw: bytes, url: str) -> str:
    """``choices[0].message.content`` of a chat-completions response body."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise LlmError(f"the language model server at {url} did not answer with JSON: {_snippet(raw)!r}; "
                       "check that the endpoint is an OpenAI-compatible /v1 base URL") from None
    try:
        content = doc["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str):
        problem = doc.get("error") if isinstance(doc, dict) else None
        detail = f" (server error: {_snippet(json.dumps(problem).encode())})" if problem else ""
        raise LlmError(f"the answer of the language model server at {url} has no choices[0].message.content"
                       f"{detail}: {_snippet(raw)!r}; check that the endpoint speaks the OpenAI chat-completions API")
    return content


@dataclass(frozen=True)
class Answer:
    """The model's answer ``text``; ``cited``: identifiers of the elements it names in brackets,
    in order of first mention, and ``aliases`` their short names in the same order."""

    text: str
    cited: tuple[str, ...]
    aliases: tuple[str, ...]


_BRACKETED = re.compile(r"\[([^\[\]\n]{1,80})\]")
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)


def citations(text: str, aliases: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(identifiers, aliases) of the elements named in brackets in ``text``, unique, in order of
    first appearance; ``aliases`` maps identifier → alias. Unknown names are ignored and case
    does not matter."""
    by_alias = {a.lower(): ident for ident, a in aliases.items()}
    idents: list[str] = []
    for m in _BRACKETED.finditer(text):
        ident = by_alias.get(m.group(1).strip().lower())
        if ident is not None and ident not in idents:
            idents.append(ident)
    return tuple(idents), tuple(aliases[i] for i in idents)


def messages_for(graph, question: str) -> list[dict]:
    """The system and user messages that ask ``question`` about ``graph``."""
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Room:\n{graph.to_text()}\n\nQuestion: {question.strip()}"}]


def ask(graph, question: str, options: LlmOptions) -> Answer:
    """Ask the language model of ``options`` ``question`` about the room of ``graph`` (a
    :class:`~spatial.grounding.graph.SceneGraph`); the answer's citations are mapped back to
    element identifiers. A reasoning model's ``<think>…</think>`` block is dropped."""
    if not question or not question.strip():
        raise ConfigError("the question is empty: ask something about the room, e.g. 'where can I sit?'")
    options.check()
    text = _THINKING.sub("", chat(options, messages_for(graph, question))).strip()
    if not text:
        raise LlmError(f"the language model at {options.url} returned an empty answer: a reasoning model may "
                       "have spent its budget thinking; raise max_tokens (--max-tokens)")
    cited, names = citations(text, graph.aliases)
    log.debug("answer cites %s", ", ".join(names) or "nothing")
    return Answer(text, cited, names)
