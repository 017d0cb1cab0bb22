"""Pydantic shapes of the identity API.  Inputs forbid unknown fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

OrganizationKind = Literal["company", "municipality", "hospital", "association"]
StaffRole = Literal["owner", "admin", "member", "viewer"]
ApiKeyRole = Literal["admin", "member", "viewer"]

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganizationCreate(StrictInput):
    slug: str = Field(pattern=SLUG_PATTERN, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    kind: OrganizationKind = "company"
    timezone: str = "Asia/Tokyo"


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    kind: OrganizationKind
    timezone: str
    created_at: datetime


class StaffUserCreate(StrictInput):
    email: EmailStr
    display_name: str = Field(min_length=1, max_length=200)
    role: StaffRole = "member"
    password: str = Field(min_length=12, max_length=1024)


class StaffUserOut(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    role: StaffRole
    is_active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class ApiKeyCreate(StrictInput):
    name: str = Field(min_length=1, max_length=100)
    role: ApiKeyRole = "member"


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: ApiKeyRole
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    #: the key itself — shown in this response only, never again
    key: str
