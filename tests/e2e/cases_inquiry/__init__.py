"""Tests of the public inquiry form through HTTP."""
