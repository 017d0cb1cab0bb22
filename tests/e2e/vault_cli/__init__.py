"""Tests of the vault's record import and commands."""
