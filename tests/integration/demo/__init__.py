"""Integration tests of the demo world generator and builder."""
