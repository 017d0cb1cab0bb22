"""Japanese postal addresses and phone numbers for the demo world.

A ``City`` row ties a prefecture and a municipality to the first three digits of its postal
codes and to its telephone area code, so that a generated person's 〒, 住所 and 固定電話
agree with each other.  Town (町域) and building names come from Faker's ``ja_JP`` lists;
the block numbers are drawn in the two forms people write: ``1丁目2番3号`` and ``1-2-3``.

つなぎ野市 is the demo world's fictional municipality (see ``organizations``); a share of
the persons live there so that it has citizens to serve.

Everything here is pure: the caller passes the ``random.Random`` to draw from.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

from faker.providers.address.ja_JP import Provider as _FakerAddress


@dataclass(frozen=True, slots=True)
class City:
    prefecture: str
    city: str
    #: the first three digits of the city's postal codes
    postal_prefix: str
    #: the telephone area code, with its leading 0
    area_code: str
    #: how many people the generator puts here, relative to the other cities
    weight: int


@dataclass(frozen=True, slots=True)
class Address:
    postal_code: str
    prefecture: str
    city: str
    #: everything after the prefecture: city, town, block numbers and building
    line: str

    @property
    def full(self) -> str:
        """The address as it is written on an envelope (without the postal code)."""
        return f"{self.prefecture}{self.line}"


DEMO_MUNICIPALITY = City("埼玉県", "つなぎ野市", "369", "0480", 150)

CITIES: tuple[City, ...] = (
    DEMO_MUNICIPALITY,
    City("東京都", "千代田区", "100", "03", 10),
    City("東京都", "新宿区", "160", "03", 35),
    City("東京都", "世田谷区", "154", "03", 60),
    City("東京都", "練馬区", "176", "03", 45),
    City("東京都", "大田区", "144", "03", 45),
    City("東京都", "江東区", "135", "03", 35),
    City("東京都", "杉並区", "166", "03", 35),
    City("東京都", "足立区", "120", "03", 40),
    City("東京都", "八王子市", "192", "042", 35),
    City("神奈川県", "横浜市港北区", "222", "045", 40),
    City("神奈川県", "横浜市青葉区", "225", "045", 30),
    City("神奈川県", "川崎市中原区", "211", "044", 30),
    City("神奈川県", "相模原市中央区", "252", "042", 20),
    City("神奈川県", "藤沢市", "251", "0466", 25),
    City("埼玉県", "さいたま市浦和区", "330", "048", 25),
    City("埼玉県", "川口市", "332", "048", 35),
    City("千葉県", "千葉市中央区", "260", "043", 25),
    City("千葉県", "船橋市", "273", "047", 35),
    City("大阪府", "大阪市北区", "530", "06", 25),
    City("大阪府", "大阪市天王寺区", "543", "06", 15),
    City("大阪府", "堺市堺区", "590", "072", 25),
    City("大阪府", "豊中市", "560", "06", 25),
    City("愛知県", "名古屋市中区", "460", "052", 20),
    City("愛知県", "豊田市", "471", "0565", 25),
    City("北海道", "札幌市中央区", "064", "011", 30),
    City("福岡県", "福岡市博多区", "812", "092", 30),
    City("福岡県", "北九州市小倉北区", "803", "093", 20),
    City("京都府", "京都市左京区", "606", "075", 20),
    City("兵庫県", "神戸市中央区", "650", "078", 20),
    City("宮城県", "仙台市青葉区", "980", "022", 25),
    City("広島県", "広島市中区", "730", "082", 20),
    City("静岡県", "静岡市葵区", "420", "054", 20),
    City("静岡県", "浜松市中央区", "430", "053", 20),
    City("新潟県", "新潟市中央区", "951", "025", 15),
    City("沖縄県", "那覇市", "900", "098", 15),
)

_CITY_WEIGHTS = tuple(city.weight for city in CITIES)
_TOWNS: tuple[str, ...] = tuple(_FakerAddress.towns)
_BUILDINGS: tuple[str, ...] = tuple(_FakerAddress.building_names)
_MOBILE_PREFIXES = ("090", "080", "070")
_MOBILE_WEIGHTS = (50, 35, 15)


def postal_code(city: City, town: str) -> str:
    """The postal code of ``town`` in ``city``: the same town always gets the same code."""
    # crc32 (not hash()) so that the code does not change between processes
    suffix = zlib.crc32(f"{city.city}{town}".encode()) % 10_000
    return f"{city.postal_prefix}-{suffix:04d}"


def random_address(rng: random.Random) -> Address:
    """A plausible address in one of ``CITIES``; about a third name a building and room."""
    city = rng.choices(CITIES, weights=_CITY_WEIGHTS)[0]
    town = rng.choice(_TOWNS)
    chome, ban, gou = rng.randint(1, 5), rng.randint(1, 30), rng.randint(1, 25)
    block = f"{chome}丁目{ban}番{gou}号" if rng.random() < 0.5 else f"{chome}-{ban}-{gou}"
    line = f"{city.city}{town}{block}"
    if rng.random() < 0.35:
        room = rng.randint(1, 8) * 100 + rng.randint(1, 12)
        line += f" {town}{rng.choice(_BUILDINGS)} {room}号室"
    return Address(postal_code(city, town), city.prefecture, city.city, line)


def random_phone(rng: random.Random, city: City | None = None) -> str:
    """A mobile number (090/080/070-XXXX-XXXX) or, with ``city``, a landline there.

    Japanese numbers have ten digits (eleven for mobiles); the area code is followed by an
    exchange of 1–4 digits and a four-digit subscriber number.
    """
    if city is None:
        prefix = rng.choices(_MOBILE_PREFIXES, weights=_MOBILE_WEIGHTS)[0]
        return f"{prefix}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
    exchange_digits = 10 - len(city.area_code) - 4
    low = 10 ** (exchange_digits - 1) * 2  # exchanges do not start with 0 or 1
    exchange = rng.randint(low, 10**exchange_digits - 1)
    return f"{city.area_code}-{exchange}-{rng.randint(0, 9999):04d}"


def city_of(address: Address) -> City:
    """The ``City`` row an address was drawn from."""
    for city in CITIES:
        if city.prefecture == address.prefecture and city.city == address.city:
            return city
    raise KeyError(address.city)
