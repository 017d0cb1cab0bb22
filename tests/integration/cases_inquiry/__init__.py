"""Tests of the inquiry service against a real database."""
