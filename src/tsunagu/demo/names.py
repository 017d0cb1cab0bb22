"""Japanese names with their readings, for the demo world.

Faker's ``ja_JP`` provider draws the kanji name and the kana name in separate random calls,
so the two do not belong to the same person, and a few of its paired readings are wrong.
Here every entry is one name written three ways — kanji, its katakana reading, and the
Hepburn romanisation used for demo e-mail addresses — so a generated person's 氏名 and
フリガナ always agree.

Readings are the most common ones (中島 → ナカジマ, 河野 → コウノ); real people may read
their names otherwise, which is why tsunagu stores the kana a person gives rather than
deriving it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Name:
    """One family or given name: kanji, katakana reading, romanisation (lower case)."""

    kanji: str
    kana: str
    romaji: str


def _table(text: str) -> tuple[Name, ...]:
    rows = []
    for line in text.strip().splitlines():
        kanji, kana, romaji = line.split()
        rows.append(Name(kanji, kana, romaji))
    return tuple(rows)


#: about 130 of the most common family names (苗字), roughly in order of frequency
FAMILY_NAMES = _table(
    """
佐藤 サトウ sato
鈴木 スズキ suzuki
高橋 タカハシ takahashi
田中 タナカ tanaka
伊藤 イトウ ito
渡辺 ワタナベ watanabe
山本 ヤマモト yamamoto
中村 ナカムラ nakamura
小林 コバヤシ kobayashi
加藤 カトウ kato
吉田 ヨシダ yoshida
山田 ヤマダ yamada
佐々木 ササキ sasaki
山口 ヤマグチ yamaguchi
松本 マツモト matsumoto
井上 イノウエ inoue
木村 キムラ kimura
林 ハヤシ hayashi
斎藤 サイトウ saito
清水 シミズ shimizu
山崎 ヤマザキ yamazaki
森 モリ mori
池田 イケダ ikeda
橋本 ハシモト hashimoto
阿部 アベ abe
石川 イシカワ ishikawa
山下 ヤマシタ yamashita
中島 ナカジマ nakajima
石井 イシイ ishii
小川 オガワ ogawa
前田 マエダ maeda
岡田 オカダ okada
長谷川 ハセガワ hasegawa
藤田 フジタ fujita
後藤 ゴトウ goto
近藤 コンドウ kondo
村上 ムラカミ murakami
遠藤 エンドウ endo
青木 アオキ aoki
坂本 サカモト sakamoto
斉藤 サイトウ saito
福田 フクダ fukuda
太田 オオタ ota
西村 ニシムラ nishimura
藤井 フジイ fujii
金子 カネコ kaneko
岡本 オカモト okamoto
藤原 フジワラ fujiwara
中野 ナカノ nakano
三浦 ミウラ miura
原田 ハラダ harada
中川 ナカガワ nakagawa
松田 マツダ matsuda
竹内 タケウチ takeuchi
小野 オノ ono
田村 タムラ tamura
中山 ナカヤマ nakayama
和田 ワダ wada
石田 イシダ ishida
森田 モリタ morita
上田 ウエダ ueda
原 ハラ hara
内田 ウチダ uchida
柴田 シバタ shibata
酒井 サカイ sakai
宮崎 ミヤザキ miyazaki
横山 ヨコヤマ yokoyama
高木 タカギ takagi
安藤 アンドウ ando
宮本 ミヤモト miyamoto
大野 オオノ ono
小島 コジマ kojima
工藤 クドウ kudo
谷口 タニグチ taniguchi
今井 イマイ imai
高田 タカダ takada
丸山 マルヤマ maruyama
増田 マスダ masuda
杉山 スギヤマ sugiyama
村田 ムラタ murata
大塚 オオツカ otsuka
小山 コヤマ koyama
平野 ヒラノ hirano
藤本 フジモト fujimoto
河野 コウノ kono
上野 ウエノ ueno
野口 ノグチ noguchi
武田 タケダ takeda
松井 マツイ matsui
千葉 チバ chiba
岩崎 イワサキ iwasaki
菅原 スガワラ sugawara
木下 キノシタ kinoshita
久保 クボ kubo
佐野 サノ sano
野村 ノムラ nomura
松尾 マツオ matsuo
市川 イチカワ ichikawa
菊地 キクチ kikuchi
杉本 スギモト sugimoto
古川 フルカワ furukawa
大西 オオニシ onishi
島田 シマダ shimada
水野 ミズノ mizuno
桜井 サクライ sakurai
高野 タカノ takano
渡部 ワタナベ watanabe
吉川 ヨシカワ yoshikawa
山内 ヤマウチ yamauchi
西田 ニシダ nishida
飯田 イイダ iida
菊池 キクチ kikuchi
西川 ニシカワ nishikawa
小松 コマツ komatsu
北村 キタムラ kitamura
安田 ヤスダ yasuda
五十嵐 イガラシ igarashi
川口 カワグチ kawaguchi
平田 ヒラタ hirata
関 セキ seki
中田 ナカタ nakata
久保田 クボタ kubota
服部 ハットリ hattori
川村 カワムラ kawamura
岩田 イワタ iwata
辻 ツジ tsuji
本田 ホンダ honda
樋口 ヒグチ higuchi
秋山 アキヤマ akiyama
田口 タグチ taguchi
永井 ナガイ nagai
山中 ヤマナカ yamanaka
中西 ナカニシ nakanishi
吉村 ヨシムラ yoshimura
大橋 オオハシ ohashi
"""
)

#: given names (名) usually given to boys, old and new
MALE_GIVEN_NAMES = _table(
    """
翔太 ショウタ shota
大輔 ダイスケ daisuke
健太 ケンタ kenta
拓也 タクヤ takuya
直樹 ナオキ naoki
達也 タツヤ tatsuya
和也 カズヤ kazuya
誠 マコト makoto
浩 ヒロシ hiroshi
学 マナブ manabu
隆 タカシ takashi
健一 ケンイチ kenichi
一郎 イチロウ ichiro
太郎 タロウ taro
大樹 ダイキ daiki
翔 ショウ sho
蓮 レン ren
悠真 ユウマ yuma
陽翔 ハルト haruto
湊 ミナト minato
大翔 ヒロト hiroto
悠斗 ユウト yuto
颯太 ソウタ sota
陸 リク riku
樹 イツキ itsuki
航 ワタル wataru
亮 リョウ ryo
修 オサム osamu
茂 シゲル shigeru
勝 マサル masaru
清 キヨシ kiyoshi
進 ススム susumu
正雄 マサオ masao
秀樹 ヒデキ hideki
哲也 テツヤ tetsuya
雅之 マサユキ masayuki
康弘 ヤスヒロ yasuhiro
裕太 ユウタ yuta
光 ヒカル hikaru
洋平 ヨウヘイ yohei
俊介 シュンスケ shunsuke
智也 トモヤ tomoya
圭 ケイ kei
純一 ジュンイチ junichi
拓海 タクミ takumi
海斗 カイト kaito
隼人 ハヤト hayato
翼 ツバサ tsubasa
和夫 カズオ kazuo
義男 ヨシオ yoshio
昭 アキラ akira
実 ミノル minoru
聡 サトシ satoshi
剛 ツヨシ tsuyoshi
直人 ナオト naoto
太一 タイチ taichi
陽一 ヨウイチ yoichi
洋介 ヨウスケ yosuke
亮介 リョウスケ ryosuke
裕樹 ユウキ yuki
"""
)

#: given names (名) usually given to girls, old and new
FEMALE_GIVEN_NAMES = _table(
    """
花子 ハナコ hanako
陽子 ヨウコ yoko
恵子 ケイコ keiko
京子 キョウコ kyoko
幸子 サチコ sachiko
和子 カズコ kazuko
美穂 ミホ miho
直美 ナオミ naomi
由美子 ユミコ yumiko
真由美 マユミ mayumi
久美子 クミコ kumiko
明美 アケミ akemi
裕子 ユウコ yuko
智子 トモコ tomoko
愛 アイ ai
彩 アヤ aya
麻衣 マイ mai
舞 マイ mai
美咲 ミサキ misaki
陽菜 ヒナ hina
結衣 ユイ yui
葵 アオイ aoi
凛 リン rin
結菜 ユイナ yuina
芽依 メイ mei
莉子 リコ riko
美月 ミツキ mitsuki
七海 ナナミ nanami
杏 アン an
紬 ツムギ tsumugi
陽葵 ヒマリ himari
澪 ミオ mio
千尋 チヒロ chihiro
遥 ハルカ haruka
沙織 サオリ saori
香織 カオリ kaori
恵 メグミ megumi
奈々 ナナ nana
由紀 ユキ yuki
理恵 リエ rie
友美 トモミ tomomi
恵美 エミ emi
春香 ハルカ haruka
美香 ミカ mika
千夏 チナツ chinatsu
瞳 ヒトミ hitomi
桃子 モモコ momoko
節子 セツコ setsuko
文子 フミコ fumiko
典子 ノリコ noriko
静香 シズカ shizuka
純子 ジュンコ junko
優花 ユウカ yuka
美優 ミユ miyu
心春 コハル koharu
直子 ナオコ naoko
加奈 カナ kana
里佳 リカ rika
千代 チヨ chiyo
真綾 マアヤ maaya
"""
)


def is_kanji(text: str) -> bool:
    """True when ``text`` is written in kanji only (the iteration mark 々 included)."""
    return bool(text) and all(
        "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or ch == "々" for ch in text
    )


def is_katakana(text: str) -> bool:
    """True when ``text`` is written in full-width katakana only (ー included)."""
    return bool(text) and all("\u30a1" <= ch <= "\u30fc" for ch in text)
