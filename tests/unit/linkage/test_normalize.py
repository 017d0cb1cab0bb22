"""Japanese normalisation, field by field, on variants seen in real customer files."""

from __future__ import annotations

import datetime as dt

import pytest

from tsunagu.linkage._address import PREFECTURES
from tsunagu.linkage._kanji import VARIANT_PAIRS, kanji_number
from tsunagu.linkage.normalize import (
    COLUMNS,
    Address,
    nfkc,
    normalize_address,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_record,
    normalize_sex,
    parse_birth_date,
)


class TestNfkc:
    def test_full_width_latin_and_digits_become_ascii(self) -> None:
        assert nfkc("ＡＢＣ１２３") == "ABC123"

    def test_half_width_kana_become_full_width(self) -> None:
        assert nfkc("ﾊﾟﾝﾀﾞ") == "パンダ"

    def test_ideographic_space_runs_collapse_to_one_space(self) -> None:
        assert nfkc("　山田　　太郎　") == "山田 太郎"


class TestNormalizeName:
    @pytest.mark.parametrize(
        ("variants", "canonical"),
        [
            (["山﨑", "山嵜", "山碕", "山崎"], "山崎"),
            (["髙橋", "高橋"], "高橋"),
            (["渡邊", "渡邉", "渡辺"], "渡辺"),
            (["齋藤", "齊藤", "斉藤", "斎藤"], "斎藤"),
            (["濱田", "濵田", "浜田"], "浜田"),
            (["澤田", "沢田"], "沢田"),
            (["櫻井", "桜井"], "桜井"),
            (["廣瀬", "廣瀨", "広瀬"], "広瀬"),
            (["嶋田", "島田"], "島田"),
            (["𠮷田", "吉田"], "吉田"),
            (["龍崎", "竜崎"], "竜崎"),
            (["國分", "国分"], "国分"),
            (["佐佐木", "佐々木", "佐〻木"], "佐々木"),
        ],
    )
    def test_variant_kanji_fold_to_the_standard_form(
        self, variants: list[str], canonical: str
    ) -> None:
        assert {normalize_name(v) for v in variants} == {canonical}

    @pytest.mark.parametrize(
        ("left", "right"),
        [("伊藤", "伊東"), ("渡辺", "渡部"), ("荻原", "萩原"), ("太田", "大田"), ("山崎", "山埼")],
    )
    def test_different_names_with_one_reading_stay_apart(self, left: str, right: str) -> None:
        assert normalize_name(left) != normalize_name(right)

    def test_spaces_of_every_width_are_removed(self) -> None:
        assert normalize_name(" 山田　太郎 ") == "山田太郎"

    def test_latin_is_case_folded_and_width_folded(self) -> None:
        assert normalize_name("Ｓｍｉｔｈ John") == "smithjohn"

    def test_middle_dot_between_parts_is_removed(self) -> None:
        assert normalize_name("ジョン・スミス") == normalize_name("ジョンスミス")

    @pytest.mark.parametrize("addressed", ["山田太郎様", "山田 太郎 様", "山田太郎殿"])
    def test_trailing_honorific_is_dropped(self, addressed: str) -> None:
        assert normalize_name(addressed) == "山田太郎"

    def test_ideographic_variation_selector_is_dropped(self) -> None:
        assert normalize_name("葛\U000e0100飾") == "葛飾"

    def test_compatibility_ideograph_is_folded_by_nfkc(self) -> None:
        assert normalize_name("\ufa10") == "塚"  # 塚 (U+FA10) → 塚

    @pytest.mark.parametrize("blank", [None, "", "   ", "　"])
    def test_missing_name_is_none(self, blank: str | None) -> None:
        assert normalize_name(blank) is None


class TestVariantTable:
    def test_covers_at_least_forty_variant_forms(self) -> None:
        assert len(VARIANT_PAIRS) >= 40

    def test_no_standard_form_is_itself_folded(self) -> None:
        assert not set(VARIANT_PAIRS.values()) & set(VARIANT_PAIRS)

    def test_no_prefecture_name_contains_a_folded_character(self) -> None:
        assert not {ch for p in PREFECTURES for ch in p} & set(VARIANT_PAIRS)

    def test_standard_forms_survive_nfkc(self) -> None:
        assert all(nfkc(v) == v for v in VARIANT_PAIRS.values())


class TestNormalizeKana:
    @pytest.mark.parametrize(
        "variants",
        [
            ["ｻﾄｳ", "さとう", "サトウ", "サトー", "サト−", "ｻﾄｰ"],
            ["オオノ", "オーノ", "オウノ", "おおの"],
            ["ユウコ", "ユーコ", "ゆうこ"],
            ["キョウコ", "キョーコ", "きょうこ", "ｷｮｳｺ"],
            ["ダイスケ", "ﾀﾞｲｽｹ", "だいすけ"],
            ["ハットリ", "はっとり", "ハツトリ"],
            ["ヴァイオリン", "バイオリン"],
            ["チヂワ", "チジワ"],
            ["ミヅキ", "ミズキ"],
            ["ヤマダ タロウ", "やまだ　たろう", "ヤマダタロー"],
        ],
    )
    def test_reading_variants_normalise_alike(self, variants: list[str]) -> None:
        assert len({normalize_kana(v) for v in variants}) == 1

    def test_lengthened_vowel_is_written_with_one_long_mark(self) -> None:
        assert normalize_kana("オオタ") == "オータ"

    def test_long_and_short_vowel_stay_apart(self) -> None:
        assert normalize_kana("オオノ") != normalize_kana("オノ")

    @pytest.mark.parametrize(
        ("longer", "shorter"),
        [
            ("オオウチ", "オオチ"),
            ("オオウチ", "オウチ"),
            ("ケイイチ", "ケイチ"),
            ("セイイチ", "セイチ"),
            ("コウウン", "コウン"),
        ],
    )
    def test_a_vowel_after_a_long_vowel_starts_its_own_syllable(
        self, longer: str, shorter: str
    ) -> None:
        assert normalize_kana(longer) != normalize_kana(shorter)

    def test_a_doubled_long_mark_is_one(self) -> None:
        assert normalize_kana("オーータ") == normalize_kana("オオタ") == "オータ"

    def test_small_kana_become_large(self) -> None:
        assert normalize_kana("ァィゥェォッャュョ") == "アイウエオツヤユヨ"

    def test_romaji_is_case_folded_and_kept(self) -> None:
        assert normalize_kana("Yamada Taro") == "yamadataro"

    @pytest.mark.parametrize("blank", [None, "", " "])
    def test_missing_reading_is_none(self, blank: str | None) -> None:
        assert normalize_kana(blank) is None


class TestNormalizePhone:
    @pytest.mark.parametrize(
        "variant",
        [
            "090-1234-5678",
            "09012345678",
            "０９０（１２３４）５６７８",
            "０９０－１２３４－５６７８",
            "090 1234 5678",
            "+81 90 1234 5678",
            "+81-90-1234-5678",
            "+81 (0)90 1234 5678",
            "0081-90-1234-5678",
        ],
    )
    def test_mobile_variants_give_one_e164(self, variant: str) -> None:
        assert normalize_phone(variant) == "+819012345678"

    @pytest.mark.parametrize(
        ("variant", "e164"),
        [
            ("03-1234-5678", "+81312345678"),
            ("(03)1234-5678", "+81312345678"),
            ("06-6123-4567", "+81661234567"),
            ("0120-123-456", "+81120123456"),
            ("050-1234-5678", "+815012345678"),
        ],
    )
    def test_landline_toll_free_and_ip_numbers(self, variant: str, e164: str) -> None:
        assert normalize_phone(variant) == e164

    def test_foreign_number_keeps_its_country_code(self) -> None:
        assert normalize_phone("+1 650 253 0000") == "+16502530000"

    def test_region_decides_national_numbers(self) -> None:
        assert normalize_phone("(650) 253-0000", region="US") == "+16502530000"

    @pytest.mark.parametrize(
        "invalid", [None, "", "12", "abc", "090-1234-567", "090-1234-56789", "00000000000"]
    )
    def test_invalid_numbers_are_none(self, invalid: str | None) -> None:
        assert normalize_phone(invalid) is None


class TestNormalizeEmail:
    def test_trimmed_and_lower_cased(self) -> None:
        assert normalize_email(" Taro.Yamada@Example.CO.JP ") == "taro.yamada@example.co.jp"

    def test_full_width_address_becomes_ascii(self) -> None:
        assert normalize_email("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ") == "taro@example.jp"

    def test_old_carrier_address_with_consecutive_dots_is_kept(self) -> None:
        assert normalize_email("taro..yamada.@docomo.ne.jp") == "taro..yamada.@docomo.ne.jp"

    def test_plus_tag_is_not_folded(self) -> None:
        assert normalize_email("taro+shop@gmail.com") == "taro+shop@gmail.com"

    def test_mailto_prefix_is_dropped(self) -> None:
        assert normalize_email("mailto:taro@example.jp") == "taro@example.jp"

    @pytest.mark.parametrize(
        "invalid",
        [
            None,
            "",
            "taro",
            "taro@",
            "@example.jp",
            "taro@example",
            "ta ro@example.jp",
            "taro@@example.jp",
            "taro@exa..mple.jp",
            "taro@-example.jp",
        ],
    )
    def test_invalid_addresses_are_none(self, invalid: str | None) -> None:
        assert normalize_email(invalid) is None


class TestNormalizePostalCode:
    @pytest.mark.parametrize(
        "variant", ["〒100-0001", "１００－０００１", "1000001", "100 0001", "〒 100ー0001"]
    )
    def test_variants_give_seven_digits(self, variant: str) -> None:
        assert normalize_postal_code(variant) == "1000001"

    @pytest.mark.parametrize(
        "invalid", [None, "", "100-001", "10000011", "abc-defg", "〒100-0001 東京都"]
    )
    def test_invalid_codes_are_none(self, invalid: str | None) -> None:
        assert normalize_postal_code(invalid) is None


class TestParseBirthDate:
    @pytest.mark.parametrize(
        "variant",
        [
            "1957-03-29",
            "19570329",
            "1957/3/29",
            "1957/03/29",
            "1957.3.29",
            "1957年3月29日",
            "１９５７年３月２９日",
            "1957-03-29 00:00:00",
            "1957-03-29T00:00:00",
            "西暦1957年3月29日生",
            "昭和32年3月29日",
            "昭和３２年３月２９日",
            "昭和 32年 3月 29日",
            "昭和三十二年三月二十九日",
            "㍼32年3月29日",
            "昭32.3.29",
            "S32.3.29",
            "s32.3.29",
            "S32/03/29",
            "S32-3-29",
            "S320329",
            "3320329",
        ],
    )
    def test_variants_of_one_birth_date(self, variant: str) -> None:
        assert parse_birth_date(variant) == dt.date(1957, 3, 29)

    @pytest.mark.parametrize(
        ("text", "date"),
        [
            ("明治45年7月29日", dt.date(1912, 7, 29)),
            ("大正元年7月30日", dt.date(1912, 7, 30)),
            ("T15.12.24", dt.date(1926, 12, 24)),
            ("昭和元年12月25日", dt.date(1926, 12, 25)),
            ("平成元年1月8日", dt.date(1989, 1, 8)),
            ("H1.1.8", dt.date(1989, 1, 8)),
            ("令和元年5月1日", dt.date(2019, 5, 1)),
            ("R2.2.29", dt.date(2020, 2, 29)),
            ("二〇〇一年一月一日", dt.date(2001, 1, 1)),
            ("二○○一年一月一日", dt.date(2001, 1, 1)),
        ],
    )
    def test_each_era_and_its_first_year(self, text: str, date: dt.date) -> None:
        assert parse_birth_date(text) == date

    def test_date_past_an_era_end_continues_the_era(self) -> None:
        assert parse_birth_date("平成31年5月1日") == dt.date(2019, 5, 1)

    @pytest.mark.parametrize(
        "invalid",
        [
            None,
            "",
            "不明",
            "1957-02-30",
            "19571329",
            "昭和元年12月24日",
            "令和元年4月30日",
            "H0.1.1",
            "S32.2.30",
            "57/3/29",
            "平成元年",
            "0957-03-29",
            "6320329",
        ],
    )
    def test_invalid_dates_are_none(self, invalid: str | None) -> None:
        assert parse_birth_date(invalid) is None


class TestKanjiNumber:
    @pytest.mark.parametrize(
        ("run", "value"),
        [
            ("一", 1),
            ("九", 9),
            ("十", 10),
            ("十一", 11),
            ("三十二", 32),
            ("九十九", 99),
            ("百", 100),
            ("百二十三", 123),
            ("二〇二三", 2023),
            ("千九百五十七", 1957),
        ],
    )
    def test_values(self, run: str, value: int) -> None:
        assert kanji_number(run) == value

    @pytest.mark.parametrize("run", ["", "十十", "三二十", "百千"])
    def test_malformed_runs_are_none(self, run: str) -> None:
        assert kanji_number(run) is None


class TestNormalizeSex:
    @pytest.mark.parametrize("male", ["男", "男性", "M", "m", "male", "Male", "１", "1", "♂"])
    def test_male_forms(self, male: str) -> None:
        assert normalize_sex(male) == "m"

    @pytest.mark.parametrize("female", ["女", "女性", "F", "female", "FEMALE", "２", "2", "♀"])
    def test_female_forms(self, female: str) -> None:
        assert normalize_sex(female) == "f"

    @pytest.mark.parametrize("unknown", [None, "", "0", "9", "不明", "x", "other"])
    def test_unknown_is_none(self, unknown: str | None) -> None:
        assert normalize_sex(unknown) is None


class TestNormalizeAddress:
    @pytest.mark.parametrize(
        "variant",
        [
            "東京都千代田区丸の内一丁目９番２号",
            "東京都千代田区丸の内1-9-2",
            "東京都千代田区丸の内１－９－２",
            "東京都千代田区丸の内1丁目9番地2",
            "東京都千代田区丸の内1ー9ー2",
            "東京都千代田区丸の内1‐9‐2",
            "東京都千代田区丸の内1−9−2",
            "東京都千代田区丸の内1―9―2",
            "東京都千代田区丸の内1–9–2",
            "東京都千代田区丸の内1—9—2",
            "東京都千代田区丸の内1ｰ9ｰ2",
            "東京都 千代田区 丸の内 1-9-2",
            "〒100-0005 東京都千代田区丸の内1-9-2",
            "日本 東京都千代田区丸の内1-9-2",
            "千代田区丸の内1-9-2",
            "東京千代田区丸ノ内一丁目九番二号",
        ],
    )
    def test_block_number_variants_share_one_key(self, variant: str) -> None:
        address = normalize_address(variant)
        assert address is not None
        assert address.key == "東京都千代田区丸の内1-9-2"

    def test_parts_of_a_tokyo_address(self) -> None:
        assert normalize_address("東京都千代田区丸の内一丁目９番２号") == Address(
            prefecture="東京都",
            city="千代田区",
            rest="丸の内1-9-2",
            key="東京都千代田区丸の内1-9-2",
        )

    def test_designated_city_keeps_its_ward(self) -> None:
        address = normalize_address("神奈川県横浜市港北区新横浜二丁目3番地の4")
        assert address is not None
        assert (address.city, address.rest) == ("横浜市港北区", "新横浜2-3-4")

    def test_designated_city_without_prefecture_infers_it(self) -> None:
        address = normalize_address("大阪市北区梅田3-1-1")
        assert address is not None
        assert (address.prefecture, address.city) == ("大阪府", "大阪市北区")

    def test_county_and_town_form_the_municipality(self) -> None:
        address = normalize_address("北海道余市郡余市町大川町1")
        assert address is not None
        assert (address.prefecture, address.city) == ("北海道", "余市郡余市町")

    @pytest.mark.parametrize(
        ("text", "city"),
        [
            ("三重県四日市市諏訪町1番5号", "四日市市"),
            ("佐賀県杵島郡大町町大字大町1234", "杵島郡大町町"),
            ("東京都東村山市本町1-2-3", "東村山市"),
            ("千葉県市川市八幡1-1-1", "市川市"),
            ("東京都町田市森野2-2-22", "町田市"),
            ("福島県郡山市朝日1-23-7", "郡山市"),
            ("奈良県大和郡山市北郡山町248-4", "大和郡山市"),
            ("広島県廿日市市下平良1-11-1", "廿日市市"),
            ("愛知県名古屋市中村区名駅1-1-4", "名古屋市中村区"),
            ("長野県大町市大町3887", "大町市"),
        ],
    )
    def test_municipalities_whose_name_holds_a_suffix_character(self, text: str, city: str) -> None:
        address = normalize_address(text)
        assert address is not None
        assert address.city == city

    def test_each_of_the_47_prefectures_is_recognised(self) -> None:
        found = {
            (a.prefecture if (a := normalize_address(p + "某市1-1")) else None) for p in PREFECTURES
        }
        assert found == set(PREFECTURES)

    def test_bare_city_named_like_a_prefecture_is_not_a_prefecture(self) -> None:
        address = normalize_address("京都市中京区寺町通御池上る上本能寺前町488")
        assert address is not None
        assert (address.prefecture, address.city) == ("京都府", "京都市中京区")

    @pytest.mark.parametrize(
        ("left", "right"),
        [
            ("北海道札幌市中央区北一条西二丁目", "札幌市中央区北1条西2丁目"),
            ("埼玉県さいたま市浦和区高砂3-15-1", "さいたま市浦和区高砂三丁目15番1号"),
            ("東京都新宿区西新宿二丁目８番１号", "新宿区西新宿2-8-1"),
            ("福岡県北九州市小倉北区城内1番1号", "北九州市小倉北区城内1-1"),
            ("兵庫県神戸市中央区加納町6丁目5番1号", "神戸市中央区加納町6-5-1"),
            ("東京都千代田区神田三崎町3丁目1番地の4", "千代田区神田三崎町3-1-4"),
        ],
    )
    def test_written_forms_of_one_address_share_a_key(self, left: str, right: str) -> None:
        first = normalize_address(left)
        second = normalize_address(right)
        assert first is not None
        assert second is not None
        assert first.key == second.key

    @pytest.mark.parametrize(
        ("text", "prefecture"),
        [
            ("大津市宮前724-6", "滋賀県"),
            ("松山市大街道3-2-1", "愛媛県"),
            ("町田市森野2-2-22", "東京都"),
        ],
    )
    def test_prefecture_is_inferred_from_a_city_unique_in_japan(
        self, text: str, prefecture: str
    ) -> None:
        address = normalize_address(text)
        assert address is not None
        assert address.prefecture == prefecture

    def test_prefecture_is_not_guessed_for_a_city_name_used_twice(self) -> None:
        address = normalize_address("府中市宮西町2-24")  # 東京都 and 広島県 both have one
        assert address is not None
        assert (address.prefecture, address.city) == (None, "府中市")

    def test_room_number_with_or_without_goshitsu_compares_equal(self) -> None:
        left = normalize_address("横浜市青葉区青葉台1丁目8 セントラルマンション305号室")
        right = normalize_address("神奈川県横浜市青葉区青葉台1-8 セントラルマンション305")
        assert left is not None
        assert right is not None
        assert left.key == right.key

    def test_nihonbashi_is_a_place_not_the_country(self) -> None:
        address = normalize_address("東京都中央区日本橋一丁目1番1号")
        assert address is not None
        assert address.rest == "日本橋1-1-1"

    def test_leading_country_name_is_dropped(self) -> None:
        address = normalize_address("日本国東京都中央区日本橋1-1-1")
        assert address is not None
        assert address.key == "東京都中央区日本橋1-1-1"

    def test_oaza_and_aza_markers_are_dropped(self) -> None:
        left = normalize_address("佐賀県杵島郡大町町大字大町1234")
        right = normalize_address("佐賀県杵島郡大町町大町1234")
        assert left is not None
        assert right is not None
        assert left.key == right.key

    def test_place_names_with_kanji_numerals_are_kept(self) -> None:
        address = normalize_address("東京都港区六本木六丁目10番1号")
        assert address is not None
        assert address.rest == "六本木6-10-1"

    def test_banchou_town_names_are_not_block_numbers(self) -> None:
        address = normalize_address("東京都千代田区一番町10")
        assert address is not None
        assert address.rest == "一番町10"

    def test_ga_variants_in_place_names_fold(self) -> None:
        keys = {
            a.key
            for s in ("千代田区霞が関1-1", "千代田区霞ケ関1-1", "千代田区霞ヶ関1-1")
            if (a := normalize_address(s))
        }
        assert keys == {"東京都千代田区霞ヶ関1-1"}

    def test_building_and_room_after_the_block_are_kept(self) -> None:
        address = normalize_address("東京都千代田区丸の内1-9-2 グラントウキョウサウスタワー 10F")
        assert address is not None
        assert address.key == "東京都千代田区丸の内1-9-2グラントウキョウサウスタワー10f"

    def test_katakana_long_vowel_in_a_building_name_is_not_a_dash(self) -> None:
        address = normalize_address("東京都港区芝公園4-2-8 タワーセンター")
        assert address is not None
        assert address.rest.endswith("タワーセンター")

    @pytest.mark.parametrize("blank", [None, "", "  ", "〒100-0005"])
    def test_missing_address_is_none(self, blank: str | None) -> None:
        assert normalize_address(blank) is None


class TestNormalizeRecord:
    def test_normalises_every_field_and_derives_the_keys(self) -> None:
        row = {
            "id": " L000001 ",
            "family_name": "髙橋",
            "given_name": "一郎",
            "family_name_kana": "ﾀｶﾊｼ",
            "given_name_kana": "いちろう",
            "birth_date": "S32.3.29",
            "sex": "男",
            "postal_code": "〒100-0005",
            "address": "東京都千代田区丸の内一丁目９番２号",
            "phone": "０９０（１２３４）５６７８",
            "email": "Ichiro@Example.jp",
        }
        assert normalize_record(row) == {
            "id": "L000001",
            "family_name": "高橋",
            "given_name": "一郎",
            "family_name_kana": "タカハシ",
            "given_name_kana": "イチロー",
            "birth_date": "1957-03-29",
            "sex": "m",
            "postal_code": "1000005",
            "address": "東京都千代田区丸の内一丁目9番2号",
            "phone": "+819012345678",
            "email": "ichiro@example.jp",
            "full_name": "高橋一郎",
            "full_name_kana": "タカハシイチロー",
            "prefecture": "東京都",
            "city": "千代田区",
            "address_key": "東京都千代田区丸の内1-9-2",
        }

    def test_missing_columns_are_none_and_unknown_columns_dropped(self) -> None:
        result = normalize_record({"id": "R1", "family_name": "山田", "shoe_size": "27"})
        assert set(result) == {
            *COLUMNS,
            "full_name",
            "full_name_kana",
            "prefecture",
            "city",
            "address_key",
        }
        assert (result["full_name"], result["phone"], result["address_key"]) == ("山田", None, None)

    def test_unusable_values_become_none(self) -> None:
        result = normalize_record({"birth_date": "不明", "phone": "なし", "email": "none"})
        assert (result["birth_date"], result["phone"], result["email"]) == (None, None, None)
