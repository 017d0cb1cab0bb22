"""'Who used my data' in a real browser (Chromium): the browser itself verifies every entry
with WebCrypto — and says so when the proofs it receives were tampered with in flight — and
the staff console's ledger page renders.  Served from the demo world's usage history."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Screenshots
from tests.e2e.ledger_pages.live import LedgerServer, page_opener, serve_demo
from tsunagu.ledger import merkle

pytestmark = pytest.mark.browser

TEXT = {
    "ja": {
        "email": "メールアドレス",
        "password": "パスワード",
        "sign_in": "サインイン",
        "nav": "データの利用履歴",
        "verified": "✓ 検証済み",
        "failed": "✗ 検証失敗",
        "ledger": "台帳",
    },
    "en": {
        "email": "E-mail address",
        "password": "Password",
        "sign_in": "Sign in",
        "nav": "Who used my data",
        "verified": "✓ verified",
        "failed": "✗ failed",
        "ledger": "Ledger",
    },
}
LOCALES = {"ja": "ja-JP", "en": "en-US"}
PROOFS = "**/portal/ledger/proofs.json"


@pytest.fixture(scope="session")
def ledger_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerServer]:
    """The demo world with its usage history, served on 127.0.0.1."""
    yield from serve_demo(tmp_path_factory)


@pytest.fixture
def open_ledger_page(browser: Any, ledger_server: LedgerServer) -> Iterator[Any]:
    """``open_ledger_page(locale)``: a page of the live demo in a fresh browser context."""
    yield from page_opener(browser, ledger_server)


def _sign_in(page: Any, path: str, lang: str, email: str, password: str) -> None:
    text = TEXT[lang]
    page.goto(path)
    page.get_by_label(text["email"], exact=True).fill(email)
    page.get_by_label(text["password"], exact=True).fill(password)
    page.get_by_role("button", name=text["sign_in"], exact=True).click()


def _open_history(page: Any, lang: str, server: LedgerServer) -> None:
    # the demo's portal persons chose their language: 山田 花子 Japanese, 佐藤 健一 English
    person = 0 if lang == "ja" else 1
    _sign_in(page, "/portal/signin", lang, server.person_emails[person], server.password)
    page.get_by_role("link", name=TEXT[lang]["nav"]).click()
    expect(page).to_have_url(f"{server.url}/portal/ledger")
    expect(page.locator("#ledger-entries")).to_have_attribute("data-verification", "done")


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _tamper(page: Any, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the proofs JSON on its way to the page."""

    def handle(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, body=json.dumps(body))

    page.route(PROOFS, handle)


def _newest_entry(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body["entries"][0])


@pytest.mark.parametrize("lang", ["ja", "en"])
class TestWhoUsedMyData:
    def test_every_entry_is_verified_by_the_browser(
        self,
        lang: str,
        open_ledger_page: Any,
        ledger_server: LedgerServer,
        screenshots: Screenshots,
    ) -> None:
        page = open_ledger_page(LOCALES[lang])
        _open_history(page, lang, ledger_server)

        rows = page.locator("tr[data-leaf-index]")
        assert rows.count() >= 5
        expect(page.locator("[data-badge]").filter(has_text=TEXT[lang]["verified"])).to_have_count(
            rows.count()
        )
        expect(page.locator('tr[data-verified="false"]')).to_have_count(0)
        expect(page.locator("#ledger-summary")).to_have_class("ledger-summary verified")
        # the demo's own analysis and the linkage scenario's questions: every one verified
        analyses = page.locator("tr.kind-cleanroom-query [data-badge]")
        assert analyses.count() >= 1
        for badge in analyses.all():
            expect(badge).to_have_text(TEXT[lang]["verified"])
        screenshots.take(page, "verified")

    def test_a_tampered_audit_path_fails_verification(
        self,
        lang: str,
        open_ledger_page: Any,
        ledger_server: LedgerServer,
        screenshots: Screenshots,
    ) -> None:
        page = open_ledger_page(LOCALES[lang])
        tampered: dict[str, int] = {}

        def flip_proof(body: dict[str, Any]) -> None:
            entry = _newest_entry(body)
            path = entry["audit_path"]
            path[0] = base64.b64encode(_flip(base64.b64decode(path[0]), 5)).decode()
            body["entries"][0] = entry
            tampered["index"] = entry["leaf_index"]

        _tamper(page, flip_proof)
        _open_history(page, lang, ledger_server)

        row = page.locator(f'tr[data-leaf-index="{tampered["index"]}"]')
        expect(row.locator("[data-badge]")).to_have_text(TEXT[lang]["failed"])
        expect(page.locator('tr[data-verified="false"]')).to_have_count(1)
        expect(page.locator("#ledger-summary")).to_have_class("ledger-summary failed")
        screenshots.take(page, "tampered-proof")

    def test_a_tampered_entry_fails_verification(
        self, lang: str, open_ledger_page: Any, ledger_server: LedgerServer
    ) -> None:
        page = open_ledger_page(LOCALES[lang])
        tampered: dict[str, int] = {}

        def rewrite_leaf(body: dict[str, Any]) -> None:
            entry = body["entries"][-1]
            leaf = base64.b64decode(entry["leaf_input"])
            # the same entry, told as a different organization: still valid JSON
            forged = leaf.replace(b'"org":"', b'"org":"x', 1)
            entry["leaf_input"] = base64.b64encode(forged).decode()
            tampered["index"] = entry["leaf_index"]

        _tamper(page, rewrite_leaf)
        _open_history(page, lang, ledger_server)

        row = page.locator(f'tr[data-leaf-index="{tampered["index"]}"]')
        expect(row.locator("[data-badge]")).to_have_text(TEXT[lang]["failed"])
        expect(page.locator('tr[data-verified="false"]')).to_have_count(1)

    def test_a_checkpoint_with_a_forged_root_fails_every_entry(
        self, lang: str, open_ledger_page: Any, ledger_server: LedgerServer
    ) -> None:
        page = open_ledger_page(LOCALES[lang])

        def forge_root(body: dict[str, Any]) -> None:
            origin, size, root, rest = body["checkpoint"].split("\n", 3)
            forged = base64.b64encode(_flip(base64.b64decode(root), 0)).decode()
            body["checkpoint"] = "\n".join((origin, size, forged, rest))

        _tamper(page, forge_root)
        _open_history(page, lang, ledger_server)

        rows = page.locator("tr[data-leaf-index]").count()
        expect(page.locator('tr[data-verified="false"]')).to_have_count(rows)


@pytest.mark.parametrize("lang", ["ja", "en"])
class TestStaffLedgerPage:
    def test_staff_sees_the_ledger_with_its_checkpoints(
        self,
        lang: str,
        open_ledger_page: Any,
        ledger_server: LedgerServer,
        screenshots: Screenshots,
    ) -> None:
        page = open_ledger_page(LOCALES[lang])
        email = ledger_server.staff_emails[0 if lang == "ja" else 1]
        _sign_in(page, "/signin", lang, email, ledger_server.password)
        if lang == "en":
            page.get_by_role("button", name="English").click()
        page.get_by_role("link", name=TEXT[lang]["ledger"], exact=True).click()

        expect(page).to_have_url(f"{ledger_server.url}/ledger")
        expect(page.get_by_role("heading", level=1)).to_have_text(TEXT[lang]["ledger"])
        assert int(page.locator("#ledger-size").inner_text()) > 300
        expect(page.locator("#checkpoints tbody tr").first).to_be_visible()
        expect(page.locator("#ledger-vkey")).to_contain_text(ledger_server.settings.ledger_origin)
        screenshots.take(page, "staff-ledger")


#: the transparency-dev reference tree's leaves (RFC 9162 test vectors)
REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VERIFY_IN_BROWSER = """async (cases) => {
  const v = window.tsunaguLedgerVerify;
  const d = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const out = [];
  for (const c of cases) {
    const leaf = await v.leafHash(d(c.leaf));
    out.push(await v.verifyInclusion(leaf, c.index, c.size, c.proof.map(d), d(c.root)));
  }
  return out;
}"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _reference_cases() -> list[dict[str, Any]]:
    """Every (index, size) of the reference tree with its proof, and broken variants."""
    tree = merkle.MemoryTree()
    for leaf in REFERENCE_LEAVES:
        tree.append(merkle.leaf_hash(leaf))
    cases: list[dict[str, Any]] = []
    for size in range(1, len(REFERENCE_LEAVES) + 1):
        root = tree.root(size)
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, tree.node)
            variants = [("proof", index, size, proof)]
            for at in range(len(proof)):
                flipped = [*proof[:at], _flip(proof[at], 31), *proof[at + 1 :]]
                variants.append(("flipped", index, size, flipped))
            variants += [
                ("truncated", index, size, proof[:-1]),
                ("extended", index, size, [*proof, root]),
                ("moved", (index + 1) % size, size, proof),
                ("resized", index, size + 1, proof),
            ]
            for what, i, n, path in variants:
                cases.append(
                    {
                        "what": what,
                        "leaf": _b64(REFERENCE_LEAVES[index]),
                        "index": i,
                        "size": n,
                        "proof": [_b64(p) for p in path],
                        "root": _b64(root),
                        "expected": merkle.verify_inclusion(
                            merkle.leaf_hash(REFERENCE_LEAVES[index]), i, n, path, root
                        ),
                    }
                )
    return cases


class TestBrowserMerkleVerification:
    def test_the_browser_agrees_with_the_python_verifier_on_the_reference_tree(
        self, open_ledger_page: Any
    ) -> None:
        page = open_ledger_page("en-US")
        page.goto("/portal/signin")
        page.add_script_tag(url="/static/ledger-verify.js")
        cases = _reference_cases()

        verdicts = page.evaluate(VERIFY_IN_BROWSER, cases)

        assert verdicts == [case["expected"] for case in cases]
        by_kind: dict[str, set[bool]] = {}
        for case, verdict in zip(cases, verdicts, strict=True):
            by_kind.setdefault(case["what"], set()).add(verdict)
        assert by_kind["proof"] == {True}
        assert by_kind["flipped"] == {False}
