"""PII scan: checksums reject near-misses, a planted frame is found completely, Adult is clean, and
no finding is ever printed in full."""

import json

import numpy as np
import pandas as pd
import pytest

from assay import AssayInputError
from assay.privacy import mask_pii, scan_pii
from assay.privacy._pii_patterns import iban_valid, luhn_valid, mask_text

CARDS = ["4111111111111111", "5500005555555559", "371449635398431", "6011111111111117", "3530111333300000"]
IBANS = ["GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606", "NL91ABNA0417164300",
         "BE68539007547034", "CH9300762011623852957"]


@pytest.mark.parametrize("card", CARDS)
def test_luhn_accepts_test_cards_and_rejects_every_single_digit_error(card):
    assert luhn_valid(card)
    for i, digit in enumerate(card):
        for other in "0123456789":
            if other != digit:
                assert not luhn_valid(card[:i] + other + card[i + 1:])
    swaps = [card[:i] + card[i + 1] + card[i] + card[i + 2:] for i in range(len(card) - 1)
             if card[i] != card[i + 1] and {card[i], card[i + 1]} != {"0", "9"}]  # Luhn misses 09 <-> 90 only
    assert not any(luhn_valid(s) for s in swaps)
    assert scan_pii([f"paid with {card}"]).findings["kind"].tolist() == ["card"]
    assert not scan_pii([f"paid with {card[:-1]}{(int(card[-1]) + 1) % 10}"]).found


@pytest.mark.parametrize("iban", IBANS)
def test_iban_mod97_rejects_near_misses(iban):
    assert iban_valid(iban) and iban_valid(" ".join(iban[i:i + 4] for i in range(0, len(iban), 4)))
    for i in range(2, len(iban)):
        if iban[i].isdigit():
            assert not any(iban_valid(iban[:i] + d + iban[i + 1:]) for d in "0123456789" if d != iban[i])
    for i in range(len(iban) - 1):
        if iban[i] != iban[i + 1] and iban[i].isdigit() and iban[i + 1].isdigit():
            assert not iban_valid(iban[:i] + iban[i + 1] + iban[i] + iban[i + 2:])
    assert not iban_valid(iban + "0") and not iban_valid(iban[:-1])  # the country's length
    assert scan_pii(pd.Series([f"IBAN {iban}"])).findings["kind"].tolist() == ["iban"]


PLANTED = {
    "email": ("contact", "write to jane.doe+ml@example.co.uk today"),
    "phone": ("contact", "call (415) 555-2671"),
    "card": ("notes", "card 4111-1111-1111-1111 exp 12/29"),
    "iban": ("notes", "pay to DE89 3704 0044 0532 0130 00"),
    "ipv4": ("log", "from 192.168.10.254 at noon"),
    "ipv6": ("log", "client 2001:db8:85a3::8a2e:370:7334 connected"),
    "ssn": ("notes", "ssn 219-09-9999 on file"),
    "date_of_birth": ("notes", "patient born on 12 March 1984"),
    "secret": ("log", "export AWS_KEY=AKIAIOSFODNN7EXAMPLE"),
}


def _planted(n=120):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"contact": rng.choice(["n/a", "call later", "see file 2020-01-15"], n),
                          "notes": rng.choice(["ok", "paid 120.50 on 2021-03-04", "version 1.2.3"], n),
                          "log": rng.choice(["GET /index.html 200", "retry 3 of 5", "12:30:45 done"], n),
                          "customer_name": [f"Person {i}" for i in range(n)],
                          "birth_date": pd.date_range("1950-01-01", periods=n, freq="37D"),
                          "amount": rng.normal(size=n), "count": rng.integers(0, 10**6, n)})
    where = {}
    for j, (kind, (column, text)) in enumerate(PLANTED.items()):
        rows = [3 + j, 50 + 2 * j, 100 + j]
        frame.loc[rows, column] = text
        where[kind] = (column, rows)
    frame.loc[7, "count"] = 4111111111111111  # a card stored as an int
    return frame, where


def test_planted_frame_found_completely_and_nothing_else():
    frame, where = _planted()
    result = scan_pii(frame)
    table = result.to_frame().set_index(["column", "kind"])
    for kind, (column, rows) in where.items():
        assert table.loc[(column, kind), "n_rows"] == 3, kind
        assert table.loc[(column, kind), "positions"] == rows, kind
    assert table.loc[("customer_name", "name"), "n_rows"] == len(frame)
    assert table.loc[("birth_date", "date_of_birth"), "n_rows"] == len(frame)
    assert table.loc[("count", "card"), "positions"] == [7]
    expected = {(c, k) for k, (c, _) in where.items()} | {("customer_name", "name"), ("birth_date", "date_of_birth"),
                                                          ("count", "card")}
    assert set(table.index) == expected  # no false positive in the filler text
    assert result.not_scanned == {"amount": "float64 values hold none of the kinds looked for"}
    assert scan_pii(frame, kinds=["email"]).findings["kind"].tolist() == ["email"]


def _planted_values(frame):
    values = ["jane.doe+ml@example.co.uk", "(415) 555-2671", "4111-1111-1111-1111", "DE89 3704 0044 0532 0130 00",
              "192.168.10.254", "2001:db8:85a3::8a2e:370:7334", "219-09-9999", "12 March 1984",
              "AKIAIOSFODNN7EXAMPLE", "4111111111111111"]
    return values + list(frame["customer_name"]) + [str(d.date()) for d in frame["birth_date"]]


def test_no_value_is_printed_in_full():
    from assay.report.html import table_html

    frame, _ = _planted()
    result = scan_pii(frame, max_examples=10)
    outputs = [json.dumps(result.to_dict()), result.to_frame().to_string(), repr(result), str(result),
               table_html("PII", result.to_frame()), result.to_frame().to_html()]
    for value in _planted_values(frame):
        for out in outputs:
            assert value not in out, value
    assert "****-****-****-**11" in outputs[1]  # masked, separators kept


def test_no_false_positive_on_adult():
    from assay.datasets import load_adult

    data = load_adult()
    for split in (data.train, data.test):
        assert not scan_pii(split.X).found


def test_free_text_and_masking():
    texts = ["mail me: a.b@c.org", None, "nothing here", "card 4111 1111 1111 1111 and key ghp_" + "x" * 36]
    result = scan_pii(texts)
    assert result.columns == ("text",)
    assert result.to_frame()[["kind", "n_rows", "positions"]].to_dict("list") == {
        "kind": ["email", "card", "secret"], "n_rows": [1, 1, 1], "positions": [[0], [3], [3]]}
    masked = mask_pii(texts)
    assert masked[1] is None and masked[2] == "nothing here"
    assert masked[0] == "mail me: *.*@*.**g" and "**** **** **** **11" in masked[3]
    assert not scan_pii(masked).found
    assert mask_pii("IP 10.1.2.3") == "IP **.*.*.3"
    frame, _ = _planted()
    masked_frame = mask_pii(frame.drop(columns="customer_name"))
    assert masked_frame.shape == (len(frame), frame.shape[1] - 1)
    assert not scan_pii(masked_frame).found
    assert masked_frame["amount"].equals(frame["amount"])
    assert mask_text("12") == "**" and mask_text("4111111111111111") == "**************11"


@pytest.mark.parametrize("call, words", [
    (lambda: scan_pii(5), ["'data'", "scan_pii", "5"]),
    (lambda: scan_pii(["a", 3]), ["'data'", "list"]),
    (lambda: scan_pii(["a"], kinds=["emial"]), ["'kinds'", "'email'"]),
    (lambda: scan_pii(pd.DataFrame({"a": ["x"]}), columns=["b"]), ["'columns'", "'b'"]),
    (lambda: scan_pii(["a"], max_examples=-1), ["'max_examples'"]),
    (lambda: mask_pii({"a": 1}), ["'data'", "mask_pii"]),
])
def test_bad_inputs(call, words):
    with pytest.raises(AssayInputError) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)
