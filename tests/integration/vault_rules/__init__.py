"""Specification tests of the vault's rules: crypto-shredding and structural enforcement."""
