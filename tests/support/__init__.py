"""Test support: a throwaway PostgreSQL cluster, factories, a live server."""
