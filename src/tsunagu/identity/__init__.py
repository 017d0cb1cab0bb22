"""Identity: organizations, staff users and their roles, persons (data subjects), API keys,
and web sign-in sessions.

Invariants:
- a staff user acts for one organization at a time (the one of their session or API key);
  every lookup of an organization-owned object goes through an ``access_*`` function that
  takes that organization and answers "not found" for another tenant's id;
- passwords are argon2 hashes; API keys and session tokens are stored as SHA-256 digests
  and shown once;
- a person's account is theirs: staff never read it through this domain.
"""
