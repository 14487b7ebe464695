"""Text enrichment: figure -> view mapping, the template and title enrichers, the SQLite cache,
the LLM enricher against a stub OpenAI-compatible server, the captioner hook, DeepPatent2, and
the enrich command's errors."""
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from core.store import Store, now_iso
from training.enrich import FigureContext, enrich, load_descriptions, make_enricher
from training.enrich import EnricherUnavailable
from training.enrich._llm import LLMError, LLMEnricher, LLMUnavailable, parse_list
from training.enrich._run import store_cache
from training.enrich._template import head_noun, object_name
from training.views import number_figures, parse_descriptions, view_phrase

DESCRIPTIONS = ["FIG. 1 is a front perspective view of a pregnancy pillow showing my design",
                "FIG. 2 is a front elevational view thereof",
                "FIGS. 3-4 are left and right side elevational views thereof",
                "FIG . 5 is a top plan view thereof ;"]


# -- views --------------------------------------------------------------------------------------
def test_descriptions_parse_to_numbers_and_views():
    by_number = parse_descriptions(DESCRIPTIONS)
    assert sorted(by_number) == [1, 2, 3, 4, 5]
    assert view_phrase(by_number[2]) == "front elevational view"
    assert view_phrase(by_number[5]) == "top plan view"
    assert view_phrase("FIG. 6 shows the design in use") is None


def test_figures_are_numbered_globally_in_sheet_order():
    # pages given out of order: sheet 2 (2 figures), the front page, sheet 1 (3 figures)
    views = number_figures([("drawing_sheet", 2, 2), ("front_page", None, 1),
                            ("drawing_sheet", 1, 3)], DESCRIPTIONS)
    assert [v.number for v in views[2]] == [1, 2, 3]
    assert [v.number for v in views[0]] == [4, 5]
    assert views[1][0].number == 1                      # the representative view
    assert views[0][1].view == "top plan view"


def test_representative_view_named_in_descriptions():
    views = number_figures([("front_view", None, 1), ("drawing_sheet", 1, 2)],
                           ["FIG. 1 is a top view", "FIG. 2 is a perspective view, the "
                                                    "representative view"])
    assert views[0][0].number == 2 and [v.number for v in views[1]] == [1, 2]


def test_views_are_not_given_to_the_wrong_figures():
    """Pages without sheet numbers went last rather than in page order (two sheets swapped
    their views), and a label found as a figure shifted every later figure onto its
    neighbour's view: with a count that does not add up no figure gets a view."""
    descriptions = [f"FIG. {i} is a {v} view thereof" for i, v in
                    enumerate(("perspective", "front", "rear", "top plan"), 1)]
    views = number_figures([("drawing_sheet", None, 2), ("drawing_sheet", None, 2)],
                           descriptions)
    assert [v.view for vs in views for v in vs] == ["perspective view", "front view",
                                                     "rear view", "top plan view"]
    views = number_figures([("front_page", None, 1), ("drawing_sheet", 1, 2),
                            ("drawing_sheet", 2, 3)], descriptions)          # 5 found, 4 told
    assert views[0][0].view == "perspective view"         # the front page: still FIG. 1
    assert [v.number for v in views[2]] == [3, 4, 5]
    assert all(v.view is None and v.description is None for vs in views[1:] for v in vs)


@pytest.mark.parametrize("description, view", [
    ("FIG. 2 is another perspective view thereof", "perspective view"),       # not "other"
    ("FIG. 5 is a Right - side view", "right-side view"),                   # OCR's spacing
    ("FIG. 6 is a cross - sectional view along 6-6", "cross-sectional view"),
    ("FIG. 3 is a left side view thereof, the right side view being a mirror image thereof",
     "left side view"),
    # the view named is the one not shown
    ("FIG. 4 is a front, bottom surface perspective of the game set, the rear, bottom "
     "perspective view being a mirror image", None),
])
def test_a_view_is_read_as_written(description, view):
    assert view_phrase(description) == view


# -- template and title enrichers ---------------------------------------------------------------
def test_object_name_and_head_noun():
    assert object_name(FigureContext("D1", title="SHARK BLANKET A47G")) == "shark blanket"
    assert object_name(FigureContext("D1", description=DESCRIPTIONS[0])) == "pregnancy pillow"
    assert head_noun("stripping tool for leafy vegetables") == "tool"
    assert head_noun("pair of lobster slippers") == "slippers"
    assert head_noun("lunch box") == "lunchbox"
    # a modifier is not the head: its aliases named other objects ("a pistol", "a luminaire")
    assert head_noun("hot air gun body") is None and head_noun("lamp shade") is None


def test_articles_follow_the_sound_and_the_number():
    from training.enrich._template import _article

    assert [_article(n) for n in ("usb hub", "unicorn toy", "hour glass", "umbrella",
                                  "eyeglasses", "house shoes", "pair of slippers", "glass",
                                  "lens cap", "utensil holder", "ukulele", "led lamp",
                                  "hdmi cable", "x-ray viewer")] == \
        ["a", "a", "an", "an", "", "", "a", "a", "a", "a", "a", "an", "an", "an"]


def test_untitled_and_miscellaneous_patents_are_described_as_what_they_are():
    """No title: the article was named by the plural class title ("an optical articles");
    a NN-99 subclass said only "in the class of miscellaneous"."""
    enricher = make_enricher("template")
    untitled = " | ".join(enricher.describe(FigureContext("D1", "fig:1", locarno="16-06"), 20))
    assert "an article of the kind optical articles" in untitled
    assert "an optical articles" not in untitled
    misc = " | ".join(enricher.describe(FigureContext("D2", "fig:1", title="Tool handle",
                                                      locarno="04-99"), 20))
    assert "in the class of miscellaneous brushware" in misc
    assert "class of miscellaneous |" not in misc + " |"
    plural = enricher.describe(FigureContext("D3", "fig:1", title="Eyeglasses",
                                             locarno="16-06"), 20)
    assert "eyeglasses" in plural and not any("an eyeglasses" in t for t in plural)


def test_template_enricher_writes_varied_alias_rich_descriptions():
    ctx = FigureContext("D0906013", "fig:2", title="PREGNANCY PILLOW", locarno="06-09",
                        view="front elevational view")
    texts = make_enricher("template").describe(ctx, 20)
    assert 10 <= len(texts) <= 20 and len(set(texts)) == len(texts)
    joined = " | ".join(texts)
    assert "front elevational view of a pregnancy pillow" in joined
    assert "cushion" in joined                         # alias from resources/aliases.json
    assert "furnishing" in joined                      # Locarno class 06 title
    assert texts == make_enricher("template").describe(ctx, 20)    # deterministic
    assert len(make_enricher("template").describe(ctx, 5)) == 5


def test_template_enricher_without_title_uses_the_class():
    texts = make_enricher("template").describe(FigureContext("D1", locarno="07-01"), 20)
    assert texts and all("tableware" in t.lower() or "china" in t.lower() or "household" in
                         t.lower() or "dish" in t.lower() or "a " in t for t in texts)
    assert make_enricher("template").describe(FigureContext("D1"), 20) == []


def test_title_enricher_is_the_title_alone():
    assert make_enricher("title").describe(FigureContext("D1", title="WATER GUN"), 20) == \
        ["water gun"]


def test_unknown_enricher_is_refused_and_every_listed_name_is_built():
    from training.config import ENRICHER_NAMES

    with pytest.raises(ValueError, match=r"unknown enricher 'gpt' \(template, title, llm"):
        make_enricher("gpt")
    options = {"llm": {"base_url": "http://127.0.0.1:9/v1", "model": "m"},
               "caption": {"model_path": ""}}
    for name in ENRICHER_NAMES:     # the config's names and the factory's agree
        try:
            assert make_enricher(name, options.get(name)).name == name
        except (ValueError, RuntimeError) as exc:
            assert "unknown enricher" not in str(exc)
    with pytest.raises(ValueError, match=r"\[enrich.template\]: unknown option 'bogus'"):
        make_enricher("template", {"bogus": 1})


# -- the SQLite cache ---------------------------------------------------------------------------
def test_enrich_writes_once_and_force_replaces(tmp_path):
    store = Store(tmp_path / "library.sqlite")
    contexts = [FigureContext("D1", title="FAN", locarno="23-04"),
                FigureContext("D1", "fig:1", title="FAN", locarno="23-04", view="top view")]
    first = enrich(store, contexts, [make_enricher("template")], per_figure=6)
    assert first == {"template": 12}
    assert enrich(store, contexts, [make_enricher("template")], per_figure=6) == \
        {"template": 0}
    got = load_descriptions(store)
    assert len(got[("D1", "")]) == 6 and any("top view" in t for t in got[("D1", "fig:1")])
    enrich(store, contexts[:1], [make_enricher("title")], per_figure=6, force=True)
    assert load_descriptions(store, enrichers=["title"]) == {("D1", ""): ["fan"]}
    # other settings (here more descriptions per drawing) replace what they wrote
    assert enrich(store, contexts, [make_enricher("template")], per_figure=3) == \
        {"template": 6}
    got = load_descriptions(store, enrichers=["template"])
    assert len(got[("D1", "")]) == 3 and len(got[("D1", "fig:1")]) == 3
    assert enrich(store, contexts, [make_enricher("template")], per_figure=3) == \
        {"template": 0}
    store.close()


def test_enrich_counts_the_drawings_it_could_not_describe(tmp_path):
    class Failing:
        name = "llm"

        def describe(self, ctx, n):
            raise LLMError("no descriptions in the answer ('Sorry')")

    store = Store(tmp_path / "library.sqlite")
    contexts = [FigureContext("D1", title="FAN"), FigureContext("D2", title="LAMP")]
    failures: dict = {}
    added = enrich(store, contexts, [make_enricher("title"), Failing()], failures=failures)
    assert added == {"title": 2, "llm": 0} and failures == {"llm": 2}
    store.close()


# -- the LLM enricher, against a stub server ----------------------------------------------------
class _Stub(BaseHTTPRequestHandler):
    script: list = []          # status codes (or "cut", "garbage") to answer before succeeding
    seen: list = []
    declines = None            # prompts holding this lower-case text (all: "") get a refusal
    retry_after = "0"
    content = None             # the answer's text, when set (else the two descriptions)

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((time.monotonic(), self.headers.get("Authorization"), body))
        if type(self).script:
            code = type(self).script.pop(0)
            self.close_connection = True
            if code == "garbage":                   # not an HTTP status line
                self.wfile.write(b"GARBAGE\r\n\r\n")
                return
            if isinstance(code, tuple):             # ("redirect", where or None)
                self.send_response(302)
                if code[1] is not None:
                    self.send_header("Location", code[1])
                self.end_headers()
                return
            self.send_response(200 if code == "cut" else code)
            if code == 429:
                self.send_header("Retry-After", type(self).retry_after)
            if code == "cut":                       # the answer ends before its length
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"choices": [')
                return
            self.end_headers()
            return
        answer = json.dumps(["a curved body pillow", "a maternity cushion, side view"])
        declines = type(self).declines
        if declines is not None and declines in body["messages"][1]["content"].lower():
            answer = "Sorry, I can't describe drawings."
        content = type(self).content or f"```json\n{answer}\n```"
        data = json.dumps({"choices": [{"message": {"role": "assistant",
                                                    "content": content}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_server():
    _Stub.script, _Stub.seen, _Stub.declines, _Stub.retry_after = [], [], None, "0"
    _Stub.content = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _ctx():
    return FigureContext("D0906013", "fig:2", title="PREGNANCY PILLOW", locarno="06-09",
                         view="front elevational view")


def test_llm_enricher_retries_caches_and_sends_the_key(stub_server, tmp_path):
    store = Store(tmp_path / "library.sqlite")
    _Stub.script = [500, 429]
    llm = LLMEnricher(stub_server, "local-model", "sk-test", backoff_s=0.01,
                      requests_per_minute=0, cache=store_cache(store))
    assert llm.describe(_ctx(), 20) == ["a curved body pillow",
                                        "a maternity cushion, side view"]
    assert len(_Stub.seen) == 3
    _, auth, body = _Stub.seen[-1]
    assert auth == "Bearer sk-test" and body["model"] == "local-model"
    assert "PREGNANCY PILLOW" in body["messages"][1]["content"]
    assert "06-09" in body["messages"][1]["content"]
    again = LLMEnricher(stub_server, "local-model", backoff_s=0.01, cache=store_cache(store))
    assert again.describe(_ctx(), 1) == ["a curved body pillow"]
    assert len(_Stub.seen) == 3                       # answered from the cache
    assert "sk-test" not in json.dumps(list(store.conn.execute("SELECT * FROM cache")))
    store.close()


def test_llm_enricher_spaces_requests(stub_server):
    llm = LLMEnricher(stub_server, "m", requests_per_minute=600)     # one per 0.1 s
    for i in range(3):
        llm.describe(FigureContext(f"D{i}", title="FAN"), 2)
    times = [t for t, _, _ in _Stub.seen]
    assert times[2] - times[0] >= 0.18


def test_llm_enricher_follows_no_redirect_with_the_key(stub_server):
    """An endpoint redirecting elsewhere got the API key sent on to the other host (as a
    GET): now the redirect stops the enricher, saying where it pointed."""
    other = _serve()
    try:
        elsewhere = f"http://127.0.0.1:{other.server_address[1]}/steal"
        _Stub.script = [("redirect", f"{elsewhere}/chat/completions")]
        # (the base URL to give, not the address the requests went to: /chat/completions
        # is added to it)
        with pytest.raises(LLMUnavailable, match=f"HTTP 302: it sends the requests on to "
                                                 f"{elsewhere}/chat/completions; if that is "
                                                 f"the endpoint, give {elsewhere} as the base"):
            LLMEnricher(stub_server, "m", "sk-secret", backoff_s=0.01).describe(_ctx(), 2)
        assert len(_Stub.seen) == 1 and _Stub.seen[0][1] == "Bearer sk-secret"
        _Stub.script = [("redirect", "/v2/chat/completions")]       # a path on the same host
        host = stub_server.split("/v1")[0]
        with pytest.raises(LLMUnavailable, match=f"on to {host}/v2/chat/completions; "
                                                 f"if that is the endpoint, give {host}/v2 as"):
            LLMEnricher(stub_server, "m", backoff_s=0.01).describe(_ctx(), 2)
        for where, said in ((None, "elsewhere without saying where (a redirect"),
                            (f"{host}/v2/chat/completions?api-version=2024-02-01",
                             "an address with a query, which a base URL cannot give")):
            _Stub.script = [("redirect", where)]
            with pytest.raises(LLMUnavailable, match=re.escape(said)):
                LLMEnricher(stub_server, "m", backoff_s=0.01).describe(_ctx(), 2)
    finally:
        other.shutdown()
        other.server_close()


def test_llm_enricher_gives_up_clearly(stub_server):
    _Stub.script = [400]
    with pytest.raises(LLMError, match="HTTP 400"):
        LLMEnricher(stub_server, "m", backoff_s=0.01).describe(_ctx(), 3)
    assert len(_Stub.seen) == 1                       # a client error is not retried
    _Stub.script = [503, 503, 503]
    with pytest.raises(LLMError, match="gave up after 3"):
        LLMEnricher(stub_server, "m", max_retries=2, backoff_s=0.01).describe(_ctx(), 3)


def test_llm_enricher_caps_a_long_retry_after_and_says_so(stub_server, monkeypatch, caplog):
    """A 429 asking to wait 100000 s waits max_backoff_s (300 s unless set), logged."""
    import logging

    from training.enrich import _llm

    slept = []
    monkeypatch.setattr(_llm.time, "sleep", slept.append)
    _Stub.script, _Stub.retry_after = [429, 429], "100000"
    with caplog.at_level(logging.WARNING, logger="training"):
        assert LLMEnricher(stub_server, "m", max_retries=2, requests_per_minute=0).describe(
            _ctx(), 1) == ["a curved body pillow"]
    assert slept == [300.0, 300.0]
    assert f"{stub_server}: HTTP 429; waiting 300 s before try 2 of 3, it asked for 100000 s" \
        in caplog.text
    _Stub.script = [429]
    LLMEnricher(stub_server, "m", max_backoff_s=0.5, requests_per_minute=0).describe(_ctx(), 1)
    assert slept[-1] == 0.5


@pytest.mark.parametrize("failure, said", [("cut", "IncompleteRead"),
                                           ("garbage", "BadStatusLine")])
def test_llm_enricher_retries_a_cut_off_answer_or_a_bad_status_line(stub_server, failure, said):
    _Stub.script = [failure]
    llm = LLMEnricher(stub_server, "m", max_retries=1, backoff_s=0.01, requests_per_minute=0)
    assert llm.describe(_ctx(), 1) == ["a curved body pillow"] and len(_Stub.seen) == 2
    _Stub.script = [failure, failure]
    with pytest.raises(LLMError, match=f"^{re.escape(stub_server)}: gave up after 2 tries "
                                       f"\\(network error: {said}"):
        llm.describe(FigureContext("D2", title="FAN"), 1)


@pytest.mark.parametrize("option, said", [
    ({"max_retries": "three"}, "enrich.llm.max_retries must be a whole number >= 0, not 'three'"),
    ({"requests_per_minute": -5}, "enrich.llm.requests_per_minute must be a number >= 0, not -5"),
    ({"timeout_s": 0}, "enrich.llm.timeout_s must be a number > 0, not 0"),
    ({"backoff_s": True}, "enrich.llm.backoff_s must be a number >= 0, not True"),
    ({"model": 5}, "enrich.llm.model must be a string, not 5")])
def test_llm_options_are_checked_when_built_and_when_the_config_loads(option, said):
    from training.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=f"^{re.escape(said)}$"):
        make_enricher("llm", {"base_url": "http://127.0.0.1:9/v1", "model": "m", **option})
    tiny = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny_test.toml"
    sets = [f"enrich.llm.{k}={json.dumps(v)}" for k, v in option.items()]
    with pytest.raises(ConfigError, match=f"^{re.escape(said)}$"):
        load_config(tiny, ["enrich.enrichers=['llm']", *sets])


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_llm_enricher_stops_at_once_when_the_endpoint_is_not_there():
    llm = LLMEnricher(_closed_port_url(), "m")          # a retry would wait 1 s first
    start = time.monotonic()
    with pytest.raises(LLMUnavailable, match="cannot connect .*refused"):
        llm.describe(_ctx(), 3)
    assert time.monotonic() - start < 0.9
    with pytest.raises(LLMUnavailable, match="cannot connect"):
        LLMEnricher("http://no-such-host.invalid/v1", "m").describe(_ctx(), 3)


@pytest.mark.parametrize("code", [401, 403, 404])
def test_llm_enricher_stops_when_refused(stub_server, code):
    _Stub.script = [code]
    with pytest.raises(LLMUnavailable, match=f"HTTP {code}"):
        LLMEnricher(stub_server, "m", backoff_s=0.01).describe(_ctx(), 3)
    assert len(_Stub.seen) == 1


def _serve(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_llm_enricher_retries_a_refused_connection_once_it_has_answered():
    """After a first answer a refused connection is retried (a server restarting); refused
    through all the retries of a drawing, the endpoint is gone and the run stops, rather than
    every drawing left waiting out its retries."""
    _Stub.script, _Stub.seen, _Stub.declines, _Stub.retry_after = [], [], None, "0"
    _Stub.content = None
    server = _serve()
    port = server.server_address[1]
    llm = LLMEnricher(f"http://127.0.0.1:{port}/v1", "m", max_retries=3, backoff_s=0.3,
                      requests_per_minute=0)
    assert llm.describe(_ctx(), 1) == ["a curved body pillow"]
    server.shutdown()
    server.server_close()
    back = []                                          # the server restarts
    threading.Timer(0.1, lambda: back.append(_serve(port))).start()
    assert llm.describe(FigureContext("D2", title="FAN"), 1) == ["a curved body pillow"]
    back[0].shutdown()
    back[0].server_close()                             # and is gone for good
    llm.max_retries, llm.backoff_s = 1, 0.01
    with pytest.raises(LLMUnavailable, match=r"cannot connect \(.*refused.*\) after 2 tries"):
        llm.describe(FigureContext("D3", title="LAMP"), 1)


@pytest.mark.parametrize("answer", [
    "I'm sorry, but I cannot help with that request.\nAs an AI model I do not describe "
    "drawings.",
    "Sure! Here are the descriptions:\nLet me know if you need more."])
def test_parse_list_finds_nothing_in_a_refusal_or_remarks_of_several_lines(answer):
    assert parse_list(answer) == []


@pytest.mark.parametrize("answer", [
    'Here are the descriptions:\n["a chair", "a seat"]',
    "Sure! Here are 2 descriptions of the drawing:\n1. a chair\n2. a seat\nLet me know if "
    "you need more.",
    "Here are the descriptions:\na chair\na seat",
    'The drawing [Title: Chair], described:\n["a chair", "a seat"]\nNote: no [numerals].',
    'Option A: ["a chair", "a seat"]\nOption B: ["a stool"]'])
def test_parse_list_leaves_out_what_is_said_around_the_list(answer):
    assert parse_list(answer) == ["a chair", "a seat"]


def test_llm_cache_keeps_what_was_used_and_force_asks_again(stub_server, tmp_path):
    """The cache holds the descriptions taken from an answer, not the answer (a chatty or
    huge one); an answer over MAX_ANSWER_BYTES is refused unread; ``ask_again`` (enrich
    --force) asks the endpoint again instead of re-reading the cache."""
    from training.enrich._llm import MAX_ANSWER_BYTES

    store = Store(tmp_path / "library.sqlite")
    _Stub.content = "Here you go:\n" + json.dumps([f"a chair number {i}" for i in range(40)])
    llm = LLMEnricher(stub_server, "m", count=3, requests_per_minute=0,
                      cache=store_cache(store))
    assert llm.describe(_ctx(), 2) == ["a chair number 0", "a chair number 1"]
    (cached,) = [v for k, v in store.conn.execute("SELECT key, value FROM cache")]
    assert json.loads(cached) == ["a chair number 0", "a chair number 1", "a chair number 2"]
    _Stub.content = json.dumps(["a stool", "a bench", "a pew"])
    assert llm.describe(_ctx(), 2)[0] == "a chair number 0" and len(_Stub.seen) == 1
    llm.ask_again = True
    assert llm.describe(_ctx(), 2) == ["a stool", "a bench"] and len(_Stub.seen) == 2
    _Stub.content = json.dumps(["x" * 1000] * (MAX_ANSWER_BYTES // 1000))
    with pytest.raises(LLMError, match="an answer over 1 MB"):
        llm.describe(FigureContext("D2", title="FAN"), 2)
    assert store.conn.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 1
    store.close()


def test_an_unavailable_enricher_stops_the_run_and_keeps_what_was_written(tmp_path):
    store = Store(tmp_path / "library.sqlite")
    contexts = [FigureContext("D1", title="FAN"), FigureContext("D2", title="CHAIR")]
    with pytest.raises(EnricherUnavailable):
        enrich(store, contexts, [make_enricher("title"), LLMEnricher(_closed_port_url(), "m")])
    assert load_descriptions(store) == {("D1", ""): ["fan"]}
    store.close()


def test_llm_settings_from_environment(monkeypatch, stub_server):
    monkeypatch.setenv("PATENT_EXAMINER_LLM_BASE_URL", stub_server)
    monkeypatch.setenv("PATENT_EXAMINER_LLM_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    llm = make_enricher("llm")
    assert (llm.base_url, llm.model, llm.api_key) == (stub_server, "env-model", "sk-env")
    monkeypatch.delenv("PATENT_EXAMINER_LLM_BASE_URL")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="base_url"):
        make_enricher("llm")


def test_a_list_is_looked_for_at_the_first_brackets_only():
    """An answer of a million characters of "[1 " (under the size cap) took 47 s of CPU per
    drawing: every bracket started a parse. The first 200 brackets are tried."""
    from training.enrich._llm import _first_array

    assert _first_array("[x " * 10 + '["a cup"]') == ["a cup"]
    assert _first_array("[x " * 250 + '["a cup"]') is None
    assert _first_array("[" * 5000) is None         # (RecursionError in json: not a list)


def test_parse_list_accepts_lines_and_bullets():
    assert parse_list("1. a chair\n- a seat\n\n* an armchair") == ["a chair", "a seat",
                                                                   "an armchair"]


@pytest.mark.parametrize("answer", [
    "I'm sorry, but I cannot help with that request.",     # a refusal in one line
    '["a pillow shaped like a',                             # cut off
    '{"text": "a pillow"}', "5", "null", "", None])
def test_parse_list_finds_nothing_in_an_unusable_answer(answer):
    assert parse_list(answer) == []


def test_parse_list_keeps_only_the_strings_of_a_list():
    assert parse_list('[{"text": "obj"}, 5, null, "", "a chair"]') == ["a chair"]


def test_an_unusable_answer_is_not_cached_and_is_asked_again(stub_server, tmp_path,
                                                              monkeypatch):
    store = Store(tmp_path / "library.sqlite")
    llm = LLMEnricher(stub_server, "m", backoff_s=0.01, cache=store_cache(store))
    monkeypatch.setattr(LLMEnricher, "_complete", lambda self, prompt: "Sorry, I can't.")
    with pytest.raises(LLMError, match="no descriptions in the answer"):
        llm.describe(_ctx(), 3)
    assert store.conn.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 0
    monkeypatch.undo()
    assert llm.describe(_ctx(), 3) == ["a curved body pillow",
                                       "a maternity cushion, side view"]
    store.close()


def test_training_stops_when_the_llm_describes_nothing_and_records_what_it_missed(
        stub_server, tmp_path, drawing_manifest, caplog):
    """An LLM that declines every drawing must not leave a run that says it trained on LLM
    texts (it would train on titles); one that declines some is told at the end and counted
    in the model's training record."""
    import logging

    from training.config import load_config
    from training.trainer import train

    tiny = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny_test.toml"
    cfg = load_config(tiny, [f"data.sources=['{drawing_manifest}']",
                             f"data.cache_dir='{tmp_path / 'cache'}'",
                             f"run.out_dir='{tmp_path / 'run'}'", "run.max_steps=1",
                             "enrich.enrichers=['llm']", f"enrich.llm.base_url='{stub_server}'",
                             "enrich.llm.model='m'", "enrich.llm.requests_per_minute=0"])
    _Stub.declines = ""
    with pytest.raises(EnricherUnavailable, match=r"no description could be made by the llm "
                                                  r"enricher \(it failed on all 36 drawings"):
        train(cfg)
    assert not (tmp_path / "run" / "model").exists()
    _Stub.declines = "kettle"           # 3 patents: 3 x (the patent + 2 figures)
    with caplog.at_level(logging.WARNING, logger="training"):
        result = train(cfg)
    record = json.loads((result.export_dir / "model.json").read_text())["training"]
    assert record["data"]["enrich_failures"] == {"llm": {"failed": 9, "of": 36}}
    assert "trained without some descriptions (llm failed on 9 of 36)" in \
        caplog.records[-1].getMessage()


# -- captioner hook -----------------------------------------------------------------------------
def test_caption_hook_is_off_without_a_model_and_uses_a_callable():
    with pytest.raises(ValueError, match="model_path"):
        make_enricher("caption")
    cap = make_enricher("caption", {"captioner": lambda im: f"a drawing {im.shape[0]} px",
                                    "prefix": "caption: "})
    ctx = FigureContext("D1", "fig:1", image=lambda: np.full((64, 64), 255, np.uint8))
    assert cap.describe(ctx, 5) == ["caption: a drawing 64 px"]
    assert cap.describe(FigureContext("D1", "fig:1"), 5) == []


def test_caption_model_must_be_a_folder_on_disk(tmp_path):
    for path in (tmp_path / "missing", tmp_path, "Salesforce/blip-image-captioning-base"):
        with pytest.raises(ValueError, match="not a model folder on disk"):
            make_enricher("caption", {"model_path": str(path)})


# -- the enrich command -------------------------------------------------------------------------
@pytest.fixture
def enrich_library(tmp_path, drawing_manifest, tiny_model):
    from core.ingest import ingest
    from core.library import Library
    from core.models import save_checkpoint

    save_checkpoint(tiny_model, tmp_path / "tiny_ck")
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [drawing_manifest], tiny_model, model_ref=str(tmp_path / "tiny_ck"),
               workers=0)
    return tmp_path / "lib"


@pytest.mark.parametrize("args, code, message", [
    (["--patents", "{tmp}/nofile.txt"], 1,
     "cannot read the patent list {tmp}/nofile.txt: No such file or directory"),
    (["--patents", "{tmp}"], 1, "cannot read the patent list {tmp}: Is a directory"),
    (["--config", "{tmp}/nofile.toml"], 1, "cannot read the config {tmp}/nofile.toml"),
    (["--enricher", "llm"], 2, "the llm enricher needs base_url and model (--base-url"),
    (["--enricher", "llm", "--base-url", "127.0.0.1:8080/v1", "--model", "m"], 2,
     "the llm base_url must start with http:// or https://"),
    (["--enricher", "llm", "--base-url", "https://ann:s3cret@llm.example/v1", "--model", "m"],
     2, "the llm base_url must not carry a login (https://\u2026@llm.example)"),
    (["--enricher", "caption"], 2, "the caption enricher needs model_path"),
    (["--enricher", "caption", "--caption-model", "{tmp}/none"], 2,
     "the captioning model {tmp}/none is not a model folder on disk"),
])
def test_cli_enrich_reports_bad_input_in_one_line(tmp_path, monkeypatch, capsys, args, code,
                                                  message):
    from core.cli import main

    for var in ("PATENT_EXAMINER_LLM_BASE_URL", "OPENAI_BASE_URL", "PATENT_EXAMINER_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    args = [a.format(tmp=tmp_path) for a in args]
    assert main(["enrich", "--library", str(tmp_path / "lib"), *args]) == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("patent-examiner: error: " + message.format(tmp=tmp_path))
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "lib").exists()


@pytest.mark.parametrize("args", [["--per-figure", "-3"], ["--per-figure", "0"],
                                  ["--rpm", "-1"], ["--rpm", "nan"]])
def test_cli_enrich_refuses_counts_below_one(tmp_path, capsys, args):
    """(--rpm 0 is "no limit", as in the config.)"""
    from core.cli import main

    with pytest.raises(SystemExit) as info:
        main(["enrich", "--library", str(tmp_path), *args])
    assert info.value.code == 2
    assert re.search(r"expected (a|0 or a) positive (integer|number), got",
                     capsys.readouterr().err)


def test_cli_enrich_stops_when_the_llm_is_not_there(enrich_library, tmp_path, capsys):
    from core.cli import main

    url = _closed_port_url()
    (tmp_path / "one.txt").write_text("D0900000\n")     # 3 drawings and patents
    start = time.monotonic()
    assert main(["enrich", "--library", str(enrich_library), "--enricher", "llm",
                 "--base-url", url, "--model", "x", "--patents", str(tmp_path / "one.txt")]) == 1
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"patent-examiner: error: {url}: cannot connect (")
    assert "Traceback" not in err


def test_cli_enrich_is_refused_while_another_process_writes_the_library(enrich_library,
                                                                        capsys):
    """enrich is a writer: two at once asked the endpoint twice for every drawing (an LLM's
    answers differ, so each drawing kept both), and a rebuild swapping its new database in
    under it dropped every description written after the swap while it reported them."""
    from core.cli import main
    from core.library import Library

    with Library(enrich_library) as other, other.write_lock():     # an add, rebuild, enrich
        assert main(["enrich", "--library", str(enrich_library)]) == 1
    err = capsys.readouterr().err
    assert "another process is writing to the library" in err and "Traceback" not in err
    with Library(enrich_library) as lib:
        assert lib.store.conn.execute("SELECT COUNT(*) FROM descriptions").fetchone()[0] == 0
    assert main(["enrich", "--library", str(enrich_library)]) == 0


def test_cli_enrich_says_which_listed_patents_are_not_in_the_library(enrich_library,
                                                                     tmp_path, capsys):
    from core.cli import main

    (tmp_path / "typo.txt").write_text("D0900099\n")
    assert main(["enrich", "--library", str(enrich_library),
                 "--patents", str(tmp_path / "typo.txt")]) == 1
    assert "none of the 1 patent(s)" in capsys.readouterr().err
    (tmp_path / "some.txt").write_text("D0900000\nD0900099\n")
    assert main(["enrich", "--library", str(enrich_library),
                 "--patents", str(tmp_path / "some.txt")]) == 0
    captured = capsys.readouterr()
    assert "1 patent(s) of" in captured.err and "D0900099" in captured.err
    assert re.match(r"1 patent\(s\) and [1-9]\d* numbered figure\(s\) looked at; new ",
                    captured.out)


def test_cli_enrich_takes_enrichers_and_count_from_the_config(enrich_library, tmp_path):
    """enrich --config runs the config's [enrich] enrichers, per_figure descriptions each;
    --enricher and --per-figure given on the command line win."""
    from core.cli import main
    from core.library import Library

    cfg = tmp_path / "enrich.toml"
    cfg.write_text("[enrich]\nenrichers = ['title']\nper_figure = 1\n")
    (tmp_path / "one.txt").write_text("D0900000\n")          # the patent and its 2 figures
    common = ["enrich", "--library", str(enrich_library), "--patents", str(tmp_path / "one.txt"),
              "--config", str(cfg), "--json"]
    assert main(common) == 0
    assert main([*common, "--enricher", "template", "--per-figure", "2"]) == 0
    with Library(enrich_library) as lib:
        counts = dict(lib.store.conn.execute(
            "SELECT enricher, COUNT(*) FROM descriptions GROUP BY enricher").fetchall())
    assert counts == {"title": 3, "template": 3 * 2}


def test_cli_enrich_brings_text_search_up_to_date(enrich_library, tmp_path, capsys):
    """New descriptions reach the patents' text vectors in the same command (text and fused
    searches read those), only for the patents whose texts changed."""
    from core.cli import main
    from core.library import Library
    from core.text_index import update_text_vectors

    def vectors():
        with Library(enrich_library) as lib:
            return dict(lib.store.conn.execute("SELECT patent_id, text_sha256 "
                                               "FROM text_vectors"))

    (tmp_path / "one.txt").write_text("D0900000\n")
    before = vectors()
    assert main(["enrich", "--library", str(enrich_library), "--patents",
                 str(tmp_path / "one.txt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["text_vectors_updated"] == 1
    after = vectors()
    assert after["D0900000"] != before["D0900000"]
    assert {p: v for p, v in after.items() if p != "D0900000"} == \
        {p: v for p, v in before.items() if p != "D0900000"}
    with Library(enrich_library) as lib:
        assert update_text_vectors(lib, lib.load_model()) == 0      # nothing left stale


def test_cli_enrich_every_enricher_reaches_the_text_vector_whichever_ran_first(
        enrich_library, tmp_path, stub_server, capsys):
    """An LLM's descriptions written after the template's (which alone fill the patent's
    share) still change its text vector; the same descriptions written again (--force) in
    another order leave it as it is, so logged text searches still reproduce."""
    from core.cli import main
    from core.library import Library

    (tmp_path / "one.txt").write_text("D0900000\n")
    common = ["enrich", "--library", str(enrich_library), "--patents",
              str(tmp_path / "one.txt"), "--json"]

    def vector():
        with Library(enrich_library) as lib:
            return lib.store.conn.execute("SELECT text_sha256 FROM text_vectors WHERE "
                                          "patent_id='D0900000'").fetchone()[0]

    assert main(common) == 0
    capsys.readouterr()
    templated = vector()
    assert main([*common, "--enricher", "llm", "--base-url", stub_server, "--model", "m",
                 "--rpm", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["text_vectors_updated"] == 1
    both = vector()
    assert both != templated
    assert main([*common, "--force"]) == 0          # the template's again, with new row ids
    assert json.loads(capsys.readouterr().out)["text_vectors_updated"] == 0
    assert vector() == both


def test_a_corrected_title_drops_the_descriptions_of_the_old_one(tmp_path, drawing_manifest,
                                                                 tiny_model):
    """A title fixed in the patent's manifest drops the descriptions written from the old
    title (it would otherwise outweigh the new one in the text vector) and says so; the next
    enrich, without --force, describes that patent alone again, from the new title."""
    import shutil

    from core.ingest import ingest
    from core.library import Library
    from core.text_index import stale_texts, update_text_vectors
    from training.enrich import contexts_from_store

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    manifest = src / "manifest.jsonl"
    rows = [json.loads(x) for x in manifest.read_text().splitlines()]
    pid, old = rows[0]["patent_id"], rows[0]["title"]
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [manifest], tiny_model, workers=0)
        enrich(lib.store, contexts_from_store(lib.store), [make_enricher("template")],
               per_figure=3)
        update_text_vectors(lib, tiny_model)
        before = load_descriptions(lib.store)
        assert any(old.lower() in t.lower() for t in before[(pid, "")])
        manifest.write_text("".join(json.dumps({**r, "title": "GARDEN HOSE NOZZLE"}
                                               if r["patent_id"] == pid else r) + "\n"
                                    for r in rows))
        report = ingest(lib, [manifest], tiny_model, workers=0)
        assert report.corrected == [
            f"{pid} from {manifest}: title {old} -> GARDEN HOSE NOZZLE (9 enriched descriptions "
            "written from the old title dropped: `patent-examiner enrich` describes it again)"]
        now = load_descriptions(lib.store)
        assert not any(p == pid for p, _ in now) and len(now) == len(before) - 3
        assert stale_texts(lib, tiny_model.model_id) == []     # the vector has the new title
        again = enrich(lib.store, contexts_from_store(lib.store), [make_enricher("template")],
                       per_figure=3)
        assert again == {"template": 9}
        texts = [t.lower() for (p, _), ts in load_descriptions(lib.store).items() if p == pid
                 for t in ts]
        assert len(texts) == 9 and all(old.lower() not in t for t in texts)
        assert any("garden hose nozzle" in t for t in texts)
        (_, _, used), = stale_texts(lib, tiny_model.model_id)
        assert used[0] == "Garden hose nozzle" and any("garden hose nozzle" in t.lower()
                                                       for t in used[2:])



def test_corrected_figure_descriptions_replace_the_views_the_descriptions_name(
        tmp_path, drawing_manifest, tiny_model):
    """Figure descriptions fixed in the manifest (or filled where the library had none, as a
    library built before DeepPatent2's figure sentences has) replace the stored ones, drop
    the descriptions written from the old views and leave a reopened search unmarked (it
    did not show them)."""
    import shutil

    from core.ingest import ingest
    from core.library import Library
    from training.enrich import contexts_from_store

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    manifest = src / "manifest.jsonl"
    rows = [json.loads(x) for x in manifest.read_text().splitlines()]
    pid, other = rows[0]["patent_id"], rows[2]["patent_id"]
    views = ["FIG. 1 is a perspective view thereof", "FIG. 2 is a bottom plan view thereof"]
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [manifest], tiny_model, workers=0)
        lib.store.conn.execute("UPDATE patents SET figure_descriptions='[]' WHERE patent_id=?",
                               (other,))
        enrich(lib.store, contexts_from_store(lib.store), [make_enricher("template")],
               per_figure=3)

        def views_of(patent):
            return [c.view for c in contexts_from_store(lib.store, [patent]) if c.figure_key]
        assert views_of(pid) == ["front elevational view", "top plan view"]
        assert views_of(other) == [None, None]
        before = now_iso()
        manifest.write_text("".join(json.dumps({**r, "figure_descriptions": views}
                                               if r["patent_id"] == pid else r) + "\n"
                                    for r in rows))
        report = ingest(lib, [manifest], tiny_model, workers=0)
        assert sorted(report.corrected) == sorted([
            f"{pid} from {manifest}: figure_descriptions 2 sentences -> 2 sentences, 2 of them "
            "new (6 enriched "
            "descriptions written from the old figure descriptions dropped: `patent-examiner "
            "enrich` describes it again)",
            f"{other} from {manifest}: figure_descriptions (none) -> 2 sentences (6 enriched "
            "descriptions written from the old figure descriptions dropped: `patent-examiner "
            "enrich` describes it again)"])
        assert json.loads(lib.store.patent(pid)["figure_descriptions"]) == views
        assert json.loads(lib.store.patent(other)["figure_descriptions"]) == \
            rows[2]["figure_descriptions"]
        assert lib.store.corrected_since([pid, other], before) == set()
        again = enrich(lib.store, contexts_from_store(lib.store), [make_enricher("template")],
                       per_figure=3)
        assert again == {"template": 12}
        assert views_of(pid) == ["perspective view", "bottom plan view"]
        assert views_of(other) == ["front elevational view", "top plan view"]
        texts = [t for (p, _), ts in load_descriptions(lib.store).items() if p == pid
                 for t in ts]
        assert not any("front" in t or "top plan" in t for t in texts)
        assert ingest(lib, [manifest], tiny_model, workers=0).corrected == []

def test_cli_enrich_fails_while_drawings_are_left_undescribed(enrich_library, tmp_path,
                                                              stub_server, capsys):
    """Drawings the LLM declined are named in a one-line error (exit 1, so `enrich && train`
    stops) after what was described is kept; the run again asks only for those, and says
    the same."""
    from core.cli import main

    _Stub.declines = "kettle"
    (tmp_path / "two.txt").write_text("D0900000\nD0900003\n")         # a chair, a kettle
    run = ["enrich", "--library", str(enrich_library), "--enricher", "llm", "--base-url",
           stub_server, "--model", "m", "--rpm", "6000", "--patents", str(tmp_path / "two.txt")]
    said = ("patent-examiner: error: drawings left undescribed: llm 3 (the warnings above say "
            "why; run again to retry them, the descriptions made are kept)")
    assert main(run) == 1
    out, err = capsys.readouterr()
    assert "figure): llm 6" in out and err.strip().splitlines()[-1] == said
    shown = [chunk.split("\r")[-1] for chunk in err.split("\n") if "llm D0900003" in chunk]
    assert len(shown) == 3 and all(ln.startswith("llm D0900003") for ln in shown), err
    asked = len(_Stub.seen)
    assert main(run) == 1
    out, err = capsys.readouterr()
    assert "figure): llm 0" in out and err.strip().splitlines()[-1] == said
    assert len(_Stub.seen) - asked == 3


def test_python_m_training_shows_where_with_v(tmp_path, drawing_manifest, capsys):
    """`python -m training` says "-v shows where" of an unexpected error, and takes -v."""
    from training.cli import main

    run = ["--config", str(Path(__file__).resolve().parents[1] / "training" / "configs" /
                           "tiny_test.toml"),
           "--out", str(tmp_path / "run"), "--set", f"data.sources=['{drawing_manifest}']",
           "--set", f"data.cache_dir='{tmp_path / 'cache'}'", "--set", "optim.sampler='random'",
           "--set", "optim.batch_size=64"]            # more than the 24 figures
    assert main(run) == 1
    assert capsys.readouterr().err.strip().endswith("per process (1 processes) (-v shows where)")
    with pytest.raises(ValueError, match="fewer than one batch of 64"):
        main([*run, "-v"])
    from core.cli import main as patent_examiner     # -v before or after the subcommand

    for args in (["-v", "train", *run], ["train", *run, "-v"]):
        with pytest.raises(ValueError, match="fewer than one batch of 64"):
            patent_examiner(args)


def test_python_m_training_reports_os_errors_and_ctrl_c_in_one_line(tmp_path, drawing_manifest,
                                                                    capsys, monkeypatch):
    """--out naming a file is a one-line error; Ctrl-C says "interrupted" (exit 130), from
    the first torchrun process only, as `patent-examiner train` does."""
    import training.trainer
    from training.cli import main

    (tmp_path / "afile").write_text("")
    run = ["--config", str(Path(__file__).resolve().parents[1] / "training" / "configs" /
                           "tiny_test.toml"),
           "--out", str(tmp_path / "afile"), "--set", f"data.sources=['{drawing_manifest}']",
           "--set", f"data.cache_dir='{tmp_path / 'cache'}'"]
    assert main(run) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        f"patent-examiner: error: {tmp_path / 'afile'}: is a file, not a folder (--out names " \
        "the run's folder)"

    def interrupted(cfg):
        raise KeyboardInterrupt
    monkeypatch.setattr(training.trainer, "train", interrupted)
    assert main(run) == 130
    assert capsys.readouterr().err.strip() == "patent-examiner: interrupted"
    monkeypatch.setenv("RANK", "1")
    assert main(run) == 130 and capsys.readouterr().err == ""


def test_cli_train_and_enrich_describe_themselves(capsys):
    from core.cli import main

    for command, words in (("train", "Train the drawing encoder"),
                           ("enrich", "Write enriched text descriptions")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert words in capsys.readouterr().out


# -- DeepPatent2 metadata -----------------------------------------------------------------------
def test_deeppatent2_records_become_jobs(tmp_path):
    from PIL import Image

    from training.deeppatent2 import scan_deeppatent2

    (tmp_path / "images").mkdir()
    Image.new("L", (50, 50), 255).save(tmp_path / "images" / "USD0871717-20200107-D00002.png")
    Image.new("L", (20, 20), 255).save(tmp_path / "images" / "USD0871717-20200107-D00002_1.png")
    records = [
        {"patentID": "USD0871717-20200107", "Figure_file": "USD0871717-20200107-D00002.png",
         "subfigure_file": "USD0871717-20200107-D00002_1.png", "object": "chair",
         "aspect": "front view", "captions": ["FIG. 3 is a front view"], "figid": "3",
         "classification_locarno": "0601"},
        {"patentID": "USD0871717-20200107", "Figure_file": "USD0871717-20200107-D00002.png",
         "object": "chair", "aspect": "top view", "bbox": [0, 0, 25, 25]},
        {"patentID": "USD0999999-20200107", "Figure_file": "missing.png"},
    ]
    path = tmp_path / "design2020.json"
    path.write_text(json.dumps(records))
    errors = []
    jobs = list(scan_deeppatent2(path, None, errors))
    assert len(jobs) == 2 and len(errors) == 1
    a, b = jobs
    assert a.patent_id == "D0871717" and a.single and a.figure_key == "fig:3"
    assert a.meta["locarno"] == "06-01" and a.meta["view"] == "front view"
    assert a.meta["object_name"] == "chair" and a.meta["captions"] == ["FIG. 3 is a front view"]
    assert not b.single and b.box == (0, 0, 25, 25) and b.figure_key is None


def test_enrich_names_the_patents_it_has_nothing_to_describe_from(tmp_path, drawing_manifest,
                                                                  tiny_model, capsys):
    """A drawing added from an image folder or a DeepPatent2 sheet may come without title,
    class or figure descriptions (or with descriptions that name no article): enrich wrote
    nothing for it and said nothing. An image folder's file name is no title ("an
    img_0042.png" was written)."""
    import shutil

    from core.cli import main
    from core.ingest import ingest
    from core.library import Library

    src = tmp_path / "src"
    shutil.copytree(drawing_manifest.parent, src)
    row = json.loads((src / "manifest.jsonl").read_text().splitlines()[0])
    shutil.copy(src / row["image"], src / "bare.png")
    (src / "bare.jsonl").write_text(
        json.dumps({"image": "bare.png", "patent_id": "D0955555", "grant_date": "2020-01-07"})
        + "\n" + json.dumps({"image": "vague.png", "patent_id": "D0955556",
                             "grant_date": "2020-01-07", "figure_descriptions": [
                                 "FIG. 1 is a front perspective view thereof"]}) + "\n")
    shutil.copy(src / row["image"], src / "vague.png")
    (src / "folder").mkdir()
    from PIL import Image, PngImagePlugin

    note = PngImagePlugin.PngInfo()           # (other bytes: a copy would be the same drawing)
    note.add_text("note", "a photo of the sheet")
    Image.open(src / row["image"]).save(src / "folder" / "IMG_0042.png", pnginfo=note)
    from core.models import save_checkpoint

    save_checkpoint(tiny_model, tmp_path / "tiny_ck")
    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, [src / "manifest.jsonl", src / "bare.jsonl", src / "folder"], tiny_model,
               model_ref=str(tmp_path / "tiny_ck"), workers=0)
        image = lib.store.conn.execute("SELECT patent_id FROM patents WHERE title = ?",
                                       ["IMG_0042.png"]).fetchone()[0]
    assert main(["enrich", "--library", str(tmp_path / "lib"), "--json"]) == 0
    out = capsys.readouterr()
    bare = sorted(["D0955555", "D0955556", image])
    assert json.loads(out.out)["nothing_to_describe"] == bare
    assert main(["enrich", "--library", str(tmp_path / "lib")]) == 0
    assert "no description of 3 patent(s): they have no title or Locarno class, and no " \
           f"figure description names the article (first: {', '.join(bare)})" in \
           capsys.readouterr().err
