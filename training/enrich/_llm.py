"""Descriptions written by an LLM behind any OpenAI-compatible chat endpoint.

Works with OpenAI, vLLM, llama.cpp's server, Ollama's /v1 and the like: POST
``{base_url}/chat/completions``. Settings come from the config (``base_url``, ``model``,
``api_key``) or the environment (``PATENT_EXAMINER_LLM_BASE_URL`` / ``OPENAI_BASE_URL``,
``PATENT_EXAMINER_LLM_MODEL``, ``PATENT_EXAMINER_LLM_API_KEY`` / ``OPENAI_API_KEY``).
Requests are spaced to at most ``requests_per_minute`` (0: no limit), retried with
exponential backoff on 429, 5xx and network errors (a cut-off answer too), waiting at most
``max_backoff_s`` between tries whatever a Retry-After asks (a long wait is logged), and
answers are cached by (model, prompt) through ``cache`` (the store's ``cache`` table), so a
re-run costs nothing. The key is never cached or logged.
An endpoint that is not there (connection refused or an unknown host before it ever
answered, or through all the retries of a drawing after it did) or refuses us (401, 403,
404) raises ``LLMUnavailable``, which stops the run.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

from ..config import ConfigError
from ._base import EnricherUnavailable, FigureContext
from ._template import object_name

log = logging.getLogger(__name__)

SYSTEM = ("You write short, varied, concrete descriptions of design-patent drawings for "
          "training an image retrieval model. Use common names, synonyms and the kind of "
          "article; describe only what such a drawing shows. Answer with a JSON array of "
          "strings and nothing else.")


class LLMError(RuntimeError):
    """The endpoint failed for good (after retries) or answered something unusable."""


class LLMUnavailable(LLMError, EnricherUnavailable):
    """The endpoint cannot serve this run at all (not there, wrong URL, bad key)."""


_FATAL_HTTP = (401, 403, 404)
#: Options that say how to reach the endpoint, not what it writes.
CONNECTION = ("api_key", "requests_per_minute", "timeout_s", "max_retries", "backoff_s",
              "max_backoff_s")
#: Numeric options: (whole number, lowest allowed, lowest excluded).
_NUMBERS = {"requests_per_minute": (False, 0, False), "count": (True, 1, False),
            "max_retries": (True, 0, False), "backoff_s": (False, 0, False),
            "max_backoff_s": (False, 0, False), "timeout_s": (False, 0, True),
            "temperature": (False, 0, False)}
_LONG_WAIT_S = 10.0
#: An answer larger than this is not a list of descriptions (and is not read further).
MAX_ANSWER_BYTES = 1 << 20


def check_options(options: dict) -> None:
    """A ConfigError naming the first [enrich.llm] option of the wrong type or range
    (checked when the config loads and when the enricher is built, not per drawing)."""
    unknown = sorted(set(options) - {"base_url", "model", "api_key", *_NUMBERS})
    if unknown:
        raise ConfigError(f"unknown option(s) in [enrich.llm]: {', '.join(unknown)} (known: "
                          f"base_url, model, api_key, {', '.join(_NUMBERS)})")
    for key, value in options.items():
        if key in ("base_url", "model", "api_key"):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"enrich.llm.{key} must be a string, not {value!r}")
        elif key in _NUMBERS:
            whole, low, strict = _NUMBERS[key]
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
                value == value and value not in (float("inf"), float("-inf")) and \
                (not whole or float(value).is_integer()) and \
                (value > low if strict else value >= low)
            if not ok:
                kind = "a whole number" if whole else "a number"
                raise ConfigError(f"enrich.llm.{key} must be {kind} {'>' if strict else '>='} "
                                  f"{low}, not {value!r}")


class LLMEnricher:
    name = "llm"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 requests_per_minute: float = 60.0, count: int = 20, max_retries: int = 4,
                 backoff_s: float = 1.0, max_backoff_s: float = 300.0, timeout_s: float = 60.0,
                 temperature: float = 0.7,
                 cache: tuple[Callable[[str], str | None], Callable[[str, str], None]] | None
                 = None):
        check_options({"base_url": base_url, "model": model, "api_key": api_key,
                       "requests_per_minute": requests_per_minute, "count": count,
                       "max_retries": max_retries, "backoff_s": backoff_s,
                       "max_backoff_s": max_backoff_s, "timeout_s": timeout_s,
                       "temperature": temperature})
        if not base_url or not model:
            raise ValueError("the llm enricher needs base_url and model (--base-url and "
                             "--model, config [enrich.llm], or PATENT_EXAMINER_LLM_BASE_URL / "
                             "PATENT_EXAMINER_LLM_MODEL)")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the llm base_url must start with http:// or https://, not "
                             f"{base_url!r}")
        where = urllib.parse.urlsplit(base_url)
        if where.username is not None or where.password is not None:
            raise ValueError(f"the llm base_url must not carry a login ({where.scheme}://"
                             f"\u2026@{where.hostname}): give the key as api_key or "
                             "PATENT_EXAMINER_LLM_API_KEY, which are never written or shown")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.interval = 60.0 / requests_per_minute if requests_per_minute > 0 else 0.0
        self.max_retries = int(max_retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.count = count
        self.cache = cache
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._answered = False      # after a first answer a refused connection is retried
        self.ask_again = False      # True: a cached answer is not reused (enrich --force)

    @property
    def settings(self) -> dict:
        """What its descriptions depend on (a change re-describes what it wrote)."""
        return {"base_url": self.base_url, "model": self.model,
                "temperature": self.temperature, "count": self.count}

    @classmethod
    def from_config(cls, options: dict) -> "LLMEnricher":
        env = os.environ.get
        opts = dict(options)
        base = opts.pop("base_url", None) or env("PATENT_EXAMINER_LLM_BASE_URL") or \
            env("OPENAI_BASE_URL")
        model = opts.pop("model", None) or env("PATENT_EXAMINER_LLM_MODEL")
        key = opts.pop("api_key", None) or env("PATENT_EXAMINER_LLM_API_KEY") or \
            env("OPENAI_API_KEY")
        return cls(base, model, key, **opts)

    # -- prompt ------------------------------------------------------------------------------
    @staticmethod
    def prompt(ctx: FigureContext, n: int) -> str:
        from core.locarno import title as locarno_title

        facts = [f"Title: {ctx.title or object_name(ctx) or 'unknown'}"]
        if ctx.object_name:
            facts.append(f"Object: {ctx.object_name}")
        if ctx.view or ctx.description:
            facts.append(f"View: {ctx.view or ctx.description}")
        if ctx.locarno:
            facts.append(f"Locarno class {ctx.locarno}: {locarno_title(ctx.locarno) or ''}")
        facts += [f"Caption: {c}" for c in ctx.captions]
        return (f"Write {n} different descriptions (5 to 25 words each) of this design-patent "
                f"drawing. Vary the wording; include aliases and the broader kind of object.\n"
                + "\n".join(facts))

    # -- api ---------------------------------------------------------------------------------
    def describe(self, ctx: FigureContext, n: int) -> list[str]:
        n_asked = max(n, self.count)
        prompt = self.prompt(ctx, n_asked)
        key = "llm:" + hashlib.sha256(json.dumps(
            [self.base_url, self.model, SYSTEM, prompt]).encode()).hexdigest()
        answer = self.cache[0](key) if self.cache and not self.ask_again else None
        found = parse_list(answer)
        if not found:           # not asked yet, or an unusable answer was cached before
            answer = self._complete(prompt)
            found = parse_list(answer)[:n_asked]
            if not found:       # a refusal, broken JSON, an empty answer: asked again next run
                raise LLMError(f"{self.base_url}: no descriptions in the answer "
                               f"({str(answer)[:60]!r})")
            if self.cache:      # what was used, not whatever else the answer held
                self.cache[1](key, json.dumps(found))
        return found[:n]

    def _complete(self, prompt: str) -> str:
        body = json.dumps({"model": self.model, "temperature": self.temperature,
                           "messages": [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": prompt}]}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            self._wait_turn()
            req = urllib.request.Request(f"{self.base_url}/chat/completions", data=body,
                                         headers=headers, method="POST")
            try:
                with _OPENER.open(req, timeout=self.timeout_s) as resp:
                    raw = resp.read(MAX_ANSWER_BYTES + 1)
                    if len(raw) > MAX_ANSWER_BYTES:
                        raise LLMError(f"{self.base_url}: an answer over "
                                       f"{MAX_ANSWER_BYTES // 2 ** 20} MB (not a list of "
                                       "descriptions)")
                    if resp.length:     # less came than its Content-Length said
                        raise http.client.IncompleteRead(raw, resp.length)
                data = json.loads(raw.decode("utf-8"))
                self._answered = True
                return data["choices"][0]["message"]["content"]
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if 300 <= exc.code < 400:
                    where = exc.headers.get("Location") if exc.headers else None
                    advice = _redirect_advice(urllib.parse.urljoin(req.full_url, where)
                                              if where else None)
                    raise LLMUnavailable(f"{self.base_url}: {last}: {advice} (a redirect is "
                                         "not followed: the API key must not go elsewhere)"
                                         ) from None
                if exc.code in _FATAL_HTTP:
                    raise LLMUnavailable(f"{self.base_url}: {last} {exc.reason} (check the "
                                         "base URL, the model and the API key)") from None
                if exc.code != 429 and exc.code < 500:
                    raise LLMError(f"{self.base_url}: {last} {exc.reason}") from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                delay = float(retry_after) if retry_after and retry_after.isdigit() else None
            except (urllib.error.URLError, TimeoutError, ConnectionError,
                    http.client.HTTPException) as exc:
                # HTTPException: an answer cut off (IncompleteRead) or a bad status line
                reason = getattr(exc, "reason", exc)
                gone = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
                if gone and (not self._answered or attempt == self.max_retries):
                    # not there, or no longer: every drawing left would wait out its retries
                    raise LLMUnavailable(f"{self.base_url}: cannot connect ({reason})" + (
                        f" after {attempt + 1} tries" if self._answered else "")) from None
                name = type(reason).__name__
                if isinstance(reason, http.client.HTTPException) and \
                        not str(reason).startswith(name):
                    reason = f"{name}: {reason}"
                last, delay = f"network error: {reason}", None
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise LLMError(f"{self.base_url}: not a chat completion answer ({exc})") \
                    from None
            if attempt < self.max_retries:
                self._back_off(attempt, delay, last)
        raise LLMError(f"{self.base_url}: gave up after {self.max_retries + 1} tries ({last})")

    def _back_off(self, attempt: int, asked: float | None, why: str) -> None:
        """Sleep before the next try: what a Retry-After asked, else exponential backoff,
        never more than ``max_backoff_s``; a long wait is logged, not silent."""
        wait = min(asked if asked is not None else self.backoff_s * 2 ** attempt,
                   self.max_backoff_s)
        if wait >= _LONG_WAIT_S:
            told = f", it asked for {asked:.0f} s" if asked is not None and asked > wait else ""
            log.warning("%s: %s; waiting %.0f s before try %d of %d%s", self.base_url, why,
                        wait, attempt + 2, self.max_retries + 1, told)
        time.sleep(wait)

    def _wait_turn(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._next_at - now
            self._next_at = max(now, self._next_at) + self.interval
        if wait > 0:
            time.sleep(wait)


def _redirect_advice(where: str | None) -> str:
    """Where a redirect sends the requests, and the base URL to give if that is the endpoint
    (``/chat/completions`` is added to a base URL, before any query such as Azure's)."""
    if where is None:
        return "it sends the requests elsewhere without saying where"
    parts = urllib.parse.urlsplit(where)
    path = parts.path.rstrip("/").removesuffix("/chat/completions")
    if parts.query or parts.fragment:
        return (f"it sends the requests on to {where}, an address with a query, which a base "
                "URL cannot give (/chat/completions is added to its end): ask your provider for "
                "the endpoint's base URL")
    return (f"it sends the requests on to {where}; if that is the endpoint, give "
            f"{urllib.parse.urlunsplit(parts._replace(path=path))} as the base URL")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are answered as errors: urllib would send the API key to wherever the
    endpoint points, turning the POST into a GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _first_array(text: str, tries: int = 200) -> list[str] | None:
    """The strings of the first JSON array of strings in ``text``, looked for at its first
    ``tries`` brackets (each failed parse costs the length read so far: an answer of
    thousands of brackets took minutes)."""
    decoder, start = json.JSONDecoder(), text.find("[")
    while start >= 0 and tries > 0:
        tries -= 1
        try:
            items, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):    # (brackets nested thousands deep)
            items = None
        if isinstance(items, list):
            strings = [" ".join(s.split()) for s in items if isinstance(s, str) and s.strip()]
            if strings:
                return strings
        start = text.find("[", start + 1)
    return None


_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


def parse_list(answer: str | None) -> list[str]:
    """Descriptions from a JSON array of strings (possibly in a code fence or after a line
    of preamble), or from a list of two or more lines (its bulleted or numbered items, when
    it has some, so "Sure! Here are...:" around them is left out). A refusal, a remark in
    one line, a cut-off or other JSON value, or no answer gives none."""
    if not isinstance(answer, str):
        return []
    text = answer.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        text = fence.group(1).strip()
    found = _first_array(text)                      # whatever was said around it
    if found is not None:
        return found
    if text.startswith(("[", "{")) or _REFUSAL.search(text):
        return []                   # JSON cut off, broken or not a list; a refusal
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if any(_BULLET.match(ln) for ln in lines):
        lines = [ln for ln in lines if _BULLET.match(ln)]
    else:
        lines = [ln for ln in lines if not (ln.endswith(":") or _REMARK.match(ln))]
    lines = [" ".join(_BULLET.sub("", ln).strip().strip('"').split()) for ln in lines]
    lines = [ln for ln in lines if ln]
    return lines if len(lines) >= 2 else []


_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
#: An answer that declines; no description of a drawing says this.
_REFUSAL = re.compile(r"\b(?:I(?:'m| am) (?:sorry|unable|not able)|I (?:cannot|can't|can not|"
                      r"won't)|as an AI)\b", re.IGNORECASE)
#: A line said around the list rather than in it.
_REMARK = re.compile(r"^(?:sure|certainly|of course|here (?:are|is)|i hope|let me know|note\b|"
                     r"okay|ok\b)", re.IGNORECASE)
