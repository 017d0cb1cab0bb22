"""Japanese addresses: prefecture / municipality split and a canonical comparison key.

The split is by rule, not by a gazetteer: the 47 prefectures by name, the 20 designated
cities (政令指定都市) with their wards, the 23 special wards of Tokyo, 郡 + 町/村, and
otherwise the first 市/区/町/村 — with a short list of municipalities whose own name
contains one of those characters (四日市市, 大町町, 東村山市 …) tried first.  The block
part after the municipality is rewritten to the hyphen form (一丁目９番２号 → 1-9-2),
keeping the building and room that follow.  docs/linkage/normalisation.md has every rule.

Input reaching this module is already NFKC-normalised, variant-folded and free of
whitespace (``normalize.normalize_address`` does that); everything here is compiled once.
"""

from __future__ import annotations

import re
from typing import Final

from tsunagu.linkage._kanji import KANJI_NUMERAL_CHARS, kanji_number

PREFECTURES: Final[tuple[str, ...]] = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)

# Bare prefecture names ("神奈川横浜市…", "東京千代田区…") → the full name.
_BARE_PREFECTURE: Final[dict[str, str]] = {p[:-1]: p for p in PREFECTURES if p != "北海道"}

DESIGNATED_CITIES: Final[dict[str, str]] = {
    "札幌市": "北海道",
    "仙台市": "宮城県",
    "さいたま市": "埼玉県",
    "千葉市": "千葉県",
    "横浜市": "神奈川県",
    "川崎市": "神奈川県",
    "相模原市": "神奈川県",
    "新潟市": "新潟県",
    "静岡市": "静岡県",
    "浜松市": "静岡県",
    "名古屋市": "愛知県",
    "京都市": "京都府",
    "大阪市": "大阪府",
    "堺市": "大阪府",
    "神戸市": "兵庫県",
    "岡山市": "岡山県",
    "広島市": "広島県",
    "北九州市": "福岡県",
    "福岡市": "福岡県",
    "熊本市": "熊本県",
}

# Other cities whose name is unique in Japan and common in customer files: the
# prefectural capitals and the larger core cities.  A missing prefecture is inferred from
# these (大津市… → 滋賀県); any other city leaves it None rather than guess.
_UNIQUE_CITIES: Final[dict[str, str]] = {
    city + "市": prefecture
    for prefecture, cities in (
        ("北海道", "旭川 函館 苫小牧 釧路 帯広 小樽"),
        ("青森県", "青森 八戸 弘前"),
        ("岩手県", "盛岡"),
        ("宮城県", "石巻"),
        ("秋田県", "秋田"),
        ("山形県", "山形"),
        ("福島県", "福島 郡山 いわき"),
        ("茨城県", "水戸 つくば 日立"),
        ("栃木県", "宇都宮"),
        ("群馬県", "前橋 高崎"),
        ("埼玉県", "川口 川越 越谷 所沢"),
        ("千葉県", "船橋 柏 松戸 市川"),
        ("東京都", "八王子 町田 三鷹 武蔵野 立川"),
        ("神奈川県", "横須賀 藤沢"),
        ("富山県", "富山"),
        ("石川県", "金沢"),
        ("福井県", "福井"),
        ("山梨県", "甲府"),
        ("長野県", "長野 松本"),
        ("岐阜県", "岐阜"),
        ("愛知県", "豊田 岡崎 豊橋"),
        ("三重県", "津 四日市"),
        ("滋賀県", "大津"),
        ("大阪府", "豊中 吹田 高槻 枚方 東大阪"),
        ("兵庫県", "姫路 西宮 尼崎 明石"),
        ("奈良県", "奈良"),
        ("和歌山県", "和歌山"),
        ("鳥取県", "鳥取"),
        ("島根県", "松江"),
        ("岡山県", "倉敷"),
        ("広島県", "福山"),
        ("山口県", "山口 下関"),
        ("徳島県", "徳島"),
        ("香川県", "高松"),
        ("愛媛県", "松山"),
        ("高知県", "高知"),
        ("福岡県", "久留米"),
        ("佐賀県", "佐賀"),
        ("長崎県", "長崎 佐世保"),
        ("大分県", "大分"),
        ("宮崎県", "宮崎"),
        ("鹿児島県", "鹿児島"),
        ("沖縄県", "那覇"),
    )
    for city in cities.split()
}

TOKYO_WARDS: Final[frozenset[str]] = frozenset(
    f"{w}区"
    for w in [
        "千代田",
        "中央",
        "港",
        "新宿",
        "文京",
        "台東",
        "墨田",
        "江東",
        "品川",
        "目黒",
        "大田",
        "世田谷",
        "渋谷",
        "中野",
        "杉並",
        "豊島",
        "北",
        "荒川",
        "板橋",
        "練馬",
        "足立",
        "葛飾",
        "江戸川",
    ]
)

# Municipalities whose name holds 市/区/町/村/郡 before its own suffix: the first-suffix
# rule would cut them short (四日市市 → 四日市), so they are matched by name first.
_ODD_MUNICIPALITIES: Final[tuple[str, ...]] = (
    "四日市市",
    "廿日市市",
    "野々市市",
    "大町市",
    "十日町市",
    "東村山市",
    "武蔵村山市",
    "羽村市",
    "大村市",
    "田村市",
    "郡山市",
    "大和郡山市",
    "郡上市",
    "小郡市",
    "蒲郡市",
    "大阪狭山市",
    "上市町",
    "余市町",
    "大町町",
    "玉村町",
)

_NOT_NUMBER = r"[^0-9\-]"
_DESIGNATED_RE = "|".join(re.escape(c) for c in DESIGNATED_CITIES)
_ODD_RE = "|".join(re.escape(m) for m in sorted(_ODD_MUNICIPALITIES, key=len, reverse=True))

_PREFECTURE_RE: Final = re.compile(
    "(?P<full>" + "|".join(PREFECTURES) + ")"
    "|(?P<bare>" + "|".join(sorted(_BARE_PREFECTURE, key=len, reverse=True)) + ")"
    "(?![市区町村郡都府県]|狭山市)"
)
_CITY_RE: Final = re.compile(
    rf"(?P<designated>{_DESIGNATED_RE})(?P<ward>{_NOT_NUMBER}{{1,4}}?区)?"
    rf"|(?P<odd>{_ODD_RE})"
    rf"|(?P<county>{_NOT_NUMBER}{{1,6}}?郡)(?P<town>{_ODD_RE}|{_NOT_NUMBER}{{1,6}}?[町村])"
    rf"|(?P<plain>{_NOT_NUMBER}{{1,6}}?[市区町村])"
)

_NUMERAL = f"[{KANJI_NUMERAL_CHARS}]"
# Dashes that mean "-" wherever they stand, and the long-vowel marks that mean "-" only
# between two numbers (a katakana building name keeps its ー: センター).
_DASHES: Final = str.maketrans(dict.fromkeys("‐‑‒–—―−﹣－⁃", "-"))
_LONG_VOWEL_DASH_RE: Final = re.compile(
    rf"(?<=[0-9{KANJI_NUMERAL_CHARS}])[ーｰ~〜～\-]*[ーｰ~〜～][ーｰ~〜～\-]*(?=[0-9{KANJI_NUMERAL_CHARS}])"
)
# A kanji numeral run is a number (not a place name like 六本木, 八丁堀, 一番町) when a
# block marker or a dash follows it, or a dash or block marker precedes it.
_KANJI_BLOCK_NUMBER_RE: Final = re.compile(
    rf"{_NUMERAL}+(?=丁目|番地|番(?![町丁])|号|条|線|地割|-|の{_NUMERAL}|の[0-9])"
    rf"|(?:(?<=-)|(?<=丁目)|(?<=番地)|(?<=番の)|(?<=番地の)|(?<=[0-9]の)|(?<=[{KANJI_NUMERAL_CHARS}]の)|(?<=号)){_NUMERAL}+"
)
_DASH_BEFORE_MARKER_RE: Final = re.compile(r"-+(?=丁目|番地|番(?![町丁])|号(?![室棟館]))")
_CHOME_RE: Final = re.compile(r"([0-9]+)丁目")
# Cheap triggers: is there anything for the rules below to do?
_LONG_VOWEL_CHARS_RE: Final = re.compile("[ーｰ~〜～]")
_KANJI_NUMERAL_CHAR_RE: Final = re.compile(_NUMERAL)
_PLACE_KANA_RE: Final = re.compile("[ケヵがガノつッ]")
_BANCHI_RE: Final = re.compile(r"([0-9]+)(?:番地|番(?![町丁]))(?:の(?=[0-9]))?")
_ROOM_RE: Final = re.compile(r"([0-9]+)号室")  # 305号室 = 305
_GO_RE: Final = re.compile(r"([0-9]+)号(?![室棟館])")
_NO_RE: Final = re.compile(r"(?<=[0-9])-?の(?=[0-9])")
_MULTI_DASH_RE: Final = re.compile(r"-{2,}")
_DANGLING_DASH_RE: Final = re.compile(r"-(?![0-9])")
# ヶ and its variants (ケ ヵ が ガ) inside a place name between two kanji: 霞が関 = 霞ヶ関
_GA_RE: Final = re.compile(r"(?<=[\u4e00-\u9fff])[ケヵがガ](?=[\u4e00-\u9fff])")
_NO_KANA_RE: Final = re.compile(r"(?<=[\u4e00-\u9fff])ノ(?=[\u4e00-\u9fff])")  # 丸ノ内 = 丸の内
_TSU_RE: Final = re.compile(r"(?<=[\u4e00-\u9fff])[つッ](?=[\u4e00-\u9fff])")  # 一つ橋 = 一ツ橋
_POSTAL_PREFIX_RE: Final = re.compile(r"^(?:郵便番号:?)?[0-9]{3}-?[0-9]{4}(?![0-9])")
_COUNTRY_PREFIX_RE: Final = re.compile(r"^(?:日本国|日本)(?![橋大])")


def strip_prefixes(text: str) -> str:
    """Remove a leading postal code (100-0001, its 〒 already gone) and 日本/日本国."""
    text = _POSTAL_PREFIX_RE.sub("", text, count=1)
    return _COUNTRY_PREFIX_RE.sub("", text, count=1)


def split(text: str) -> tuple[str | None, str | None, str]:
    """(prefecture, municipality, rest) of a compact address; the rest is unchanged."""
    prefecture: str | None = None
    match = _PREFECTURE_RE.match(text)
    if match:
        prefecture = match["full"] or _BARE_PREFECTURE[match["bare"]]
        text = text[match.end() :]
    city: str | None = None
    match = _CITY_RE.match(text)
    if match:
        city = match.group(0)
        text = text[match.end() :]
        if prefecture is None:
            designated = match["designated"]
            if designated:
                prefecture = DESIGNATED_CITIES[designated]
            elif city in TOKYO_WARDS:
                prefecture = "東京都"
            else:
                prefecture = _UNIQUE_CITIES.get(city)
    return prefecture, city, text


def _kanji_to_arabic(match: re.Match[str]) -> str:
    value = kanji_number(match.group(0))
    return match.group(0) if value is None else str(value)


def block_key(rest: str) -> str:
    """The part after the municipality in canonical form (丸の内一丁目9番2号 → 丸の内1-9-2).

    Each rule runs only when its trigger character is present (a ``str`` membership test
    is far cheaper than a regex scan with look-behinds): most keys need few of them.
    """
    while "大字" in rest:
        rest = rest.replace("大字", "")
    rest = rest.lstrip("字").translate(_DASHES)
    if _LONG_VOWEL_CHARS_RE.search(rest):
        rest = _LONG_VOWEL_DASH_RE.sub("-", rest)
    if _KANJI_NUMERAL_CHAR_RE.search(rest):
        rest = _KANJI_BLOCK_NUMBER_RE.sub(_kanji_to_arabic, rest)
    if "号" in rest:
        rest = _ROOM_RE.sub(r"\1", rest)
    if "丁" in rest or "番" in rest or "号" in rest or "の" in rest:
        for _ in range(3):  # 1号番 → 1-番 → 1番 → 1-: a marker can surface another
            before = rest
            rest = _DASH_BEFORE_MARKER_RE.sub("", rest)
            rest = _CHOME_RE.sub(r"\1-", rest)
            rest = _BANCHI_RE.sub(r"\1-", rest)
            rest = _GO_RE.sub(r"\1-", rest)
            rest = _NO_RE.sub("-", rest)
            if rest == before:
                break
    if "-" in rest:
        if "--" in rest:
            rest = _MULTI_DASH_RE.sub("-", rest)
        rest = _DANGLING_DASH_RE.sub("", rest).lstrip("字")
    if _PLACE_KANA_RE.search(rest):
        rest = _GA_RE.sub("ヶ", rest)
        rest = _NO_KANA_RE.sub("の", rest)
        rest = _TSU_RE.sub("ツ", rest)
    return rest
