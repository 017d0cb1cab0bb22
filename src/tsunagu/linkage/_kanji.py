"""Kanji tables for normalisation: variant (old/itaiji) forms and kanji numerals.

The variant table folds *graphic variants of one character* — the old form (旧字体), the
itaiji used in family registers (異体字) and the few CJK compatibility ideographs that NFKC
leaves alone — onto the form a clerk would type today (高, 崎, 辺, 斎, 浜, 沢 …).  It never
folds two different characters that happen to share a reading (伊藤/伊東, 渡辺/渡部,
荻原/萩原, 大田/太田): those are different names and stay apart.  docs/linkage/normalisation.md
lists every pair and the choices made.

Everything here is built once at import: ``VARIANT_TABLE`` is a ``str.translate`` table and
``kanji_number`` parses a run of kanji numerals without allocating per call.
"""

from __future__ import annotations

from typing import Final

# (standard, variants) — each variant is a distinct code point that a person or a register
# uses for the same character of a name.  Targets are never themselves variants, so
# folding is idempotent (tests check it).
_VARIANTS: Final[tuple[tuple[str, str], ...]] = (
    ("高", "髙"),  # 髙橋 / 高橋 — the 梯子高 of family registers
    ("崎", "﨑嵜碕"),  # 山﨑 / 山嵜 / 山碕 / 山崎 (but never 埼: 埼玉 is another character)
    ("辺", "邊邉"),  # 渡邊 / 渡邉 / 渡辺
    ("斎", "齋齊斉"),  # 齋藤 / 齊藤 / 斉藤 / 斎藤 — see the docs: folded on purpose
    ("浜", "濱濵"),  # 濱田 / 濵田 / 浜田
    ("沢", "澤"),  # 澤田 / 沢田
    ("桜", "櫻"),  # 櫻井 / 桜井
    ("広", "廣"),  # 廣瀬 / 広瀬
    ("栄", "榮"),
    ("蔵", "藏"),
    ("国", "國"),  # 國分 / 国分
    ("関", "關"),
    ("浅", "淺"),
    ("徳", "德"),
    ("恵", "惠"),
    ("竜", "龍"),  # 龍 is the old form of 竜 (龍ケ崎 / 竜ケ崎): one character, two shapes
    ("島", "嶋嶌"),  # 嶋田 / 島田
    ("富", "冨"),  # 冨田 / 富田
    ("吉", "𠮷"),  # 𠮷田 (つちよし, outside the BMP) / 吉田
    ("橋", "槗𣘺"),
    ("真", "眞"),
    ("実", "實"),
    ("寿", "壽"),
    ("弥", "彌"),
    ("礼", "禮"),
    ("与", "與"),
    ("条", "條"),
    ("来", "來"),
    ("万", "萬"),
    ("黒", "黑"),
    ("円", "圓"),
    ("児", "兒"),  # 鹿兒島
    ("豊", "豐"),
    ("亀", "龜"),  # 龜井 / 亀井
    ("瀬", "瀨"),  # 瀨戸 / 瀬戸
    ("曽", "曾"),  # 曾根 / 曽根
    ("増", "增"),
    ("清", "淸"),
    ("静", "靜"),
    ("青", "靑"),
    ("亜", "亞"),
    ("学", "學"),
    ("渋", "澁"),  # 澁谷 / 渋谷
    ("渓", "溪"),
    ("滝", "瀧"),  # 瀧川 / 滝川
    ("稲", "稻"),  # 稻葉 / 稲葉
    ("穂", "穗"),
    ("台", "臺"),
    ("衛", "衞"),
    ("郷", "鄕"),
    ("鉄", "鐵"),
    ("黄", "黃"),
    ("峰", "峯"),  # 峯岸 / 峰岸
    ("館", "舘"),  # 舘野 / 館野
    ("篭", "籠"),
    ("桧", "檜"),  # 檜山 / 桧山
    ("槙", "槇"),  # 槇原 / 槙原
    ("薮", "藪籔"),  # 藪内 / 薮内 / 籔内
    ("淵", "渕渊"),  # 田渕 / 田淵
    ("剣", "劍劔剱"),
    ("村", "邨"),  # 中邨 / 中村
    ("岳", "嶽"),
    ("昇", "曻"),
    ("凛", "凜"),
    ("遥", "遙"),
    ("譲", "讓"),
    ("穣", "穰"),
    ("鴎", "鷗"),
    ("戸", "戶"),  # 瀨戶 (U+6236) / 瀬戸 (U+6238)
    ("内", "內"),
    ("歩", "步"),
    ("柳", "栁"),
    ("桑", "桒"),
    ("塩", "鹽"),
    ("恒", "恆"),
    ("県", "縣"),
    ("会", "會"),
    ("応", "應"),
    ("伝", "傳"),
    ("団", "團"),
    ("荘", "莊"),
    ("晋", "晉"),
    ("巌", "巖"),
    ("絵", "繪"),
    ("総", "總"),
    ("芸", "藝"),
    ("覚", "覺"),
    ("観", "觀"),
    ("誉", "譽"),
    ("余", "餘"),
    ("鶏", "鷄"),
    ("麦", "麥"),
    ("歯", "齒"),
    ("気", "氣"),
    ("為", "爲"),
    ("当", "當"),
    ("声", "聲"),
    ("乗", "乘"),
    ("両", "兩"),
    ("医", "醫"),
    ("駅", "驛"),
    ("読", "讀"),
    ("帰", "歸"),
    ("挙", "擧"),
    ("変", "變"),
    ("予", "豫"),
    ("蛍", "螢"),
    ("仏", "佛"),
    ("糸", "絲"),
    # iteration marks: 〻 (vertical-writing form) is 々
    ("々", "〻"),
)

VARIANT_PAIRS: Final[dict[str, str]] = {
    variant: standard for standard, variants in _VARIANTS for variant in variants
}
VARIANT_TABLE: Final[dict[int, str]] = {ord(k): v for k, v in VARIANT_PAIRS.items()}

KANJI_DIGITS: Final[dict[str, int]] = {
    "〇": 0,
    "零": 0,
    "○": 0,  # WHITE CIRCLE, routinely typed for 〇 (二○○一年)
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
KANJI_UNITS: Final[dict[str, int]] = {"十": 10, "百": 100, "千": 1000}
KANJI_NUMERAL_CHARS: Final[str] = "".join(KANJI_DIGITS) + "".join(KANJI_UNITS)


def kanji_number(run: str) -> int | None:
    """The value of a run of kanji numerals (``三十二`` → 32, ``二〇二三`` → 2023).

    Runs without 十/百/千 read digit by digit; runs with them positionally.  A run that is
    not a well-formed number (``十十``, ``三二十``) gives None.
    """
    if not run:
        return None
    if not any(ch in KANJI_UNITS for ch in run):
        value = 0
        for ch in run:
            digit = KANJI_DIGITS.get(ch)
            if digit is None:
                return None
            value = value * 10 + digit
        return value
    total = 0
    current: int | None = None
    last_unit = 10_000
    for ch in run:
        if ch in KANJI_DIGITS:
            if current is not None:
                return None
            current = KANJI_DIGITS[ch]
        else:
            unit = KANJI_UNITS.get(ch)
            if unit is None or unit >= last_unit:
                return None
            total += (1 if current is None else current) * unit
            current = None
            last_unit = unit
    return total + (current or 0)
