"""Locarno codes: parsing, titles, the picker's lists, filter matching."""
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import locarno
from core.locarno import LocarnoError, normalize_locarno, parse_locarno, parse_locarno_filter

CODE = re.compile(r"\d\d(-\d\d)?")


@pytest.mark.parametrize("text, code", [
    ("2803", "28-03"), ("28-03", "28-03"), ("28.03", "28-03"), ("28/03", "28-03"),
    ("28-3", "28-03"), ("28 - 03", "28-03"), ("LOC (12) Cl. 06-09", "06-09"),
    ("LOC(13) Cl.06-09", "06-09"), ("Cl. 8-05", "08-05"), ("06", "06"), ("6", "06"), (6, "06"),
    (" 0201 ", "02-01"), ("Cl. 07-01, 07-02", "07-01"), ("31-00", "31-00"), ("32", "32-00"),
    ("31", "31-00"),                # (its only code: "31" and "31-00" were two classes)
])
def test_normalize_accepts_common_forms(text, code):
    assert normalize_locarno(text) == code
    assert parse_locarno(text) == code


@pytest.mark.parametrize("text", [
    None, "", "  ", "LOC (12)", "0", "33", "00-01", "02-00", "31-05", "603", "28-100", "abc",
    "D 2731", "٠٦", True, 6.09, [6],
])
def test_normalize_rejects_invalid(text):
    assert normalize_locarno(text) is None


def test_a_filter_is_one_code():
    """A filter of several codes searched the first alone, the others dropped unsaid (an
    ingested field of several keeps its first: that is what the source means)."""
    for text in ("06, 28", "06;28-03", "Cl. 07-01, 07-02"):
        with pytest.raises(LocarnoError, match="one Locarno class or subclass at a time"):
            parse_locarno_filter(text)
    assert parse_locarno_filter(" 6-1 ") == "06-01" and parse_locarno_filter("31") == "31-00"
    assert locarno.matches("31", "31-00") and locarno.matches("31-00", "31")


def test_parse_explains_why():
    with pytest.raises(LocarnoError, match="class 33"):
        parse_locarno("33-01")
    with pytest.raises(LocarnoError, match="not a Locarno code"):
        parse_locarno("chairs")


def test_main_class_and_title():
    assert locarno.main_class("2803") == "28"
    assert locarno.main_class("6") == "06"
    assert locarno.main_class("nonsense") is None
    assert locarno.title("06-01") == "Seats"
    assert locarno.title("LOC (12) Cl. 07-01") == \
        "China, glassware, dishes and other articles of a similar nature"
    assert locarno.title("0901") == \
        "Bottles, flasks, pots, carboys, demijohns, and pressurized containers"
    assert locarno.title("26-04") == "Luminous sources, electrical or not"
    assert locarno.title("06") == "Furnishing"
    assert locarno.title("06-98") == "Furnishing"      # unknown subclass: the class title
    assert locarno.title("06-99") == "Miscellaneous"
    assert locarno.title("40-01") is None
    assert locarno.title(None) is None


def test_picker_lists():
    classes = locarno.main_classes()
    assert list(classes) == [f"{i:02d}" for i in range(1, 33)]
    assert classes["26"] == "Lighting apparatus"
    seats = locarno.subclasses("6")
    assert seats["06-01"] == "Seats" and all(c.startswith("06-") for c in seats)
    assert locarno.subclasses(31) == {"31-00": classes["31"]}
    everything = locarno.subclasses()
    assert list(everything) == sorted(everything)
    for code, text in everything.items():
        assert parse_locarno(code) == code and text
    for cls in classes:
        assert (f"{cls}-00" if cls in ("31", "32") else f"{cls}-99") in everything
    with pytest.raises(LocarnoError):
        locarno.subclasses("99")


def test_matches():
    assert locarno.matches("06-01", "06")
    assert locarno.matches("06-01", "6")
    assert locarno.matches("06-01", "06-01")
    assert locarno.matches("0601", "LOC (13) Cl. 06-01")
    assert not locarno.matches("06-01", "06-02")
    assert not locarno.matches("07-01", "06")
    assert not locarno.matches("06", "06-01")       # only the class is known
    assert locarno.matches("06", "06")
    assert not locarno.matches(None, "06")
    assert not locarno.matches("garbage", "06")
    assert locarno.matches(None, "") and locarno.matches("06-01", None)
    with pytest.raises(LocarnoError):
        locarno.matches("06-01", "chairs")


def test_json_says_what_is_from_memory():
    with open(locarno.LOCARNO_JSON, encoding="utf-8") as f:
        data = json.load(f)
    assert "memory" in data["source"]["subclasses"] and "VERIFY" in data["source"]["subclasses"]
    assert "locarno_main_classes.json" in data["source"]["main_classes"]


@pytest.mark.realdata
def test_main_class_titles_match_shared_table(shared_data):
    with open(shared_data / "locarno_main_classes.json", encoding="utf-8") as f:
        assert locarno.main_classes() == json.load(f)["classes"]


@pytest.mark.realdata
def test_every_real_code_has_a_subclass_title(shared_data):
    codes = set()
    with open(shared_data / "real_dev" / "manifest.jsonl", encoding="utf-8") as f:
        codes |= {json.loads(line)["locarno"] for line in f}
    codes |= {"02-01", "12-16", "09-01", "24-02", "04-99"}     # the Red Book sample
    missing = {c for c in codes if normalize_locarno(c) not in locarno.subclasses()}
    assert not missing


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30),
                 st.from_regex(r"\s*(LOC \(\d+\) Cl\. )?\d{1,4}([-./]\d{1,3})?\s*")))
def test_normalize_never_raises_and_is_idempotent(text):
    code = normalize_locarno(text)
    assert code is None or (CODE.fullmatch(code) and normalize_locarno(code) == code)
