"""Unit tests of the n-gram search of cases."""
