"""The seeded vocabulary: data categories and purposes (aligned with the W3C DPV).

Categories are hierarchical in dot notation: a consent to ``contact`` covers
``contact.email``.  Sensitive categories are 要配慮個人情報 under APPI art. 2(3) (health,
medical history, criminal record, creed …): they are never used without explicit consent
and their payloads are always sealed.  Purposes carry the IRI of the matching DPV concept.
Organizations add their own purposes; the defaults (organization ``None``) are everyone's.

The migration that creates the tables copies these rows as data; a later change to the
defaults needs a migration of its own.
"""

from __future__ import annotations

from typing import NamedTuple

DPV = "https://w3id.org/dpv#"


class CategoryDef(NamedTuple):
    code: str
    sensitive: bool
    label_ja: str
    label_en: str


class PurposeDef(NamedTuple):
    code: str
    dpv: str
    label_ja: str
    label_en: str
    description_ja: str
    description_en: str


CATEGORIES: tuple[CategoryDef, ...] = (
    CategoryDef("contact", False, "連絡先", "Contact details"),
    CategoryDef("contact.email", False, "メールアドレス", "E-mail address"),
    CategoryDef("contact.phone", False, "電話番号", "Phone number"),
    CategoryDef("contact.address", False, "住所", "Postal address"),
    CategoryDef("identity", False, "本人を特定する情報", "Identity"),
    CategoryDef("identity.name", False, "氏名", "Name"),
    CategoryDef("identity.birth_date", False, "生年月日", "Date of birth"),
    CategoryDef("purchase", False, "購買情報", "Purchases"),
    CategoryDef("purchase.order", False, "購入履歴", "Orders"),
    CategoryDef("behaviour", False, "行動履歴", "Behaviour"),
    CategoryDef("behaviour.web", False, "ウェブ閲覧履歴", "Web browsing"),
    CategoryDef("vehicle", False, "車両", "Vehicles"),
    CategoryDef("vehicle.registration", False, "自動車登録", "Vehicle registration"),
    CategoryDef("vehicle.parking", False, "保管場所", "Parking place"),
    CategoryDef("licence", False, "免許・資格", "Licences"),
    CategoryDef("licence.driving", False, "運転免許", "Driving licence"),
    CategoryDef("health", True, "健康情報", "Health"),
    CategoryDef("health.blood_pressure", True, "血圧", "Blood pressure"),
    CategoryDef("health.checkup", True, "健康診断結果", "Health check-up results"),
)

PURPOSES: tuple[PurposeDef, ...] = (
    PurposeDef(
        "marketing",
        DPV + "Marketing",
        "マーケティング",
        "Marketing",
        "商品やサービスのご案内、キャンペーンのお知らせに利用します。",
        "To tell you about products, services and campaigns.",
    ),
    PurposeDef(
        "service-provision",
        DPV + "ServiceProvision",
        "サービスの提供",
        "Service provision",
        "ご契約・お申し込みのサービスを提供するために利用します。",
        "To provide the service you signed up or applied for.",
    ),
    PurposeDef(
        "research-development",
        DPV + "ResearchAndDevelopment",
        "研究開発",
        "Research and development",
        "商品・サービスの研究開発のために、統計的に利用します。",
        "To research and develop products and services, statistically.",
    ),
    PurposeDef(
        "personalisation",
        DPV + "ServicePersonalisation",
        "サービスの個別化",
        "Personalisation",
        "あなたに合わせた表示やおすすめのために利用します。",
        "To tailor what you see and what is recommended to you.",
    ),
    PurposeDef(
        "customer-care",
        DPV + "CustomerCare",
        "お問い合わせ対応",
        "Customer care",
        "お問い合わせへの回答やサポートのために利用します。",
        "To answer your inquiries and support you.",
    ),
    PurposeDef(
        "legal-obligation",
        DPV + "LegalCompliance",
        "法令の遵守",
        "Legal compliance",
        "法令に基づく義務を果たすために利用します。",
        "To meet obligations the law places on us.",
    ),
    PurposeDef(
        "public-service",
        DPV + "PublicBenefit",
        "行政サービス",
        "Public service",
        "自治体の手続きや住民サービスの提供のために利用します。",
        "To provide municipal procedures and services to residents.",
    ),
)


def parent_of(code: str) -> str | None:
    """``contact.email`` → ``contact``; a top-level code has no parent."""
    head, _, _ = code.rpartition(".")
    return head or None


def ancestors_or_self(code: str) -> tuple[str, ...]:
    """Every code whose consent covers ``code``: itself and each prefix at a dot."""
    parts = code.split(".")
    return tuple(".".join(parts[:i]) for i in range(1, len(parts) + 1))


def covers(granted: str, wanted: str) -> bool:
    """True when a consent to category ``granted`` covers a read of ``wanted``."""
    return wanted == granted or wanted.startswith(granted + ".")
