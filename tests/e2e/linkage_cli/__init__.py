"""End-to-end tests of ``tsunagu linkage link``."""
